"""The loan book: each pool's open loans as the pipeline found them, so pages check only those.

A loan is open at a moment when its checkout had happened and its return had
not (:func:`steward.queries.loans.open_loans`). Finding the open ones among
every checkout and return a pool ever had grows with the ledger, and the
overview asks every few seconds. So the pipeline lists them
(:func:`refresh`): per pool, the highest event id it read (``event_max_id``),
the moment ``as_of``, and the loans that can be open at ``as_of`` or later
without any further event:

* loans open at ``as_of``, and
* loans checked out after ``as_of`` (recorded ahead of time).

A loan not listed is either never open after ``as_of`` or named by an event
recorded since: a checkout, a return, a reversal (which names its target by
id). :func:`open_loans_now` checks the listed loans and the loans of events
above the mark, exactly as ``open_loans`` would check every loan, so the answer
is the same; the loan index finds them, and the events above the mark are a
range of the primary key.

PostgreSQL can commit an event after one with a higher id (two writers at
once; an import's COPY takes 50,000 ids before it commits), so on PostgreSQL
:func:`refresh` reads the mark under ``LOCK TABLE event IN SHARE MODE``: the
lock waits for every transaction still inserting events, so every id below the
mark is committed and seen. SQLite commits one writer at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import pandas as pd
from sqlalchemy import Connection, delete, func, insert, select, text

from steward.queries.loans import open_loans
from steward.store.models import BookedLoan, Event, LoanBook, Resource


def refresh(conn: Connection, now: datetime) -> int:
    """List every pool's open loans at ``now`` in the loan book; returns how many were listed.

    Reads the ledger mark first, so an event recorded meanwhile is above it (and
    checked by :func:`open_loans_now`) or seen here. Raises ``ValueError`` for a
    naive ``now``.
    """
    if now.tzinfo is None:
        raise ValueError(f"now {now.isoformat()} has no timezone; pass an aware datetime")
    if conn.dialect.name == "postgresql":
        # Held to commit: writers wait for this refresh, and none is left half-seen.
        conn.execute(text("LOCK TABLE event IN SHARE MODE"))
    mark = int(conn.scalar(select(func.max(Event.id))) or 0)
    pools = list(conn.scalars(select(Resource.id).where(Resource.kind == "pool")))
    if not pools:
        return 0
    listed: set[tuple[int, str]] = set()
    for i in range(0, len(pools), 400):
        part = pools[i : i + 400]
        out = open_loans(conn, part, as_of=now)
        listed |= set(zip(out["resource_id"].astype(int), out["loan_ref"].astype(str), strict=True))
        ahead = conn.execute(
            select(Event.resource_id, Event.loan_ref)
            .where(
                Event.resource_id.in_(part),
                Event.kind == "use",
                Event.loan_ref.is_not(None),
                Event.occurred_at > now,
            )
            .distinct()
        ).all()
        listed |= {(int(rid), str(ref)) for rid, ref in ahead}
    conn.execute(delete(BookedLoan).where(BookedLoan.resource_id.in_(pools)))
    conn.execute(delete(LoanBook).where(LoanBook.resource_id.in_(pools)))
    conn.execute(
        insert(LoanBook),
        [{"resource_id": rid, "event_max_id": mark, "as_of": now} for rid in pools],
    )
    if listed:
        conn.execute(
            insert(BookedLoan),
            [{"resource_id": rid, "loan_ref": ref} for rid, ref in sorted(listed)],
        )
    return len(listed)


def open_loans_now(
    conn: Connection,
    resource_ids: Sequence[int],
    member_id: int | None = None,
    as_of: datetime | None = None,
) -> pd.DataFrame:
    """:func:`~steward.queries.loans.open_loans` at ``as_of`` (default now), from the loan book.

    Same arguments and columns. Falls back to reading every loan only when a
    pool has no book yet. A moment before the book's (the overview's trend a
    week ago, a past day's overdue list) also checks the loans returned between
    that moment and the book's: a loan open then and not listed was returned
    since, so those returns, found by the pools' time index, are all it adds.
    """
    as_of = as_of or datetime.now(UTC)
    ids = [int(r) for r in resource_ids]
    if not ids:
        return open_loans(conn, ids, member_id, as_of)
    books = conn.execute(
        select(LoanBook.resource_id, LoanBook.event_max_id, LoanBook.as_of).where(
            LoanBook.resource_id.in_(ids)
        )
    ).all()
    if len(books) < len(set(ids)):
        return open_loans(conn, ids, member_id, as_of)
    # Every event at or below the mark was committed when the book was made (see refresh).
    since = min(int(b.event_max_id) for b in books)
    refs = set(conn.scalars(select(BookedLoan.loan_ref).where(BookedLoan.resource_id.in_(ids))))
    booked_at = max(_utc(b.as_of) for b in books)
    if booked_at > as_of:
        # Open at ``as_of`` and not listed: returned after it, by the book's moment
        # (a return recorded since the mark is among the events read below).
        refs |= set(
            conn.scalars(
                select(Event.loan_ref)
                .where(
                    Event.resource_id.in_(ids),
                    Event.kind == "replenish",
                    Event.loan_ref.is_not(None),
                    Event.occurred_at > as_of,
                    Event.occurred_at <= booked_at,
                )
                .distinct()
            )
        )
    # Events since the mark: a range of the primary key, filtered here. Given the
    # pools in SQL, SQLite's planner walks each pool's index instead.
    wanted = set(ids)
    targets: set[int] = set()
    for rid, ref, reverses in conn.execute(
        select(Event.resource_id, Event.loan_ref, Event.reverses_id).where(Event.id > since)
    ):
        if rid not in wanted:
            continue
        if ref is not None:
            refs.add(ref)
        if reverses is not None:
            targets.add(int(reverses))
    # A reversal names its target by id: the target's loan is touched too.
    found = sorted(targets)
    for i in range(0, len(found), 500):
        refs |= set(
            conn.scalars(
                select(Event.loan_ref).where(
                    Event.id.in_(found[i : i + 500]), Event.loan_ref.is_not(None)
                )
            )
        )
    return open_loans(conn, ids, member_id, as_of, loan_refs=refs)


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
