"""`steward demo`: build the demo federation, ingest it, and run the monitor on it."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from steward import demo as demo_mod
from steward.config import load
from steward.store import catalog, schema
from steward.store.engine import Store

console = Console()


def build(directory: Path, *, fresh: bool = True) -> Path:
    """Generate sources and config in ``directory``, create its database and ingest."""
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
        config_path = demo_mod.generate(directory)
    loaded = load(config_path)
    store = Store(loaded.database_url, check_schema=False)
    schema.upgrade(store.engine)
    with store.write() as conn:
        catalog.sync(conn, loaded.settings)
    with console.status("ingesting the demo sources..."):
        totals = demo_mod.ingest(store, directory)
    store.dispose()
    for kind, result in totals.items():
        console.print(
            f"  {kind}: {result.rows_read} rows, {result.accepted} accepted, "
            f"{result.duplicates} duplicates, {result.quarantined} quarantined"
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
        render(st.workspace())
        console.print(f"Database: {directory / 'steward.db'}")
        console.print(f"Use it with any command: steward --config {config_path} status")
        if serve:
            from steward.demo_runner import serve as serve_demo

            serve_demo(config_path)
