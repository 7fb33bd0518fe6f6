"""A member's own usage: per resource used, quota, remaining, projected, and why."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import Connection, case, func, select, type_coerce

from steward.access import Scope
from steward.display import local_days
from steward.queries import quotas
from steward.queries.resources import one, visible
from steward.store.models import Event, Member
from steward.store.types import Quantity

USAGE_DAYS = 30


@dataclass(frozen=True)
class MyUsage:
    slug: str
    name: str
    unit: str
    kind: str
    #: This quota period's use when there is a quota, else the last USAGE_DAYS days'.
    used: float
    allocation: float | None
    remaining: float | None
    projected: float | None
    status: str | None
    explanation: str | None
    period: str


def my_usage(scope: Scope, conn: Connection, now: datetime | None = None) -> list[MyUsage]:
    """One entry per resource of the member's commons: their own figures only."""
    commons_id, member_id = scope.require_member()
    now = now or datetime.now(UTC)
    since = now - timedelta(days=USAGE_DAYS)
    undo = case((Event.reverses_id.is_(None), 1), else_=-1)
    recent = dict(
        conn.execute(
            select(Event.resource_id, type_coerce(func.sum(Event.quantity * undo), Quantity()))
            .where(
                Event.member_id == member_id,
                Event.kind == "use",
                Event.scheduled.is_(False),
                Event.occurred_at > since,
                Event.occurred_at <= now,
            )
            .group_by(Event.resource_id)
        ).all()
    )
    frame = quotas.current(conn, commons_id=commons_id, member_id=member_id)
    mine: dict[str, dict[Any, Any]] = {str(r["resource"]): r for r in frame.to_dict("records")}
    out = []
    for res in visible(scope, conn):
        q = mine.get(res.slug)
        if q is not None:
            start, end = pd.Timestamp(q["period_start"]), pd.Timestamp(q["period_end"])
            # The stored end is the next period's first instant: the last day is the one before.
            days = local_days(start.to_pydatetime(), end.to_pydatetime(), res.timezone)
            out.append(
                MyUsage(
                    slug=res.slug,
                    name=res.name,
                    unit=res.unit,
                    kind=str(res.kind),
                    used=float(q["used"]),
                    allocation=float(q["allocation"]),
                    remaining=float(q["remaining"]),
                    projected=float(q["projected"]),
                    status=str(q["status"]),
                    explanation=str(q["explanation"]),
                    period=days,
                )
            )
        else:
            out.append(
                MyUsage(
                    slug=res.slug,
                    name=res.name,
                    unit=res.unit,
                    kind=str(res.kind),
                    used=float(recent.get(res.id, 0)),
                    allocation=None,
                    remaining=None,
                    projected=None,
                    status=None,
                    explanation=None,
                    period=f"last {USAGE_DAYS} days",
                )
            )
    return out


def my_daily_use(
    scope: Scope,
    conn: Connection,
    slug: str | None = None,
    *,
    days: int = 180,
    now: datetime | None = None,
) -> pd.DataFrame:
    """The member's own use per local day and resource (columns day, resource, used)."""
    _, member_id = scope.require_member()
    now = now or datetime.now(UTC)
    visible_by_id = {r.id: r for r in visible(scope, conn)}
    undo = case((Event.reverses_id.is_(None), 1), else_=-1)
    stmt = (
        select(
            Event.resource_id,
            Event.occurred_at,
            type_coerce(Event.quantity * undo, Quantity()),
        )
        .where(
            Event.member_id == member_id,
            Event.kind == "use",
            Event.scheduled.is_(False),
            Event.occurred_at > now - timedelta(days=days),
        )
        .order_by(Event.occurred_at)
    )
    if slug is not None:
        stmt = stmt.where(Event.resource_id == one(scope, conn, slug).id)
    rows = conn.execute(stmt).all()
    frame = pd.DataFrame(rows, columns=["resource_id", "occurred_at", "used"])
    frame = frame.loc[frame["resource_id"].isin(list(visible_by_id))]
    if frame.empty:
        return pd.DataFrame(columns=["day", "resource", "used"])
    tz = {rid: visible_by_id[rid].timezone for rid in visible_by_id}
    when = pd.to_datetime(frame["occurred_at"], utc=True)
    frame["day"] = [
        t.tz_convert(tz[rid]).normalize().tz_localize(None)
        for t, rid in zip(when, frame["resource_id"], strict=True)
    ]
    frame["resource"] = frame["resource_id"].map(lambda rid: visible_by_id[rid].name)
    frame["used"] = frame["used"].map(float)
    return frame.groupby(["day", "resource"])["used"].sum().reset_index()


def me(scope: Scope, conn: Connection) -> tuple[str, str]:
    """The signed-in member's own (name, member code): shown at the top of their page."""
    _, member_id = scope.require_member()
    row = conn.execute(select(Member.name, Member.code).where(Member.id == member_id)).one()
    return str(row.name), str(row.code)
