"""Steward's forecasting engine: pure pandas/numpy/statsmodels, no database.

The one exception is :mod:`steward.forecast.runs`, which runs the engine against
the store; it is not imported here, so the engine stays free of SQLAlchemy.

``select`` picks and calibrates a forecaster per series, ``forecast_many`` fans
that out over processes or a Dask cluster, and ``projection`` turns sample paths
into stock-depletion and pool-occupancy risks.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from steward.forecast.base import DEFAULT_QUANTILES, Forecaster, quantile_column
    from steward.forecast.calibration import Calibrated
    from steward.forecast.parallel import forecast_many
    from steward.forecast.projection import (
        PoolProjection,
        StockProjection,
        project_pool,
        project_stock,
    )
    from steward.forecast.registry import FORECASTERS, make
    from steward.forecast.selection import BacktestResult, Selection, backtest, select

# Names are loaded on first use (PEP 562): importing a submodule such as
# ``steward.forecast.runs`` runs this file first, and a forecast run with nothing
# to fit should not pay for statsmodels and scipy.stats (seconds to import).
_HOME = {
    "DEFAULT_QUANTILES": "base",
    "Forecaster": "base",
    "quantile_column": "base",
    "Calibrated": "calibration",
    "forecast_many": "parallel",
    "PoolProjection": "projection",
    "StockProjection": "projection",
    "project_pool": "projection",
    "project_stock": "projection",
    "FORECASTERS": "registry",
    "make": "registry",
    "BacktestResult": "selection",
    "Selection": "selection",
    "backtest": "selection",
    "select": "selection",
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


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
