"""Fixtures from config to a running store, on SQLite and (when configured) PostgreSQL."""

from __future__ import annotations

import os
import re
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
import yaml
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from steward.store.engine import Store
from steward.store.schema import upgrade
from steward.workspace import Workspace, open_workspace

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
PG_ENV = "STEWARD_TEST_DATABASE_URL"


# Every process the suite starts inherits this mark, so the run can find what
# it left behind even after a killed parent's children were re-parented.
LEFT_BEHIND_MARK = "PYTEST_STEWARD_RUN"


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):  # the controller; xdist workers inherit
        os.environ.setdefault(LEFT_BEHIND_MARK, uuid.uuid4().hex)


def _left_behind(mark: str) -> list[psutil.Process]:
    """Processes carrying this run's ``mark``, but for this process, its ancestors
    and multiprocessing's resource tracker of this process (it ends when this
    process does; without xdist the tests ran here and started it)."""
    me = psutil.Process()
    mine = {p.pid for p in [me, *me.parents()]}
    for child in me.children():
        try:
            if "multiprocessing.resource_tracker" in " ".join(child.cmdline()):
                mine.add(child.pid)
        except psutil.Error:
            continue
    found = []
    for p in psutil.process_iter():
        try:
            if p.pid not in mine and p.environ().get(LEFT_BEHIND_MARK) == mark:
                found.append(p)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if any process it started is still running at its end."""
    config = session.config
    if hasattr(config, "workerinput") or LEFT_BEHIND_MARK not in os.environ:
        return
    if "steward.forecast.parallel" in sys.modules:  # without xdist, the tests' warm pool
        sys.modules["steward.forecast.parallel"].shutdown_workers()
    # xdist workers and their servers get a moment to finish exiting.
    _, alive = psutil.wait_procs(_left_behind(os.environ[LEFT_BEHIND_MARK]), timeout=20)
    if not alive:
        return
    lines = []
    for p in alive:
        try:
            lines.append(f"  pid {p.pid}: {' '.join(p.cmdline())[:160]}")
            p.kill()
        except psutil.Error:
            continue
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_sep(
            "=",
            f"{len(alive)} process(es) started by the tests outlived them (now killed)",
            red=True,
        )
        for line in lines:
            reporter.write_line(line)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """No STEWARD_* setting from the developer's shell leaks into a test."""
    for name in list(os.environ):
        if name.startswith("STEWARD_") and name != PG_ENV:
            monkeypatch.delenv(name, raising=False)


def _pg_database(base_url: str) -> Iterator[str]:
    """A throwaway PostgreSQL database for one test."""
    url = make_url(base_url)
    name = f"steward_t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'steward.db'}"
        return
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(
            f"PostgreSQL tests need {PG_ENV} (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)"
        )
    yield from _pg_database(base)


@pytest.fixture
def second_db_url(db_url: str, tmp_path: Path) -> Iterator[str]:
    """Another empty database on ``db_url``'s backend (e.g. to compare two runs)."""
    if db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'second.db'}"
        return
    yield from _pg_database(os.environ[PG_ENV])


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    st = Store(db_url, check_schema=False)
    upgrade(st.engine)
    yield st
    st.dispose()


SMALL_COMMONS: dict[str, Any] = {
    "commons": [
        {
            "slug": "toolshed",
            "name": "Toolshed",
            "timezone": "America/Los_Angeles",
            "currency": "USD",
            "resources": [
                {"slug": "drill", "name": "Cordless drills", "kind": "pool", "capacity": 3},
                {
                    "slug": "fund",
                    "name": "Repair fund",
                    "kind": "stock",
                    "unit": "USD",
                    "reserve": 100,
                    "initial_level": 500,
                },
                {
                    "slug": "tank",
                    "name": "Rain tank",
                    "kind": "stock",
                    "unit": "L",
                    "capacity": 1000,
                    "reserve": 100,
                },
            ],
        }
    ]
}


@pytest.fixture
def settings_factory(tmp_path: Path) -> Callable[..., Path]:
    """Write a config file (SMALL_COMMONS merged with overrides) and return its path."""

    def make(data: dict[str, Any] | None = None, *, db_url: str | None = None) -> Path:
        body = dict(SMALL_COMMONS if data is None else data)
        if db_url is not None:
            body["database"] = {"url": db_url}
        path = tmp_path / "steward.yaml"
        path.write_text(yaml.safe_dump(body, sort_keys=False), encoding="utf-8")
        return path

    return make


@pytest.fixture
def workspace(
    store: Store, db_url: str, settings_factory: Callable[..., Path]
) -> Iterator[Workspace]:
    path = settings_factory(db_url=db_url)
    ws = open_workspace(path)
    yield ws
    ws.close()


def strip_ansi(value: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", value)
