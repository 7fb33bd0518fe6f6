"""The overview and the charts count what `steward status` counts: a full tank's
overflow between readings."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from steward import flows
from steward.access import Scope
from steward.flow_refresh import write_flows
from steward.ledger import Batch, Ledger, NewEvent, NewMember, NewReading
from steward.queries import health, history
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
