"""Shared series for the forecasting tests."""

from __future__ import annotations

import os
from types import SimpleNamespace
from typing import Any

# Before numpy loads BLAS: the engine's fits are tiny, and multithreaded BLAS on
# 2 cores makes them several times slower.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402


def seasonal_daily(n: int = 120, seed: int = 0) -> pd.Series:
    """Positive daily series with a trend and a weekly cycle."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    values = 50 + 0.1 * t + 8 * np.sin(2 * np.pi * t / 7) + rng.normal(0, 2, n)
    return pd.Series(values, index=pd.date_range("2024-01-01", periods=n, freq="D"))


def intermittent_daily(n: int = 150, seed: int = 0) -> pd.Series:
    """Counts with about 60% zero days."""
    rng = np.random.default_rng(seed)
    values = np.where(rng.random(n) < 0.4, rng.poisson(3, n) + 1, 0).astype(float)
    return pd.Series(values, index=pd.date_range("2024-01-01", periods=n, freq="D"))


@pytest.fixture
def daily() -> pd.Series:
    return seasonal_daily()


@pytest.fixture
def sparse() -> pd.Series:
    return intermittent_daily()


def pool_inputs(
    past_full: float = 0.3,
    past_days: int = 400,
    commons_full: float = 0.0,
    own_days: pd.DataFrame | None = None,
) -> tuple[Any, pd.Series]:
    """A 2-unit pool's run inputs (steward.forecast.runs._Inputs' fields) with 60 weeks
    of Poisson(3) demand, and that demand; ``own_days`` (also its commons' days):
    its past booked-out days for the season, none by default."""
    from steward.forecast import runs

    weeks = pd.date_range(end="2025-12-28", periods=60, freq="W-SUN")
    demand = pd.Series(np.random.default_rng(1).poisson(3.0, len(weeks)).astype(float), weeks)
    days = runs._no_days() if own_days is None else own_days
    return SimpleNamespace(
        res=SimpleNamespace(kind="pool", slug="drill", commons_slug="shed"),
        series={"demand": demand},
        profile=np.full(7, 1 / 7),
        batches=np.array([1.0]),
        capacity_now=2.0,
        capacity_plan=pd.Series(dtype=float),
        on_loan_now=1,
        durations=np.array([3.0, 5.0, 7.0]),
        ages=np.array([], dtype=np.int64),
        lost_overdue=0,
        past_full=past_full,
        past_days=past_days,
        commons_full=commons_full,
        own_days=days,
        commons_days=days,
    ), demand
