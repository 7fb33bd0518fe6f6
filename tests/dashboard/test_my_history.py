"""A member's history as they had it: a loan fills every day it was out, in its unit."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
from sqlalchemy import select

from dashboards import charts
from steward.access import Scope
from steward.ledger import Batch, Ledger, NewEvent
from steward.queries import usage
from steward.store.models import Commons, Member
from steward.workspace import open_workspace

from .fixtures import Federation

#: The toolshed's timezone is Europe/Paris: these are its local mornings and evenings.
NOW = datetime(2026, 3, 20, 11, 0, tzinfo=UTC)


def _history(federation: Federation, who: str) -> pd.DataFrame:
    ws = open_workspace(federation.config)
    try:
        with ws.store.write() as conn:
            events = [
                # A drill from 3 to 10 March; the return names no member, as MyTurn's do.
                NewEvent("drill", "use", 1, "2026-03-03T09:00:00+00:00", "h1", "alice", "H1"),
                NewEvent("drill", "replenish", 1, "2026-03-10T17:00:00+00:00", "h2", None, "H1"),
                # A second drill from 15 March, still out at NOW.
                NewEvent("drill", "use", 1, "2026-03-15T08:00:00+00:00", "h3", "alice", "H2"),
                # A loan checked out and corrected away: it never was.
                NewEvent("drill", "use", 2, "2026-03-12T08:00:00+00:00", "h4", "alice", "H3"),
                # Bob's loan over the same days: never in Alice's history.
                NewEvent("drill", "use", 1, "2026-03-05T08:00:00+00:00", "h6", "bob", "H4"),
                NewEvent("fund", "use", "12.5", "2026-03-08T10:00:00+00:00", "h7", "alice"),
            ]
            result = Ledger(conn).record(Batch(source="history", events=events))
            assert result.quarantined == 0, result.reasons
            undo = NewEvent("drill", "use", 2, "2026-03-12T09:00:00+00:00", "h5", reverses="h4")
            result = Ledger(conn).record(Batch(source="history", events=[undo]))
            assert result.quarantined == 0, result.reasons
        with ws.store.read() as conn:
            commons = conn.scalar(select(Commons.id).where(Commons.slug == "toolshed"))
            member = conn.scalar(select(Member.id).where(Member.code == who))
            scope = Scope.member(int(commons), int(member), who)
            return usage.my_history(scope, conn, days=30, now=NOW)
    finally:
        ws.close()


def test_a_loan_counts_every_day_it_was_out_and_an_open_loan_up_to_today(
    federation: Federation,
) -> None:
    history = _history(federation, "alice")
    drill = history[history["resource"] == "Cordless drills"].set_index("day")["value"]
    assert (history.loc[history["resource"] == "Cordless drills", "kind"] == "pool").all()
    on_loan = {d.strftime("%d"): v for d, v in drill.items()}
    # 3 to 10 March: one drill each day (the return on the 10th: held that day too).
    assert [on_loan[f"{d:02d}"] for d in range(3, 11)] == [1.0] * 8
    # Nothing between the loans (the corrected checkout of the 12th never was).
    assert [on_loan[f"{d:02d}"] for d in range(11, 15)] == [0.0] * 4
    # The open loan, every day from the 15th up to today (20 March).
    assert [on_loan[f"{d:02d}"] for d in range(15, 21)] == [1.0] * 6
    assert max(drill.index) == pd.Timestamp("2026-03-20")
    # A stock keeps its use per day, in its unit.
    fund = history[history["resource"] == "Repair fund"]
    assert fund[["day", "value", "unit"]].to_dict("records") == [
        {"day": pd.Timestamp("2026-03-08"), "value": 12.5, "unit": "EUR"}
    ]


def test_another_members_loans_stay_out_of_my_history(federation: Federation) -> None:
    bob = _history(federation, "bob")
    drill = bob[bob["resource"] == "Cordless drills"].set_index("day")["value"]
    # Bob's one drill from 5 March, still out: never Alice's days of the 3rd and 4th.
    assert drill.index.min() == pd.Timestamp("2026-03-05")
    assert set(drill) == {1.0}


def test_the_history_chart_says_what_each_bar_counts_with_dates_and_a_legend(
    federation: Federation,
) -> None:
    spec = charts.history_chart(_history(federation, "alice"), pd.Timestamp("2026-03-20"))
    panels = {p["title"]["text"]: p for p in spec["vconcat"]}
    assert set(panels) == {"Cordless drills", "Repair fund"}
    drill, fund = panels["Cordless drills"], panels["Repair fund"]
    assert drill["encoding"]["y"]["axis"]["title"] == "units on loan"
    assert fund["encoding"]["y"]["axis"]["title"] == "EUR used per day"
    # Each bar spans its day, so a loan's days read as one block.
    assert drill["encoding"]["x2"] == {"field": "next"}
    for panel in panels.values():
        assert "%Y" in panel["encoding"]["x"]["axis"]["format"]
        assert panel["encoding"]["color"]["legend"] is not None
    assert panel["encoding"]["color"]["scale"]["domain"] == ["units on loan", "used"]
    days = spec["datasets"][drill["data"]["name"]]
    assert len(days) == 18 and days["value"].sum() == 14.0
    # The fund, used on 8 March only, runs to today too: no use since reads as none.
    spent = spec["datasets"][fund["data"]["name"]]
    assert spent["day"].max() == pd.Timestamp("2026-03-20") and spent["value"].sum() == 12.5
