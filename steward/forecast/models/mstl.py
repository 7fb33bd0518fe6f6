"""MSTL decomposition for data with several seasonal cycles (daily: weekly + yearly).

The seasonally adjusted series is forecast by a non-seasonal model; each seasonal
component is continued by repeating its last cycle.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from statsmodels.tsa.seasonal import MSTL

from steward.forecast.base import Forecaster
from steward.forecast.models.ets import ETS
from steward.forecast.models.theta import Theta

_DEFAULT_PERIODS = {"D": (7, 365), "B": (5, 261), "H": (24, 168), "W": (52,)}


class MSTLForecaster(Forecaster):
    """MSTL seasonal adjustment, then ETS or Theta, then reseasonalisation."""

    name = "mstl"
    min_length = 4

    def __init__(self, periods: tuple[int, ...] | None = None, base: str = "ets") -> None:
        self.periods = periods
        self.base = base

    @classmethod
    def test_params(cls) -> list[dict[str, Any]]:
        return [{"periods": (7,)}, {"periods": (7, 30), "base": "theta"}]

    @property
    def label(self) -> str:
        if not hasattr(self, "periods_"):
            return self.name
        return f"mstl({','.join(map(str, self.periods_))})/{self.inner_.label}"

    def _fit(self, y: pd.Series) -> None:
        code = self.freq_.rule_code.split("-")[0].upper()
        wanted = self.periods or _DEFAULT_PERIODS.get(code, ())
        self.periods_ = tuple(p for p in wanted if p > 1 and len(y) >= 2 * p)
        if self.periods_:
            with np.errstate(all="ignore"):
                res = MSTL(y.to_numpy(), periods=list(self.periods_)).fit()
            seasonal = np.asarray(res.seasonal, dtype=float).reshape(len(y), -1)
        else:
            seasonal = np.zeros((len(y), 0))
        self.seasonal_ = seasonal
        adjusted = y - seasonal.sum(axis=1)
        inner: Forecaster = (
            Theta(deseasonalize=False) if self.base == "theta" else ETS(seasonal="N")
        )
        self.inner_ = inner.fit(adjusted)

    def _season(self, h: int) -> np.ndarray:
        total = np.zeros(h)
        for j, p in enumerate(self.periods_):
            last = self.seasonal_[-p:, j]
            total += last[np.arange(h) % p]
        return total

    def _point(self, h: int) -> np.ndarray:
        return self.inner_._point(h) + self._season(h)

    def _sd(self, h: int) -> np.ndarray | None:
        return self.inner_._sd(h)

    def _sample_paths(self, h: int, n: int, rng: np.random.Generator) -> np.ndarray:
        return self.inner_._sample_paths(h, n, rng) + self._season(h)[None, :]
