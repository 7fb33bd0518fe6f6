"""Shared series for the forecasting tests."""

from __future__ import annotations

import os

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
