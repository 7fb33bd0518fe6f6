"""A local notification inbox for the demo: a webhook target Apprise's json:// posts to.

Each message is printed in the demo's terminal (:func:`terminal_text`) and
appended to ``notifications.jsonl`` in the demo workspace, so a steward trying
the demo can see what Steward would have sent by email, Matrix or Slack.
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
from rich.text import Text

#: The port written in config/demo.yaml; a running demo listens on a free port instead.
PORT = 8599
_TARGET = re.compile(r"json://127\.0\.0\.1:\d+/")
#: A steward title's head: its tag, severity and rule ("[RESOLVED WARNING] drift").
_TITLE_HEAD = re.compile(r"^(\[[A-Z ]+\] [a-z_]+): ")
#: Body lines the terminal leaves out (the file keeps them): a member message's
#: greeting and thanks, and the acknowledge line every steward message ends with
#: (the same for every alert, and the dashboard's Alerts page does it).
_LEFT_OUT = ("Hello ", "Thank you for helping", "Acknowledge or silence it", "(<your steward.yaml>")
#: Body lines are indented under their title by this many spaces.
INDENT = 2
#: Only measures text for :meth:`rich.text.Text.wrap`; prints nothing.
_WRAP_CONSOLE = Console(width=200, color_system=None)


def terminal_text(to: str, title: str, message: str, width: int) -> Text:
    """One notification as the demo's terminal shows it at ``width`` columns.

    First line: "notification to <to>: <title>". A title too long for the line
    gives only its head ("[CRITICAL] deficit"): a steward title is cut with "..."
    (:func:`steward.alerts.messages.short`) and the body's first line holds what
    it cut, whole. Then the body's lines, each wrapped at words (a word longer
    than a line, such as a path, is folded, never cut) and indented: what
    happened, how sure, what to do, when it was first seen. Blank lines and the
    lines in ``_LEFT_OUT`` are left out. Returns a Rich ``Text`` (no markup is
    read from the message); its lines have no trailing spaces.
    """
    head = f"notification to {to}: "
    shown = title
    found = _TITLE_HEAD.match(title)
    if len(head) + len(title) > width and found:
        shown = found.group(1)
    text = Text(head, style="dim")
    text.append(shown, style="bold")
    inner = max(width - INDENT, 20)
    for line in message.splitlines():
        line = line.strip()
        if not line or line.startswith(_LEFT_OUT):
            continue
        for part in Text(line).wrap(_WRAP_CONSOLE, inner, overflow="fold"):
            part.rstrip()
            text.append("\n" + " " * INDENT)
            text.append_text(part)
    return text


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
        text = terminal_text(to, str(record["title"]), str(record["message"]), self.console.width)
        # Wrapped here, whatever the console's soft_wrap: a terminal would break words.
        self.console.print(text, highlight=False, soft_wrap=False, crop=False)
        self.console.print()  # one blank line between messages

    def __enter__(self) -> Inbox:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
