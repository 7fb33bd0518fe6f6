"""How often published risk figures came true: reliability bins and the Brier score.

Pure numpy. ``predicted`` holds probabilities we published (one per pool-day, or
one per stock and forecast origin), ``observed`` whether the event happened
(1/0). The reliability table bins the predictions (0-10%, 10-20%, ...) and sets
each bin's mean prediction beside the observed frequency, as in a reliability
diagram (Murphy and Winkler 1977). The Brier score is the mean squared error of
the probabilities; its skill is measured against climatology, the constant
forecast of a base rate (Wilks, *Statistical Methods in the Atmospheric
Sciences*, ch. 8): skill > 0 means the figures tell more than the base rate
alone. A backtest passes each case's ``climatology``, the event's frequency
known before that case's origin; without it the base rate of the cases
themselves stands in, which knows how often the event would happen in the
period scored and so flatters the baseline (or shames it) with hindsight.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from steward.errors import ForecastError

#: Bin edges of the reliability table: ten bins of 10 percentage points.
EDGES: tuple[float, ...] = tuple(np.round(np.linspace(0.0, 1.0, 11), 2))
#: A bin needs this many cases before its observed frequency is worth reading.
MIN_BIN_CASES = 50


@dataclass(frozen=True)
class ReliabilityBin:
    """Predictions in ``[lo, hi)`` (the last bin includes 1.0)."""

    lo: float
    hi: float
    cases: int
    predicted: float  # mean prediction in the bin (NaN when empty)
    observed: float  # share of cases where the event happened (NaN when empty)


@dataclass(frozen=True)
class Reliability:
    """Reliability bins, the Brier score and its skill against climatology."""

    bins: tuple[ReliabilityBin, ...]
    cases: int
    base_rate: float
    brier: float
    brier_climatology: float

    @property
    def brier_skill(self) -> float:
        """1 - Brier / Brier of climatology; NaN when climatology was never wrong (the
        event never or always happened, and the past said so)."""
        if self.brier_climatology <= 0:
            return float("nan")
        return 1.0 - self.brier / self.brier_climatology

    def worst_gap(self, min_cases: int = MIN_BIN_CASES) -> float:
        """Largest |predicted - observed| over bins with at least ``min_cases`` cases."""
        gaps = [abs(b.predicted - b.observed) for b in self.bins if b.cases >= min_cases]
        return max(gaps) if gaps else float("nan")

    def bin_for(self, p: float) -> ReliabilityBin:
        """The bin a published probability ``p`` falls in."""
        for b in self.bins:
            if b.lo <= p < b.hi or (b.hi == 1.0 and p == 1.0):
                return b
        raise ForecastError(f"probability {p!r} is outside [0, 1]")

    def to_json(self) -> dict[str, Any]:
        """Plain JSON for the store (NaN becomes None)."""

        def clean(x: float) -> float | None:
            return None if not np.isfinite(x) else round(float(x), 4)

        return {
            "cases": self.cases,
            "base_rate": clean(self.base_rate),
            "brier": clean(self.brier),
            "brier_climatology": clean(self.brier_climatology),
            "brier_skill": clean(self.brier_skill),
            "bins": [
                {
                    "lo": b.lo,
                    "hi": b.hi,
                    "cases": b.cases,
                    "predicted": clean(b.predicted),
                    "observed": clean(b.observed),
                }
                for b in self.bins
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Reliability:
        """Inverse of :meth:`to_json`."""

        def num(x: Any) -> float:
            return float("nan") if x is None else float(x)

        bins = tuple(
            ReliabilityBin(
                float(b["lo"]),
                float(b["hi"]),
                int(b["cases"]),
                num(b["predicted"]),
                num(b["observed"]),
            )
            for b in data.get("bins", [])
        )
        return cls(
            bins=bins,
            cases=int(data.get("cases", 0)),
            base_rate=num(data.get("base_rate")),
            brier=num(data.get("brier")),
            brier_climatology=num(data.get("brier_climatology")),
        )


def reliability(
    predicted: np.ndarray, observed: np.ndarray, climatology: np.ndarray | None = None
) -> Reliability:
    """Reliability table and Brier scores of ``predicted`` probabilities of ``observed`` events.

    All arrays have one entry per case. ``climatology`` is the reference
    forecast of each case (the event's frequency before its origin); None
    scores the constant base rate of ``observed`` instead. Raises ForecastError
    when the shapes differ, a probability lies outside [0, 1], or there are no
    cases.
    """
    p = np.asarray(predicted, dtype=float).ravel()
    o = np.asarray(observed, dtype=float).ravel()
    if p.shape != o.shape:
        raise ForecastError(f"{len(p)} predictions but {len(o)} outcomes")
    ref = None
    if climatology is not None:
        ref = np.asarray(climatology, dtype=float).ravel()
        if ref.shape != p.shape:
            raise ForecastError(f"{len(p)} predictions but {len(ref)} climatology figures")
        if not np.all((ref >= 0) & (ref <= 1)):
            raise ForecastError("climatology figures must lie in [0, 1]")
    if len(p) == 0:
        raise ForecastError("no cases to assess: the backtest produced no forecasts")
    if not np.all((p >= 0) & (p <= 1)):
        raise ForecastError("predicted probabilities must lie in [0, 1]")
    if not np.all((o == 0) | (o == 1)):
        raise ForecastError("observed outcomes must be 0 or 1")
    edges = np.asarray(EDGES)
    which = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, len(edges) - 2)
    bins = []
    for i in range(len(edges) - 1):
        mask = which == i
        count = int(mask.sum())
        bins.append(
            ReliabilityBin(
                lo=float(edges[i]),
                hi=float(edges[i + 1]),
                cases=count,
                predicted=float(p[mask].mean()) if count else float("nan"),
                observed=float(o[mask].mean()) if count else float("nan"),
            )
        )
    rate = float(o.mean())
    reference = np.full(len(o), rate) if ref is None else ref
    return Reliability(
        bins=tuple(bins),
        cases=len(p),
        base_rate=rate,
        brier=float(np.mean((p - o) ** 2)),
        brier_climatology=float(np.mean((reference - o) ** 2)),
    )
