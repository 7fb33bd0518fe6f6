"""Overdue loans for stewards, and a member's own loans: scoped reads over :mod:`steward.queries.loans`.

Loans out now are found through the loan book (:mod:`steward.loan_book`): the
open loans the pipeline listed, and those named by events since.

:mod:`steward.queries.loans` answers for resource and member ids; this module
narrows them to what a scope may see first (a steward: the pools of their
commons; a member: their own loans only) and adds the member's name and email,
which a steward calls or writes to.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pandas as pd
from sqlalchemy import Connection, select

from steward import loan_book
from steward.access import Scope
from steward.queries import loans
from steward.queries.resources import visible
from steward.store.models import Member

#: Columns of :func:`overdue_loans`, one row per overdue loan.
COLUMNS = [
    "member",
    "member_name",
    "email",
    "resource",
    "resource_name",
    "loan_ref",
    "checked_out_at",
    "due_at",
    "days_overdue",
]


def _pool_ids(scope: Scope, conn: Connection) -> list[int]:
    return [r.id for r in visible(scope, conn) if str(r.kind) == "pool"]


def overdue_loans(scope: Scope, conn: Connection, now: datetime | None = None) -> pd.DataFrame:
    """Loans of the steward's commons past their due date at ``now``, longest overdue first.

    Columns :data:`COLUMNS`: member code, name and email (None for a loan
    recorded without a member), resource slug and name, loan reference,
    checkout and due times (UTC), and days overdue (float). Stewards only.
    """
    scope.require_steward()
    now = now or datetime.now(UTC)
    out = loan_book.open_loans_now(conn, _pool_ids(scope, conn), as_of=now)
    late = out.loc[out["days_overdue"].notna()].copy()
    people = pd.DataFrame(
        conn.execute(
            select(Member.id, Member.name, Member.email).where(
                Member.commons_id == scope.commons_id
            )
        ).all(),
        columns=["member_id", "member_name", "email"],
    )
    # One nullable integer type on both sides: when every late loan was recorded
    # without a member, the column held only None and the merge refused object
    # against int64, so the Overdue page failed for such a pool.
    late["member_id"] = pd.to_numeric(late["member_id"]).astype("Int64")
    people["member_id"] = people["member_id"].astype("Int64")
    late = late.merge(people, on="member_id", how="left")
    late = late.sort_values(["days_overdue", "member"], ascending=[False, True])
    return late[COLUMNS].reset_index(drop=True)


def overdue_by_age(scope: Scope, conn: Connection, now: datetime | None = None) -> pd.Series:
    """Overdue loans of the steward's commons counted by age (<7, 7-14, 14-30, 30-60, 60+ days)."""
    scope.require_steward()
    out = loan_book.open_loans_now(conn, _pool_ids(scope, conn), as_of=now or datetime.now(UTC))
    return loans.bucket_counts(out["days_overdue"])


@dataclass(frozen=True)
class PoolLoans:
    """A pool's loans out now, as the overview's advice needs them.

    ``overdue`` counts those past their due date; ``next_due`` is the earliest
    due date (UTC, the last instant before it is overdue) of those not yet
    overdue, None when none of them carries one.
    """

    overdue: int
    next_due: datetime | None


def pool_loans(scope: Scope, conn: Connection, now: datetime | None = None) -> dict[str, PoolLoans]:
    """Per pool slug of the steward's commons with loans out at ``now``: :class:`PoolLoans`.

    A pool with no loan out is absent. Stewards only (raises as
    :meth:`~steward.access.Scope.require_steward` does).
    """
    scope.require_steward()
    out = loan_book.open_loans_now(conn, _pool_ids(scope, conn), as_of=now or datetime.now(UTC))
    found = {}
    for slug, group in out.groupby("resource", sort=False):
        late = group["days_overdue"].notna()
        due = group.loc[~late, "due_at"].dropna()
        # ``due_at`` is the first instant a loan is overdue; it is due back by the one before.
        nxt = None if due.empty else due.min().to_pydatetime() - timedelta(microseconds=1)
        found[str(slug)] = PoolLoans(overdue=int(late.sum()), next_due=nxt)
    return found


def my_loans(scope: Scope, conn: Connection, now: datetime | None = None) -> pd.DataFrame:
    """The signed-in member's own loans out now, with due dates (never anyone else's).

    Columns: resource, resource_name, loan_ref, checked_out_at, due_at (NaT
    when the source gave none), days_overdue (NaN when not overdue).
    """
    _, member_id = scope.require_member()
    out = loan_book.open_loans_now(
        conn, _pool_ids(scope, conn), member_id=member_id, as_of=now or datetime.now(UTC)
    )
    return out[
        ["resource", "resource_name", "loan_ref", "checked_out_at", "due_at", "days_overdue"]
    ].reset_index(drop=True)
