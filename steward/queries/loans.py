"""Loans of pools: which are out at a moment, when each is due, and how late.

A loan is a pool's ``use`` event with a loan reference; it is open at ``as_of``
when it was checked out by then and its ``replenish`` (the return) had not
happened by then. Reversed events and the reversals themselves are left out:
a corrected checkout never was. A loan's due date is its latest
:class:`~steward.store.models.LoanTerm` that had begun by ``as_of`` (a renewal's
term replaces the checkout's); a loan without terms has no due date and is
never counted overdue.

These functions take resource and member ids, not an access scope: callers
(dashboard pages) narrow them to what the viewer may see first.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from sqlalchemy import Connection, exists, select, tuple_
from sqlalchemy.orm import aliased

from steward.store.models import Event, LoanTerm, Member, Resource

#: Overdue age buckets in days: [low, high); ``None`` = no upper bound.
OVERDUE_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("<7", 0, 7),
    ("7-14", 7, 14),
    ("14-30", 14, 30),
    ("30-60", 30, 60),
    ("60+", 60, None),
)
#: Loan references bound per query (twice each; old SQLite builds allow 999 parameters).
REFS_PER_QUERY = 200
COLUMNS = (
    "resource_id",
    "resource",
    "resource_name",
    "member_id",
    "member",
    "loan_ref",
    "checked_out_at",
    "due_at",
    "days_overdue",
)
#: The event table under the other names a loan query reads it by (a return, a
#: reversal, a reversed return, a named loan's event). Made once: each alias
#: copies every column of the table, and making four per call was 40% of the CPU
#: of reading a few open loans (the overview does so at every refresh).
_RETURN = aliased(Event)
_UNDO = aliased(Event)
_UNDO_RETURN = aliased(Event)
_BY_REF = aliased(Event)


def open_loans(
    conn: Connection,
    resource_ids: Sequence[int] | None = None,
    member_id: int | None = None,
    as_of: datetime | None = None,
    loan_refs: Collection[str] | None = None,
) -> pd.DataFrame:
    """Loans out at ``as_of`` (default now), oldest checkout first.

    Returns one row per loan with :data:`COLUMNS`: ``resource_id``, ``resource``
    (slug), ``resource_name``, ``member_id`` and ``member`` (code; both None
    for a loan without a member), ``loan_ref``, ``checked_out_at`` and ``due_at``
    (tz-aware UTC timestamps; ``due_at`` is NaT when the source gave no due date
    and is the first instant the loan is overdue), and ``days_overdue`` (float
    days past ``due_at``, NaN when not overdue or not due). ``resource_ids``
    limits the pools (an empty list: none), ``member_id`` the borrower, and
    ``loan_refs`` the loans looked at (their checkouts and returns, found by the
    loan index; steward/loan_book.py passes the few that can be open).
    Raises ``ValueError`` for a naive ``as_of``.
    """
    if loan_refs is not None:
        refs = sorted(set(loan_refs))
        parts = [
            _open_loans(conn, resource_ids, member_id, as_of, refs[i : i + REFS_PER_QUERY])
            for i in range(0, len(refs), REFS_PER_QUERY)
        ]
        if not parts:
            return _open_loans(conn, [], member_id, as_of, None)
        found = pd.concat(parts, ignore_index=True)
        return found.sort_values("checked_out_at", kind="stable").reset_index(drop=True)
    return _open_loans(conn, resource_ids, member_id, as_of, None)


def _open_loans(
    conn: Connection,
    resource_ids: Sequence[int] | None,
    member_id: int | None,
    as_of: datetime | None,
    refs: list[str] | None,
) -> pd.DataFrame:
    as_of = _moment(as_of)
    ret, undo, undo_ret = _RETURN, _UNDO, _UNDO_RETURN
    ids = None if resource_ids is None else [int(r) for r in resource_ids]
    # Loans returned by ``as_of``, as one uncorrelated set: a correlated NOT EXISTS
    # lets SQLite (without ANALYZE statistics) probe it through the time index, a
    # scan of the pool's whole history per loan (minutes on a busy pool).
    returned = select(ret.resource_id, ret.loan_ref).where(
        ret.kind == "replenish",
        ret.loan_ref.is_not(None),  # NOT IN over a NULL would match nothing
        ret.reverses_id.is_(None),
        ret.scheduled.is_(False),
        ret.occurred_at <= as_of,
        ~exists().where(undo_ret.reverses_id == ret.id),
    )
    if ids is not None:
        returned = returned.where(ret.resource_id.in_(ids))
    # The named loans' events, by the loan index; looked up by id below, or the
    # planner walks each pool's whole history through the time index.
    named = None
    if refs is not None:
        by_ref = _BY_REF
        named = select(by_ref.id).where(by_ref.loan_ref.in_(refs))
        if ids is not None:
            named = named.where(by_ref.resource_id.in_(ids))
        returned = returned.where(ret.id.in_(named))
    stmt = (
        select(
            Event.resource_id,
            Resource.slug.label("resource"),
            Resource.name.label("resource_name"),
            Event.member_id,
            Member.code.label("member"),
            Event.loan_ref,
            Event.occurred_at.label("checked_out_at"),
        )
        .join(Resource, Resource.id == Event.resource_id)
        .outerjoin(Member, Member.id == Event.member_id)
        .where(
            Resource.kind == "pool",
            Event.kind == "use",
            Event.loan_ref.is_not(None),
            Event.reverses_id.is_(None),
            Event.scheduled.is_(False),
            Event.occurred_at <= as_of,
            ~exists().where(undo.reverses_id == Event.id),
            tuple_(Event.resource_id, Event.loan_ref).not_in(returned),
        )
        .order_by(Event.occurred_at, Event.id)
    )
    if ids is not None:
        stmt = stmt.where(Event.resource_id.in_(ids))
    if member_id is not None:
        stmt = stmt.where(Event.member_id == int(member_id))
    if named is not None:
        stmt = stmt.where(Event.id.in_(named))
    loans = pd.DataFrame(conn.execute(stmt).all(), columns=list(COLUMNS[:-2]))
    loans["checked_out_at"] = pd.to_datetime(loans["checked_out_at"], utc=True)
    loans["due_at"] = _due(conn, loans, as_of)
    late = (pd.Timestamp(as_of) - loans["due_at"]) / pd.Timedelta(days=1)
    loans["days_overdue"] = late.where(late >= 0).astype("float64")
    for column in ("member_id", "member"):
        loans[column] = loans[column].astype(object).where(loans[column].notna(), None)
    return loans.reset_index(drop=True)


def overdue_counts(
    conn: Connection,
    resource_ids: Sequence[int] | None = None,
    member_id: int | None = None,
    as_of: datetime | None = None,
) -> pd.Series:
    """Open loans past their due date at ``as_of``, counted by days overdue.

    A Series of int counts indexed by the labels of :data:`OVERDUE_BUCKETS`
    (``<7``, ``7-14``, ``14-30``, ``30-60``, ``60+``; every label present, in
    that order); a loan exactly 7 days overdue counts in ``7-14``. Arguments
    as for :func:`open_loans`.
    """
    loans = open_loans(conn, resource_ids, member_id, as_of)
    return bucket_counts(loans["days_overdue"])


def bucket_counts(days_overdue: pd.Series) -> pd.Series:
    """Counts of overdue ages (float days; NaN = not overdue) per :data:`OVERDUE_BUCKETS`."""
    late = days_overdue.dropna()
    counts = {
        label: int(((late >= low) & (late < high if high is not None else True)).sum())
        for label, low, high in OVERDUE_BUCKETS
    }
    return pd.Series(counts, dtype="int64", name="loans")


def _moment(as_of: datetime | None) -> datetime:
    if as_of is None:
        return datetime.now(UTC)
    if as_of.tzinfo is None:
        raise ValueError(f"as_of {as_of.isoformat()} has no timezone; pass an aware datetime")
    return as_of.astimezone(UTC)


def _due(conn: Connection, loans: pd.DataFrame, as_of: datetime) -> pd.Series:
    """Each loan's due date as of ``as_of``: its latest term begun by then.

    Picked in plain Python: the overview reads a few open loans at every refresh,
    and a frame to sort, deduplicate and reindex their terms cost more than the query.
    """
    empty = pd.Series(pd.NaT, index=loans.index, dtype="datetime64[us, UTC]")
    if loans.empty:
        return empty
    refs = sorted(set(loans["loan_ref"]))
    # (resource id, loan ref) -> (starts_at, term id, due_at) of the latest term.
    latest: dict[tuple[int, str], tuple[datetime, int, Any]] = {}
    for start in range(0, len(refs), 500):
        for rid, ref, starts_at, due_at, term_id in conn.execute(
            select(
                LoanTerm.resource_id,
                LoanTerm.loan_ref,
                LoanTerm.starts_at,
                LoanTerm.due_at,
                LoanTerm.id,
            ).where(
                LoanTerm.loan_ref.in_(refs[start : start + 500]),
                LoanTerm.starts_at <= as_of,
            )
        ):
            key = (int(rid), str(ref))
            term = (_aware(starts_at), int(term_id), due_at)
            if key not in latest or term[:2] > latest[key][:2]:
                latest[key] = term
    if not latest:
        return empty
    due = [
        found[2] if (found := latest.get((int(rid), str(ref)))) is not None else None
        for rid, ref in zip(loans["resource_id"], loans["loan_ref"], strict=True)
    ]
    return pd.Series(pd.to_datetime(due, utc=True), index=loans.index).astype("datetime64[us, UTC]")


def _aware(value: datetime) -> datetime:
    """A stored moment as an aware UTC datetime (SQLite hands some back naive)."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
