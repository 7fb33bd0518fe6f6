"""Ledger events: recent activity for stewards, and a member's own history."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Select, select

from steward.access import Scope
from steward.queries.resources import one, stewarded
from steward.store.models import Event, Member, Resource

COLUMNS = [
    "occurred_at",
    "resource",
    "kind",
    "quantity",
    "member",
    "member_name",
    "loan_ref",
    "reversal",
]


def _events() -> Select:
    """Events with their resource and member, newest first; callers scope and join members."""
    return (
        select(
            Event.occurred_at,
            Resource.slug,
            Event.kind,
            Event.quantity,
            Member.code,
            Member.name,
            Event.loan_ref,
            Event.reverses_id.is_not(None),
        )
        .join(Resource, Resource.id == Event.resource_id)
        .where(Event.scheduled.is_(False))
        .order_by(Event.occurred_at.desc(), Event.id.desc())
    )


def recent_events(scope: Scope, conn: Connection, slug: str, limit: int = 50) -> pd.DataFrame:
    """The newest events of a resource, with who used it: stewards of its commons only."""
    res = stewarded(scope, conn, slug)
    rows = conn.execute(
        _events()
        .outerjoin(Member, Member.id == Event.member_id)
        .where(Event.resource_id == res.id)
        .limit(limit)
    ).all()
    return _frame(rows)


def my_events(
    scope: Scope, conn: Connection, slug: str | None = None, limit: int = 200
) -> pd.DataFrame:
    """The signed-in member's own events (never anyone else's)."""
    _, member_id = scope.require_member()
    stmt = (
        _events()
        .join(Member, Member.id == Event.member_id)
        .where(Event.member_id == member_id)
        .limit(limit)
    )
    if slug is not None:
        stmt = stmt.where(Event.resource_id == one(scope, conn, slug).id)
    return _frame(conn.execute(stmt).all())


def _frame(rows: Sequence[Any]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame["quantity"] = frame["quantity"].astype("float64")
    frame["kind"] = frame["kind"].astype(str)
    frame["reversal"] = frame["reversal"].astype(bool)
    return frame
