"""Forecasting model families, one small module each."""

from steward.forecast.models.arima import ARIMA
from steward.forecast.models.clipped import Clipped
from steward.forecast.models.combination import Combination
from steward.forecast.models.constant import Constant
from steward.forecast.models.ets import ETS
from steward.forecast.models.intermittent import SBA, TSB, Croston, LongRunRate
from steward.forecast.models.long_memory import SeasonalMean, ShrunkSeasonalMean, WindowMean
from steward.forecast.models.mstl import MSTLForecaster
from steward.forecast.models.naive import Drift, Naive, Naive2, SeasonalNaive
from steward.forecast.models.theta import Theta

__all__ = [
    "ARIMA",
    "ETS",
    "SBA",
    "TSB",
    "Clipped",
    "Combination",
    "Constant",
    "Croston",
    "Drift",
    "LongRunRate",
    "MSTLForecaster",
    "Naive",
    "Naive2",
    "SeasonalMean",
    "SeasonalNaive",
    "ShrunkSeasonalMean",
    "Theta",
    "WindowMean",
]
