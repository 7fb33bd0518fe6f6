"""Engine factory and the :class:`Store` handle every command opens.

SQLite runs in WAL mode with a generous busy timeout so the scheduler, the CLI and
the dashboard can share one file; writers take the write lock up front
(BEGIN IMMEDIATE) so two writers queue instead of failing half-way with
"database is locked". PostgreSQL is reached through psycopg 3.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session

from steward.errors import StoreError

BUSY_TIMEOUT_MS = 10_000


def normalise_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs and route them to psycopg 3."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str, **kwargs: Any) -> Engine:
    url = normalise_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreError(
            f"database URL {url!r} is not valid",
            hint="use sqlite:///path/to/steward.db or postgresql+psycopg://user@host/db",
        ) from exc
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, parsed.database, **kwargs)
    if parsed.get_backend_name() != "postgresql":
        raise StoreError(
            f"unsupported database {parsed.get_backend_name()!r}",
            hint="Steward runs on SQLite (embedded) or PostgreSQL",
        )
    try:
        return create_engine(url, pool_pre_ping=True, **kwargs)
    except ImportError as exc:
        raise StoreError(f"no driver for {parsed.drivername}: {exc}") from exc


def _sqlite_engine(url: str, database: str | None, **kwargs: Any) -> Engine:
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
        **kwargs,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy (not pysqlite) decide when transactions begin.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get("steward_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


class Store:
    """A database handle: reads in plain transactions, writes holding the write lock."""

    def __init__(self, url: str, *, check_schema: bool = True) -> None:
        self.url = normalise_url(url)
        self.engine = make_engine(self.url)
        if check_schema:
            from steward.store.schema import require_current

            require_current(self.engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with _translate_errors(self.url), self.engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction: all of it commits, or none of it."""
        with (
            _translate_errors(self.url),
            self.engine.connect().execution_options(steward_write=True) as conn,
            conn.begin(),
        ):
            yield conn

    @contextmanager
    def session(self, *, write: bool = False) -> Iterator[Session]:
        with self.write() if write else self.read() as conn:
            session = Session(bind=conn)
            try:
                yield session
                session.flush()
            finally:
                session.close()

    def dispose(self) -> None:
        self.engine.dispose()


@contextmanager
def _translate_errors(url: str) -> Iterator[None]:
    try:
        yield
    except OperationalError as exc:
        safe = make_url(url).render_as_string(hide_password=True)
        raise StoreError(
            f"database {safe} cannot be used: {exc.orig}",
            hint="check that the database server is running and the URL is right",
        ) from exc
