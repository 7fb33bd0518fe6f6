"""Naive, seasonal naive and Naive2 (naive on classically seasonally adjusted data)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from steward.errors import ForecastError
from steward.forecast.base import Forecaster, gaussian_paths, season_length_for, standardized
from steward.forecast.models.seasonality import future_indices, seasonal_indices


def lagged_paths(
    history: np.ndarray, resid: np.ndarray, lag: int, h: int, n: int, rng: np.random.Generator
) -> np.ndarray:
    """Simulate ``y[t] = y[t-lag] + e`` with bootstrapped, centred residuals."""
    e = resid - resid.mean() if len(resid) else np.zeros(1)
    paths = np.empty((n, h))
    for k in range(h):
        prev = np.full(n, history[len(history) - lag + k]) if k < lag else paths[:, k - lag]
        paths[:, k] = prev + rng.choice(e, size=n)
    return paths


class Naive(Forecaster):
    """Repeat the last value; random-walk paths from bootstrapped differences."""

    name = "naive"
    min_length = 1

    def __init__(self) -> None:
        pass

    def _fit(self, y: pd.Series) -> None:
        self.values_ = y.to_numpy()
        self.resid_ = np.diff(self.values_)

    def _point(self, h: int) -> np.ndarray:
        return np.full(h, self.values_[-1])

    def _sample_paths(self, h: int, n: int, rng: np.random.Generator) -> np.ndarray:
        return lagged_paths(self.values_, self.resid_, 1, h, n, rng)


class SeasonalNaive(Forecaster):
    """Repeat the last season (plain naive when there is less than one season)."""

    name = "seasonal_naive"
    min_length = 1

    def __init__(self, season_length: int | None = None) -> None:
        self.season_length = season_length

    @classmethod
    def test_params(cls) -> list[dict[str, Any]]:
        return [{}, {"season_length": 4}]

    def _fit(self, y: pd.Series) -> None:
        m = self.season_length or season_length_for(self.freq_)
        self.lag_ = m if len(y) >= m else 1
        self.values_ = y.to_numpy()
        self.resid_ = self.values_[self.lag_ :] - self.values_[: -self.lag_]

    @property
    def label(self) -> str:
        return f"seasonal_naive({self.lag_})" if hasattr(self, "lag_") else self.name

    def _point(self, h: int) -> np.ndarray:
        n, lag = len(self.values_), self.lag_
        return self.values_[n - lag + np.arange(h) % lag]

    def _sample_paths(self, h: int, n: int, rng: np.random.Generator) -> np.ndarray:
        return lagged_paths(self.values_, self.resid_, self.lag_, h, n, rng)


class Naive2(Forecaster):
    """Naive on data seasonally adjusted by classical multiplicative decomposition (M3)."""

    name = "naive2"
    min_length = 1

    def __init__(self, season_length: int | None = None) -> None:
        self.season_length = season_length

    @classmethod
    def test_params(cls) -> list[dict[str, Any]]:
        return [{}, {"season_length": 12}]

    def _fit(self, y: pd.Series) -> None:
        values = y.to_numpy()
        m = self.season_length or season_length_for(self.freq_)
        self.indices_ = seasonal_indices(values, m)
        self.n_ = len(values)
        adjusted = (
            values / self.indices_[np.arange(len(values)) % m]
            if self.indices_ is not None
            else values
        )
        self.adjusted_ = adjusted
        self.resid_ = np.diff(adjusted)

    def _season(self, h: int) -> np.ndarray:
        if self.indices_ is None:
            return np.ones(h)
        return future_indices(self.indices_, self.n_, h)

    def _point(self, h: int) -> np.ndarray:
        return self.adjusted_[-1] * self._season(h)

    def _sample_paths(self, h: int, n: int, rng: np.random.Generator) -> np.ndarray:
        return lagged_paths(self.adjusted_, self.resid_, 1, h, n, rng) * self._season(h)[None, :]


class Drift(Forecaster):
    """Random walk with drift: the last value plus the average change per period.

    The slope is the line from the first to the last value, ``(y[n-1] - y[0]) /
    (n - 1)``, so one outlier inside the history does not move it. Gaussian
    intervals use the variance of the differences around the slope, grown as in
    Hyndman and Athanasopoulos (*Forecasting: Principles and Practice*, 3rd ed.,
    section 5.5): ``sigma * sqrt(h * (1 + h / (n - 1)))``, the second term for the
    slope's own uncertainty. Needs two values.
    """

    name = "drift"
    min_length = 2

    def __init__(self) -> None:
        pass

    def _fit(self, y: pd.Series) -> None:
        values = y.to_numpy(dtype=float)
        if len(values) < 2:
            raise ForecastError("drift needs at least two values")
        self.values_ = values
        diffs = np.diff(values)
        self.slope_ = float(diffs.mean())
        self.resid_ = diffs - self.slope_
        self.sigma_ = float(np.sqrt(np.mean(np.square(self.resid_))))

    def _point(self, h: int) -> np.ndarray:
        return self.values_[-1] + self.slope_ * np.arange(1, h + 1, dtype=float)

    def _sd(self, h: int) -> np.ndarray | None:
        steps = np.arange(1, h + 1, dtype=float)
        return self.sigma_ * np.sqrt(steps * (1 + steps / (len(self.values_) - 1)))

    def _sample_paths(self, h: int, n: int, rng: np.random.Generator) -> np.ndarray:
        sd = self._sd(h)
        assert sd is not None
        return gaussian_paths(self._point(h), sd, n, rng, standardized(self.resid_))
