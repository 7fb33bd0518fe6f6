"""Workspace commands: init, db upgrade, check."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from sqlalchemy import func, select

from steward import config as config_mod
from steward.display import counted
from steward.errors import ConfigError
from steward.store import catalog, schema
from steward.store.engine import Store
from steward.store.models import Event

console = Console()

STARTER = """\
# Steward configuration. Every setting is documented in config/example.yaml
# and in the README's configuration reference.
database:
  url: sqlite:///steward.db        # relative to this file; or postgresql+psycopg://...

commons:
  - slug: {slug}
    name: {name}
    timezone: {timezone}
    currency: {currency}
    resources: []                  # add stocks and pools here (see config/example.yaml)
"""


def register(app: typer.Typer) -> None:
    db = typer.Typer(help="Database schema.", no_args_is_help=True)
    app.add_typer(db, name="db")

    @app.command()
    def init(
        directory: Annotated[Path, typer.Argument(help="Folder for the new workspace.")] = Path(
            "."
        ),
        name: Annotated[str, typer.Option(help="Name of the commons.")] = "Our commons",
        slug: Annotated[str, typer.Option(help="Short id of the commons.")] = "commons",
        timezone: Annotated[str, typer.Option(help="IANA timezone, e.g. Europe/Paris.")] = "UTC",
        currency: Annotated[str, typer.Option(help="ISO currency code.")] = "USD",
    ) -> None:
        """Create a workspace: a configuration file and an up-to-date database."""
        path = directory / "steward.yaml"
        if path.exists():
            raise ConfigError(
                f"{path} already exists", hint="edit it, or choose another folder for a new one"
            )
        directory.mkdir(parents=True, exist_ok=True)
        path.write_text(
            STARTER.format(slug=slug, name=name, timezone=timezone, currency=currency),
            encoding="utf-8",
        )
        loaded = config_mod.load(path)
        store = Store(loaded.database_url, check_schema=False)
        schema.upgrade(store.engine)
        with store.write() as conn:
            catalog.sync(conn, loaded.settings)
        store.dispose()
        console.print(f"Created {path} and its database.")
        console.print(f"Next: add resources to {path}, then `steward --config {path} check`.")

    @db.command("upgrade")
    def db_upgrade(ctx: typer.Context) -> None:
        """Apply database migrations up to this version of Steward."""
        from steward.cli import state

        loaded = config_mod.load(state(ctx).config)
        store = Store(loaded.database_url, check_schema=False)
        before, after = schema.upgrade(store.engine)
        store.dispose()
        if before == after:
            console.print(f"Schema already at revision {after}.")
        else:
            console.print(f"Schema upgraded from {before or 'empty'} to {after}.")

    @app.command()
    def check(ctx: typer.Context) -> None:
        """Validate the configuration and reach the database."""
        from steward.cli import state

        ws = state(ctx).workspace()
        with ws.store.read() as conn:
            n_res = len(catalog.resources(conn))
            n_events = conn.execute(select(func.count()).select_from(Event)).scalar_one()
        safe = ws.store.engine.url.render_as_string(hide_password=True)
        console.print(f"Configuration {ws.config.path}: valid.")
        console.print(f"Database {safe}: reachable, schema current.")
        console.print(f"{counted(n_res, 'resource')}, {counted(n_events, 'event')} in the ledger.")
