"""SQLite under concurrent writers for a minute: the scheduler's jobs (a collector every
second, the pipeline), CLI imports and a collector with a huge ``chunk_rows`` run by
hand, and a simulator feeding new rows, all at once. No job fails and "database is
locked" appears nowhere."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from steward.store.engine import Store
from steward.store.models import Event, JobRun

STEWARD = [sys.executable, "-m", "steward"]
H = "external_id,resource,kind,quantity,occurred_at\n"
SECONDS = 60
T0 = datetime(2024, 1, 1, tzinfo=UTC)


def rows(prefix: str, n: int, start: int = 0) -> str:
    lines = []
    for i in range(start, start + n):
        at = (T0 + timedelta(minutes=i)).isoformat()
        kind = "use" if i % 3 else "replenish"
        lines.append(f"{prefix}{i},{'fund' if i % 2 else 'tank'},{kind},{1 + i % 7},{at}\n")
    return H + "".join(lines)


def config(root: Path) -> Path:
    body = {
        "database": {"url": f"sqlite:///{root / 'steward.db'}"},
        "commons": [
            {
                "slug": "town",
                "name": "Town",
                "resources": [
                    {"slug": "fund", "name": "Fund", "kind": "stock", "initial_level": 10**6},
                    {"slug": "tank", "name": "Tank", "kind": "stock", "initial_level": 10**6},
                ],
            }
        ],
        "collectors": [
            {
                "name": "feed",
                "kind": "csv",
                "commons": "town",
                "path": "feed",
                "schedule": {"every": "1s"},
            },
            {
                "name": "bulk",
                "kind": "csv",
                "commons": "town",
                "path": "bulk",
                "chunk_rows": 5_000_000,
                "enabled": False,  # run by hand with `steward collect bulk`
            },
        ],
        "forecast": {"schedule": {"every": "15s"}, "executor": "serial", "paths": 100},
    }
    path = root / "steward.yaml"
    path.write_text(yaml.safe_dump(body, sort_keys=False), encoding="utf-8")
    return path


@pytest.mark.slow
def test_a_minute_of_concurrent_writers_without_a_lock_failure(tmp_path: Path) -> None:
    for folder in ("feed", "bulk", "imports"):
        (tmp_path / folder).mkdir()
    path = config(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("STEWARD_")}
    subprocess.run(
        [*STEWARD, "-c", str(path), "db", "upgrade"], check=True, capture_output=True, env=env
    )
    logs: list[Path] = []

    def launch(args: list[str], name: str) -> subprocess.Popen[bytes]:
        log = tmp_path / f"{name}.log"
        logs.append(log)
        return subprocess.Popen(
            [*STEWARD, "-c", str(path), *args],
            cwd=tmp_path,
            env=env,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )

    expected = 0
    failures: list[str] = []
    stop = threading.Event()
    fed = [0]

    def simulator() -> None:
        tick = 0
        while not stop.wait(0.25):
            (tmp_path / "feed" / f"live-{tick:05d}.csv").write_text(rows(f"s{tick}-", 10))
            fed[0] += 10
            tick += 1

    def cli() -> None:
        n = 0
        while not stop.is_set():
            if n % 2 == 0:
                file = tmp_path / "imports" / f"i{n}.csv"
                file.write_text(rows(f"i{n}-", 20_000))
                args, counted = ["import", "events", str(file)], 20_000
            else:
                (tmp_path / "bulk" / f"b{n}.csv").write_text(rows(f"b{n}-", 60_000))
                args, counted = ["collect", "bulk"], 60_000
            proc = launch(args, f"cli-{n}")
            if proc.wait(timeout=300) != 0:
                failures.append(f"{' '.join(args)} exited {proc.returncode}")
            else:
                nonlocal expected
                expected += counted
            n += 1

    runner = launch(["run"], "run")
    threads = [threading.Thread(target=simulator), threading.Thread(target=cli)]
    started = time.monotonic()
    for t in threads:
        t.start()
    try:
        time.sleep(SECONDS)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=400)
    runner.send_signal(signal.SIGTERM)
    assert runner.wait(timeout=120) == 0
    elapsed = time.monotonic() - started
    assert elapsed >= SECONDS
    # What the scheduler had not read yet is read now: nothing fed was lost.
    assert launch(["collect", "feed"], "catch-up").wait(timeout=300) == 0

    assert not failures, failures
    text = "\n".join(log.read_text(errors="replace") for log in logs)
    assert "database is locked" not in text.lower()
    assert "Traceback" not in text
    store = Store(f"sqlite:///{tmp_path / 'steward.db'}")
    with store.read() as conn:
        statuses = conn.execute(select(JobRun.job, JobRun.status, JobRun.error)).all()
        events = conn.execute(select(func.count()).select_from(Event)).scalar_one()
    store.dispose()
    assert statuses and all(s.status == "ok" for s in statuses), [
        s for s in statuses if s.status != "ok"
    ]
    assert {s.job for s in statuses} >= {"collect:feed", "pipeline"}
    assert events == expected + fed[0]
    assert events >= 10_000
