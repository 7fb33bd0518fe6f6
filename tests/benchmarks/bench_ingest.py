"""Ingest throughput of `steward import` for a 1,000,000-event CSV, and demo build time.

Targets: >= 200,000 events/s into SQLite, >= 100,000 events/s into PostgreSQL
(the PostgreSQL figure needs STEWARD_TEST_DATABASE_URL; without it, it is skipped).
"""

from __future__ import annotations

import argparse
import os
import pstats
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

STEWARD = [sys.executable, "-m", "steward"]


def make_csv(path: Path, n: int) -> None:
    rng = np.random.default_rng(7)
    start = pd.Timestamp("2023-01-01", tz="UTC").value // 1000
    micros = np.sort(rng.integers(0, 3 * 365 * 86400 * 10**6, size=n)) + start
    frame = pd.DataFrame(
        {
            "external_id": np.arange(n).astype(str),
            "resource": np.where(rng.random(n) < 0.5, "fund", "tank"),
            "kind": np.where(rng.random(n) < 0.55, "use", "replenish"),
            "quantity": np.round(rng.gamma(2.0, 20.0, size=n) + 0.01, 2),
            "occurred_at": pd.to_datetime(micros, unit="us", utc=True).strftime(
                "%Y-%m-%dT%H:%M:%S+00:00"
            ),
        }
    )
    frame.to_csv(path, index=False)


def workspace(root: Path, url: str) -> Path:
    config = {
        "database": {"url": url},
        "commons": [
            {
                "slug": "bench",
                "name": "Bench",
                "resources": [
                    {"slug": "fund", "name": "Fund", "kind": "stock", "initial_level": 10**9},
                    {"slug": "tank", "name": "Tank", "kind": "stock", "initial_level": 10**9},
                ],
            }
        ],
    }
    path = root / "steward.yaml"
    path.write_text(yaml.safe_dump(config))
    subprocess.run([*STEWARD, "-c", str(path), "db", "upgrade"], check=True, capture_output=True)
    return path


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed_import(config: Path, csv: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the import process) of one ``steward import``.

    CPU seconds are the import process's own (user + system); a database server's
    work (PostgreSQL's backend) is in the wall time only. On a shared machine wall
    time is inflated by other load; CPU seconds are the steadier figure.
    """
    cpu = _children_cpu()
    started = time.perf_counter()
    subprocess.run(
        [*STEWARD, "-c", str(config), "import", "events", str(csv)], check=True, capture_output=True
    )
    return time.perf_counter() - started, _children_cpu() - cpu


def profile_top(config: Path, csv: Path, lines: int = 3) -> list[str]:
    """The top ``lines`` functions by own time of an import (into a fresh source name)."""
    out = config.parent / "import.prof"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "cProfile",
            "-o",
            str(out),
            "-m",
            "steward",
            "-c",
            str(config),
            "import",
            "events",
            str(csv),
            "--source",
            "profiled",
        ],
        check=True,
        capture_output=True,
    )
    stats = pstats.Stats(str(out))
    rows = sorted(stats.stats.items(), key=lambda kv: kv[1][2], reverse=True)[:lines]  # type: ignore[attr-defined]
    return [
        f"{tottime:8.2f} s own {cumtime:8.2f} s cum  {Path(file).name}:{line}({name})"
        for (file, line, name), (_cc, _nc, tottime, cumtime, _callers) in rows
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    args, _ = parser.parse_known_args()
    n = args.events
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        csv = root / "events.csv"
        make_csv(csv, n)
        config = workspace(root, "sqlite:///bench.db")
        seconds, cpu = timed_import(config, csv)
        rows.append(("import into SQLite", n, seconds, cpu, n / seconds, ">= 200,000/s"))
        profiles = {}
        if n / seconds < 200_000:
            profiles["SQLite"] = profile_top(config, csv)
        seconds, cpu = timed_import(config, csv)
        rows.append(("re-import (all duplicates), SQLite", n, seconds, cpu, n / seconds, ""))
        base = os.environ.get("STEWARD_TEST_DATABASE_URL")
        if base:
            url = make_url(base)
            name = f"steward_bench_{uuid.uuid4().hex[:8]}"
            admin = create_engine(url, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            try:
                pg = root / "pg"
                pg.mkdir()
                pg_config = workspace(
                    pg, url.set(database=name).render_as_string(hide_password=False)
                )
                seconds, cpu = timed_import(pg_config, csv)
                rows.append(
                    ("import into PostgreSQL", n, seconds, cpu, n / seconds, ">= 100,000/s")
                )
                if n / seconds < 100_000:
                    profiles["PostgreSQL"] = profile_top(pg_config, csv)
            finally:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        else:
            print("PostgreSQL figure skipped: set STEWARD_TEST_DATABASE_URL to measure it")
        started = time.perf_counter()
        subprocess.run(
            [*STEWARD, "demo", "--dir", str(root / "demo"), "--no-serve"],
            check=True,
            capture_output=True,
        )
        demo_seconds = time.perf_counter() - started
    print(
        f"load average (1, 5, 15 min) at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )
    print(f"{'what':38} {'events':>10} {'wall s':>8} {'CPU s':>7} {'events/s':>10}  target")
    for what, count, seconds, cpu, rate, target in rows:
        print(f"{what:38} {count:>10,} {seconds:>8.1f} {cpu:>7.1f} {rate:>10,.0f}  {target}")
    print(f"{'demo build (steward demo --no-serve)':38} {'':>10} {demo_seconds:>8.1f}")
    for backend, top in profiles.items():
        print(f"target missed on {backend}: the profile's top three (own time)")
        for line in top:
            print(f"  {line}")


if __name__ == "__main__":
    main()
