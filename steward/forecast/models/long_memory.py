"""Long-memory baselines for weekly flows: the mean of the last year and a seasonal mean.

Weekly demand of a tool library or the use of a rain tank is noisy week to
week; models that follow the last few weeks chase a December low into the next
year. These two remember a whole year (or every past year) instead. Both draw
sample paths from what the history shows, so a non-negative history gives
non-negative paths.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from steward.forecast.base import Forecaster, season_length_for


class WindowMean(Forecaster):
    """The mean of the last ``window`` periods (all of them when fewer).

    Paths draw each period independently from those ``window`` values
    (a bootstrap of the last year), so quantiles are the window's own spread.
    """

    name = "window_mean"
    min_length = 1

    def __init__(self, window: int = 52) -> None:
        self.window = window

    @classmethod
    def test_params(cls) -> list[dict[str, Any]]:
        return [{}, {"window": 4}]

    @property
    def label(self) -> str:
        return f"mean_last({self.window})"

    def _fit(self, y: pd.Series) -> None:
        self.recent_ = y.to_numpy()[-max(int(self.window), 1) :]

    def _point(self, h: int) -> np.ndarray:
        return np.full(h, float(np.mean(self.recent_)))

    def _sample_paths(self, h: int, n: int, rng: np.random.Generator) -> np.ndarray:
        return rng.choice(self.recent_, size=(n, h), replace=True)


class SeasonalMean(Forecaster):
    """The mean of the same periods of every past season, smoothed over neighbours.

    For a future period the forecast averages, over each past season, the values
    within ``width`` periods of the same position (weeks drift a day a year
    against the calendar, and one week is noisy). Paths add bootstrapped
    in-sample errors of the same rule. With less than one season of history it
    is the mean of what there is.
    """

    name = "seasonal_mean"
    min_length = 1

    def __init__(self, season_length: int | None = None, width: int = 2) -> None:
        self.season_length = season_length
        self.width = width

    @classmethod
    def test_params(cls) -> list[dict[str, Any]]:
        return [{}, {"season_length": 4, "width": 0}]

    def _fit(self, y: pd.Series) -> None:
        self.m_ = int(self.season_length or season_length_for(self.freq_))
        self.values_ = y.to_numpy()
        n = len(self.values_)
        fitted = np.array([self._at(t, n) for t in range(self.m_, n)])
        self.resid_ = self.values_[self.m_ :] - fitted if len(fitted) else np.zeros(1)

    def _at(self, t: int, n: int) -> float:
        """Seasonal mean for position ``t`` from the first ``n`` values."""
        picked: list[float] = []
        m, w = self.m_, int(self.width)
        back = t - m
        while back >= -w and m > 1:
            lo, hi = max(back - w, 0), min(back + w + 1, n)
            if hi > lo:
                picked.extend(self.values_[lo:hi])
            back -= m
        if not picked:
            return float(np.mean(self.values_[:n]))
        return float(np.mean(picked))

    def _point(self, h: int) -> np.ndarray:
        n = len(self.values_)
        return np.array([self._at(n + k, n) for k in range(h)])

    def _sample_paths(self, h: int, n: int, rng: np.random.Generator) -> np.ndarray:
        e = self.resid_ - float(np.mean(self.resid_))
        return self._point(h)[None, :] + rng.choice(e, size=(n, h), replace=True)
