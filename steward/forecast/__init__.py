"""Steward's forecasting engine: pure pandas/numpy/statsmodels, no database.

The one exception is :mod:`steward.forecast.runs`, which runs the engine against
the store; it is not imported here, so the engine stays free of SQLAlchemy.

``select`` picks and calibrates a forecaster per series, ``forecast_many`` fans
that out over processes or a Dask cluster, and ``projection`` turns sample paths
into stock-depletion and pool-occupancy risks.
"""

from steward.forecast.base import DEFAULT_QUANTILES, Forecaster, quantile_column
from steward.forecast.calibration import Calibrated
from steward.forecast.parallel import forecast_many
from steward.forecast.projection import PoolProjection, StockProjection, project_pool, project_stock
from steward.forecast.registry import FORECASTERS, make
from steward.forecast.selection import BacktestResult, Selection, backtest, select

__all__ = [
    "DEFAULT_QUANTILES",
    "FORECASTERS",
    "BacktestResult",
    "Calibrated",
    "Forecaster",
    "PoolProjection",
    "Selection",
    "StockProjection",
    "backtest",
    "forecast_many",
    "make",
    "project_pool",
    "project_stock",
    "quantile_column",
    "select",
]
