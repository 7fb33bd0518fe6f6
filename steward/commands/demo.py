"""`steward demo`: build the demo federation, ingest it, and run the monitor on it."""

from __future__ import annotations

import os
import shutil
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from steward import demo as demo_mod
from steward.collectors.base import RunReport
from steward.config import load
from steward.errors import SourceError
from steward.store import schema
from steward.store.engine import Store
from steward.workspace import open_workspace

console = Console()


def build(
    directory: Path,
    *,
    fresh: bool = True,
    now: datetime | None = None,
    seed: int = demo_mod.SEED,
) -> Path:
    """Generate sources and config in ``directory``, create its database and ingest.

    ``now`` (tz-aware; default the current time) is the moment the demo's two
    years of history end, and ``seed`` its random stream: with both fixed the
    same federation comes out every time (a benchmark's figures stay comparable
    from day to day).
    """
    if fresh and directory.exists():
        for name in ("steward.db", "steward.db-wal", "steward.db-shm", "sources"):
            target = directory / name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
    directory.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with console.status("writing two years of demo history..."):
        config_path = demo_mod.generate(directory, now=now, seed=seed)
    loaded = load(config_path)
    store = Store(loaded.database_url, check_schema=False)
    schema.upgrade(store.engine)
    store.dispose()
    ws = open_workspace(config_path)
    try:
        with console.status("collecting the demo sources...") as status:

            def show(report: RunReport) -> None:
                status.update(f"collected {report.name}...")
                console.print(
                    f"  {report.name}: {report.rows_read:,} rows, {report.accepted:,} accepted, "
                    f"{report.duplicates:,} duplicates, {report.quarantined:,} quarantined",
                    highlight=False,
                )

            reports = demo_mod.ingest(ws, on_report=show, now=now)
    finally:
        ws.close()
    failed = [r for r in reports if r.status != "ok"]
    if failed:
        raise SourceError(
            f"demo collector {failed[0].name} failed: {failed[0].error}",
            hint="re-run with --debug; the demo sources are under " + str(directory / "sources"),
        )
    console.print(f"Demo built in {time.perf_counter() - started:.1f} s: {config_path}")
    return config_path


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(
        ctx: typer.Context,
        directory: Annotated[
            Path, typer.Option("--dir", help="Folder for the demo workspace.")
        ] = Path("var/demo"),
        serve: Annotated[
            bool, typer.Option("--serve/--no-serve", help="Run the monitor after building.")
        ] = True,
    ) -> None:
        """Build the demo federation from scratch, then run the monitor on it."""
        from steward.cli import state
        from steward.commands.status import render

        config_path = build(directory)
        st = state(ctx)
        st.config = config_path

        def show_status() -> None:
            render(st.workspace())
            console.print(f"Database: {directory / 'steward.db'}")
            console.print(f"Use it with any command: {_program()} --config {config_path} status")

        if not serve:
            from steward.demo_runner import create_demo_accounts, sign_in_lines

            show_status()  # no forecast has run: its outlook column says how to run one
            # The demo's sign-ins too: without them `steward dashboard` on this workspace
            # opened a sign-in page that no account could pass.
            create_demo_accounts(config_path)
            console.print(
                f"Dashboard: {_program()} --config {config_path} dashboard", highlight=False
            )
            console.print("Sign in (username / password):")
            for line in sign_in_lines(config_path):
                console.print(line, markup=False, highlight=False)
            return
        from steward.demo_runner import serve as serve_demo

        # After the first forecasts: printed before them, the outlook said "no forecast yet".
        serve_demo(config_path, on_ready=show_status)


def _program() -> str:
    """How to run this steward again, as typed: ``steward`` when it is on PATH, else the
    script that ran (`make demo` runs the virtual environment's, not on PATH), else
    ``python -m steward`` (run as a module, the script is ``steward/__main__.py``)."""
    if shutil.which("steward"):
        return "steward"
    script = Path(sys.argv[0])
    if script.name == "__main__.py":
        return f"{_relative(Path(sys.executable))} -m steward"
    return _relative(script)


def _relative(path: Path) -> str:
    """``path`` relative to the working directory when it lies below it (".venv/bin/steward")."""
    try:
        return os.path.relpath(path) if not os.path.relpath(path).startswith("..") else str(path)
    except ValueError:  # another drive (Windows)
        return str(path)
