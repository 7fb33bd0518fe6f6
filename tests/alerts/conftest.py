"""A garden commons with alert routes, plus real local HTTP and SMTP receivers."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from steward.ledger import Batch, Ledger, NewEvent, NewMember
from steward.workspace import Workspace, open_workspace


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class HttpReceiver:
    """A real webhook target that records POST bodies; can be started late (down, then up)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.bodies: list[dict[str, Any]] = []
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self.port}/"

    def start(self) -> None:
        bodies = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


@pytest.fixture
def http_receiver() -> Iterator[HttpReceiver]:
    receiver = HttpReceiver(free_port())
    yield receiver
    receiver.stop()


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], str]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), envelope.content.decode("utf-8", "replace")))
        return "250 OK"


@pytest.fixture
def smtp_server() -> Iterator[tuple[int, Mailbox]]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, mailbox
    controller.stop()


def garden_config(
    routes: list[dict[str, Any]], rules: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "commons": [
            {
                "slug": "garden",
                "name": "Garden",
                "timezone": "Europe/Paris",
                "resources": [
                    {
                        "slug": "tank",
                        "name": "Rain tank",
                        "kind": "stock",
                        "unit": "L",
                        "capacity": 1000,
                        "reserve": 100,
                        "initial_level": 800,
                        "quota": {"policy": "weighted", "period": "week"},
                    },
                    {"slug": "drill", "name": "Drills", "kind": "pool", "capacity": 3},
                ],
            }
        ],
        "alerts": {"routes": routes, "rules": rules or {}},
    }


MEMBERS = (
    NewMember("garden", "ana", "Ana Alvarez", "ana@example.org", weight=1),
    NewMember("garden", "ben", "Ben Brown", "ben@example.org", weight=3),
)
USE = (
    NewEvent("tank", "use", 30, "2025-03-10T08:00:00+01:00", "u1", member="ana"),
    NewEvent("tank", "use", 140, "2025-03-11T09:00:00+01:00", "u2", member="ben"),
    NewEvent("tank", "use", 20, "2025-03-03T09:00:00+01:00", "u0", member="ben"),
)


@pytest.fixture
def make_garden(
    db_url: str, store: Any, settings_factory: Callable[..., Path]
) -> Iterator[Callable[..., Workspace]]:
    opened: list[Workspace] = []

    def make(routes: list[dict[str, Any]], rules: dict[str, Any] | None = None) -> Workspace:
        ws = open_workspace(settings_factory(garden_config(routes, rules), db_url=db_url))
        if not opened:
            with ws.store.write() as conn:
                Ledger(conn).record(Batch("seed", events=USE, members=MEMBERS))
        opened.append(ws)
        return ws

    yield make
    for ws in opened:
        ws.close()
