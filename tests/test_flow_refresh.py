"""Incremental daily flows and skipped forecasts: the stored flows always equal a full
recompute, and a resource is forecast again only when its inputs changed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
from alembic import command
from sqlalchemy import func, select, update

from steward import flow_refresh, flows
from steward.forecast.runs import _forecast_inputs_key, run_forecasts
from steward.ledger import Batch, Ledger, NewEvent, NewReading
from steward.store import catalog
from steward.store.models import DailyFlow, FlowState, ForecastRun
from steward.store.schema import alembic_config
from steward.workspace import Workspace

T0 = datetime(2025, 1, 6, 18, tzinfo=UTC)


def history(days: int, start: datetime = T0, prefix: str = "h") -> Batch:
    """Loans of drills and a fund's gifts and spending, every day for ``days`` days."""
    events = []
    for d in range(days):
        at = start + timedelta(days=d)
        ref = f"{prefix}{d}"
        events += [
            NewEvent("drill", "use", 1, at, f"{ref}-out", loan_ref=ref),
            NewEvent("drill", "replenish", 1, at + timedelta(days=2), f"{ref}-back", loan_ref=ref),
            NewEvent("fund", "replenish", 20 + d % 7, at, f"{ref}-gift"),
            NewEvent("fund", "use", 15 + d % 5, at + timedelta(hours=3), f"{ref}-spend"),
        ]
    return Batch("test", events=events)


def record(ws: Workspace, batch: Batch) -> None:
    with ws.store.write() as conn:
        Ledger(conn).record(batch)


def stored(ws: Workspace, slug: str) -> pd.DataFrame:
    with ws.store.read() as conn:
        res = catalog.resource(conn, slug)
        assert res is not None
        rows = conn.execute(
            select(DailyFlow.day, DailyFlow.used, DailyFlow.replenished, DailyFlow.level)
            .where(DailyFlow.resource_id == res.id)
            .order_by(DailyFlow.day)
        ).all()
    frame = pd.DataFrame(rows, columns=["day", "used", "replenished", "level"])
    frame["day"] = pd.to_datetime(frame["day"])
    return frame.set_index("day").astype("float64")


def recomputed(ws: Workspace, slug: str, now: datetime) -> pd.DataFrame:
    with ws.store.read() as conn:
        res = catalog.resource(conn, slug)
        assert res is not None
        full = flows.daily_flows(conn, res, until=now)
    full.index = full.index.rename("day")
    return full[["used", "replenished", "level"]].round(6)


def assert_stored_equals_full(
    ws: Workspace, now: datetime, slugs: tuple[str, ...] = ("drill", "fund")
) -> None:
    for slug in slugs:
        got, want = stored(ws, slug), recomputed(ws, slug, now)
        assert list(got.index) == list(want.index), slug
        np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), atol=1e-6, err_msg=slug)


def forecast_count(ws: Workspace) -> int:
    with ws.store.read() as conn:
        return int(conn.execute(select(func.count()).select_from(ForecastRun)).scalar_one())


def test_unchanged_resources_are_skipped_with_a_reason(workspace: Workspace) -> None:
    record(workspace, history(120))
    now = T0 + timedelta(days=121)
    first = run_forecasts(workspace, ["drill", "fund"], now=now)
    assert first.runs == 2 and first.skipped == {}
    assert first.flow_days > 0
    assert_stored_equals_full(workspace, now)

    again = run_forecasts(workspace, ["drill", "fund"], now=now + timedelta(minutes=30))
    assert again.runs == 0 and again.flow_days == 0
    assert set(again.skipped) == {"drill", "fund"}
    assert "data unchanged since its forecast at" in again.skipped["drill"]
    assert forecast_count(workspace) == 2


def test_new_data_refreshes_only_that_resource_from_the_day_it_touches(
    workspace: Workspace,
) -> None:
    record(workspace, history(120))
    now = T0 + timedelta(days=121)
    run_forecasts(workspace, ["drill", "fund"], now=now)
    # A late gift dated 30 days back: every fund level after it moves.
    record(
        workspace,
        Batch("test", events=[NewEvent("fund", "replenish", 500, T0 + timedelta(days=90), "late")]),
    )
    later = now + timedelta(hours=1)
    summary = run_forecasts(workspace, ["drill", "fund"], now=later)
    assert summary.runs == 1 and set(summary.skipped) == {"drill"}
    assert 25 <= summary.flow_days <= 35  # the fund's days since the gift, not its history
    assert_stored_equals_full(workspace, later)


def test_a_new_day_and_a_reading_are_written_and_old_runs_expire(workspace: Workspace) -> None:
    record(workspace, history(60))
    now = T0 + timedelta(days=61)
    run_forecasts(workspace, ["drill", "fund"], now=now)
    record(
        workspace,
        Batch("test", readings=[NewReading("fund", 900, now - timedelta(days=3), "count-1")]),
    )
    next_day = now + timedelta(hours=20)  # past local midnight, within max_age_hours
    summary = run_forecasts(workspace, ["drill", "fund"], now=next_day)
    assert summary.runs == 1  # the fund's reading changed its inputs
    assert_stored_equals_full(workspace, next_day)
    # Nothing new, but the drill's run is now older than forecast.max_age_hours (24 h).
    stale = next_day + timedelta(hours=25)
    summary = run_forecasts(workspace, ["drill", "fund"], now=stale)
    assert "drill" not in summary.skipped
    assert_stored_equals_full(workspace, stale)


def test_rows_that_committed_under_a_lower_id_force_a_full_rewrite(workspace: Workspace) -> None:
    record(workspace, history(40))
    now = T0 + timedelta(days=41)
    run_forecasts(workspace, ["fund"], now=now)
    with workspace.store.write() as conn:
        res = catalog.resource(conn, "fund")
        assert res is not None
        # As if the watermark had seen a higher id than a row that committed later.
        conn.execute(
            update(FlowState)
            .where(FlowState.resource_id == res.id)
            .values(event_max_id=FlowState.event_max_id + 10**6, events=FlowState.events - 1)
        )
        state = flow_refresh.flow_states(conn, [res.id])[res.id]
        mark = flow_refresh.ledger_marks(conn, [res.id])[res.id]
        ledger = flows.read_ledger(conn, res)
    assert flow_refresh.rewrite_from(res, state, mark, ledger) is None
    summary = run_forecasts(workspace, ["fund"], now=now + timedelta(hours=1))
    assert summary.flow_days > 40
    assert_stored_equals_full(workspace, now + timedelta(hours=1), ("fund",))


def test_a_changed_horizon_or_a_completed_week_is_a_changed_input(workspace: Workspace) -> None:
    record(workspace, history(60))
    now = T0 + timedelta(days=61)
    run_forecasts(workspace, ["fund"], now=now)
    with workspace.store.read() as conn:
        res = catalog.resource(conn, "fund")
        assert res is not None
        mark = flow_refresh.ledger_marks(conn, [res.id])[res.id]
    assert _forecast_inputs_key(res, mark, now, 90, 1000) != _forecast_inputs_key(
        res, mark, now, 120, 1000
    )
    # The week that just completed is part of the inputs, even with no new events.
    assert _forecast_inputs_key(res, mark, now, 90, 1000) != _forecast_inputs_key(
        res, mark, now + timedelta(days=7), 90, 1000
    )


def test_upgrading_to_0017_rewrites_stock_flows_written_by_an_older_rule(
    workspace: Workspace,
) -> None:
    """Flows stored before stocks were capped at capacity are redone in full once."""
    record(workspace, history(40))
    now = T0 + timedelta(days=41)
    run_forecasts(workspace, ["drill", "fund"], now=now)
    with workspace.store.write() as conn:
        fund = catalog.resource(conn, "fund")
        assert fund is not None
        # As an older Steward left them: levels that a capped rule would not give.
        conn.execute(
            update(DailyFlow)
            .where(DailyFlow.resource_id == fund.id)
            .values(level=DailyFlow.level + 25)
        )
    engine = workspace.store.engine
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0016")
        command.upgrade(cfg, "0017")
    with workspace.store.read() as conn:
        states = flow_refresh.flow_states(conn, [fund.id])
    assert states[fund.id].flows_through is None
    later = now + timedelta(hours=1)
    summary = run_forecasts(workspace, ["drill", "fund"], now=later)
    assert summary.flow_days > 40  # the fund's whole history, not only the new hour
    assert_stored_equals_full(workspace, later)
