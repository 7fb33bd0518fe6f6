"""Forecast combination: the mean or median of member forecasters."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from steward.errors import ForecastError
from steward.forecast.base import Forecaster
from steward.forecast.models.naive import Naive, SeasonalNaive
from steward.forecast.models.theta import Theta


def combine(values: np.ndarray, method: str) -> np.ndarray:
    """Combine along the first axis (members)."""
    return np.median(values, axis=0) if method == "median" else np.mean(values, axis=0)


def reorder_like(values: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Give sorted per-step ``values`` the rank order of ``reference`` paths.

    Keeps the time dependence of the reference member's paths (Schaake shuffle)
    while the marginals are the combined (Vincentised) quantiles.
    """
    ranks = np.argsort(np.argsort(reference, axis=0, kind="stable"), axis=0)
    return np.take_along_axis(values, ranks, axis=0)


class Combination(Forecaster):
    """Equal-weight combination; quantiles are combined level by level."""

    name = "combination"
    min_length = 1

    def __init__(self, members: Sequence[Forecaster], method: str = "mean") -> None:
        self.members = members
        self.method = method

    @classmethod
    def test_params(cls) -> list[dict[str, Any]]:
        return [
            {"members": [Naive(), SeasonalNaive()]},
            {"members": [Naive(), Theta(), SeasonalNaive()], "method": "median"},
        ]

    @property
    def label(self) -> str:
        # Sorted: the same members make the same name whatever order they came in.
        names = sorted(m.label for m in getattr(self, "members_", self.members))
        return f"{self.method}({'+'.join(names)})"

    def _fit(self, y: pd.Series) -> None:
        if self.method not in ("mean", "median"):
            raise ForecastError(
                f"combination method must be 'mean' or 'median', not {self.method!r}"
            )
        if not self.members:
            raise ForecastError("a combination needs at least one member")
        self.members_ = [m.clone().fit(y) for m in self.members]

    @classmethod
    def of_fitted(cls, members: Sequence[Forecaster], method: str = "mean") -> Combination:
        """Combine already-fitted members without refitting them."""
        combo = cls([m.clone() for m in members], method=method)
        combo.members_ = list(members)
        combo.y_ = members[0].y_
        combo.freq_ = members[0].freq_
        return combo

    def frozen(self) -> Forecaster:
        members = getattr(self, "members_", None)
        if members is None:
            return self.clone()
        return Combination([m.frozen() for m in members], method=self.method)

    def _point(self, h: int) -> np.ndarray:
        return combine(np.stack([m._point(h) for m in self.members_]), self.method)

    def _predict(self, h: int, quantiles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        parts = [m._predict(h, quantiles) for m in self.members_]
        mean = combine(np.stack([p[0] for p in parts]), self.method)
        qs = combine(np.stack([np.maximum.accumulate(p[1], axis=1) for p in parts]), self.method)
        return mean, qs

    def _sample_paths(self, h: int, n: int, rng: np.random.Generator) -> np.ndarray:
        paths = [m._sample_paths(h, n, rng) for m in self.members_]
        sorted_paths = combine(np.stack([np.sort(p, axis=0) for p in paths]), self.method)
        return reorder_like(sorted_paths, paths[0])
