"""The Theta method (Assimakopoulos & Nikolopoulos), winner of M3, via statsmodels."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.tsa.forecasting.theta import ThetaModel

from steward.forecast.base import Forecaster, gaussian_paths, season_length_for


class Theta(Forecaster):
    """Theta(2) on data deseasonalised when a 90% ACF test finds seasonality."""

    name = "theta"
    min_length = 3

    def __init__(self, season_length: int | None = None, deseasonalize: bool = True) -> None:
        self.season_length = season_length
        self.deseasonalize = deseasonalize

    @classmethod
    def test_params(cls) -> list[dict[str, Any]]:
        return [{}, {"deseasonalize": False}]

    def _fit(self, y: pd.Series) -> None:
        m = self.season_length or season_length_for(self.freq_)
        season = self.deseasonalize and m > 1 and len(y) >= 2 * m
        self.result_ = ThetaModel(
            y, period=m if season else 1, deseasonalize=season, use_test=True
        ).fit()

    def _point(self, h: int) -> np.ndarray:
        return np.asarray(self.result_.forecast(h, theta=2), dtype=float)

    def _sd(self, h: int) -> np.ndarray | None:
        # statsmodels refits an ARIMA for sigma2 on every interval call: cache it.
        cache: dict[int, np.ndarray] = self.__dict__.setdefault("sd_cache_", {})
        if h not in cache:
            band = self.result_.prediction_intervals(h, alpha=0.2)
            width = np.asarray(band["upper"] - band["lower"], dtype=float)
            cache[h] = width / (2 * stats.norm.ppf(0.9))
        return cache[h]

    def _sample_paths(self, h: int, n: int, rng: np.random.Generator) -> np.ndarray:
        sd = self._sd(h)
        assert sd is not None
        return gaussian_paths(self._point(h), sd, n, rng)
