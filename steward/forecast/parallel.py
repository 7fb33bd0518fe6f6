"""Forecast many series at once: local processes by default, or a Dask cluster."""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from typing import Any

import pandas as pd

from steward.errors import ForecastError
from steward.forecast.selection import Selection, select

Result = Selection | ForecastError

# statsmodels fits are tiny matrix problems: multithreaded BLAS in every worker
# oversubscribes the cores and runs several times slower than one thread each.
_ONE_THREAD = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


@contextmanager
def _single_threaded_workers() -> Iterator[None]:
    """Workers spawned inside this block start with single-threaded BLAS
    (unless the caller chose a thread count)."""
    saved = {k: os.environ.get(k) for k in _ONE_THREAD}
    for k in _ONE_THREAD:
        os.environ.setdefault(k, "1")
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def forecast_one(key: str, y: pd.Series, h: int, select_kwargs: dict[str, Any]) -> Result:
    """Select for one series; any failure comes back as a ForecastError value.

    Returning the error instead of raising keeps one bad series from failing
    the batch, and keeps results picklable across process boundaries.
    """
    try:
        return select(y, h, **select_kwargs)
    except ForecastError as exc:
        return ForecastError(f"{key}: {exc.message}", hint=exc.hint)
    except Exception as exc:  # noqa: BLE001 - the batch must survive any one series
        return ForecastError(f"{key}: forecasting failed: {type(exc).__name__}: {exc}")


def _exit_with_parent() -> None:
    """Worker initializer: end this worker the moment its parent process ends.

    A spawned worker blocks on its call queue, whose write end it holds itself,
    so it never sees its parent die: a scheduler killed by SIGKILL or the OOM
    killer would leave each worker (about 230 MB) running forever. The parent's
    sentinel (``multiprocessing.parent_process().sentinel``) becomes readable
    when the parent exits by any means.
    """
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


_pool: tuple[int, ProcessPoolExecutor] | None = None
_pool_lock = threading.Lock()


def _warm_pool(n_workers: int) -> ProcessPoolExecutor:
    """The process's forecasting pool, kept warm across batches.

    Starting a spawned worker and importing statsmodels costs about a CPU-second
    per worker; the scheduler forecasts every hour, so workers are started once
    per process (or after a worker died) and reused. They exit with the process.
    """
    global _pool
    with _pool_lock:
        if _pool is not None:
            size, pool = _pool
            if size == n_workers and not getattr(pool, "_broken", False):
                return pool
            pool.shutdown(wait=False, cancel_futures=True)
        pool = ProcessPoolExecutor(
            max_workers=n_workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_exit_with_parent,
        )
        _pool = (n_workers, pool)
        return pool


def shutdown_workers() -> None:
    """Stop the warm pool's workers now (they also stop when the process exits)."""
    global _pool
    with _pool_lock:
        if _pool is not None:
            _pool[1].shutdown(wait=True, cancel_futures=True)
            _pool = None


def _is_dask_address(executor: str) -> bool:
    return "://" in executor or ":" in executor


def forecast_many(
    series: Mapping[str, pd.Series],
    h: int,
    *,
    executor: str | None = None,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    **select_kwargs: Any,
) -> dict[str, Result]:
    """Run ``select`` for every series.

    ``executor`` is None or ``"processes"`` for a local process pool (all cores
    unless ``workers``), ``"serial"`` to stay in this process, or a Dask
    scheduler address such as ``tcp://host:8786``. ``progress(done, total)``
    is called as results arrive. Results keep the order of ``series``.
    """
    keys = list(series)
    total = len(keys)
    results: dict[str, Result] = {}

    def done(key: str, result: Result) -> None:
        results[key] = result
        if progress is not None:
            progress(len(results), total)

    if executor == "serial" or total == 0:
        for key in keys:
            done(key, forecast_one(key, series[key], h, select_kwargs))
    elif executor is None or executor == "processes":
        pool = _warm_pool(workers or os.cpu_count() or 1)
        with _single_threaded_workers():  # workers start on the first submit
            futures = {
                pool.submit(forecast_one, key, series[key], h, select_kwargs): key for key in keys
            }
        for fut in as_completed(futures):
            done(futures[fut], fut.result())
    elif _is_dask_address(executor):
        _run_dask(executor, series, keys, h, select_kwargs, done)
    else:
        raise ForecastError(
            f"unknown executor {executor!r}",
            hint="use None/'processes', 'serial' or a Dask scheduler address",
        )
    return {key: results[key] for key in keys}


def _run_dask(
    address: str,
    series: Mapping[str, pd.Series],
    keys: list[str],
    h: int,
    select_kwargs: dict[str, Any],
    done: Callable[[str, Result], None],
) -> None:
    from dask.distributed import Client
    from dask.distributed import as_completed as dask_completed

    with Client(address) as client:
        futures = {
            client.submit(forecast_one, key, series[key], h, select_kwargs, pure=False): key
            for key in keys
        }
        for fut in dask_completed(list(futures)):
            done(futures[fut], fut.result())
