"""A member's own usage: per resource used, quota, remaining, projected, and why."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, case, exists, func, or_, select, tuple_, type_coerce
from sqlalchemy.orm import aliased

from steward.access import Scope
from steward.display import local_days
from steward.queries import quotas
from steward.queries.resources import visible
from steward.store.catalog import ResourceInfo
from steward.store.models import Event, Member
from steward.store.types import Quantity

USAGE_DAYS = 30
#: A reversal of a loan's event, by the reversal index (made once: an alias copies
#: every column of the table).
_UNDO = aliased(Event)


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
    #: When the pipeline computed the quota figures (UTC); None without a quota.
    computed_at: datetime | None = None


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
                    computed_at=None
                    if pd.isna(q.get("computed_at"))
                    else pd.Timestamp(q["computed_at"]).to_pydatetime(),
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


#: Columns of :func:`my_history`, one row per resource and local day.
HISTORY_COLUMNS = ["day", "resource", "kind", "unit", "value"]


def my_history(
    scope: Scope,
    conn: Connection,
    *,
    days: int = 180,
    now: datetime | None = None,
) -> pd.DataFrame:
    """The member's own history per local day, as each kind of resource is read.

    Columns :data:`HISTORY_COLUMNS`: ``day`` (naive local day of the resource's
    commons), ``resource`` (name), ``kind``, ``unit`` and ``value`` (float):

    * a stock: the quantity the member used that day (reversals subtract); days
      without use are left out;
    * a pool: the units the member had on loan that day, the most they held at
      any moment of it, every day from their first loan in the window (or the
      window's start) to today, zeros included: a loan of a drill from 3 to 10
      March is 1 on each of those eight days, and a loan still out counts up to
      today. A loan is the member's own checkout (a ``use`` with a loan
      reference) until its return (a ``replenish`` of that loan naming the
      member or no one; returns often carry no member). Reversed events and
      reversals are left out, as the loan book leaves them out.

    Only the member's own events are read (``scope.require_member`` raises
    AccessDenied for anyone else), over the last ``days`` days up to ``now``.
    """
    _, member_id = scope.require_member()
    now = now or datetime.now(UTC)
    visible_by_id = {r.id: r for r in visible(scope, conn)}
    stocks = {rid: r for rid, r in visible_by_id.items() if str(r.kind) != "pool"}
    pools = {rid: r for rid, r in visible_by_id.items() if str(r.kind) == "pool"}
    parts = [
        _stock_days(conn, member_id, stocks, days, now),
        _pool_days(conn, member_id, pools, days, now),
    ]
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame(columns=HISTORY_COLUMNS)
    frame = pd.concat(parts, ignore_index=True)
    return frame.sort_values(["resource", "day"], kind="stable").reset_index(drop=True)[
        HISTORY_COLUMNS
    ]


def _stock_days(
    conn: Connection, member_id: int, stocks: dict[int, ResourceInfo], days: int, now: datetime
) -> pd.DataFrame:
    """The member's use of each stock per local day (``HISTORY_COLUMNS``; days of use only)."""
    if not stocks:
        return pd.DataFrame(columns=HISTORY_COLUMNS)
    undo = case((Event.reverses_id.is_(None), 1), else_=-1)
    rows = conn.execute(
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
            Event.occurred_at <= now,
            Event.resource_id.in_(list(stocks)),
        )
        .order_by(Event.occurred_at)
    ).all()
    frame = pd.DataFrame(rows, columns=["resource_id", "occurred_at", "value"])
    if frame.empty:
        return pd.DataFrame(columns=HISTORY_COLUMNS)
    when = pd.to_datetime(frame["occurred_at"], utc=True)
    frame["day"] = [
        t.tz_convert(stocks[rid].timezone).normalize().tz_localize(None)
        for t, rid in zip(when, frame["resource_id"], strict=True)
    ]
    frame["value"] = frame["value"].map(float)
    out = frame.groupby(["resource_id", "day"])["value"].sum().reset_index()
    out["resource"] = out["resource_id"].map(lambda rid: stocks[rid].name)
    out["kind"] = "stock"
    out["unit"] = out["resource_id"].map(lambda rid: stocks[rid].unit)
    return out[HISTORY_COLUMNS]


def _pool_days(
    conn: Connection, member_id: int, pools: dict[int, ResourceInfo], days: int, now: datetime
) -> pd.DataFrame:
    """Units of each pool the member had on loan per local day (``HISTORY_COLUMNS``)."""
    if not pools:
        return pd.DataFrame(columns=HISTORY_COLUMNS)
    # The member's own loans, by the member index: every one, as a loan checked
    # out before the window can still be out in it.
    mine = (
        select(Event.resource_id, Event.loan_ref)
        .where(
            Event.member_id == member_id,
            Event.kind == "use",
            Event.loan_ref.is_not(None),
            Event.scheduled.is_(False),
            Event.occurred_at <= now,
            Event.resource_id.in_(list(pools)),
        )
        .distinct()
    )
    undo = _UNDO
    rows = conn.execute(
        select(Event.resource_id, Event.kind, Event.quantity, Event.occurred_at)
        .where(
            tuple_(Event.resource_id, Event.loan_ref).in_(mine),
            Event.kind.in_(["use", "replenish"]),
            # The checkout is the member's own; its return names them or no one.
            or_(
                Event.member_id == member_id,
                (Event.member_id.is_(None)) & (Event.kind == "replenish"),
            ),
            Event.reverses_id.is_(None),
            Event.scheduled.is_(False),
            Event.occurred_at <= now,
            ~exists().where(undo.reverses_id == Event.id),
        )
        .order_by(Event.occurred_at, Event.id)
    ).all()
    if not rows:
        return pd.DataFrame(columns=HISTORY_COLUMNS)
    events = pd.DataFrame(rows, columns=["resource_id", "kind", "quantity", "occurred_at"])
    events["delta"] = [
        float(q) if str(k) == "use" else -float(q)
        for k, q in zip(events["kind"], events["quantity"], strict=True)
    ]
    when = pd.to_datetime(events["occurred_at"], utc=True)
    out = []
    for rid, part in events.groupby("resource_id", sort=False):
        res = pools[int(rid)]
        local = when.loc[part.index].dt.tz_convert(res.timezone)
        event_days = local.dt.normalize().dt.tz_localize(None).to_numpy()
        # Units out after each event (never below none: a return of a loan checked
        # out twice by mistake must not read as a debt).
        level = np.maximum(part["delta"].cumsum().to_numpy(), 0.0)
        today = pd.Timestamp(now).tz_convert(res.timezone).normalize().tz_localize(None)
        first = max(pd.Timestamp(event_days[0]), today - pd.Timedelta(days=days - 1))
        window = pd.date_range(first, today, freq="D")
        # Units out as the day began: after the last event of an earlier day.
        before = np.searchsorted(event_days, window.to_numpy(), side="left")
        at_start = np.where(before > 0, level[np.maximum(before - 1, 0)], 0.0)
        # The most out at any moment within the day.
        peak = (
            pd.Series(level, index=pd.DatetimeIndex(event_days))
            .groupby(level=0)
            .max()
            .reindex(window, fill_value=0.0)
            .to_numpy()
        )
        value = np.maximum(at_start, peak)
        if not value.any():
            continue  # every loan of this pool ended before the window
        out.append(
            pd.DataFrame(
                {
                    "day": window,
                    "resource": res.name,
                    "kind": "pool",
                    "unit": res.unit,
                    "value": value,
                }
            )
        )
    if not out:
        return pd.DataFrame(columns=HISTORY_COLUMNS)
    return pd.concat(out, ignore_index=True)[HISTORY_COLUMNS]


def me(scope: Scope, conn: Connection) -> tuple[str, str]:
    """The signed-in member's own (name, member code): shown at the top of their page."""
    _, member_id = scope.require_member()
    row = conn.execute(select(Member.name, Member.code).where(Member.id == member_id)).one()
    return str(row.name), str(row.code)
