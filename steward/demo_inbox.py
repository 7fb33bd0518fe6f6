"""A local notification inbox for the demo: a webhook target Apprise's json:// posts to.

Each message is printed in the demo's terminal and appended to
``notifications.jsonl`` in the demo workspace, so a steward trying the demo can
see what Steward would have sent by email, Matrix or Slack.
"""

from __future__ import annotations

import json
import re
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from rich.console import Console
from rich.markup import escape

#: The port written in config/demo.yaml; a running demo listens on a free port instead.
PORT = 8599
_TARGET = re.compile(r"json://127\.0\.0\.1:\d+/")


class Inbox:
    """The demo's inbox on ``port`` (0: a free port the OS picks; see :attr:`port`)."""

    def __init__(self, path: Path, console: Console, port: int = 0) -> None:
        self.path = path
        self.console = console
        self.lock = threading.Lock()
        inbox = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                inbox.receive(self.path, body)
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return  # the terminal shows the messages themselves, not HTTP lines

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def point_config_here(self, config: Path) -> None:
        """Make the workspace's notification routes deliver to this inbox's port."""
        text = config.read_text(encoding="utf-8")
        config.write_text(_TARGET.sub(f"json://127.0.0.1:{self.port}/", text), encoding="utf-8")

    def receive(self, target: str, body: bytes) -> None:
        url = urlsplit(target)
        try:
            payload = json.loads(body or b"{}")
        except json.JSONDecodeError:
            payload = {"message": body.decode("utf-8", "replace")}
        to = parse_qs(url.query).get("to", [url.path.strip("/") or "stewards"])[0]
        record = {
            "received_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "to": to,
            "title": payload.get("title", ""),
            "message": payload.get("message", ""),
        }
        with self.lock, self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")
        self.console.print(
            f"[dim]notification to {escape(to)}:[/] {escape(str(record['title']))}", highlight=False
        )

    def __enter__(self) -> Inbox:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
