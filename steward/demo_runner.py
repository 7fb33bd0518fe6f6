"""Run the monitor on the demo workspace: scheduler, dashboard and a live simulator.

The scheduler and the dashboard run as the same commands a real deployment
uses (`steward run`, `steward dashboard`); this process only appends new source
rows (every ``LIVE_EVERY_SECONDS`` it writes what the commons used since the last
time, at the history's own pace: :func:`steward.demo.append_live`), so the
collectors have something to read and a week's trend stays a week's trend.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

import numpy as np
from rich.console import Console

from steward import demo
from steward.demo_inbox import Inbox
from steward.workspace import open_workspace

console = Console(soft_wrap=True)

#: Demo sign-ins. They exist only in the generated demo workspace.
DEMO_ACCOUNTS: tuple[tuple[str, str, str, str, str | None], ...] = (
    # username, password, role, commons, member code
    ("steward", "steward-demo", "steward", "toolshed", None),
    ("garden-steward", "steward-demo", "steward", "garden", None),
    ("fund-steward", "steward-demo", "steward", "fund", None),
    ("ada", "member-demo", "member", "toolshed", "T0001"),
    ("bo", "member-demo", "member", "garden", "G0002"),
)
LIVE_EVERY_SECONDS = 20


def create_demo_accounts(config_path: Path) -> None:
    from steward.access import create_account, get_account

    ws = open_workspace(config_path)
    with ws.store.write() as conn:
        for username, password, role, commons, member in DEMO_ACCOUNTS:
            if get_account(conn, username) is None:
                create_account(
                    conn,
                    username=username,
                    password=password,
                    role=role,
                    commons=commons,
                    member=member,
                )
    ws.close()


def first_pipeline_run(config_path: Path) -> None:
    """Forecasts, quotas and alerts before the dashboard opens, so nothing is empty."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from steward.pipeline import run_pipeline

    ws = open_workspace(config_path)
    ws.settings.logging.apply()  # the inbox prints each message: no second line per send
    with Progress(
        TextColumn("[bold]forecast[/]"), BarColumn(), MofNCompleteColumn(), console=console
    ) as bar:
        task = bar.add_task("series", total=None)
        summary = run_pipeline(ws, progress=lambda d, t: bar.update(task, completed=d, total=t))
    ws.close()
    console.print(summary.line(), highlight=False)


def sign_in_lines(config_path: Path) -> list[str]:
    """How to sign in, each member account with the name and code the pages show for it."""
    from sqlalchemy import select

    from steward.store.models import Commons, Member

    ws = open_workspace(config_path, sync=False)
    commons_names = {c.slug: c.name for c in ws.settings.commons}
    with ws.store.read() as conn:
        members = {
            (slug, code): (name, commons_name)
            for slug, code, name, commons_name in conn.execute(
                select(Commons.slug, Member.code, Member.name, Commons.name).join(
                    Commons, Commons.id == Member.commons_id
                )
            )
        }
    ws.close()
    # Each steward account sees one commons: named, so a page with one commons' alerts
    # is not read as missing the other two.
    lines = [
        f"Steward: {username} / {password} = {commons_names.get(commons, commons)}"
        for username, password, role, commons, _ in DEMO_ACCOUNTS
        if role == "steward"
    ]
    for username, password, role, commons, code in DEMO_ACCOUNTS:
        if role == "member" and code is not None:
            name, commons_name = members.get((commons, code), ("?", commons))
            lines.append(f"Member:  {username} / {password} = {name} ({code}), {commons_name}")
    return lines


def serve(config_path: Path, *, on_ready: Callable[[], None] | None = None) -> None:
    """Run the demo monitor; ``on_ready`` runs once the first forecasts are in."""
    root = config_path.parent
    create_demo_accounts(config_path)
    with Inbox(root / "notifications.jsonl", console) as inbox:
        # A free port, so two demos on one host never deliver into each other's inbox.
        inbox.point_config_here(config_path)
        console.print(
            f"Notification inbox: http://127.0.0.1:{inbox.port}/ "
            f"(messages are printed here and kept in {root / 'notifications.jsonl'})",
            highlight=False,
        )
        first_pipeline_run(config_path)
        if on_ready is not None:
            on_ready()  # the status table, now with the forecasts' outlook in it
        _monitor(config_path, root)


def _monitor(config_path: Path, root: Path) -> None:
    ws = open_workspace(config_path, sync=False)
    port = ws.settings.dashboard.port
    ws.close()
    steward = [sys.executable, "-m", "steward", "--config", str(config_path)]
    procs = [
        subprocess.Popen([*steward, "run"]),
        subprocess.Popen([*steward, "dashboard", "--port", str(port)]),
    ]
    console.print(f"\nDashboard: http://127.0.0.1:{port}/")
    console.print("Sign in (username / password):")
    for line in sign_in_lines(config_path):
        console.print(line, highlight=False, markup=False)
    console.print(
        "The commons' use goes on at its historical pace (a few loans, waterings and grants "
        f"a day; checked every {LIVE_EVERY_SECONDS} s); the scheduler collects and forecasts "
        "them. Ctrl-C stops."
    )

    stopping = False

    def stop(_sig: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    rng = np.random.default_rng(int(time.time()))
    tick = 0
    try:
        while not stopping and all(p.poll() is None for p in procs):
            for _ in range(LIVE_EVERY_SECONDS * 10):
                if stopping:
                    break
                time.sleep(0.1)
            if not stopping:
                tick += 1
                demo.append_live(root, rng, datetime.now(UTC), tick)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
    failed = [p.args for p in procs if p.returncode not in (0, -signal.SIGTERM, None)]
    if failed and not stopping:
        console.print(f"a monitor process stopped unexpectedly: {failed}")
        os._exit(1)
