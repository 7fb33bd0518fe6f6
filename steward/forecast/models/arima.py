"""Seasonal ARIMA with a small automatic order search by AICc (a light auto.arima)."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pandas as pd
from statsmodels.tsa.statespace.sarimax import SARIMAX
from statsmodels.tsa.stattools import kpss

from steward.errors import ForecastError
from steward.forecast.base import (
    Forecaster,
    gaussian_paths,
    season_length_for,
    standardized,
)
from steward.forecast.models.seasonality import is_seasonal

# Seasonal state dimension grows with the period; SARIMAX becomes slow past this.
MAX_SEASON = 24
_PQ = ((0, 0), (1, 0), (0, 1), (1, 1), (2, 0), (0, 2))


def differencing_order(y: np.ndarray, max_d: int = 2) -> int:
    """Number of differences until KPSS no longer rejects level stationarity at 5%."""
    d = 0
    x = y
    while d < max_d and len(x) > 10 and np.ptp(x) > 0:
        _stat, pvalue, *_ = kpss(x, regression="c", nlags="auto")
        if pvalue >= 0.05:
            break
        x = np.diff(x)
        d += 1
    return d


class ARIMA(Forecaster):
    """SARIMAX; ``order``/``seasonal_order`` of None are searched automatically."""

    name = "arima"
    min_length = 6

    def __init__(
        self,
        order: tuple[int, int, int] | None = None,
        seasonal_order: tuple[int, int, int] | None = None,
        season_length: int | None = None,
    ) -> None:
        self.order = order
        self.seasonal_order = seasonal_order
        self.season_length = season_length

    @classmethod
    def test_params(cls) -> list[dict[str, Any]]:
        return [{}, {"order": (1, 1, 0), "seasonal_order": (0, 0, 0)}]

    @property
    def label(self) -> str:
        if not hasattr(self, "spec_"):
            return self.name
        (p, d, q), (sp, sd, sq), m = self.spec_
        seasonal = f"({sp},{sd},{sq})[{m}]" if m > 1 and (sp, sd, sq) != (0, 0, 0) else ""
        return f"arima({p},{d},{q}){seasonal}"

    def frozen(self) -> Forecaster:
        if not hasattr(self, "spec_"):
            return self.clone()
        order, sorder, period = self.spec_
        return ARIMA(order=order, seasonal_order=sorder, season_length=period)

    def _specs(self, values: np.ndarray, m: int) -> list[tuple[Any, Any, int]]:
        seasonal_ok = 1 < m <= MAX_SEASON and len(values) >= 3 * m
        if self.order is not None:
            sorder = self.seasonal_order or (0, 0, 0)
            return [(self.order, sorder, m if sorder != (0, 0, 0) else 1)]
        big_d = 1 if seasonal_ok and is_seasonal(values, m) else 0
        x = values[m:] - values[:-m] if big_d else values
        d = differencing_order(x, max_d=1 if big_d else 2)
        seasonal_pq = [(0, 0), (1, 0), (0, 1)] if seasonal_ok else [(0, 0)]
        specs = []
        for (p, q), (sp, sq) in itertools.product(_PQ, seasonal_pq):
            sorder = (sp, big_d, sq) if seasonal_ok else (0, 0, 0)
            specs.append(((p, d, q), sorder, m if seasonal_ok else 1))
        return specs

    def _fit(self, y: pd.Series) -> None:
        values = y.to_numpy()
        m = self.season_length or season_length_for(self.freq_)
        best: tuple[float, Any, Any] | None = None
        for order, sorder, period in self._specs(values, m):
            n_diff = order[1] + sorder[1]
            trend = "c" if n_diff <= 1 else "n"
            try:
                res = SARIMAX(
                    y,
                    order=order,
                    seasonal_order=(*sorder, period) if period > 1 else (0, 0, 0, 0),
                    trend=trend,
                ).fit(disp=False)
            except (ValueError, np.linalg.LinAlgError, ArithmeticError):
                continue
            aicc = float(res.aicc)
            if np.isfinite(aicc) and (best is None or aicc < best[0]):
                best = (aicc, res, (order, sorder, period))
        if best is None:
            raise ForecastError("arima: no order could be estimated")
        _, self.result_, self.spec_ = best
        burn = sum(self.spec_[0][1:2]) + self.spec_[1][1] * self.spec_[2]
        self.innovations_ = standardized(np.asarray(self.result_.resid, dtype=float)[burn:])

    def _point(self, h: int) -> np.ndarray:
        return np.asarray(self.result_.forecast(h), dtype=float)

    def _sd(self, h: int) -> np.ndarray | None:
        fc = self.result_.get_forecast(h)
        return np.sqrt(np.maximum(np.asarray(fc.var_pred_mean, dtype=float), 0.0))

    def _sample_paths(self, h: int, n: int, rng: np.random.Generator) -> np.ndarray:
        sd = self._sd(h)
        assert sd is not None
        return gaussian_paths(self._point(h), sd, n, rng, innovations=self.innovations_)
