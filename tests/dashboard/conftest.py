"""Fixtures for the dashboard tests: a filled federation, its config path in the env, Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .browser import CHROMIUM, CHROMIUM_ARGS
from .fixtures import Federation, build


@pytest.fixture
def federation(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Federation:
    fed = build(tmp_path, db_url)
    monkeypatch.setenv("STEWARD_CONFIG", str(fed.config))
    return fed


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Debian's Chromium driven by playwright, one per test module (browser tests only)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
