"""Alert lifecycle with a controlled clock, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from steward.alerts import acknowledge, evaluate, silence
from steward.alerts.records import entities
from steward.errors import ConfigError, InputError
from steward.ledger import Batch, Ledger, NewReading
from steward.store.engine import Store
from steward.store.models import Alert, AlertHistory, OutboxMessage
from steward.workspace import open_workspace

T0 = datetime(2025, 3, 12, 11, 0, tzinfo=UTC)
ROUTES = [
    {"name": "stewards", "urls": ["json://127.0.0.1:9/"], "severities": ["warning", "critical"]}
]
RULES = {"drift": {"for": "1h", "repeat": "6h", "tolerance": 0.05}}


def reading(ws, value: float, at: datetime, ext: str) -> None:
    with ws.store.write() as conn:
        Ledger(conn).record(Batch("sensor", readings=[NewReading("tank", value, at, ext)]))


def run(ws, now: datetime):
    with ws.store.write() as conn:
        return evaluate(conn, ws.settings, now)


def counts(ws) -> tuple[list[tuple[str, str]], int]:
    with ws.store.read() as conn:
        alerts = [
            tuple(r)
            for r in conn.execute(select(Alert.fingerprint, Alert.state).order_by(Alert.id))
        ]
        queued = conn.execute(select(func.count()).select_from(OutboxMessage)).scalar_one()
    return alerts, queued


def test_pending_firing_repeat_ack_resolved(make_garden) -> None:
    ws = make_garden(ROUTES, RULES)
    # The ledger implies 800 - 190 = 610 L; the sensor says 450: 160 L unaccounted for.
    reading(ws, 450, T0 - timedelta(minutes=5), "r1")

    run(ws, T0)
    assert counts(ws) == ([("drift:tank", "pending")], 0)
    run(ws, T0 + timedelta(minutes=30))
    assert counts(ws) == ([("drift:tank", "pending")], 0)
    run(ws, T0 + timedelta(hours=1))
    assert counts(ws) == ([("drift:tank", "firing")], 1)
    run(ws, T0 + timedelta(hours=2))
    assert counts(ws)[1] == 1  # within the repeat interval: nothing new
    run(ws, T0 + timedelta(hours=7))
    assert counts(ws)[1] == 2  # repeated once after 6 h
    run(ws, T0 + timedelta(hours=7))
    assert counts(ws)[1] == 2  # same instant again: deduplicated

    with ws.store.write() as conn:
        alert_id = conn.execute(select(Alert.id)).scalar_one()
        acknowledge(conn, alert_id, by="sam", now=T0 + timedelta(hours=8))
    run(ws, T0 + timedelta(hours=20))
    assert counts(ws)[1] == 2  # acknowledged: no more repeats

    # A reading consistent with the previous one (no events since): the drift clears.
    reading(ws, 450, T0 + timedelta(hours=21), "r2")
    run(ws, T0 + timedelta(hours=22))
    assert counts(ws) == ([("drift:tank", "resolved")], 3)
    with ws.store.read() as conn:
        actions = (
            conn.execute(select(AlertHistory.action).order_by(AlertHistory.id)).scalars().all()
        )
    assert actions == ["pending", "firing", "acknowledged", "resolved"]


def test_condition_that_clears_while_pending_is_never_sent(make_garden) -> None:
    ws = make_garden(ROUTES, RULES)
    reading(ws, 450, T0 - timedelta(minutes=5), "r1")
    run(ws, T0)
    reading(ws, 450, T0 + timedelta(minutes=10), "r2")
    run(ws, T0 + timedelta(minutes=20))
    assert counts(ws) == ([("drift:tank", "resolved")], 0)


def test_silence_holds_back_then_expires_with_its_reason_kept(make_garden) -> None:
    ws = make_garden(ROUTES, {"drift": {"repeat": "1h"}})
    reading(ws, 450, T0 - timedelta(minutes=5), "r1")
    run(ws, T0)
    with ws.store.write() as conn:
        alert_id = conn.execute(select(Alert.id)).scalar_one()
        silence(
            conn,
            alert_id,
            duration=timedelta(hours=3),
            reason="sensor being recalibrated",
            by="sam",
            now=T0 + timedelta(minutes=1),
        )
    run(ws, T0 + timedelta(hours=2))
    assert counts(ws)[1] == 1  # the repeat was held back
    run(ws, T0 + timedelta(hours=4))  # silence over, repeat overdue: sent now
    assert counts(ws)[1] == 2
    run(ws, T0 + timedelta(hours=4, minutes=30))
    assert counts(ws)[1] == 2
    with ws.store.read() as conn:
        notes = dict(conn.execute(select(AlertHistory.action, AlertHistory.note)).all())
    assert "sensor being recalibrated" in notes["silenced"]
    assert notes["silence expired"] == "was: sensor being recalibrated"


def test_dedupe_across_restarts(make_garden) -> None:
    ws = make_garden(ROUTES, {"drift": {}})
    reading(ws, 450, T0 - timedelta(minutes=5), "r1")
    run(ws, T0)
    # A new process: fresh workspace and engine over the same database.
    again = open_workspace(ws.config.path)
    try:
        with again.store.write() as conn:
            evaluate(conn, again.settings, T0 + timedelta(minutes=1))
    finally:
        again.close()
    assert counts(ws) == ([("drift:tank", "firing")], 1)


def test_backfilled_year_does_not_storm(make_garden) -> None:
    ws = make_garden(ROUTES, {"drift": {}})
    start = T0 - timedelta(days=365)
    with ws.store.write() as conn:
        # A year of daily readings that each disagree with the ledger.
        Ledger(conn).record(
            Batch(
                "sensor",
                readings=[
                    NewReading("tank", 300 + (i % 2) * 200, start + timedelta(days=i), f"b{i}")
                    for i in range(365)
                ],
            )
        )
    run(ws, T0)
    alerts, queued = counts(ws)
    assert len(alerts) == 1 and queued == 1


@pytest.mark.parametrize(
    ("rules", "where"),
    [
        ({"depletion": {"p": 2}}, "alerts.rules.depletion.p"),
        ({"drift": {"tolerence": 0.1}}, "alerts.rules.drift.tolerence"),
        ({"collector_stale": {"after": "soon"}}, "alerts.rules.collector_stale.after"),
        (
            {"depletion": {"resources": {"tank": {"p": -1}}}},
            "alerts.rules.depletion.resources.tank.p",
        ),
        (
            {"depletion": {"resources": {"pond": {"p": 0.2}}}},
            "alerts.rules.depletion.resources.pond",
        ),
        ({"leak": {}}, "alerts.rules.leak"),
    ],
)
def test_bad_rule_options_name_their_key(make_garden, rules, where) -> None:
    ws = make_garden(ROUTES, rules)
    with ws.store.write() as conn, pytest.raises(ConfigError, match=where.replace(".", r"\.")):
        evaluate(conn, ws.settings, T0)


def test_members_route_must_address_each_member(make_garden) -> None:
    ws = make_garden([{"name": "members", "urls": ["json://127.0.0.1:9/"], "audience": "members"}])
    with (
        ws.store.write() as conn,
        pytest.raises(ConfigError, match=r"alerts\.routes\[0\]\.urls\[0\]"),
    ):
        evaluate(conn, ws.settings, T0)


def test_ack_of_unknown_alert(make_garden) -> None:
    ws = make_garden(ROUTES)
    with ws.store.write() as conn, pytest.raises(InputError, match="alert 99 does not exist"):
        acknowledge(conn, 99, by="sam", now=T0)


def test_store_reopen_sees_same_state(make_garden, db_url) -> None:
    ws = make_garden(ROUTES, {"drift": {}})
    reading(ws, 450, T0, "r1")
    run(ws, T0)
    other = Store(db_url)
    with other.read() as conn:
        assert conn.execute(select(Alert.state)).scalar_one() == "firing"
    other.dispose()


def test_a_drift_that_changes_direction_is_sent_again_even_if_acknowledged(make_garden) -> None:
    ws = make_garden(ROUTES, RULES)
    # 610 L implied, 450 L read: 160 L less (a leak, say), sent and acknowledged.
    reading(ws, 450, T0 - timedelta(minutes=5), "r1")
    run(ws, T0)
    run(ws, T0 + timedelta(hours=1))
    assert counts(ws) == ([("drift:tank", "firing")], 1)
    with ws.store.write() as conn:
        alert_id = conn.execute(select(Alert.id)).scalar_one()
        acknowledge(conn, alert_id, by="sam", now=T0 + timedelta(hours=2))
    # Now 250 L more than the 450 L implied: a different problem (unrecorded rain, or
    # the sensor), on the same alert; within the repeat interval and acknowledged.
    reading(ws, 700, T0 + timedelta(hours=3), "r2")
    run(ws, T0 + timedelta(hours=3))
    assert counts(ws) == ([("drift:tank", "firing")], 2)
    with ws.store.read() as conn:
        title, body = conn.execute(
            select(OutboxMessage.title, OutboxMessage.body).order_by(OutboxMessage.id.desc())
        ).first()
        [alert] = entities(conn, select(Alert))
        actions = conn.execute(select(AlertHistory.action).order_by(AlertHistory.id)).scalars()
        assert list(actions)[-1] == "changed"
    assert title.startswith("[CHANGED WARNING] drift:") and "250 L more" in title
    assert "It said before: " in body and "160 L less" in body
    # The acknowledgement was of a loss; the gain is not yet in anyone's hands.
    assert alert.acknowledged_at is None
    # Same direction again: no further message until the repeat interval.
    run(ws, T0 + timedelta(hours=4))
    assert counts(ws)[1] == 2
