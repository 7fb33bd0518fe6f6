"""Daily flows for charts: the precomputed DailyFlow rows, else computed from the ledger."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
from sqlalchemy import Connection, select

from steward import flows
from steward.access import Scope
from steward.queries.resources import one
from steward.store.models import DailyFlow

COLUMNS = ["used", "replenished", "adjusted", "level", "demand", "capacity"]


def daily(
    scope: Scope, conn: Connection, slug: str, *, days: int = 180, now: datetime | None = None
) -> pd.DataFrame:
    """Aggregate daily flows (no member is identifiable), indexed by local day."""
    res = one(scope, conn, slug)
    now = now or datetime.now(UTC)
    since = (now - timedelta(days=days)).date()
    rows = conn.execute(
        select(
            DailyFlow.day,
            DailyFlow.used,
            DailyFlow.replenished,
            DailyFlow.adjusted,
            DailyFlow.level,
            DailyFlow.demand,
            DailyFlow.capacity,
        )
        .where(DailyFlow.resource_id == res.id, DailyFlow.day >= since)
        .order_by(DailyFlow.day)
    ).all()
    if rows:
        frame = pd.DataFrame(rows, columns=["day", *COLUMNS]).set_index("day")
        frame.index = pd.DatetimeIndex(pd.to_datetime(frame.index), name="day")
        return frame.astype("float64")
    # Nothing precomputed yet (a new workspace): compute from the ledger.
    frame = flows.daily_flows(conn, res, until=now)
    return frame.loc[frame.index >= pd.Timestamp(since)]
