"""Fixtures for the dashboard tests: a filled federation and its config path in the env."""

from __future__ import annotations

from pathlib import Path

import pytest

from .fixtures import Federation, build


@pytest.fixture
def federation(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Federation:
    fed = build(tmp_path, db_url)
    monkeypatch.setenv("STEWARD_CONFIG", str(fed.config))
    return fed
