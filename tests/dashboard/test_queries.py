"""The privacy rule below the UI: every query function x every scope."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, timedelta

import pandas as pd
import pytest
from sqlalchemy import Connection, select

from steward import display
from steward.access import Scope
from steward.errors import AccessDenied, InputError
from steward.headlines import NO_FORECAST
from steward.queries import (
    activity,
    alerts,
    forecasts,
    health,
    history,
    members,
    quotas,
    resources,
    sources,
    usage,
)
from steward.store.models import Alert, AlertHistory, Commons, Member
from steward.workspace import Workspace, open_workspace

from .fixtures import ALICE_MARKERS, BOB_MARKERS, Federation


@pytest.fixture
def ws(federation: Federation) -> Iterator[Workspace]:
    workspace = open_workspace(federation.config)
    yield workspace
    workspace.close()


@pytest.fixture
def scopes(ws: Workspace) -> dict[str, Scope]:
    with ws.store.read() as conn:
        commons = dict(conn.execute(select(Commons.slug, Commons.id)).all())
        member = dict(conn.execute(select(Member.code, Member.id)).all())
    return {
        "steward": Scope.steward(commons["toolshed"], "sam"),
        "orchard_steward": Scope.steward(commons["orchard"], "olga"),
        "alice": Scope.member(commons["toolshed"], member["alice"], "alice"),
        "bob": Scope.member(commons["toolshed"], member["bob"], "bob"),
        "public": Scope.public(),
    }


def _text(value: object) -> str:
    if isinstance(value, pd.DataFrame):
        return value.to_string()
    return repr(value)


STEWARD_ONLY = {
    "recent_events": lambda s, c: activity.recent_events(s, c, "fund"),
    "resource_quotas": lambda s, c: quotas.for_resource(s, c, "fund"),
    "member_usage": lambda s, c: members.usage(s, c),
    "alerts": lambda s, c: alerts.list_alerts(s, c),
    "collectors": lambda s, c: sources.collectors(s, c, ["loans"]),
    "runs": lambda s, c: sources.runs(s, c, ["loans"]),
    "quarantined": lambda s, c: sources.quarantined(s, c, ["loans"]),
}
MEMBER_ONLY = {
    "my_usage": lambda s, c: usage.my_usage(s, c),
    "my_history": lambda s, c: usage.my_history(s, c),
    "my_events": lambda s, c: activity.my_events(s, c),
}


@pytest.mark.parametrize("query", sorted(STEWARD_ONLY))
@pytest.mark.parametrize("who", ["alice", "bob", "public"])
def test_steward_queries_refuse_others(
    ws: Workspace, scopes: dict[str, Scope], query: str, who: str
) -> None:
    with ws.store.read() as conn, pytest.raises(AccessDenied):
        STEWARD_ONLY[query](scopes[who], conn)


@pytest.mark.parametrize("query", sorted(MEMBER_ONLY))
@pytest.mark.parametrize("who", ["steward", "public"])
def test_member_queries_refuse_non_members(
    ws: Workspace, scopes: dict[str, Scope], query: str, who: str
) -> None:
    with ws.store.read() as conn, pytest.raises(AccessDenied):
        MEMBER_ONLY[query](scopes[who], conn)


@pytest.mark.parametrize("query", sorted(MEMBER_ONLY))
def test_a_member_sees_only_their_own_rows(
    ws: Workspace, scopes: dict[str, Scope], query: str
) -> None:
    with ws.store.read() as conn:
        mine = _text(MEMBER_ONLY[query](scopes["alice"], conn))
        theirs = _text(MEMBER_ONLY[query](scopes["bob"], conn))
    assert "37.25" in mine and "58.5" not in mine
    assert "58.5" in theirs and "37.25" not in theirs


def test_steward_sees_all_members_of_their_commons_only(
    ws: Workspace, scopes: dict[str, Scope]
) -> None:
    with ws.store.read() as conn:
        table = _text(members.usage(scopes["steward"], conn))
        other = _text(members.usage(scopes["orchard_steward"], conn))
        with pytest.raises(AccessDenied, match="another commons"):
            activity.recent_events(scopes["orchard_steward"], conn, "fund")
        with pytest.raises(AccessDenied):
            forecasts.latest(scopes["alice"], conn, "cider")
    for marker in ALICE_MARKERS[:2] + BOB_MARKERS[:2]:
        assert marker in table
        assert marker not in other
    assert "Olga Orchard" in other and "Olga Orchard" not in table


def test_alerts_are_limited_to_the_stewards_commons(
    ws: Workspace, scopes: dict[str, Scope]
) -> None:
    with ws.store.read() as conn:
        mine = alerts.list_alerts(scopes["steward"], conn)
        theirs = alerts.list_alerts(scopes["orchard_steward"], conn)
    assert "Cider press overbooked" not in mine["summary"].tolist()
    assert "Cider press overbooked" in theirs["summary"].tolist()
    assert not any("Bob" in s for s in theirs["summary"])


def test_public_aggregates_carry_no_personal_data(ws: Workspace, scopes: dict[str, Scope]) -> None:
    with ws.store.read() as conn:
        tiles = health.tiles(scopes["public"], conn)
        flows = history.daily(scopes["public"], conn, "fund")
        view = forecasts.latest(scopes["public"], conn, "fund")
    assert {t.slug for t in tiles} == {"drill", "fund", "odd", "cider"}
    assert all(t.firing == () for t in tiles)
    assert "member" not in flows.columns
    assert view is not None and view.headline.startswith("62% chance Repair fund")


def test_tiles_show_levels_status_and_firing_alerts(
    ws: Workspace, scopes: dict[str, Scope]
) -> None:
    with ws.store.read() as conn:
        tiles = {t.slug: t for t in health.tiles(scopes["steward"], conn)}
    assert set(tiles) == {"drill", "fund", "odd"}
    fund = tiles["fund"]
    assert fund.level == pytest.approx(500 - 37.25 - 58.5 + 20)
    assert fund.status == "danger" and fund.firing
    assert fund.trend == pytest.approx(-37.25 - 58.5)
    assert tiles["drill"].level == 1 and tiles["drill"].capacity == 3
    assert tiles["drill"].headline == NO_FORECAST
    assert next(iter(tiles)) == "fund"


def test_unknown_resource_is_a_clear_input_error(ws: Workspace, scopes: dict[str, Scope]) -> None:
    with ws.store.read() as conn, pytest.raises(InputError, match="no resource 'nope'"):
        resources.one(scopes["steward"], conn, "nope")


def test_fan_frame_and_risk_history(ws: Workspace, scopes: dict[str, Scope]) -> None:
    with ws.store.read() as conn:
        view = forecasts.latest(scopes["steward"], conn, "fund")
        risks = forecasts.risk_history(scopes["steward"], conn, "fund")
    assert view is not None
    fan = forecasts.fan_frame(view)
    assert list(fan.columns) == ["mean", "q0.05", "q0.5", "q0.95"]
    assert len(fan) == 30
    assert forecasts.quantile_columns(fan) == [(0.05, "q0.05"), (0.5, "q0.5"), (0.95, "q0.95")]
    assert risks["probability"].tolist() == [0.41, 0.55, 0.62]


def _alert_id(conn: Connection, fingerprint: str) -> int:
    return int(conn.execute(select(Alert.id).where(Alert.fingerprint == fingerprint)).scalar_one())


def test_acknowledge_and_silence_write_history(ws: Workspace, scopes: dict[str, Scope]) -> None:
    steward = scopes["steward"]
    with ws.store.write() as conn:
        aid = _alert_id(conn, "f1")
        alerts.acknowledge(steward, conn, aid, "on it")
        alerts.silence(steward, conn, aid, timedelta(hours=4), "pump repair booked")
    with ws.store.read() as conn:
        row = conn.execute(select(Alert).where(Alert.id == aid)).first()
        log = conn.execute(
            select(AlertHistory.action, AlertHistory.actor, AlertHistory.note).where(
                AlertHistory.alert_id == aid
            )
        ).all()
    assert row is not None and row.acknowledged_by == "sam"
    assert row.silence_reason == "pump repair booked"
    assert [(a, who) for a, who, _ in log] == [("acknowledged", "sam"), ("silenced", "sam")]


@pytest.mark.parametrize(
    ("who", "fingerprint", "error"),
    [
        ("alice", "f1", AccessDenied),
        ("public", "f1", AccessDenied),
        ("orchard_steward", "f1", AccessDenied),
        ("steward", "f4", AccessDenied),
    ],
)
def test_alert_actions_outside_scope_are_denied(
    ws: Workspace, scopes: dict[str, Scope], who: str, fingerprint: str, error: type[Exception]
) -> None:
    with ws.store.write() as conn:
        aid = _alert_id(conn, fingerprint)
        with pytest.raises(error):
            alerts.acknowledge(scopes[who], conn, aid, "note")
        with pytest.raises(error):
            alerts.silence(scopes[who], conn, aid, timedelta(hours=1), "r")


def test_silence_needs_a_reason_and_a_duration(ws: Workspace, scopes: dict[str, Scope]) -> None:
    with ws.store.write() as conn:
        aid = _alert_id(conn, "f1")
        with pytest.raises(InputError, match="reason is required"):
            alerts.silence(scopes["steward"], conn, aid, timedelta(hours=1), " ")
        with pytest.raises(InputError, match="longer than zero"):
            alerts.silence(scopes["steward"], conn, aid, -timedelta(hours=1), "r")
        resolved = _alert_id(conn, "f3")
        with pytest.raises(InputError, match="resolved"):
            alerts.acknowledge(scopes["steward"], conn, resolved, "seen")


def test_sources_follow_the_configuration(ws: Workspace, scopes: dict[str, Scope]) -> None:
    with ws.store.read() as conn:
        names = sources.allowed_sources(scopes["steward"], conn, ws.settings)
        status = sources.collectors(scopes["steward"], conn, names)
        rows = sources.quarantined(scopes["steward"], conn, names)
    assert names == ["loans"]
    assert status["health"].tolist() == ["ok"]
    assert rows["reason"].str.startswith("QUARANTINE-REASON-MARK").all()
    assert "Olga" not in rows.to_string()


def test_the_pipelines_statistics_give_sqlites_planner_figures_for_the_ledgers_indexes(
    federation: Federation,
) -> None:
    # Without them SQLite searched each open loan's return among all of its pool's
    # events (Store.refresh_statistics); PostgreSQL keeps its own, so it is a no-op there.
    ws = open_workspace(federation.config)
    try:
        ws.store.refresh_statistics()
        if ws.store.dialect != "sqlite":
            return
        with ws.store.read() as conn:
            indexes = set(conn.exec_driver_sql("SELECT idx FROM sqlite_stat1").scalars())
        assert {"ix_event_loan", "ix_event_resource_time"} <= indexes
    finally:
        ws.close()


def test_a_members_page_reads_their_events_by_time(ws: Workspace, scopes: dict[str, Scope]) -> None:
    # The member's windows (30 and 180 days, newest 200) are ranges of one index,
    # not every event the member ever had (migration 0016).
    if ws.store.dialect != "sqlite":
        return
    _, member_id = scopes["alice"].require_member()
    with ws.store.read() as conn:
        plan = " ".join(
            str(row[-1])
            for row in conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN SELECT id FROM event WHERE member_id = ? "
                "AND occurred_at > '2026-01-01' ORDER BY occurred_at DESC LIMIT 200",
                (member_id,),
            )
        )
    assert "ix_event_member_time (member_id=? AND occurred_at>?)" in plan
    assert "TEMP B-TREE" not in plan


def test_an_alerts_acknowledgement_reads_in_the_commons_clock_with_its_advice(
    ws: Workspace, scopes: dict[str, Scope]
) -> None:
    """The Alerts page says "Times in Europe/Paris": who acknowledged when is in that clock.

    It read "acknowledged by sam at 2026-12-01 11:08", a bare UTC time beside Paris
    times. Each row also carries the advice its notification carries.
    """
    steward = scopes["steward"]
    with ws.store.write() as conn:
        aid = _alert_id(conn, "f1")
        alerts.acknowledge(steward, conn, aid, "on it")
    with ws.store.read() as conn:
        acked_at = conn.execute(select(Alert.acknowledged_at).where(Alert.id == aid)).scalar_one()
        frame = alerts.list_alerts(steward, conn, command="steward --config x.yaml")
    row = frame.set_index("id").loc[aid]
    at = display.local_time(acked_at.replace(tzinfo=acked_at.tzinfo or UTC), "Europe/Paris")
    assert row["status"] == f"acknowledged by sam at {at}: on it"
    assert "CET" in row["status"] or "CEST" in row["status"]
    assert row["what_to_do"].startswith("What to do: plan a refill")
    assert "steward --config x.yaml quotas --resource fund" in row["what_to_do"]
    assert row["how_sure"].startswith("How sure: ")
