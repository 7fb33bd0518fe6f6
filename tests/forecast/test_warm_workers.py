"""Forecast workers stay warm across batches: no second start-up per batch."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil

from steward.forecast import forecast_many, parallel
from tests.conftest import REPO
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


KILLED_PARENT = """
import json, os, signal, sys
from steward.forecast import forecast_many, parallel
from tests.forecast.conftest import seasonal_daily

if __name__ == "__main__":
    forecast_many({"a": seasonal_daily(60), "b": seasonal_daily(70)}, 7, workers=2)
    with open(sys.argv[1], "w") as out:
        json.dump([p.pid for p in parallel._pool[1]._processes.values()], out)
    os.kill(os.getpid(), signal.SIGKILL)  # no atexit, no pool shutdown: as the OOM killer would
"""


def test_workers_exit_when_their_parent_is_killed(tmp_path: Path) -> None:
    script = tmp_path / "killed_parent.py"
    script.write_text(KILLED_PARENT)
    pids, log = tmp_path / "pids.json", tmp_path / "stderr.log"
    with log.open("w") as err:  # a file, not a pipe: orphans would hold a pipe open
        proc = subprocess.run(
            [sys.executable, str(script), str(pids)],
            stdout=subprocess.DEVNULL,
            stderr=err,
            timeout=120,
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
    assert proc.returncode == -signal.SIGKILL, log.read_text()
    workers = [psutil.Process(pid) for pid in json.loads(pids.read_text())]
    assert len(workers) == 2
    _, alive = psutil.wait_procs(workers, timeout=30)
    for p in alive:
        p.kill()
    assert not alive, f"forecast workers outlived their killed parent: {[p.pid for p in alive]}"
