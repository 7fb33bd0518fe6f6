"""PostgreSQL: a `steward run` whose lock connection dies stops running jobs, and its
successor starts only after it: at no time do two processes run jobs."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text

from steward.store.models import JobRun
from steward.workspace import Workspace

from .support import MakeWorkspace, csv_collector

H = "external_id,resource,kind,quantity,occurred_at\n"
INTERVAL = 1.0


def _start(config: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STEWARD_")}
    return subprocess.Popen(
        [sys.executable, "-m", "steward", "--config", str(config), "run"],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )


def runs_by(ws: Workspace, pid: int) -> list[tuple[float, float, str | None]]:
    """(started, finished, error) of the jobs process ``pid`` ran, as epoch seconds."""
    with ws.store.read() as conn:
        rows = conn.execute(
            select(JobRun.started_at, JobRun.finished_at, JobRun.error, JobRun.runner)
        ).all()
    return [
        (r.started_at.timestamp(), r.finished_at.timestamp(), r.error)
        for r in rows
        if r.runner and r.runner.endswith(f":{pid}") and r.started_at and r.finished_at
    ]


@pytest.mark.slow
def test_terminating_the_lock_holders_backend_stops_it_before_a_successor_runs(
    make_workspace: MakeWorkspace, db_url: str, tmp_path: Path
) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("the lock that a server can drop is PostgreSQL's")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.csv").write_text(H + "e1,fund,use,1,2024-05-01\n")
    ws = make_workspace([csv_collector(schedule={"every": f"{INTERVAL:g}s"})])
    first = _start(ws.config.path, tmp_path / "one.log")
    second: subprocess.Popen[bytes] | None = None
    admin = create_engine(db_url, isolation_level="AUTOCOMMIT")
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(runs_by(ws, first.pid)) < 2:
            time.sleep(0.2)
        assert len(runs_by(ws, first.pid)) >= 2, (tmp_path / "one.log").read_text()
        with admin.connect() as conn:
            killed = conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
                    "AND granted AND database = "
                    "(SELECT oid FROM pg_database WHERE datname = current_database())"
                )
            ).all()
        assert killed == [(True,)]
        cut = time.time()
        second = _start(ws.config.path, tmp_path / "two.log")
        # The first stops within one job interval (plus the job it may be finishing).
        assert first.wait(timeout=30) == 1
        one_log = (tmp_path / "one.log").read_text()
        assert "lost the scheduler lock" in one_log
        ran_first = [
            r for r in runs_by(ws, first.pid) if "lost the scheduler lock" not in (r[2] or "")
        ]
        assert max(started for started, _, _ in ran_first) <= cut + INTERVAL + 1.0
        while time.monotonic() < deadline and len(runs_by(ws, second.pid)) < 3:
            time.sleep(0.2)
        ran_second = runs_by(ws, second.pid)
        assert len(ran_second) >= 3, (tmp_path / "two.log").read_text()
        # Never two runners at once: the successor's first job starts after the last
        # job of the first process finished.
        assert min(s for s, _, _ in ran_second) >= max(f for _, f, _ in ran_first)
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()
        admin.dispose()
