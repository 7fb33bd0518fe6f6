"""The run loop every collector shares, and the interface a collector implements.

A collector only reads its source and maps rows (:meth:`Collector.read` yields
:class:`Chunk` s: a ledger batch plus the cursor that is valid once that batch is
in). This module owns everything else:

* the cursor: loaded before a run, saved in the same transaction as the chunk's
  events, quarantined rows and run counts, so a crash (even ``kill -9``) leaves
  ledger and cursor consistent and a re-run neither loses nor double counts;
* retries: :class:`~steward.errors.TransientSourceError` (timeouts, 5xx, broker
  unreachable) is retried with exponential backoff, resuming from the last
  committed cursor; then the run is recorded as failed in its own transaction;
* health: last success, last error, consecutive failures and row counts live in
  ``collector_state``; the log says "failing" and "recovered" only when that changes.
"""

from __future__ import annotations

import abc
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ValidationError
from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from steward.config import CollectorConfig, CommonsConfig, LoadedConfig, format_validation_error
from steward.errors import ConfigError, SourceError, StewardError, TransientSourceError
from steward.ledger import Batch, BatchResult, Ledger, TimeWindow
from steward.store.models import CollectorRun, CollectorState
from steward.workspace import Workspace

log = logging.getLogger("steward.collectors")

#: Rows per chunk for sources that can be read in parts; each chunk is one commit.
CHUNK_ROWS = 50_000
#: Most rows one write transaction takes, whatever a collector's ``chunk_rows`` says:
#: a commit holds SQLite's write lock, and every other writer waits for it.
MAX_WRITE_ROWS = 50_000


@dataclass
class Chunk:
    """One committed unit: a batch, and the cursor that is valid once it is recorded."""

    batch: Batch
    cursor: str | None
    #: Rows read that by design carry nothing for the ledger (e.g. activity lines).
    skipped: int = 0
    #: Work done and total (e.g. bytes), for progress bars; None when unknown.
    progress: tuple[int, int] | None = None


@dataclass(frozen=True)
class CollectorContext:
    """What a collector may know about its setting: its config and where it lives."""

    config: CollectorConfig
    index: int
    loaded: LoadedConfig

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def where(self) -> str:
        return f"{self.loaded.path}: collectors[{self.index}] ({self.name})"

    @property
    def commons(self) -> CommonsConfig | None:
        slug = self.config.commons
        for commons in self.loaded.settings.commons:
            if commons.slug == slug:
                return commons
        return None

    def commons_slug(self) -> str:
        if self.config.commons is None:
            raise ConfigError(
                f"{self.where}: commons is required for this kind of collector",
                hint="add `commons: <slug>` naming the commons its members and resources are in",
            )
        return self.config.commons


class Collector(abc.ABC):
    """A source kind. Subclasses set ``kind`` and ``Options`` and implement :meth:`read`."""

    kind: ClassVar[str]
    #: The kind's own options (pydantic, ``extra="forbid"``), validated from the YAML.
    Options: ClassVar[type[BaseModel]]

    def __init__(self, context: CollectorContext, options: Any) -> None:
        self.context = context
        self.options = options

    @property
    def name(self) -> str:
        return self.context.name

    @abc.abstractmethod
    def read(self, cursor: str | None) -> Iterator[Chunk]:
        """Yield chunks of new rows after ``cursor`` (None: from the beginning)."""

    def remap(self, raws: Sequence[tuple[str, dict[str, Any]]]) -> Batch | None:
        """Map quarantined raw rows again (after a config fix); None: re-read the source."""
        return None

    def close(self) -> None:  # noqa: B027 - most sources hold nothing open
        """Release connections; called after every run."""


def build(loaded: LoadedConfig, name: str) -> Collector:
    """The configured collector ``name``, its options validated."""
    from steward.collectors.registry import by_kind

    found = [(i, c) for i, c in enumerate(loaded.settings.collectors) if c.name == name]
    if not found:
        known = ", ".join(c.name for c in loaded.settings.collectors) or "none configured"
        raise ConfigError(
            f"{loaded.path}: no collector named {name!r} (known: {known})",
            hint="list them with `steward sources`",
        )
    index, cfg = found[0]
    kinds = by_kind()
    cls = kinds.get(cfg.kind)
    if cls is None:
        raise ConfigError(
            f"{loaded.path}: collectors[{index}].kind: unknown kind {cfg.kind!r}",
            hint=f"use one of: {', '.join(sorted(kinds))}",
        )
    try:
        options = cls.Options.model_validate(cfg.options)
    except ValidationError as exc:
        error = format_validation_error(loaded.path, exc)
        message = error.message.replace(f"{loaded.path}: ", f"{loaded.path}: collectors[{index}].")
        raise ConfigError(message, hint=f"see the options of the {cfg.kind!r} collector") from None
    if getattr(options, "chunk_rows", 0) > MAX_WRITE_ROWS:
        options = options.model_copy(update={"chunk_rows": MAX_WRITE_ROWS})
    return cls(CollectorContext(cfg, index, loaded), options)


@dataclass
class RunReport:
    name: str
    status: str = "ok"  # ok, failed
    rows_read: int = 0
    accepted: int = 0
    #: Rows that changed a recorded member (the run tables count them as accepted).
    updated: int = 0
    duplicates: int = 0
    quarantined: int = 0
    skipped: int = 0
    chunks: int = 0
    attempts: int = 0
    seconds: float = 0.0
    error: str | None = None
    run_id: int | None = None
    reasons: dict[str, int] = field(default_factory=dict)
    #: Of the duplicates, rows repeating an earlier row of the same chunk (recorded once).
    repeats: int = 0

    def add(self, result: BatchResult, skipped: int) -> None:
        self.rows_read += result.rows_read
        self.accepted += result.accepted
        self.updated += result.updated
        self.duplicates += result.duplicates
        self.repeats += result.repeats
        self.quarantined += result.quarantined
        self.skipped += skipped
        self.chunks += 1
        for key, count in result.reasons.items():
            self.reasons[key] = self.reasons.get(key, 0) + count


ChunkCallback = Callable[[Chunk, RunReport], None]


def run(
    ws: Workspace,
    name: str,
    *,
    retries: int = 3,
    backoff: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
    on_chunk: ChunkCallback | None = None,
    from_start: bool = False,
    now: datetime | None = None,
) -> RunReport:
    """Run collector ``name`` once: read from its cursor and commit chunk by chunk.

    ``from_start`` re-reads the whole source (duplicates are recognised, so it is
    safe); the saved cursor is replaced as the chunks commit. ``now`` (tz-aware,
    default the clock) is the moment rows may not be later than, give or take the
    ledger's clock skew: a demo or benchmark built as it stood at a fixed moment
    passes that moment.
    """
    collector = build(ws.config, name)
    report = RunReport(name)
    started = time.monotonic()
    try:
        for attempt in range(retries + 1):
            report.attempts = attempt + 1
            try:
                _ingest(
                    ws, collector, report, on_chunk, from_start=from_start and attempt == 0, now=now
                )
                break
            except TransientSourceError as exc:
                if attempt >= retries:
                    _record_failure(ws, report, exc)
                    break
                delay = backoff * 2**attempt
                log.debug("collector %s: %s; retrying in %.1fs", name, exc.message, delay)
                sleep(delay)
            except StewardError as exc:
                _record_failure(ws, report, exc)
                break
    finally:
        collector.close()
    report.seconds = time.monotonic() - started
    return report


def _ingest(
    ws: Workspace,
    collector: Collector,
    report: RunReport,
    on_chunk: ChunkCallback | None,
    *,
    from_start: bool,
    now: datetime | None = None,
) -> None:
    source = collector.name
    with ws.store.read() as conn:
        saved = conn.execute(
            select(CollectorState.cursor).where(CollectorState.source == source)
        ).first()
    expected = saved.cursor if saved else None
    exists = saved is not None
    for chunk in collector.read(None if from_start else expected):
        with ws.store.write() as conn:
            _check_cursor(conn, source, expected, exists, from_start and report.chunks == 0)
            if report.run_id is None:
                report.run_id = _start_run(conn, source)
            ledger = Ledger(conn, run_id=report.run_id, window=TimeWindow.from_config(ws.settings))
            result = ledger.record(chunk.batch, now=now)
            report.add(result, chunk.skipped)
            _save_progress(conn, report, result, chunk, exists)
        expected, exists = chunk.cursor, True
        if on_chunk is not None:
            on_chunk(chunk, report)
    with ws.store.write() as conn:
        if report.run_id is None:
            report.run_id = _start_run(conn, source)
        _finish(conn, report, expected)


def _check_cursor(
    conn: Connection, source: str, expected: str | None, exists: bool, restart: bool
) -> None:
    """Refuse to commit if another process moved this collector's cursor meanwhile."""
    stmt = select(CollectorState.cursor).where(CollectorState.source == source)
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    row = conn.execute(stmt).first()
    if restart:
        return
    current = row.cursor if row else None
    if (row is not None) != exists or current != expected:
        raise SourceError(
            f"collector {source!r} was advanced by another process during this run",
            hint="run each collector from one place only: `steward run` or `steward collect`",
        )


def _start_run(conn: Connection, source: str) -> int:
    now = datetime.now(UTC)
    run_id = conn.execute(
        insert(CollectorRun)
        .values(source=source, started_at=now, status="running")
        .returning(CollectorRun.id)
    ).scalar_one()
    return int(run_id)


def _save_progress(
    conn: Connection, report: RunReport, result: BatchResult, chunk: Chunk, exists: bool
) -> None:
    conn.execute(
        update(CollectorRun)
        .where(CollectorRun.id == report.run_id)
        .values(
            rows_read=report.rows_read,
            # The run tables have no column of their own for member updates: recorded rows.
            accepted=report.accepted + report.updated,
            duplicates=report.duplicates,
            quarantined=report.quarantined,
            skipped=report.skipped,
            cursor=chunk.cursor,
        )
    )
    counts = {
        "rows_read": CollectorState.rows_read + result.rows_read,
        "accepted": CollectorState.accepted + result.accepted + result.updated,
        "duplicates": CollectorState.duplicates + result.duplicates,
        "quarantined": CollectorState.quarantined + result.quarantined,
        "skipped": CollectorState.skipped + chunk.skipped,
    }
    if exists:
        conn.execute(
            update(CollectorState)
            .where(CollectorState.source == report.name)
            .values(cursor=chunk.cursor, **counts)
        )
        return
    try:
        with conn.begin_nested():
            conn.execute(
                insert(CollectorState).values(
                    source=report.name,
                    cursor=chunk.cursor,
                    consecutive_failures=0,
                    rows_read=result.rows_read,
                    accepted=result.accepted + result.updated,
                    duplicates=result.duplicates,
                    quarantined=result.quarantined,
                    skipped=chunk.skipped,
                )
            )
    except IntegrityError as exc:
        raise SourceError(
            f"collector {report.name!r} was started by another process during this run",
            hint="run each collector from one place only: `steward run` or `steward collect`",
        ) from exc


def _ensure_state(conn: Connection, source: str, **initial: object) -> int:
    """The collector's consecutive failures so far; its state row is created on first use."""
    previous = conn.execute(
        select(CollectorState.consecutive_failures).where(CollectorState.source == source)
    ).scalar()
    if previous is None:
        conn.execute(insert(CollectorState).values(source=source, **initial))
        return 0
    return int(previous)


def _finish(conn: Connection, report: RunReport, cursor: str | None) -> None:
    now = datetime.now(UTC)
    conn.execute(
        update(CollectorRun)
        .where(CollectorRun.id == report.run_id)
        .values(status="ok", finished_at=now)
    )
    previous = _ensure_state(conn, report.name, cursor=cursor)
    conn.execute(
        update(CollectorState)
        .where(CollectorState.source == report.name)
        .values(last_success_at=now, consecutive_failures=0)
    )
    if previous:
        log.info("collector %s recovered after %d failed run(s)", report.name, previous)


def _record_failure(ws: Workspace, report: RunReport, exc: StewardError) -> None:
    """A failed run, in its own transaction: whatever chunks committed stay committed."""
    report.status = "failed"
    report.error = exc.message
    now = datetime.now(UTC)
    with ws.store.write() as conn:
        if report.run_id is None:
            report.run_id = _start_run(conn, report.name)
        conn.execute(
            update(CollectorRun)
            .where(CollectorRun.id == report.run_id)
            .values(status="failed", finished_at=now, error=exc.message)
        )
        previous = _ensure_state(conn, report.name)
        conn.execute(
            update(CollectorState)
            .where(CollectorState.source == report.name)
            .values(
                last_error_at=now,
                last_error=exc.message,
                consecutive_failures=CollectorState.consecutive_failures + 1,
            )
        )
    if not previous:
        log.warning("collector %s failing: %s", report.name, exc.message)
