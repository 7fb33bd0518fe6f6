"""Quota rows: the current period's allocation, use and status per member and resource."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
from sqlalchemy import Connection, and_, func, select

from steward.access import Scope
from steward.queries.resources import stewarded
from steward.store.models import Member, Quota, Resource

COLUMNS = [
    "member",
    "name",
    "resource",
    "period_start",
    "period_end",
    "allocation",
    "used",
    "remaining",
    "projected",
    "status",
    "policy",
    "explanation",
]


def current(
    conn: Connection,
    *,
    commons_id: int,
    member_id: int | None = None,
    resource_id: int | None = None,
) -> pd.DataFrame:
    """Latest period's quota per (member, resource); unscoped: callers check the scope."""
    newest = (
        select(Quota.member_id, Quota.resource_id, func.max(Quota.period_start).label("start"))
        .group_by(Quota.member_id, Quota.resource_id)
        .subquery()
    )
    stmt = (
        select(
            Member.code,
            Member.name,
            Resource.slug,
            Quota.period_start,
            Quota.period_end,
            Quota.allocation,
            Quota.used,
            Quota.projected,
            Quota.status,
            Quota.policy,
            Quota.explanation,
        )
        .join(
            newest,
            and_(
                Quota.member_id == newest.c.member_id,
                Quota.resource_id == newest.c.resource_id,
                Quota.period_start == newest.c.start,
            ),
        )
        .join(Member, Member.id == Quota.member_id)
        .join(Resource, Resource.id == Quota.resource_id)
        .where(Member.commons_id == commons_id)
        .order_by(Member.code, Resource.slug)
    )
    if member_id is not None:
        stmt = stmt.where(Quota.member_id == member_id)
    if resource_id is not None:
        stmt = stmt.where(Quota.resource_id == resource_id)
    rows = conn.execute(stmt).all()
    frame = pd.DataFrame(
        [
            (
                r.code,
                r.name,
                r.slug,
                r.period_start,
                r.period_end,
                float(r.allocation),
                float(r.used),
                float(r.allocation - r.used),
                float(r.projected),
                r.status,
                r.policy,
                r.explanation,
            )
            for r in rows
        ],
        columns=COLUMNS,
    )
    return frame


def for_resource(scope: Scope, conn: Connection, slug: str) -> pd.DataFrame:
    """Every member's quota on one resource: stewards of its commons only."""
    res = stewarded(scope, conn, slug)
    return current(conn, commons_id=res.commons_id, resource_id=res.id)


def is_current(frame: pd.DataFrame, now: datetime | None = None) -> pd.Series:
    now = now or datetime.now(UTC)
    return (pd.to_datetime(frame["period_start"], utc=True) <= now) & (
        pd.to_datetime(frame["period_end"], utc=True) > now
    )
