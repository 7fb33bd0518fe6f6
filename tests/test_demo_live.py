"""The demo's sources: nothing dated in the future, loans with due dates, live rows at the
history's own pace whatever the tick length."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from steward import demo

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # New York is still on 30 November


def _rows(root: Path) -> list[dict[str, str]]:
    out = []
    for path in sorted(root.rglob("*.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                row["_file"] = path.name
                out.append(row)
    return out


def _at(row: dict[str, str]) -> datetime | None:
    value = row.get("occurred_at") or row.get("observed_at") or row.get("effective_at")
    return datetime.fromisoformat(value) if value else None


def _per_day(rows: list[dict[str, str]], start: datetime, end: datetime, file: str) -> float:
    total = sum(
        float(r["quantity"])
        for r in rows
        if r["_file"].startswith(file) and r["kind"] == "use" and start < _at(r) <= end  # type: ignore[operator]
    )
    return total / ((end - start) / timedelta(days=1))


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("live")
    demo.generate(root, now=NOW)
    return root


def test_history_has_nothing_after_now(history: Path) -> None:
    late = [r for r in _rows(history) if (_at(r) or NOW) > NOW]
    assert late == []


def test_loans_have_due_dates_and_some_are_overdue(history: Path) -> None:
    loans = [r for r in _rows(history) if r["_file"] == "loans.csv"]
    out = {r["loan_ref"]: r for r in loans if r["kind"] == "use"}
    back = {r["loan_ref"] for r in loans if r["kind"] == "replenish"}
    assert out and all(r["due_at"] for r in out.values())
    assert all(not r["due_at"] for r in loans if r["kind"] == "replenish")
    overdue = [
        (NOW - datetime.fromisoformat(r["due_at"])).days
        for ref, r in out.items()
        if ref not in back and datetime.fromisoformat(r["due_at"]) < NOW
    ]
    assert overdue, "some loans still out are past their due date"
    assert max(overdue) >= 14, "a forgotten loan shows in the older overdue buckets"


def test_live_rows_are_never_in_the_future_and_keep_the_pace(history: Path, tmp_path: Path) -> None:
    import shutil

    root = tmp_path / "demo"
    shutil.copytree(history, root)
    rng = np.random.default_rng(5)
    # Twenty-five minutes of 20-second ticks: at the history's pace, a handful of rows
    # at most (it drained the fund and the tank in that time before).
    at, added = NOW, 0
    for tick in range(75):
        at += timedelta(seconds=20)
        added += demo.append_live(root, rng, at, tick)
        assert all((_at(r) or at) <= at for r in _rows(root)[-50:])
    rows = _rows(root)
    assert added <= 10
    assert (
        sum(float(r["quantity"]) for r in rows if r["_file"] == "water.csv" and _at(r) > NOW) < 200
    )  # type: ignore[operator]
    # Two simulated weeks of hourly ticks: daily use as in the weeks before.
    start = at
    for tick in range(14 * 24):
        at += timedelta(hours=1)
        demo.append_live(root, rng, at, 100 + tick)
    rows = _rows(root)
    assert max(_at(r) or at for r in rows) <= at
    before_grants = _per_day(rows, NOW - timedelta(days=28), NOW, "transactions")
    live_grants = _per_day(rows, start, at, "transactions")
    assert 0.5 * before_grants <= live_grants <= 2 * before_grants
    live_loans = sum(
        1
        for r in rows
        if r["_file"] == "loans.csv" and r["kind"] == "use" and _at(r) > start  # type: ignore[operator]
    )
    history_loans = sum(
        1
        for r in rows
        if r["_file"] == "loans.csv"
        and r["kind"] == "use"
        and NOW - timedelta(days=14) < _at(r) <= NOW  # type: ignore[operator]
    )
    assert 0.4 * history_loans <= live_loans <= 2.5 * history_loans
    # Live loans carry due dates, and loans out when the history ended come back.
    live = [r for r in rows if r["_file"] == "loans.csv" and r["loan_ref"].startswith("live-")]
    assert all(r["due_at"] for r in live if r["kind"] == "use")
    returned = {
        r["loan_ref"] for r in rows if r["_file"] == "loans.csv" and r["kind"] == "replenish"
    }
    assert any(
        not ref.startswith("live-") and _at(r) > NOW
        for r in rows
        if r["_file"] == "loans.csv" and r["kind"] == "replenish"
        for ref in [r["loan_ref"]]
    )  # type: ignore[operator]
    assert returned


def test_the_pace_does_not_depend_on_the_tick(history: Path, tmp_path: Path) -> None:
    import shutil

    totals = []
    for i, step in enumerate((timedelta(minutes=10), timedelta(hours=6))):
        root = tmp_path / f"demo{i}"
        shutil.copytree(history, root)
        rng = np.random.default_rng(9)
        at = NOW
        while at < NOW + timedelta(days=28):
            at += step
            demo.append_live(root, rng, at, 0)
        totals.append(_per_day(_rows(root), NOW, at, "transactions"))
    assert 0.6 <= totals[0] / totals[1] <= 1.6
