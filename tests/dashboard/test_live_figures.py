"""The overview's levels come from the ledger at read time, not from the last forecast run."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from sqlalchemy import select

from dashboards import data
from steward import flows
from steward.access import Scope
from steward.flow_refresh import last_day, ledger_marks, save_state, write_flows
from steward.ledger import Batch, Ledger, NewEvent, NewMember
from steward.queries import health
from steward.store import catalog
from steward.store.models import Commons
from steward.workspace import open_workspace

from .apptest import open_page, signed_in
from .fixtures import Federation


def _fund_now(at) -> str:  # type: ignore[no-untyped-def]
    table = next(df.value for df in at.dataframe if "Resource" in df.value.columns)
    assert isinstance(table, pd.DataFrame)
    return str(table.loc[table["Resource"] == "Repair fund", "Now"].iloc[0])


def test_a_new_event_shows_on_the_overview_within_one_refresh(federation: Federation) -> None:
    ws = open_workspace(federation.config)
    try:
        # The forecast job precomputed today's flows (a partial day) before the event.
        with ws.store.write() as conn:
            fund = catalog.resource(conn, "fund")
            assert fund is not None
            write_flows(conn, fund, flows.daily_flows(conn, fund), None)
        at = open_page(signed_in("sam"), "overview")
        before = _fund_now(at)
        assert before.startswith("€424.25")
        with ws.store.write() as conn:
            Ledger(conn).record(
                Batch(
                    source="desk",
                    events=[NewEvent("fund", "use", "100.10", datetime.now(UTC), "late-1")],
                )
            )
            exact = flows.level(conn, fund)
        # No forecast runs in between: only the overview's next refresh.
        time.sleep(data.LIVE_TTL + 0.5)
        after = _fund_now(at.run())
        assert after.startswith("€324.15") and float(exact) == 324.15
    finally:
        ws.close()


def test_a_backdated_event_shows_on_the_overview_without_a_forecast(
    federation: Federation,
) -> None:
    # Last month's statement imported today dates its rows inside days the stored
    # flows already cover: the overview must still count them (it showed the old level).
    ws = open_workspace(federation.config)
    try:
        with ws.store.write() as conn:
            fund = catalog.resource(conn, "fund")
            assert fund is not None
            frame = flows.daily_flows(conn, fund)
            write_flows(conn, fund, frame, None)
            save_state(
                conn,
                fund,
                ledger_marks(conn, [fund.id])[fund.id],
                last_day(frame),
                forecast_inputs=None,
                forecast_at=None,
            )
        at = open_page(signed_in("sam"), "overview")
        assert _fund_now(at).startswith("€424.25")
        with ws.store.write() as conn:
            Ledger(conn).record(
                Batch(
                    source="statement",
                    events=[
                        NewEvent(
                            "fund", "use", "24.25", datetime.now(UTC) - timedelta(days=20), "s1"
                        )
                    ],
                )
            )
            exact = flows.level(conn, fund)
        time.sleep(data.LIVE_TTL + 0.5)
        assert float(exact) == 400.0
        assert _fund_now(at.run()).startswith("€400.00")
    finally:
        ws.close()


def _months(at) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    table = next(df.value for df in at.dataframe if "Money in" in df.value.columns)
    assert isinstance(table, pd.DataFrame)
    return table


def test_the_health_pages_months_count_events_since_the_last_forecast(
    federation: Federation,
) -> None:
    # The monthly table read only the daily flows each forecast run stores: a grant
    # recorded after the run (or a backdated statement) was missing from the month
    # until the next forecast, while the level beside it already counted it.
    ws = open_workspace(federation.config)
    now = datetime.now(UTC)
    try:
        with ws.store.write() as conn:
            # Five members behind the fund's changes: its public figures are shown.
            Ledger(conn).record(
                Batch(
                    source="desk",
                    members=[NewMember("toolshed", f"m{i}", f"Member {i}") for i in range(3)],
                    events=[
                        NewEvent(
                            "fund",
                            "use",
                            "1",
                            now - timedelta(hours=i + 1),
                            f"m-{i}",
                            member=f"m{i}",
                        )
                        for i in range(3)
                    ],
                )
            )
            fund = catalog.resource(conn, "fund")
            assert fund is not None
            frame = flows.daily_flows(conn, fund)
            write_flows(conn, fund, frame, None)
            save_state(
                conn,
                fund,
                ledger_marks(conn, [fund.id])[fund.id],
                last_day(frame),
                forecast_inputs=None,
                forecast_at=None,
            )
        at = open_page(signed_in(None), "health")
        month = f"{now.astimezone(ZoneInfo('Europe/Paris')):%B %Y}"
        before = _months(at).set_index("Month").loc[month, "Money in"]
        with ws.store.write() as conn:
            Ledger(conn).record(
                Batch(source="desk", events=[NewEvent("fund", "replenish", "50", now, "grant-1")])
            )
        time.sleep(data.LIVE_TTL + 0.5)
        after = _months(at.run()).set_index("Month").loc[month, "Money in"]
        assert (
            after.replace("€", "")
            .replace(",", "")
            .startswith(f"{float(before.replace('€', '').replace(',', '')) + 50:.2f}")
        ), (before, after)
        assert any("Money in and out per month, to" in c.value for c in at.caption)
        # A backdated use (last week's receipt) lands in its own month, from the ledger.
        with ws.store.write() as conn:
            Ledger(conn).record(
                Batch(
                    source="desk",
                    events=[NewEvent("fund", "use", "7.5", now - timedelta(days=2), "late-2")],
                )
            )
            # k = 1: this checks the arithmetic, not the withholding (tested below).
            got = health.monthly_flows(Scope.public(), conn, "fund", 6, now, min_members=1)
            exact = flows.daily_flows(conn, fund, until=now)
        by_month = exact.groupby(exact.index.to_period("M"))[["replenished", "used"]].sum()
        for start, money_in, money_out in got.months:
            row = by_month.loc[pd.Period(start, "M")]
            assert (money_in, money_out) == pytest.approx((row["replenished"], row["used"]))
    finally:
        ws.close()


def test_a_public_month_made_by_few_members_is_withheld(federation: Federation) -> None:
    """k-anonymity per month, not only over the last 30 days: a month whose grants were
    Alice's and Bob's would show their sum to anyone who knows one of them."""
    ws = open_workspace(federation.config)
    now = datetime.now(UTC)
    try:
        with ws.store.write() as conn:
            # Alice's and Bob's grants, 60 days ago: their own month.
            Ledger(conn).record(
                Batch(
                    source="desk",
                    events=[
                        NewEvent(
                            "fund", "use", "11", now - timedelta(days=60), "old-a", member="alice"
                        ),
                        NewEvent(
                            "fund", "use", "13", now - timedelta(days=60), "old-b", member="bob"
                        ),
                        NewEvent("fund", "replenish", "40", now - timedelta(days=60), "old-dues"),
                    ],
                )
            )
        with ws.store.read() as conn:
            public = health.monthly_flows(Scope.public(), conn, "fund", 6, now, min_members=3)
            k2 = health.monthly_flows(Scope.public(), conn, "fund", 6, now, min_members=2)
            toolshed = conn.execute(
                select(Commons.id).where(Commons.slug == "toolshed")
            ).scalar_one()
            steward = health.monthly_flows(Scope.steward(toolshed, "sam"), conn, "fund", 6, now)
    finally:
        ws.close()
    month = (now - timedelta(days=60)).astimezone(ZoneInfo("Europe/Paris")).date().replace(day=1)
    row = {m: (i, o) for m, i, o in public.months}[month]
    # Money out came from two members: hidden at k = 3. Money in came from no member.
    assert row[1] is None and row[0] == pytest.approx(40)
    assert {m: o for m, _, o in k2.months}[month] == pytest.approx(24)
    assert {m: o for m, _, o in steward.months}[month] == pytest.approx(24)
