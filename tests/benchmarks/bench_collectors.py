"""Collector benchmarks: the MyTurn sample ingest, and CSV throughput into SQLite.

Run: ``python tests/benchmarks/bench_collectors.py [--rows 1000000]``. Prints
figures; it asserts nothing. The CSV figure is split into reading + mapping
(the collector) and recording (the ledger), so a slow side is visible.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from steward import collectors
from steward.collectors.parsing import slugify
from steward.store.engine import Store
from steward.store.schema import upgrade
from steward.workspace import Workspace, open_workspace

REPO = Path(__file__).resolve().parents[2]
MYTURN = REPO.parent / "shared" / "data" / "myturn"
TARGET_ROWS_PER_SECOND = 200_000


def workspace(
    folder: Path, resources: list[dict[str, Any]], collector: dict[str, Any]
) -> Workspace:
    config = {
        "database": {"url": "sqlite:///bench.db"},
        "commons": [
            {
                "slug": "bench",
                "name": "Bench",
                "timezone": "America/Los_Angeles",
                "resources": resources,
            }
        ],
        "collectors": [collector],
    }
    path = folder / "steward.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    store = Store(f"sqlite:///{folder / 'bench.db'}", check_schema=False)
    upgrade(store.engine)
    store.dispose()
    return open_workspace(path)


def bench_myturn(folder: Path) -> None:
    inventory = MYTURN / "inventory-snapshot.csv"
    types = pd.read_csv(inventory, dtype=str, keep_default_na=False)["Item Type"]
    pools = [{"slug": s, "name": s, "kind": "pool"} for s in sorted({slugify(t) for t in types})]
    ws = workspace(
        folder,
        pools,
        {
            "name": "myturn",
            "kind": "myturn",
            "commons": "bench",
            "inventory": str(inventory),
            "loans": str(MYTURN / "loans-201[89].csv"),
        },
    )
    started = time.perf_counter()
    report = collectors.run(ws, "myturn")
    seconds = time.perf_counter() - started
    lines = report.rows_read + report.skipped
    print(
        f"myturn 2018-2019 loans + inventory: {seconds:.2f} s for {lines:,} source lines "
        f"({report.accepted:,} accepted, {report.quarantined:,} quarantined, "
        f"{report.skipped:,} renewal lines folded) = {lines / seconds:,.0f} lines/s"
    )
    ws.close()


def generate_csv(path: Path, rows: int) -> None:
    i = np.arange(rows)
    start = np.datetime64("2024-01-01T00:00:00")
    frame = pd.DataFrame(
        {
            "external_id": np.char.add("b", i.astype(str)),
            "resource": "fund",
            "kind": np.where(i % 3 == 0, "replenish", "use"),
            "quantity": np.char.add("$", ((i % 5000) / 4 + 0.25).astype(str)),
            "occurred_at": (start + i.astype("timedelta64[s]")).astype(str),
        }
    )
    frame.to_csv(path, index=False)


def bench_csv(folder: Path, rows: int) -> None:
    source = folder / "src"
    source.mkdir()
    generate_csv(source / "rows.csv", rows)
    ws = workspace(
        folder,
        [{"slug": "fund", "name": "Fund", "kind": "stock"}],
        {"name": "bulk", "kind": "csv", "commons": "bench", "path": "src", "timezone": "UTC"},
    )
    collector = collectors.build(ws.config, "bulk")
    started = time.perf_counter()
    read = sum(len(chunk.batch.events) for chunk in collector.read(None))
    reading = time.perf_counter() - started
    print(f"csv read + map only: {read:,} rows in {reading:.2f} s = {read / reading:,.0f} rows/s")
    started = time.perf_counter()
    report = collectors.run(ws, "bulk")
    seconds = time.perf_counter() - started
    rate = report.accepted / seconds
    print(
        f"csv collector into SQLite: {report.accepted:,} rows in {seconds:.2f} s = {rate:,.0f} rows/s "
        f"(target {TARGET_ROWS_PER_SECOND:,}; ledger share {max(0.0, 1 - reading / seconds):.0%})"
    )
    ws.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000, help="generated CSV rows")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if MYTURN.exists():
            (Path(tmp) / "myturn").mkdir()
            bench_myturn(Path(tmp) / "myturn")
        else:
            print(f"myturn: skipped, no sample at {MYTURN}")
        (Path(tmp) / "csv").mkdir()
        bench_csv(Path(tmp) / "csv", args.rows)


if __name__ == "__main__":
    main()
