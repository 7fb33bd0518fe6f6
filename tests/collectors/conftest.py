"""Fixtures for collector tests: a workspace with collectors, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from steward.store.engine import Store
from steward.workspace import Workspace, open_workspace

from .support import MakeWorkspace, write_config


@pytest.fixture
def make_workspace(store: Store, db_url: str, tmp_path: Path) -> Iterator[MakeWorkspace]:
    """Write a config with the given collectors beside ``tmp_path`` and open it."""
    opened: list[Workspace] = []

    def make(
        collectors: list[dict[str, Any]],
        resources: list[dict[str, Any]] | None = None,
        **kwargs: Any,
    ) -> Workspace:
        path = write_config(tmp_path, db_url, collectors, resources, **kwargs)
        ws = open_workspace(path)
        opened.append(ws)
        return ws

    yield make
    for ws in opened:
        ws.close()
