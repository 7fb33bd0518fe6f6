"""The Theta method (Assimakopoulos & Nikolopoulos), winner of M3.

Written on numpy rather than with statsmodels' ``ThetaModel``: the method is a
simple exponential smoothing plus half the slope of a linear trend (Hyndman &
Billah, 2003), and statsmodels refits an ARIMA on every interval call, which
made Theta the slowest candidate of the backtest although it is the simplest.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize_scalar
from scipy.signal import lfilter

from steward.forecast.base import Forecaster, gaussian_paths, season_length_for
from steward.forecast.models.seasonality import future_indices, seasonal_indices


def ses_levels(y: np.ndarray, alpha: float) -> np.ndarray:
    """Levels ``l_0 .. l_n`` of simple exponential smoothing started at ``y[0]``."""
    zi = np.array([(1 - alpha) * y[0]])
    levels, _ = lfilter([alpha], [1.0, alpha - 1.0], y, zi=zi)
    return np.concatenate([[y[0]], levels])


def fit_ses(y: np.ndarray) -> tuple[float, np.ndarray]:
    """Smoothing weight minimising the one-step squared error, and the levels."""

    def sse(alpha: float) -> float:
        return float(np.sum(np.square(y - ses_levels(y, alpha)[:-1])))

    best = minimize_scalar(sse, bounds=(1e-3, 1.0), method="bounded", options={"xatol": 1e-4})
    alpha = float(best.x)
    return alpha, ses_levels(y, alpha)


class Theta(Forecaster):
    """Theta(2) on data deseasonalised when a 90% ACF test finds seasonality.

    ``recent_seasons`` takes the seasonal indices from that many latest seasons
    (see :func:`~steward.forecast.models.seasonality.seasonal_indices`).
    """

    name = "theta"
    min_length = 3

    def __init__(
        self,
        season_length: int | None = None,
        deseasonalize: bool = True,
        recent_seasons: int | None = None,
    ) -> None:
        self.season_length = season_length
        self.deseasonalize = deseasonalize
        self.recent_seasons = recent_seasons

    @classmethod
    def test_params(cls) -> list[dict[str, Any]]:
        return [{}, {"deseasonalize": False}, {"season_length": 4, "recent_seasons": 3}]

    def _fit(self, y: pd.Series) -> None:
        values = y.to_numpy(dtype=float)
        m = self.season_length or season_length_for(self.freq_)
        self.indices_ = (
            seasonal_indices(values, m, "theta", recent=self.recent_seasons)
            if self.deseasonalize
            else None
        )
        if self.indices_ is not None:
            values = values / self.indices_[np.arange(len(values)) % m]
        n = len(values)
        t = np.arange(n, dtype=float)
        self.slope_ = float(np.polyfit(t, values, 1)[0]) if n > 1 else 0.0
        self.alpha_, levels = fit_ses(values)
        self.level_ = float(levels[-1])
        resid = values[1:] - levels[1:-1]
        self.sigma2_ = float(np.mean(np.square(resid))) if len(resid) else 0.0
        self.n_ = n

    def _season(self, h: int) -> np.ndarray:
        if self.indices_ is None:
            return np.ones(h)
        return future_indices(self.indices_, self.n_, h)

    def _point(self, h: int) -> np.ndarray:
        a = self.alpha_
        steps = np.arange(1, h + 1, dtype=float)
        # Half the linear trend's slope, adjusted for SES's lag (Hyndman & Billah).
        drift = 0.5 * self.slope_ * (steps - 1 + 1 / a - (1 - a) ** self.n_ / a)
        return (self.level_ + drift) * self._season(h)

    def _sd(self, h: int) -> np.ndarray | None:
        steps = np.arange(h, dtype=float)
        var = self.sigma2_ * (1 + steps * self.alpha_**2)
        return np.sqrt(var) * self._season(h)

    def _sample_paths(self, h: int, n: int, rng: np.random.Generator) -> np.ndarray:
        sd = self._sd(h)
        assert sd is not None
        return gaussian_paths(self._point(h), sd, n, rng)
