"""The overview and the public health page count what `steward status` counts: a pool's
lost units, and a full tank's overflow between readings."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from steward import flows
from steward.access import Scope
from steward.availability import LOST_AFTER_DAYS
from steward.flow_refresh import write_flows
from steward.ledger import Batch, Ledger, NewEvent, NewLoanTerm, NewMember, NewReading
from steward.queries import health, history
from steward.status import resource_status
from steward.store import catalog
from steward.workspace import Workspace, open_workspace

NOW = datetime(2025, 3, 12, 11, 0, tzinfo=UTC)

SHED: dict[str, Any] = {
    "commons": [
        {
            "slug": "shed",
            "name": "Shed",
            "timezone": "Europe/Paris",
            "resources": [
                {"slug": "drill", "name": "Drills", "kind": "pool", "capacity": 3},
                {
                    "slug": "tank",
                    "name": "Rain tank",
                    "kind": "stock",
                    "unit": "L",
                    "capacity": 1000,
                    "initial_level": 800,
                },
                {
                    "slug": "fund",
                    "name": "Fund",
                    "kind": "stock",
                    "unit": "L",
                    "initial_level": 800,
                },
            ],
        }
    ]
}


@pytest.fixture
def shed(db_url: str, store: Any, settings_factory: Callable[..., Path]) -> Iterator[Workspace]:
    ws = open_workspace(settings_factory(SHED, db_url=db_url))
    with ws.store.write() as conn:
        Ledger(conn).record(
            Batch("seed", members=[NewMember("shed", "ben", "Ben Brown", "ben@example.org")])
        )
    yield ws
    ws.close()


def _record(ws: Workspace, events=(), terms=(), readings=()) -> None:  # type: ignore[no-untyped-def]
    with ws.store.write() as conn:
        result = Ledger(conn).record(
            Batch("desk", events=events, loan_terms=terms, readings=readings)
        )
        assert result.quarantined == 0, result.reasons


def _steward(ws: Workspace) -> Scope:
    with ws.store.read() as conn:
        drill = catalog.resource(conn, "drill")
        assert drill is not None
        return Scope.steward(drill.commons_id)


def _tile(tiles: list[health.Tile], slug: str) -> health.Tile:
    return next(t for t in tiles if t.slug == slug)


def test_a_pools_tile_counts_a_loan_long_past_due_as_status_does(shed: Workspace) -> None:
    # One drill out since January, due 35 days ago: lost now, only 28 days late a week
    # ago. Another out since Monday. Status said 1/2 on loan (3 recorded, 1 lost);
    # the tile said 2 of 3, and +1 over the week (the lost one counted as new).
    out, due = NOW - timedelta(days=60), NOW - timedelta(days=LOST_AFTER_DAYS + 5)
    recent = NOW - timedelta(days=2)
    _record(
        shed,
        (
            NewEvent("drill", "use", 1, out, "gone-out", member="ben", loan_ref="gone"),
            NewEvent("drill", "use", 1, recent, "new-out", member="ben", loan_ref="new"),
        ),
        (
            NewLoanTerm("drill", "gone", out, due, "gone-term"),
            NewLoanTerm("drill", "new", recent, NOW + timedelta(days=5), "new-term"),
        ),
    )
    with shed.store.read() as conn:
        drill = catalog.resource(conn, "drill")
        status = resource_status(conn, drill, NOW)  # type: ignore[arg-type]
        tile = _tile(health.tiles(_steward(shed), conn, NOW), "drill")
        shown = _tile(health.tiles(Scope.public(), conn, NOW, min_members=1), "drill")
        withheld = _tile(health.tiles(Scope.public(), conn, NOW, min_members=5), "drill")
    reason = "3 units recorded, 1 counted lost: on loan 35 days past due, since 5 Feb 2025"
    assert (status.on_loan, status.capacity, status.capacity_note) == (1.0, 2.0, reason)
    assert (tile.level, tile.capacity) == (1.0, 2.0)
    assert tile.capacity_note == reason
    assert tile.recorded_capacity == 3.0
    # A week ago 1 drill was on loan and expected back; now 1 is: no change.
    assert tile.trend == 0.0
    # The public page says how many, not since when (the date points at the borrower).
    assert (shown.level, shown.capacity) == (1.0, 2.0)
    assert shown.capacity_note == (
        "3 units recorded, 1 counted lost: on loan more than 30 days past due"
    )
    # Withheld (too few members): no figure comes from the members' loans.
    assert (withheld.level, withheld.capacity, withheld.capacity_note) == (None, 3.0, "")


def test_a_member_and_a_visitor_learn_nothing_the_hidden_figures_hold(shed: Workspace) -> None:
    """A member's tile gives the lost unit without its due date; a withheld public
    tile's status comes from the forecast alone: 'watch' because every drill is out
    would tell what the hidden figure hides."""
    from sqlalchemy import select

    from steward.store.models import Member
    from tests.alerts.support import insert_forecast

    out, due = NOW - timedelta(days=60), NOW - timedelta(days=LOST_AFTER_DAYS + 5)
    _record(
        shed,
        tuple(
            # One long past due, two out since Monday (recent use: figures withheld).
            NewEvent("drill", "use", 1, at, f"o{i}", member="ben", loan_ref=f"l{i}")
            for i, at in enumerate((out, NOW - timedelta(days=2), NOW - timedelta(days=2)))
        ),
        (NewLoanTerm("drill", "l0", out, due, "t0"),),
    )
    with shed.store.write() as conn:
        insert_forecast(conn, "drill", {"max_p_over_capacity": 0.05}, at=NOW)
    with shed.store.read() as conn:
        ben = conn.scalars(select(Member.id).where(Member.code == "ben")).one()
        steward = _tile(health.tiles(_steward(shed), conn, NOW), "drill")
        member = Scope.member(_steward(shed).commons_id or 0, ben)
        mine = _tile(health.tiles(member, conn, NOW), "drill")
        withheld = _tile(health.tiles(Scope.public(), conn, NOW, min_members=5), "drill")
    assert steward.status == "watch"  # every unit it can lend is out
    assert steward.capacity_note.endswith("since 5 Feb 2025")
    assert mine.capacity_note == (
        "3 units recorded, 1 counted lost: on loan more than 30 days past due"
    )
    assert (withheld.level, withheld.status) == (None, "ok")


def test_a_full_tanks_daily_levels_and_tile_stop_at_its_capacity(shed: Workspace) -> None:
    # Rain on an 800 L tank of 1,000 L: 300 L take it to the top (100 L spill), a
    # 50 L draw leaves 950 L; a reading of 990 L, then 30 L more rain, spill again.
    day = timedelta(days=1)
    _record(
        shed,
        (
            NewEvent("tank", "replenish", 300, NOW - 6 * day, "rain-1"),
            NewEvent("tank", "use", 50, NOW - 5 * day, "draw-1"),
            NewEvent("tank", "replenish", 30, NOW - 3 * day, "rain-2"),
            NewEvent("fund", "replenish", 300, NOW - 6 * day, "grant-1"),
            NewEvent("fund", "use", 50, NOW - 5 * day, "spend-1"),
        ),
        readings=(NewReading("tank", "990", NOW - 4 * day, "dip-1"),),
    )
    with shed.store.write() as conn:
        tank = catalog.resource(conn, "tank")
        fund = catalog.resource(conn, "fund")
        assert tank is not None and fund is not None
        frame = flows.daily_flows(conn, tank, until=NOW - 2 * day)
        fund_frame = flows.daily_flows(conn, fund, until=NOW - 2 * day)
        # The stored flows end two days ago (the forecast's last run): the tile reads
        # the day before that and the events since.
        write_flows(conn, tank, frame, None)
        write_flows(conn, fund, fund_frame, None)
    _record(shed, (NewEvent("tank", "replenish", 40, NOW - timedelta(hours=30), "rain-3"),))
    with shed.store.read() as conn:
        exact = {
            d.date(): flows.level(conn, tank, d.tz_localize("Europe/Paris").to_pydatetime() + day)
            for d in frame.index
        }
        tile = _tile(health.tiles(_steward(shed), conn, NOW), "tank")
        fund_tile = _tile(health.tiles(_steward(shed), conn, NOW), "fund")
        chart = history.daily(_steward(shed), conn, "tank", now=NOW)
        now_level = flows.level(conn, tank, NOW)
    # Each day ends where status, drift and the budget put it, never above 1,000 L.
    assert [round(v, 6) for v in frame["level"]] == [float(exact[d.date()]) for d in frame.index]
    assert list(frame["level"]) == [1000.0, 950.0, 990.0, 1000.0, 1000.0]
    assert chart["level"].max() == 1000.0
    assert now_level == Decimal(1000) and tile.level == 1000.0
    # Without a capacity nothing is clipped: the running sum, as before.
    assert list(fund_frame["level"]) == [1100.0, 1050.0, 1050.0, 1050.0, 1050.0]
    assert fund_tile.level == 1050.0
