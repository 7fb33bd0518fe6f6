"""A flat forecast: the stand-in when there is nothing (or nothing varying) to model."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from pandas.tseries.offsets import BaseOffset

from steward.forecast.base import Forecaster


class Constant(Forecaster):
    """Forecast ``value`` (or the series' last value when ``value`` is None), no spread."""

    name = "constant"
    min_length = 1

    def __init__(self, value: float | None = 0.0) -> None:
        self.value = value

    @classmethod
    def test_params(cls) -> list[dict[str, Any]]:
        return [{}, {"value": None}]

    @classmethod
    def without_data(cls, freq: BaseOffset, last: pd.Timestamp, value: float = 0.0) -> Constant:
        """A fitted forecaster for a series with no observations yet.

        Its ``y_`` is empty; forecasts start the period after ``last``.
        """
        model = cls(value=value)
        model.y_ = pd.Series([], index=pd.DatetimeIndex([], freq=freq), dtype=float)
        model.freq_ = freq
        model.level_ = float(value)
        model.anchor_ = pd.Timestamp(last)
        return model

    def _fit(self, y: pd.Series) -> None:
        self.level_ = float(y.iloc[-1]) if self.value is None else float(self.value)
        self.anchor_ = y.index[-1]

    def _last_timestamp(self) -> pd.Timestamp:
        return pd.Timestamp(self.anchor_)

    def _point(self, h: int) -> np.ndarray:
        return np.full(h, self.level_)

    def _sample_paths(self, h: int, n: int, rng: np.random.Generator) -> np.ndarray:
        return np.full((n, h), self.level_)

    def _sd(self, h: int) -> np.ndarray | None:
        return np.zeros(h)
