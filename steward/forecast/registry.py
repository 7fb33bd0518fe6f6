"""Every forecaster class, by name."""

from __future__ import annotations

from typing import Any

from steward.errors import ForecastError
from steward.forecast.base import Forecaster
from steward.forecast.calibration import Calibrated, Widened
from steward.forecast.models import (
    ARIMA,
    ETS,
    SBA,
    TSB,
    Clipped,
    Combination,
    Constant,
    Croston,
    Drift,
    LongRunRate,
    MSTLForecaster,
    Naive,
    Naive2,
    SeasonalMean,
    SeasonalNaive,
    ShrunkSeasonalMean,
    Theta,
    WindowMean,
)

FORECASTERS: tuple[type[Forecaster], ...] = (
    Naive,
    SeasonalNaive,
    Naive2,
    Drift,
    Constant,
    ETS,
    Theta,
    ARIMA,
    Croston,
    SBA,
    TSB,
    LongRunRate,
    WindowMean,
    SeasonalMean,
    ShrunkSeasonalMean,
    MSTLForecaster,
    Combination,
    Calibrated,
    Widened,
    Clipped,
)


def make(name: str, **params: Any) -> Forecaster:
    """Construct the forecaster registered as ``name`` with ``params``."""
    for cls in FORECASTERS:
        if cls.name == name:
            return cls(**params)
    known = ", ".join(cls.name for cls in FORECASTERS)
    raise ForecastError(f"unknown forecaster {name!r}", hint=f"known forecasters: {known}")
