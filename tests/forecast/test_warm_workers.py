"""Forecast workers stay warm across batches: no second start-up per batch."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
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


INTERRUPTED = """
import sys
from steward.forecast import forecast_many
from tests.forecast.conftest import seasonal_daily

if __name__ == "__main__":
    try:
        forecast_many({f"s{i}": seasonal_daily(200 + i) for i in range(12)}, 14, workers=2)
    except KeyboardInterrupt:
        sys.exit(130)  # the parent's own Ctrl-C, handled as the CLI handles it
"""


def test_ctrl_c_is_the_parents_workers_print_no_traceback(tmp_path: Path) -> None:
    """Ctrl-C reaches the whole process group: under `make demo` each worker still
    importing printed a KeyboardInterrupt traceback, read as a crash."""
    script = tmp_path / "interrupted.py"
    script.write_text(INTERRUPTED)
    log = tmp_path / "stderr.log"
    with log.open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, str(script)],
            stdout=subprocess.DEVNULL,
            stderr=err,
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            start_new_session=True,
        )
        try:
            workers: list[psutil.Process] = []
            deadline = time.monotonic() + 60
            while len(workers) < 2 and time.monotonic() < deadline:
                workers = [
                    p
                    for p in psutil.Process(proc.pid).children(recursive=True)
                    if "--multiprocessing-fork" in p.cmdline()
                    and "resource_tracker" not in " ".join(p.cmdline())
                ]
                time.sleep(0.05)
            assert len(workers) == 2, "the forecast workers did not start"
            time.sleep(0.3)  # they are importing pandas and statsmodels now
            os.killpg(proc.pid, signal.SIGINT)
            assert proc.wait(timeout=120) == 130
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
    _, alive = psutil.wait_procs(workers, timeout=30)
    for p in alive:
        p.kill()
    said = log.read_text()
    assert "spawn_main" not in said and "SpawnProcess" not in said, said
    assert not alive
