"""A workspace: a loaded configuration and the store it points at."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from steward import config as config_mod
from steward.config import LoadedConfig, Settings
from steward.store import catalog
from steward.store.engine import Store


@dataclass
class Workspace:
    config: LoadedConfig
    store: Store

    @property
    def settings(self) -> Settings:
        return self.config.settings

    def close(self) -> None:
        self.store.dispose()


def open_workspace(
    path: str | Path | None = None, *, sync: bool = True, check_schema: bool = True
) -> Workspace:
    """Load the config, open its store (schema must be current) and sync the catalog."""
    loaded = config_mod.load(path)
    store = Store(loaded.database_url, check_schema=check_schema)
    if sync:
        with store.write() as conn:
            catalog.sync(conn, loaded.settings)
    return Workspace(loaded, store)
