"""Forecast workers stay warm across batches: no second start-up per batch."""

from __future__ import annotations

from steward.forecast import forecast_many, parallel
from tests.forecast.conftest import seasonal_daily


def test_a_second_batch_reuses_the_same_worker_processes() -> None:
    batch = {"a": seasonal_daily(60), "b": seasonal_daily(70)}
    try:
        forecast_many(batch, 7, workers=2)
        assert parallel._pool is not None
        first = set(parallel._pool[1]._processes)
        forecast_many(batch, 7, workers=2)
        assert set(parallel._pool[1]._processes) == first and len(first) == 2
    finally:
        parallel.shutdown_workers()
    assert parallel._pool is None
