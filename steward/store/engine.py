"""Engine factory and the :class:`Store` handle every command opens.

SQLite runs in WAL mode, so readers never block writers (nor writers readers),
and the scheduler, the CLI, the simulator and the dashboard can share one file.
Writers take the write lock up front (BEGIN IMMEDIATE): that is the one place a
writer waits for another, before it has done anything, so waiting there is safe
and a transaction never fails half-way with "database is locked". SQLite's busy
handler waits up to :data:`BUSY_TIMEOUT_MS` per attempt; the attempt is retried
until :data:`WRITE_WAIT_SECONDS` have passed (every write transaction in Steward
is bounded far below that: ledger chunks are at most
:data:`steward.collectors.base.MAX_WRITE_ROWS` rows). PostgreSQL is reached
through psycopg 3.
"""

from __future__ import annotations

import logging
import time
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
#: How long a SQLite writer waits for the write lock in all before it gives up.
WRITE_WAIT_SECONDS = 180.0

log = logging.getLogger(__name__)


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
        if conn.get_execution_options().get("steward_write", False):
            _begin_immediate(conn, database or "")
        else:
            conn.exec_driver_sql("BEGIN")

    return engine


def _begin_immediate(conn: Connection, database: str) -> None:
    """Take SQLite's write lock, waiting for other writers as long as they need."""
    started = time.monotonic()
    while True:
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except OperationalError as exc:
            waited = time.monotonic() - started
            if not _is_busy(exc) or waited >= WRITE_WAIT_SECONDS:
                raise
            log.warning(
                "waiting for the write lock on %s: another writer has held it for %.0f s",
                database,
                waited,
            )
            continue
        return


def _is_busy(exc: OperationalError) -> bool:
    text = str(exc.orig).lower()
    return "database is locked" in text or "database is busy" in text


class Store:
    """A database handle: reads in plain transactions, writes holding the write lock."""

    def __init__(self, url: str, *, check_schema: bool = True) -> None:
        self.url = normalise_url(url)
        self.engine = make_engine(self.url)
        if check_schema:
            from steward.store.schema import require_current

            with _translate_errors(self.url):
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

    def refresh_statistics(self) -> None:
        """Refresh SQLite's query-planner statistics (``ANALYZE``); PostgreSQL's autovacuum does its own.

        Without statistics SQLite guessed its plans: for open loans it searched each
        loan's return among all of the pool's events (time growing with the square
        of a pool's history: 465 ms on the demo, 18 ms with statistics).
        ``analysis_limit`` samples about 1,000 rows per index, so this takes
        milliseconds whatever the ledger's size (SQLite's documented approximate mode).
        """
        if self.dialect != "sqlite":
            return
        with self.write() as conn:
            conn.exec_driver_sql("PRAGMA analysis_limit=1000")
            conn.exec_driver_sql("ANALYZE")

    def dispose(self) -> None:
        self.engine.dispose()


@contextmanager
def _translate_errors(url: str) -> Iterator[None]:
    """Turn driver errors into a StoreError naming the database (password hidden)."""
    try:
        yield
    except OperationalError as exc:
        raise database_error(url, exc) from exc


def database_error(url: str, exc: OperationalError) -> StoreError:
    """What went wrong with which database, and what to check; never the password."""
    parsed = make_url(url)
    safe = parsed.render_as_string(hide_password=True)
    detail = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
    if parsed.password:
        detail = detail.replace(str(parsed.password), "***")
    if "no such table" in detail or "no such column" in detail:
        return StoreError(
            f"database {safe} cannot be used: {detail}",
            hint="its schema is older than this version of Steward: run `steward db upgrade`",
        )
    if parsed.get_backend_name() == "sqlite":
        if _is_busy(exc):
            return StoreError(
                f"database {safe} stayed locked by another writer for more than "
                f"{WRITE_WAIT_SECONDS:.0f} s",
                hint="check for a stuck steward process writing to this file "
                "(`steward status` lists running jobs); readers never hold this lock",
            )
        return StoreError(
            f"database {safe} cannot be used: {detail}",
            hint="check that the file's folder exists and is writable, and the disk is not full",
        )
    where = f"{parsed.host or 'localhost'}:{parsed.port or 5432}"
    if exc.connection_invalidated or "connect" in detail.lower():
        return StoreError(
            f"database {safe} cannot be reached: {detail}",
            hint=f"check that PostgreSQL is running and accepts connections at {where}, and "
            "that database.url (or STEWARD_DATABASE_URL) names the right host, port, "
            "database and user",
        )
    return StoreError(
        f"database {safe} cannot be used: {detail}",
        hint=f"check the PostgreSQL server at {where} (its log says more) and the user's rights",
    )
