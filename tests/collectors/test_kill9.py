"""kill -9 during a large ingest, at random points, then a final run: exact totals.

Each killed run commits whole chunks (events + cursor in one transaction), so
after every kill the rows before the saved cursor are exactly the rows in the
ledger: the cursor never runs ahead of (or behind) committed rows.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select

from steward.store.models import CollectorRun, CollectorState, Event, QuarantinedRow
from steward.workspace import Workspace

from .support import MakeWorkspace, csv_collector

ROWS = 200_000
KILLS = 20
H = b"external_id,resource,kind,quantity,occurred_at\n"


def quantity(i: int) -> str:
    return f"{(i % 997) + 1}.{i % 100:02d}"


def write_source(path: Path) -> Decimal:
    total = Decimal(0)
    with path.open("wb") as out:
        out.write(H)
        for i in range(ROWS):
            q = quantity(i)
            total += Decimal(q)
            out.write(f"k{i},fund,replenish,{q},2024-01-01T00:00:00Z\n".encode())
    return total


def ledger(ws: Workspace) -> tuple[int, Decimal, str | None]:
    with ws.store.read() as conn:
        count = conn.execute(select(func.count()).select_from(Event)).scalar_one()
        total = conn.execute(select(func.coalesce(func.sum(Event.quantity), 0))).scalar_one()
        cursor = conn.execute(select(CollectorState.cursor)).scalar()
    return int(count), Decimal(total), cursor


def wipe(ws: Workspace) -> None:
    with ws.store.write() as conn:
        for model in (Event, QuarantinedRow, CollectorState, CollectorRun):
            conn.execute(delete(model))


def rows_before(data: bytes, cursor: str | None) -> int:
    if cursor is None:
        return 0
    offset = json.loads(cursor)["files"]["src/big.csv"]["offset"]
    return max(0, data[:offset].count(b"\n") - 1)  # minus the header line


@pytest.mark.slow
def test_kill_minus_nine_never_loses_or_double_counts(
    make_workspace: MakeWorkspace, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    expected_total = write_source(src / "big.csv")
    data = (src / "big.csv").read_bytes()
    ws = make_workspace([csv_collector(chunk_rows=4000)])
    config = str(ws.config.path)
    command = [sys.executable, "-m", "steward", "--config", config, "collect", "ledger"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("STEWARD_")}
    rng = random.Random(20240501)
    kills = 0
    while kills < KILLS:
        proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(rng.uniform(1.0, 3.0))
        if proc.poll() is not None:
            # Finished before the kill (fast backends): check it, start over, kill again.
            assert proc.returncode == 0, proc.stderr.read().decode() if proc.stderr else ""
            assert ledger(ws)[0] == ROWS
            wipe(ws)
            continue
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kills += 1
        count, _, cursor = ledger(ws)
        assert count == rows_before(data, cursor), f"after kill {kills}"
    assert kills >= KILLS
    final = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert final.returncode == 0, final.stderr
    count, total, cursor = ledger(ws)
    assert count == ROWS
    assert total == expected_total
    assert rows_before(data, cursor) == ROWS
