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


class _SeasonalWindow(Forecaster):
    """Shared parameters: the season (periods; default from the frequency) and the
    half-width of the window of neighbouring periods averaged at each position."""

    def __init__(self, season_length: int | None = None, width: int = 2) -> None:
        self.season_length = season_length
        self.width = width

    @classmethod
    def test_params(cls) -> list[dict[str, Any]]:
        return [{}, {"season_length": 4, "width": 0}]


class SeasonalMean(_SeasonalWindow):
    """The mean of the same periods of every past season, smoothed over neighbours.

    For a future period the forecast averages, over each past season, the values
    within ``width`` periods of the same position (weeks drift a day a year
    against the calendar, and one week is noisy). Paths add bootstrapped
    in-sample errors of the same rule. With less than one season of history it
    is the mean of what there is.
    """

    name = "seasonal_mean"
    min_length = 1

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


class ShrunkSeasonalMean(_SeasonalWindow):
    """The last year's mean plus the seasonal mean's profile, shrunk by how much of it is noise.

    The seasonal mean (:class:`SeasonalMean`) of a tool borrowed twice a week
    averages five noisy weeks per past year: with one or two years its profile is
    mostly noise, while the library-wide loans or a rain tank's summer use show
    a real season. The profile's deviations from its mean are multiplied by
    ``w = 1 - noise / observed``, the share of their variance that is not
    noise (a James-Stein shrinkage): observed is the variance of the deviations
    over a season, noise the week-to-week variance (half the mean squared first
    difference, which a slow season hardly moves) over the number of weeks each
    position averages. ``w`` is clipped to [0, 1]: 0 gives the mean of the last
    season (:class:`WindowMean`), 1 the seasonal mean around that level.

    On the demo's tool library (first year to fit, second to forecast), the
    design data, it scored MASE 0.79 over 30 tool types against 0.91 for the
    last year's mean and 0.81 for the equal mean of the two, and 0.60 on the
    library-wide loans against 1.24 and 0.81. Paths add bootstrapped residuals
    of the last season, centred. With less than one season it is the mean of
    what there is.
    """

    name = "shrunk_seasonal_mean"
    min_length = 1

    def _fit(self, y: pd.Series) -> None:
        m = int(self.season_length or season_length_for(self.freq_))
        values = y.to_numpy(dtype=float)
        n = len(values)
        self.m_ = max(m, 1)
        self.level_ = float(np.mean(values[-self.m_ :]))
        self.weight_ = 0.0
        self.deviation_ = np.zeros(self.m_)
        if m > 1 and n >= m:
            inner = SeasonalMean(season_length=m, width=self.width).fit(y)
            profile = inner.point(m)
            deviation = profile - float(np.mean(profile))
            observed = float(np.var(deviation))
            per_position = (2 * int(self.width) + 1) * (n // m)
            noise = float(np.mean(np.diff(values) ** 2)) / 2 / per_position
            if observed > 0:
                self.weight_ = float(np.clip(1.0 - noise / observed, 0.0, 1.0))
            self.deviation_ = deviation
        # In-sample errors of the same rule over the last season (positions n-m .. n-1
        # sit one season before the forecast positions 0 .. m-1).
        last = values[-self.m_ :]
        fitted = self.level_ + self.weight_ * self.deviation_[: len(last)]
        resid = last - fitted
        self.resid_ = resid - float(np.mean(resid)) if len(resid) else np.zeros(1)

    def _point(self, h: int) -> np.ndarray:
        return self.level_ + self.weight_ * np.resize(self.deviation_, h)

    def _sample_paths(self, h: int, n: int, rng: np.random.Generator) -> np.ndarray:
        return self._point(h)[None, :] + rng.choice(self.resid_, size=(n, h), replace=True)
