"""Delivery against a real local webhook receiver and a real local SMTP server."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from steward.alerts import evaluate
from steward.alerts.delivery import backoff, deliver_pending, log_subject, send_test
from steward.errors import DeliveryError
from steward.ledger import Batch, Ledger, NewReading
from steward.quotas import update_quotas
from steward.store.models import OutboxMessage
from steward.workspace import open_workspace

T0 = datetime(2025, 3, 12, 11, 0, tzinfo=UTC)


def drift_alert(ws) -> None:
    with ws.store.write() as conn:
        Ledger(conn).record(Batch("sensor", readings=[NewReading("tank", 450, T0, "r1")]))
        evaluate(conn, ws.settings, T0)


def test_receiver_down_then_up_delivers_exactly_once(make_garden, http_receiver, caplog) -> None:
    ws = make_garden([{"name": "stewards", "urls": [http_receiver.url]}])
    drift_alert(ws)

    first = deliver_pending(ws.store, ws.settings, T0)  # nobody listening yet
    assert (first.delivered, first.failed) == (0, 1)
    with ws.store.read() as conn:
        msg = conn.execute(
            select(OutboxMessage.attempts, OutboxMessage.next_attempt_at, OutboxMessage.last_error)
        ).one()
    assert (
        msg.attempts == 1
        and msg.next_attempt_at == T0 + backoff(1)
        and "did not accept" in msg.last_error
    )

    http_receiver.start()
    assert (
        deliver_pending(ws.store, ws.settings, T0 + timedelta(seconds=30)).delivered == 0
    )  # backing off
    assert deliver_pending(ws.store, ws.settings, T0 + timedelta(minutes=2)).delivered == 1
    assert deliver_pending(ws.store, ws.settings, T0 + timedelta(hours=1)).delivered == 0
    # A restart: a new process over the same database sends nothing again.
    again = open_workspace(ws.config.path)
    try:
        assert deliver_pending(again.store, again.settings, T0 + timedelta(hours=2)).delivered == 0
    finally:
        again.close()
    assert len(http_receiver.bodies) == 1
    assert "Rain tank" in http_receiver.bodies[0]["message"]


def test_backoff_grows_and_is_capped() -> None:
    assert [backoff(n).total_seconds() for n in (1, 2, 3)] == [60, 120, 240]
    assert backoff(50) == timedelta(hours=6)


def test_secrets_never_reach_the_log(make_garden, http_receiver, caplog) -> None:
    http_receiver.start()
    url = f"json://steward:s3cr3t-token@127.0.0.1:{http_receiver.port}/"
    ws = make_garden([{"name": "stewards", "urls": [url]}])
    drift_alert(ws)
    with caplog.at_level(logging.DEBUG):
        assert deliver_pending(ws.store, ws.settings, T0).delivered == 1
    assert "s3cr3t-token" not in caplog.text
    assert f"127.0.0.1:{http_receiver.port}" in caplog.text


def test_route_test_reports_failure(make_garden) -> None:
    ws = make_garden([{"name": "stewards", "urls": ["json://127.0.0.1:9/"]}])
    with pytest.raises(DeliveryError, match="route stewards, URL #0"):
        send_test(ws.settings, "stewards")


def test_member_quota_mail_has_their_numbers_only(make_garden, smtp_server) -> None:
    port, mailbox = smtp_server
    ws = make_garden(
        [
            {
                "name": "members",
                "audience": "members",
                "severities": ["info", "warning", "critical"],
                "urls": [f"mailto://127.0.0.1:{port}?from=steward@example.org&to={{email}}"],
            }
        ]
    )
    # 200 L this week, by weight 1:3 -> ana 50 (used 30, on pace), ben 150 (used 140, pace over).
    update_quotas(ws, ws.settings, T0, budgets={"tank": 200})
    with ws.store.write() as conn:
        evaluate(conn, ws.settings, T0)
    summary = deliver_pending(ws.store, ws.settings, T0)
    assert summary.failed == 0, summary.errors
    assert summary.delivered == 1
    ((rcpts, content),) = mailbox.messages
    assert rcpts == ["ben@example.org"]
    # His quota, use and pace rounded alike (191.43 L at his pace: to the hundredth).
    assert "Ben Brown" in content and "150.00 L" in content and "140.00 L" in content
    assert "Ana" not in content and "ana@example.org" not in content and "30 L" not in content


def test_member_over_quota_reaches_member_and_stewards(
    make_garden, smtp_server, http_receiver
) -> None:
    port, mailbox = smtp_server
    http_receiver.start()
    ws = make_garden(
        [
            {"name": "stewards", "urls": [http_receiver.url]},
            {
                "name": "members",
                "audience": "members",
                "severities": ["info", "warning"],
                "urls": [f"mailto://127.0.0.1:{port}?from=steward@example.org&to={{email}}"],
            },
        ],
        {"drift": {"enabled": False}},
    )
    # 100 L by weight 1:3: ana 25 (used 30), ben 75 (used 140): both over.
    update_quotas(ws, ws.settings, T0, budgets={"tank": 100})
    with ws.store.write() as conn:
        evaluate(conn, ws.settings, T0)
    # Each member gets their own message; stewards get one grouped per rule and resource.
    assert deliver_pending(ws.store, ws.settings, T0).delivered == 3
    assert sorted(m[0] for m in mailbox.messages) == [["ana@example.org"], ["ben@example.org"]]
    (steward,) = http_receiver.bodies
    assert steward["title"].startswith("[WARNING] quota: 2 alerts")
    assert "Ana Alvarez (ana) is over quota" in steward["message"]
    assert "Ben Brown (ben) is over quota" in steward["message"]


def test_delivery_log_lines_are_short_say_what_to_whom_and_outcome(
    make_garden, http_receiver, caplog
) -> None:
    http_receiver.start()
    ws = make_garden([{"name": "stewards", "urls": [http_receiver.url + "stewards?method=POST"]}])
    drift_alert(ws)
    with caplog.at_level(logging.INFO, logger="steward.alerts.delivery"):
        assert deliver_pending(ws.store, ws.settings, T0).delivered == 1
    (line,) = [r.getMessage() for r in caplog.records if "delivered" in r.getMessage()]
    # Was 200+ characters: the whole Apprise URL with its options. Now what, to whom, outcome.
    assert len(line) <= 120, line
    assert line.startswith('message 1 "[WARNING] drift: Rain tank')
    assert line.endswith(f"to stewards (json://127.0.0.1:{http_receiver.port}): delivered")
    assert "method=POST" not in line and "Idempotency" not in line


def test_a_members_address_is_masked_in_the_log() -> None:
    msg = OutboxMessage(id=7, title="Drills: a friendly heads-up", route="members#0")
    line = log_subject(msg, "mailtos://smtp.example.org/?to=ana%40example.org", "ana@example.org")
    assert line == (
        'message 7 "Drills: a friendly heads-up" to members for a***@example.org '
        "(mailtos://smtp.example.org)"
    )
    assert "ana@" not in line
    long = OutboxMessage(
        id=1,
        title="[CRITICAL] deficit: Mutual-aid fund is running a deficit: it needs 622.97 USD",
        route="fund-stewards#0",
    )
    # Cut at a word: the resource stays in the line.
    assert log_subject(long, None, None) == (
        'message 1 "[CRITICAL] deficit: Mutual-aid fund is running a ..." to fund-stewards'
    )
