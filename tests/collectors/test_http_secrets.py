"""Secrets stay home: no custom auth header after a cross-origin redirect, no token in a log."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import pytest

from steward import collectors

from .support import MakeWorkspace
from .test_http_sources import JSON_DOC, Server, http_collector

KEY = "k-9f8e7d6c5b4a"


def _serve() -> Iterator[Server]:
    srv = Server()
    yield srv
    srv.httpd.shutdown()
    srv.httpd.server_close()


@pytest.fixture
def server() -> Iterator[Server]:
    yield from _serve()


@pytest.fixture
def elsewhere() -> Iterator[Server]:
    yield from _serve()  # another port: another origin


def _redirect_to(server: Server, target: str) -> None:
    def handler(h: BaseHTTPRequestHandler) -> None:
        if h.path.startswith("/start"):
            server.reply(h, 302, b"", Location=target)
        else:
            server.reply(h, 200, JSON_DOC, Content_Type="application/json")

    server.handler = handler


def _ok(server: Server) -> None:
    server.handler = lambda h: server.reply(h, 200, JSON_DOC, Content_Type="application/json")


def test_custom_auth_header_is_dropped_on_a_cross_origin_redirect(
    make_workspace: MakeWorkspace, server: Server, elsewhere: Server
) -> None:
    _redirect_to(server, f"{elsewhere.url}/data")
    _ok(elsewhere)
    ws = make_workspace(
        [
            http_collector(
                f"{server.url}/start",
                record="readings",
                json_path="data.items",
                headers={"X-Api-Key": KEY, "Authorization": f"Bearer {KEY}"},
            )
        ]
    )
    report = collectors.run(ws, "api")
    assert report.accepted == 1
    first = {k.lower(): v for k, v in server.requests[0][1].items()}
    hop = {k.lower(): v for k, v in elsewhere.requests[0][1].items()}
    assert first["x-api-key"] == KEY and first["authorization"] == f"Bearer {KEY}"
    assert "x-api-key" not in hop and "authorization" not in hop


def test_same_origin_redirect_keeps_the_header(
    make_workspace: MakeWorkspace, server: Server
) -> None:
    _redirect_to(server, f"{server.url}/data")
    ws = make_workspace(
        [
            http_collector(
                f"{server.url}/start",
                record="readings",
                json_path="data.items",
                headers={"X-Api-Key": KEY},
            )
        ]
    )
    collectors.run(ws, "api")
    assert [
        dict((k.lower(), v) for k, v in h.items()).get("x-api-key") for _, h in server.requests
    ] == [KEY, KEY]


def test_debug_collect_logs_no_query_token(make_workspace: MakeWorkspace, server: Server) -> None:
    _ok(server)
    ws = make_workspace(
        [
            http_collector(
                f"{server.url}/levels?token={KEY}&page=2",
                record="readings",
                json_path="data.items",
            )
        ]
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "steward",
            "--debug",
            "--config",
            str(ws.config.path),
            "collect",
            "api",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        timeout=120,
    )
    output = proc.stdout + proc.stderr
    assert "HTTP Request: GET" in output  # httpx's own request line is there ...
    assert "token=***&page=2" in output  # ... with its secret masked
    assert KEY not in output
