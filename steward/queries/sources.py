"""Data sources for stewards: collector health, recent runs, quarantined rows, retry.

Collectors are not tied to a commons in the store, so the caller passes the
source names the steward may see (from the configuration, where every collector
has exactly one commons). Quarantined rows keep the raw source row, which may name
members: stewards only.

Retrying goes through ``steward.collectors.base.retry_quarantined`` when that
module provides it (see :func:`retry_available`).
"""

from __future__ import annotations

import importlib
import itertools
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import Connection, func, or_, select

from steward.access import Scope
from steward.config import Settings
from steward.store.models import (
    CollectorRun,
    CollectorState,
    Commons,
    Event,
    QuarantinedRow,
    Reading,
    Resource,
)


def allowed_sources(scope: Scope, conn: Connection, settings: Settings) -> list[str]:
    """Collector names the steward may see: those of their commons (each has exactly one)."""
    commons_id = scope.require_steward()
    commons_slug = conn.execute(select(Commons.slug).where(Commons.id == commons_id)).scalar()
    return [c.name for c in settings.collectors if c.commons == commons_slug]


def collectors(scope: Scope, conn: Connection, sources: Collection[str]) -> pd.DataFrame:
    scope.require_steward()
    rows = conn.execute(
        select(
            CollectorState.source,
            CollectorState.last_success_at,
            CollectorState.last_error_at,
            CollectorState.last_error,
            CollectorState.consecutive_failures,
            CollectorState.rows_read,
            CollectorState.accepted,
            CollectorState.duplicates,
            CollectorState.quarantined,
        )
        .where(CollectorState.source.in_(list(sources)))
        .order_by(CollectorState.source)
    ).all()
    frame = pd.DataFrame(
        rows,
        columns=[
            "source",
            "last_success_at",
            "last_error_at",
            "last_error",
            "consecutive_failures",
            "rows_read",
            "accepted",
            "duplicates",
            "quarantined",
        ],
    )
    known = set(frame["source"])
    missing = [s for s in sources if s not in known]
    if missing:
        # Configured but never run: show them, so a silent collector is noticed.
        extra = pd.DataFrame({"source": missing, "consecutive_failures": 0})
        # Every column, even when no collector has run yet (a frame of only never-run ones).
        extra = extra.reindex(columns=frame.columns)
        frame = pd.concat([frame, extra], ignore_index=True) if len(frame) else extra
    frame["health"] = [
        "never run" if pd.isna(ok) and pd.isna(err) else "failing" if (fails or 0) > 0 else "ok"
        for ok, err, fails in zip(
            frame.get("last_success_at", pd.Series(dtype=object)),
            frame.get("last_error_at", pd.Series(dtype=object)),
            frame["consecutive_failures"],
            strict=False,
        )
    ]
    return frame.sort_values("source").reset_index(drop=True)


def runs(scope: Scope, conn: Connection, sources: Collection[str], limit: int = 50) -> pd.DataFrame:
    scope.require_steward()
    rows = conn.execute(
        select(
            CollectorRun.id,
            CollectorRun.source,
            CollectorRun.started_at,
            CollectorRun.finished_at,
            CollectorRun.status,
            CollectorRun.rows_read,
            CollectorRun.accepted,
            CollectorRun.duplicates,
            CollectorRun.quarantined,
            CollectorRun.error,
        )
        .where(CollectorRun.source.in_(list(sources)))
        .order_by(CollectorRun.started_at.desc(), CollectorRun.id.desc())
        .limit(limit)
    ).all()
    return pd.DataFrame(
        rows,
        columns=[
            "run",
            "source",
            "started_at",
            "finished_at",
            "status",
            "rows_read",
            "accepted",
            "duplicates",
            "quarantined",
            "error",
        ],
    )


def quarantined(
    scope: Scope,
    conn: Connection,
    sources: Collection[str],
    *,
    include_resolved: bool = False,
    limit: int = 500,
) -> pd.DataFrame:
    """Quarantined rows the steward's commons can claim, newest first (at most ``limit``).

    Those of its collectors (``sources``: :func:`allowed_sources`), and those of hand
    imports (no collector) whose raw row names one of its resources. Columns: id,
    source, run, location, reason, raw (as text), created_at, resolved_at,
    resolution. Open rows only unless ``include_resolved``. AccessDenied for
    non-stewards: raw rows may name members.
    """
    from steward.queries.resources import visible

    scope.require_steward()
    slugs = [r.slug for r in visible(scope, conn)]
    # A hand import has no collector (and so no commons) of its own: its rows are the
    # commons' when the row names one of its resources.
    named = QuarantinedRow.raw["resource"].as_string()
    stmt = (
        select(
            QuarantinedRow.id,
            QuarantinedRow.source,
            QuarantinedRow.run_id,
            QuarantinedRow.location,
            QuarantinedRow.reason,
            QuarantinedRow.raw,
            QuarantinedRow.created_at,
            QuarantinedRow.resolved_at,
            QuarantinedRow.resolution,
        )
        .where(or_(QuarantinedRow.source.in_(list(sources)), named.in_(slugs)))
        .order_by(QuarantinedRow.created_at.desc(), QuarantinedRow.id.desc())
        .limit(limit)
    )
    if not include_resolved:
        stmt = stmt.where(QuarantinedRow.resolved_at.is_(None))
    rows = conn.execute(stmt).all()
    frame = pd.DataFrame(
        rows,
        columns=[
            "id",
            "source",
            "run",
            "location",
            "reason",
            "raw",
            "created_at",
            "resolved_at",
            "resolution",
        ],
    )
    # Raw rows are dicts; show them as text so every cell renders the same way.
    frame["raw"] = frame["raw"].map(lambda raw: "" if raw is None else str(raw))
    return frame


def unattributed(scope: Scope, conn: Connection, settings: Settings) -> int:
    """Open quarantined rows no commons can claim: from no configured collector, and
    naming no resource Steward knows (a hand import with a typo in its resource
    column). Only the count, for any steward: the rows may name another commons'
    members; ``steward quarantine list`` shows them to whoever runs the workspace.
    """
    scope.require_steward()
    collectors = [c.name for c in settings.collectors]
    known = list(conn.scalars(select(Resource.slug)))
    named = QuarantinedRow.raw["resource"].as_string()
    return int(
        conn.execute(
            select(func.count())
            .select_from(QuarantinedRow)
            .where(
                QuarantinedRow.resolved_at.is_(None),
                QuarantinedRow.source.not_in(collectors),
                or_(named.is_(None), named.not_in(known)),
            )
        ).scalar_one()
    )


def retry_function() -> Callable[..., Any] | None:
    """``steward.collectors.retry.retry_quarantined(ws, source)`` when collectors are installed."""
    try:
        module = importlib.import_module("steward.collectors.retry")
    except ModuleNotFoundError:
        return None
    func = getattr(module, "retry_quarantined", None)
    return func if callable(func) else None


def retry_available() -> bool:
    return retry_function() is not None


#: A resource is only called stale once its newest row is at least this old.
STALE_FLOOR = timedelta(hours=2)
#: ... and older than this many of its usual gaps between rows.
STALE_GAPS = 5
#: ... and longer than this many times the longest silence in GAP_WINDOW: a library
#: closed at night and on Mondays is quiet for 14 h or 40 h as a matter of course.
#: Measured on the MyTurn sample's loans (never dead): five usual gaps flagged the feed
#: stale in 69.1% of its hours, this 0.5% (holiday closures); a dead feed is then
#: flagged after a median 74 h instead of 3.8 h. The demo's loans: 23.6% -> 0%,
#: flagged after 26.5 h instead of 9.5 h (tests/benchmarks/bench_stale_sources.py).
LONGEST_GAP_FACTOR = 1.25
#: The window before the newest row whose rows give the usual gap.
GAP_WINDOW = timedelta(days=30)
#: Fewer rows than this in GAP_WINDOW: no regular rhythm to miss, never stale.
GAP_MIN_ROWS = 3


def _quiet_last_year(
    conn: Connection,
    table: Any,
    at: Any,
    resource_ids: set[int],
    source: str,
    span: timedelta,
    now: datetime,
) -> bool:
    """Whether, on this date last year, the source had been quiet for ``span`` already.

    A seed bank busy in October and silent all winter is seasonal, not broken:
    when the source sent rows before that stretch last year but none within it,
    its silence now is its season. ``span`` is the caller's: half the current
    silence, and at least the stale threshold. Half, not all of it: a season does
    not end on the same day each year, and a seed bank whose last packet went out
    on 28 October this year and on 29 October last year was flagged stale all
    winter. False when the source is younger than a year.
    """
    year = timedelta(days=365)
    where = [table.resource_id.in_(sorted(resource_ids)), table.source == source, *_real(table)]
    then_end = now - year
    then_start = then_end - span
    older = conn.execute(select(at).where(*where, at <= then_start).limit(1)).first()
    if older is None:
        return False
    within = conn.execute(
        select(at).where(*where, at > then_start, at <= then_end).limit(1)
    ).first()
    return within is None


@dataclass(frozen=True)
class Newest:
    """The newest row (event or reading) a source delivered, and whether it is overdue.

    ``happened_at`` is the row's own time (an event's ``occurred_at``, a
    reading's ``observed_at``) and ``arrived_at`` when Steward recorded it, both
    UTC; ``resource`` names the resource it is about. ``usual_gap`` is the mean
    spacing of the source's rows in the GAP_WINDOW up to its newest one (None
    when not needed or fewer than GAP_MIN_ROWS) and ``longest_gap`` its longest
    silence there; ``stale`` is True when nothing newer came for longer than
    STALE_FLOOR, STALE_GAPS usual gaps and LONGEST_GAP_FACTOR longest gaps (a feed
    that is quiet every night is not dead every morning), unless on this
    date a year before the source had been quiet for half as long already (its
    season, see :func:`_quiet_last_year`): a
    source whose collector still succeeds but whose sensor went quiet. Judged
    per source, not per resource: one tool nobody borrowed for a month says
    nothing about the loans feed.
    """

    source: str
    what: str
    resource: str
    happened_at: datetime
    arrived_at: datetime
    usual_gap: timedelta | None
    stale: bool
    longest_gap: timedelta | None = None


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


#: Where a source's data lands, with the time each row is about.
_DATA: tuple[tuple[Any, Any, str], ...] = (
    (Event, Event.occurred_at, "event"),
    (Reading, Reading.observed_at, "reading"),
)


def _real(table: Any) -> list[Any]:
    """Scheduled events (a pledged grant) are projections, not data that came."""
    return [Event.scheduled.is_(False)] if table is Event else []


def _newest(conn: Connection, table: Any, at: Any, now: datetime, column: Any, *where: Any) -> Any:
    """(time, ingested_at, ``column``) of the newest real row of ``table`` matching
    ``where`` at or before ``now``; None without one."""
    return conn.execute(
        select(at, table.ingested_at, column)
        .where(*where, at <= now, *_real(table))
        .order_by(at.desc())
        .limit(1)
    ).first()


def newest_data(
    scope: Scope,
    conn: Connection,
    now: datetime | None = None,
    *,
    floor: timedelta = STALE_FLOOR,
    collectors: Collection[str] = (),
) -> list[Newest]:
    """The newest event or reading from each source of the steward's commons, stale ones first.

    Unlike a collector's last success (a run that read nothing new succeeds
    too), this says when data last came. Each resource costs two index seeks
    (``ix_event_resource_time``, ``ix_reading_resource_time``) for its newest
    rows; a source's rows are counted for its usual gap only when it has been
    quiet for longer than ``floor``. Sources that recorded no event or reading
    (member lists, inventories) are left out. AccessDenied for non-stewards.

    ``collectors``: the commons' configured collectors (:func:`allowed_sources`).
    Each is looked up on its own when it holds no resource's newest row, so a feed
    is never hidden by a newer row of another source (a hand import into the same
    resources) and can still be found stale.
    """
    from steward.queries.resources import visible

    scope.require_steward()
    now = now or datetime.now(UTC)
    found = visible(scope, conn)
    names = {r.id: r.name for r in found}
    # source -> (happened, arrived, what, resource id); and the resources each source fed.
    best: dict[str, tuple[datetime, datetime, str, int]] = {}
    fed: dict[tuple[str, str], set[int]] = {}
    for res in found:
        for table, at, what in _DATA:
            row = _newest(conn, table, at, now, table.source, table.resource_id == res.id)
            if row is None:
                continue
            happened, arrived, source = _utc(row[0]), _utc(row[1]), str(row[2])
            fed.setdefault((source, what), set()).add(res.id)
            if source not in best or happened > best[source][0]:
                best[source] = (happened, arrived, what, res.id)
    ids = sorted(names)
    for source in sorted(set(collectors) - set(best)):
        # A feed whose rows are no resource's newest: its own newest, over every
        # resource of the commons (reads the source's rows there: rare, and bounded).
        for table, at, what in _DATA:
            newest = _newest(
                conn,
                table,
                at,
                now,
                table.resource_id,
                table.source == source,
                table.resource_id.in_(ids),
            )
            if newest is None:
                continue
            happened = _utc(newest[0])
            fed[(source, what)] = set(ids)
            if source not in best or happened > best[source][0]:
                best[source] = (happened, _utc(newest[1]), what, int(newest[2]))
    out: list[Newest] = []
    for source, (happened, arrived, what, rid) in best.items():
        table, at = (
            (Event, Event.occurred_at) if what == "event" else (Reading, Reading.observed_at)
        )
        gap = longest = None
        stale = False
        if now - happened > floor:
            times = sorted(
                _utc(t)
                for t in conn.scalars(
                    select(at).where(
                        table.resource_id.in_(sorted(fed[(source, what)])),
                        table.source == source,
                        at > happened - GAP_WINDOW,
                        at <= happened,
                        *_real(table),
                    )
                )
            )
            if len(times) >= GAP_MIN_ROWS:
                # Spacing of the rows the window holds (a source younger than the
                # window is judged by the days it has been sending).
                gap = (happened - times[0]) / (len(times) - 1)
                longest = max(b - a for a, b in itertools.pairwise(times))
                threshold = max(floor, STALE_GAPS * gap, LONGEST_GAP_FACTOR * longest)
                silence = now - happened
                stale = silence > threshold and not _quiet_last_year(
                    conn, table, at, fed[(source, what)], source, max(threshold, silence / 2), now
                )
        out.append(Newest(source, what, names[rid], happened, arrived, gap, stale, longest))
    out.sort(key=lambda n: (not n.stale, n.source))
    return out
