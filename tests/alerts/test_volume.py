"""Alert volume: inhibition, grouping, rate limit with digest, silences that resume once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from rich.console import Console
from sqlalchemy import func, select
from typer.testing import CliRunner

from steward.alerts import acknowledge, evaluate, silence
from steward.alerts.messages import message
from steward.cli import app
from steward.ledger import Batch, Ledger, NewReading
from steward.quotas import update_quotas
from steward.quotas.periods import period_bounds
from steward.store import catalog
from steward.store.models import Alert, AlertHistory, OutboxMessage, QuotaBudget
from tests.alerts.support import MEMBERS_ROUTE, STEWARDS, T0, outbox_rows


def run(ws, now: datetime):
    with ws.store.write() as conn:
        return evaluate(conn, ws.settings, now)


def outbox(ws) -> list[tuple[str, str, str]]:
    with ws.store.read() as conn:
        return outbox_rows(conn, OutboxMessage.dedupe_key)


def drift(ws, at: datetime) -> int:
    with ws.store.write() as conn:
        Ledger(conn).record(Batch("sensor", readings=[NewReading("tank", 450, at, "r1")]))
    run(ws, at)
    with ws.store.read() as conn:
        return int(conn.execute(select(Alert.id).where(Alert.rule == "drift")).scalar_one())


def test_a_silenced_alert_sends_nothing_until_it_expires_then_resumes_once(make_garden) -> None:
    ws = make_garden([STEWARDS], {"drift": {"repeat": "6h"}})
    alert_id = drift(ws, T0)
    assert len(outbox(ws)) == 1
    with ws.store.write() as conn:
        silence(conn, alert_id, duration=timedelta(days=1), reason="pump swap", by="ines", now=T0)
    for hours in range(1, 24):  # hourly evaluations during the silence: nothing goes out
        run(ws, T0 + timedelta(hours=hours))
    assert len(outbox(ws)) == 1
    run(ws, T0 + timedelta(hours=24))  # expired: sent once, saying so
    sent = outbox(ws)
    assert len(sent) == 2
    assert sent[1][1].startswith("[SILENCE EXPIRED WARNING]")
    assert "Was silenced by ines (expired): pump swap" in sent[1][2]
    for hours in range(25, 30):  # then the normal repeat interval again
        run(ws, T0 + timedelta(hours=hours))
    assert len(outbox(ws)) == 2
    run(ws, T0 + timedelta(hours=30))
    assert len(outbox(ws)) == 3


def test_ack_and_silence_say_who_when_and_why(make_garden) -> None:
    ws = make_garden([STEWARDS])
    alert_id = drift(ws, T0)
    with ws.store.write() as conn:
        acknowledge(conn, alert_id, by="ines", now=T0, note="checking the float valve")
        alert = silence(
            conn, alert_id, duration=timedelta(weeks=2), reason="valve on order", by="ola", now=T0
        )
    # Times in the garden's zone (Europe/Paris), labelled, as the dashboard shows them.
    assert "first seen 12 Mar 2025, 12:00 CET" in outbox(ws)[0][2]
    _, body = message(alert, "repeat-x", "Europe/Paris")
    assert "Acknowledged by ines at 12 Mar 2025, 12:00 CET: checking the float valve" in body
    assert (
        "Silenced by ola at 12 Mar 2025, 12:00 CET until 26 Mar 2025, 12:00 CET: valve on order"
        in body
    )
    with ws.store.read() as conn:
        notes = conn.execute(
            select(AlertHistory.note).where(AlertHistory.action == "silenced")
        ).scalars()
        assert list(notes) == ["until 26 Mar 2025, 12:00 CET: valve on order"]


def test_alerts_list_shows_states_reasons_and_pages(make_garden, monkeypatch) -> None:
    monkeypatch.setattr("steward.commands.alerts.console", Console(width=300))
    ws = make_garden([STEWARDS])
    now = datetime.now(UTC)
    alert_id = drift(ws, now)
    runner = CliRunner()
    cfg = ["--config", str(ws.config.path)]
    out = runner.invoke(
        app, [*cfg, "alerts", "silence", str(alert_id), "--for", "2 weeks", "--reason", "valve"]
    )
    assert out.exit_code == 0, out.output
    out = runner.invoke(app, [*cfg, "alerts", "ack", str(alert_id), "--note", "on it"])
    assert out.exit_code == 0, out.output
    with ws.store.read() as conn:
        until = conn.execute(select(Alert.silenced_until)).scalar_one()
    assert timedelta(days=14) <= until - now < timedelta(days=14, minutes=5)
    out = runner.invoke(app, [*cfg, "alerts", "list"])
    assert out.exit_code == 0, out.output
    text = " ".join(out.output.split())
    assert "firing, acknowledged, silenced" in text
    assert "valve" in text and "on it" in text and "Showing all 1." in text
    assert "Alerts 1-1 of 1 open" in text
    out = runner.invoke(app, [*cfg, "alerts", "list", "--page", "2", "--limit", "1"])
    assert out.exit_code != 0 and "page 2 is past the end" in str(out.exception)


def test_a_deficit_inhibits_member_quota_alerts(make_garden) -> None:
    ws = make_garden([STEWARDS, MEMBERS_ROUTE])
    # Over quota on a tank whose budget is below ordinary need: one steward alert only.
    update_quotas(ws, ws.settings, T0, budgets={"tank": 100})
    bounds = period_bounds(T0, "Europe/Paris", "week")
    with ws.store.write() as conn:
        tank = catalog.resource(conn, "tank")
        conn.execute(
            QuotaBudget.__table__.update()
            .where(QuotaBudget.resource_id == tank.id, QuotaBudget.period_start == bounds.start)
            .values(
                state="deficit",
                gap_per_month=Decimal(400),
                remedy="needs 400 L/month more replenishment, or 400 L/month less use",
            )
        )
    summary = run(ws, T0)
    with ws.store.read() as conn:
        firing = conn.execute(
            select(Alert.rule, Alert.audience).where(Alert.state == "firing")
        ).all()
    assert [tuple(f) for f in firing] == [("deficit", "stewards")]
    assert summary.inhibited == 4  # two member messages, two steward reviews
    ((_, title, body),) = outbox(ws)
    assert title.startswith("[CRITICAL] deficit") and "needs 400 L/month more replenishment" in body


def test_rate_limit_holds_messages_and_sends_one_digest(make_garden) -> None:
    ws = make_garden([{**STEWARDS, "max_per_day": 1}], {"drift": {"repeat": "1h"}})
    drift(ws, T0)
    for hours in range(1, 6):
        run(ws, T0 + timedelta(hours=hours))
    sent = outbox(ws)
    digests = [s for s in sent if s[0].startswith("digest:")]
    assert len(sent) - len(digests) == 1  # the limit
    assert len(digests) == 1  # at most one digest per 6 hours
    assert "held back on route stewards" in digests[0][1]
    with ws.store.read() as conn:
        held = conn.execute(
            select(func.count()).select_from(AlertHistory).where(AlertHistory.action == "held")
        ).scalar_one()
    assert held == 5  # each hourly repeat after the first message
