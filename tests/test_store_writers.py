"""Writers queue instead of failing, readers never block them, and database errors say
which database and what to check."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from steward.collectors.base import MAX_WRITE_ROWS, build
from steward.config import load
from steward.errors import StoreError
from steward.store import engine as engine_module
from steward.store.engine import Store
from steward.store.models import AppSecret
from steward.store.schema import upgrade

NOW = datetime.now(UTC)


def sqlite_store(path: Path) -> Store:
    store = Store(f"sqlite:///{path}", check_schema=False)
    upgrade(store.engine)
    return store


def put(store: Store, name: str) -> None:
    with store.write() as conn:
        conn.execute(insert(AppSecret).values(name=name, value="v", created_at=NOW))


def test_a_writer_waits_longer_than_the_busy_timeout_instead_of_failing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine_module, "BUSY_TIMEOUT_MS", 100)
    first = sqlite_store(tmp_path / "s.db")
    second = Store(f"sqlite:///{tmp_path / 's.db'}")
    holding = threading.Event()

    def hold_the_lock() -> None:
        with first.write() as conn:
            conn.execute(insert(AppSecret).values(name="slow", value="v", created_at=NOW))
            holding.set()
            time.sleep(1.0)  # ten busy timeouts

    thread = threading.Thread(target=hold_the_lock)
    thread.start()
    holding.wait(5)
    started = time.monotonic()
    put(second, "patient")  # raised "database is locked" after 100 ms before
    waited = time.monotonic() - started
    thread.join()
    assert waited > 0.5
    with second.read() as conn:
        names = set(conn.execute(select(AppSecret.name)).scalars())
    assert names == {"slow", "patient"}
    first.dispose()
    second.dispose()


def test_an_open_read_never_blocks_a_writer(tmp_path: Path) -> None:
    store = sqlite_store(tmp_path / "s.db")
    put(store, "before")
    with store.read() as reader:
        seen = set(reader.execute(select(AppSecret.name)).scalars())
        started = time.monotonic()
        put(store, "during")  # commits while the read transaction is open
        assert time.monotonic() - started < 5
        # The reader keeps its snapshot.
        assert set(reader.execute(select(AppSecret.name)).scalars()) == seen == {"before"}
    store.dispose()


def test_a_large_chunk_rows_is_bounded(tmp_path: Path) -> None:
    config = tmp_path / "steward.yaml"
    config.write_text(
        "database: {url: 'sqlite:///s.db'}\n"
        "commons: [{slug: c, name: C, resources: [{slug: fund, name: Fund, kind: stock}]}]\n"
        "collectors:\n"
        "  - {name: big, kind: csv, commons: c, path: 'in/*.csv', chunk_rows: 2000000}\n",
        encoding="utf-8",
    )
    collector = build(load(config), "big")
    assert collector.options.chunk_rows == MAX_WRITE_ROWS  # type: ignore[attr-defined]


def test_an_unreachable_postgresql_is_named_without_its_password() -> None:
    with pytest.raises(StoreError) as caught:
        Store("postgresql+psycopg://steward:s3cret-pw@127.0.0.1:1/commons")
    error = caught.value
    assert "cannot be reached" in error.message
    assert "127.0.0.1" in error.message and "commons" in error.message
    assert "127.0.0.1:1" in (error.hint or "")
    assert "s3cret-pw" not in error.message + (error.hint or "")


def test_a_writer_that_waits_too_long_is_told_which_database_and_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine_module, "BUSY_TIMEOUT_MS", 100)
    monkeypatch.setattr(engine_module, "WRITE_WAIT_SECONDS", 0.3)
    first = sqlite_store(tmp_path / "s.db")
    second = Store(f"sqlite:///{tmp_path / 's.db'}")
    with first.write() as conn:
        conn.execute(insert(AppSecret).values(name="slow", value="v", created_at=NOW))
        with pytest.raises(StoreError) as caught:
            put(second, "impatient")
    assert "s.db" in caught.value.message and "stayed locked" in caught.value.message
    assert "stuck steward process" in (caught.value.hint or "")
    first.dispose()
    second.dispose()
