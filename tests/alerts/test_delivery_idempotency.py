"""At least once, deduplicable: crashes and slow receivers resend with the same key, capped.

Every copy of a message carries one idempotency key (an ``Idempotency-Key``
header for webhooks; the ``Message-ID`` for email); a message whose retries run
out becomes a dead letter that its commons' stewards see and may retry.
"""

from __future__ import annotations

import email
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import select

from steward.access import Scope
from steward.alerts import delivery, evaluate
from steward.alerts.delivery import LEASE, backoff, deliver_pending, idempotency_key
from steward.errors import AccessDenied
from steward.ledger import Batch, Ledger, NewReading
from steward.queries import alerts as alert_queries
from steward.store.models import Commons, OutboxMessage

from .conftest import free_port

T0 = datetime(2025, 3, 12, 11, 0, tzinfo=UTC)


class KeyedReceiver:
    """A webhook target that records each POST's Idempotency-Key; may answer slowly."""

    def __init__(self, delay: float = 0.0) -> None:
        self.keys: list[str | None] = []
        self.delay = delay
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.keys.append(self.headers.get("Idempotency-Key"))
                time.sleep(outer.delay)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self.server.server_address[1]}/"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[KeyedReceiver]:
    r = KeyedReceiver()
    yield r
    r.stop()


def _alert(ws: Any) -> None:
    with ws.store.write() as conn:
        Ledger(conn).record(Batch("sensor", readings=[NewReading("tank", 450, T0, "r1")]))
        evaluate(conn, ws.settings, T0)


def _message(ws: Any) -> OutboxMessage:
    with ws.store.read() as conn:
        return conn.execute(select(OutboxMessage)).one()


CRASH = """
import os, signal, sys
from datetime import datetime, UTC
from steward.alerts import delivery
from steward.workspace import open_workspace
real = delivery._deliver_one
def send_then_die(*args, **kwargs):
    error = real(*args, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)  # after the send, before "delivered" is committed
    return error
delivery._deliver_one = send_then_die
ws = open_workspace(sys.argv[1])
delivery.deliver_pending(ws.store, ws.settings, datetime.fromisoformat(sys.argv[2]))
"""


def test_kill_9_between_send_and_commit_resends_with_the_same_key(
    make_garden: Any, receiver: KeyedReceiver
) -> None:
    ws = make_garden([{"name": "stewards", "urls": [receiver.url]}])
    _alert(ws)
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(CRASH), str(ws.config.path), T0.isoformat()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == -9, proc.stderr
    assert len(receiver.keys) == 1
    msg = _message(ws)
    assert msg.delivered_at is None and msg.attempts == 1  # the claim was committed, not the send
    # Within the lease nobody resends; after it, the message goes again, with the same key.
    assert deliver_pending(ws.store, ws.settings, T0 + LEASE / 2).delivered == 0
    assert deliver_pending(ws.store, ws.settings, T0 + LEASE).delivered == 1
    assert deliver_pending(ws.store, ws.settings, T0 + 2 * LEASE).delivered == 0
    key = idempotency_key(msg.dedupe_key)
    assert receiver.keys == [key, key]


def test_a_receiver_slower_than_the_timeout_gets_capped_copies_then_a_dead_letter(
    make_garden: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(delivery, "MAX_ATTEMPTS", 3)
    slow = KeyedReceiver(delay=1.5)
    try:
        ws = make_garden([{"name": "stewards", "urls": [slow.url + "?rto=0.3"]}])
        _alert(ws)
        now, passes = T0, []
        for _ in range(5):
            summary = deliver_pending(ws.store, ws.settings, now)
            passes.append((summary.delivered, summary.failed, summary.dead))
            now += backoff(5) + timedelta(seconds=1)
        assert passes == [(0, 1, 0), (0, 1, 0), (0, 1, 1), (0, 0, 0), (0, 0, 0)]
        time.sleep(1.6)  # let the slow handler record the last copy
        msg = _message(ws)
        assert msg.dead_at is not None and msg.attempts == 3
        assert slow.keys == [idempotency_key(msg.dedupe_key)] * 3

        with ws.store.read() as conn:
            garden = conn.execute(select(Commons.id)).scalar_one()
            shown = alert_queries.undelivered(Scope.steward(garden, "g"), conn)
        assert shown[["id", "state", "attempts"]].values.tolist() == [[msg.id, "dead letter", 3]]
        with ws.store.write() as conn, pytest.raises(AccessDenied):
            alert_queries.retry_message(Scope.steward(garden + 1, "x"), conn, msg.id, now)
        with ws.store.write() as conn:
            alert_queries.retry_message(Scope.steward(garden, "g"), conn, msg.id, now)
        slow.delay = 0.0
        assert deliver_pending(ws.store, ws.settings, now).delivered == 1
        assert slow.keys == [idempotency_key(msg.dedupe_key)] * 4
    finally:
        slow.stop()


def test_email_carries_the_key_as_its_one_message_id(make_garden: Any, smtp_server: Any) -> None:
    port, mailbox = smtp_server
    url = f"mailto://127.0.0.1:{port}?from=steward@example.org&to=stewards@example.org"
    ws = make_garden([{"name": "stewards", "urls": [url]}])
    _alert(ws)
    assert deliver_pending(ws.store, ws.settings, T0).delivered == 1
    key = idempotency_key(_message(ws).dedupe_key)
    parsed = email.message_from_string(mailbox.messages[0][1])
    assert parsed.get_all("Message-ID") == [f"<{key}@127.0.0.1>"]
    assert parsed["Idempotency-Key"] == key
