"""forecast_many over processes and over a Dask cluster; results pickle."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from steward.errors import ForecastError
from steward.forecast import Selection, forecast_many
from tests.forecast.conftest import intermittent_daily, seasonal_daily


def _batch() -> dict[str, pd.Series]:
    return {
        "tank": seasonal_daily(90),
        "drills": intermittent_daily(90),
        "empty": pd.Series([], index=pd.DatetimeIndex([], freq="D"), dtype=float),
        "bad": pd.Series([1.0, 2.0, 3.0]),  # no DatetimeIndex: an error value, not a crash
    }


def _check(results: dict[str, Selection | ForecastError]) -> None:
    assert list(results) == ["tank", "drills", "empty", "bad"]
    assert isinstance(results["tank"], Selection) and results["tank"].status == "ok"
    assert isinstance(results["empty"], Selection) and not results["empty"].has_data
    assert isinstance(results["bad"], ForecastError) and "bad" in str(results["bad"])
    clone = pickle.loads(pickle.dumps(results))
    pd.testing.assert_frame_equal(clone["tank"].predict(7), results["tank"].predict(7))


def test_forecast_many_processes_reports_progress() -> None:
    seen: list[tuple[int, int]] = []
    results = forecast_many(_batch(), 7, workers=2, progress=lambda d, t: seen.append((d, t)))
    _check(results)
    assert seen[-1] == (4, 4) and len(seen) == 4


def test_forecast_many_serial_matches_processes() -> None:
    serial = forecast_many(_batch(), 7, executor="serial")
    _check(serial)


@pytest.mark.slow
def test_forecast_many_on_dask() -> None:
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        results = forecast_many(_batch(), 7, executor=cluster.scheduler_address)
    _check(results)
    assert np.isfinite(results["drills"].predict(7).to_numpy()).all()
