"""Numbers that could be read two ways, and states the ledger must not reach silently:
money with more decimals than its currency has, a recorded capacity change that breaks
a later plan, more loans than units, and quarantined rows fixed since."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from steward.ledger import Batch, Ledger, NewCapacityChange
from steward.store.models import CapacityChange, QuarantinedRow

from .support import MakeWorkspace

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
POOLS = [{"slug": "drill", "name": "Drills", "kind": "pool", "capacity": 3}]


def change(ext: str, delta: int, days: int, planned: bool = False) -> NewCapacityChange:
    return NewCapacityChange("drill", delta, NOW + timedelta(days=days), ext, scheduled=planned)


# -- a recorded change that breaks a later plan ----------------------------------------

#: (stored first, then recorded, then: refused?, words the reason must hold)
PLAN_CASES: list[tuple[str, list[NewCapacityChange], NewCapacityChange, str | None]] = [
    (
        "3 drills, 3 to retire in March, 2 retired today: March would leave -2",
        [change("p-march", -3, 90, planned=True)],
        change("c-today", -2, 0),
        "the planned change 'p-march' of source 'shed' (-3 on 2027-03-01T12:00:00+00:00) "
        "would then leave -2 units; reverse or replace that plan first",
    ),
    (
        "a plan bought back later still dips below 0 in between",
        [change("p-march", -3, 90, planned=True), change("p-june", 3, 180, planned=True)],
        change("c-today", -1, -1),
        "the planned change 'p-march'",
    ),
    (
        "the plan leaves room: 3 - 1 - 2 = 0",
        [change("p-march", -2, 90, planned=True)],
        change("c-today", -1, 0),
        None,
    ),
    (
        "a plan cancelled by its opposite on the same date no longer counts",
        [change("p-march", -3, 90, planned=True), change("p-undo", 3, 90, planned=True)],
        change("c-today", -2, 0),
        None,
    ),
    (
        "a plan dated in the past counts nowhere",
        [change("p-old", -3, -30, planned=True)],
        change("c-today", -2, 0),
        None,
    ),
]


@pytest.mark.parametrize(
    ("stored", "recorded", "refused"),
    [c[1:] for c in PLAN_CASES],
    ids=[c[0] for c in PLAN_CASES],
)
def test_a_recorded_change_cannot_take_a_later_plan_below_0(
    make_workspace: MakeWorkspace,
    stored: list[NewCapacityChange],
    recorded: NewCapacityChange,
    refused: str | None,
) -> None:
    ws = make_workspace([], resources=POOLS)
    with ws.store.write() as conn:
        first = Ledger(conn).record(Batch("shed", capacity_changes=stored), now=NOW)
    assert first.accepted == len(stored)
    with ws.store.write() as conn:
        got = Ledger(conn).record(Batch("shed", capacity_changes=[recorded]), now=NOW)
    with ws.store.read() as conn:
        reasons = list(conn.scalars(select(QuarantinedRow.reason)))
        ids = set(conn.scalars(select(CapacityChange.external_id)))
    if refused is None:
        assert (got.accepted, got.quarantined) == (1, 0), reasons
        assert recorded.external_id in ids
        return
    assert (got.accepted, got.quarantined) == (0, 1)
    assert recorded.external_id not in ids
    (reason,) = reasons
    assert reason.startswith(f"delta {recorded.delta:g} on "), reason
    assert "below 0 under a plan" in reason
    assert refused in reason, reason
