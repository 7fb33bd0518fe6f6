"""Reconciliation drift: a stock's latest reading against the level the ledger implies.

The implied level is the previous reading plus the net events between the two
readings (or the initial level plus all events before the first reading), never
above the stock's capacity (what a full tank gets more of overflows). A reading
below is what left without a record (a leak, unrecorded use) or a sensor fault;
one above is what came in without a record (rain, a refill, a donation) or a
sensor fault.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Connection, select

from steward import flows
from steward.store.catalog import ResourceInfo
from steward.store.models import Reading


@dataclass(frozen=True)
class Drift:
    observed_at: datetime
    reading: Decimal
    implied: Decimal

    @property
    def gap(self) -> Decimal:
        return self.reading - self.implied


def latest_drift(conn: Connection, res: ResourceInfo, now: datetime) -> Drift | None:
    """Drift at the latest reading up to ``now``, or None when the stock has no reading."""
    last_two = conn.execute(
        select(Reading.observed_at, Reading.value)
        .where(Reading.resource_id == res.id, Reading.observed_at <= now)
        .order_by(Reading.observed_at.desc(), Reading.id.desc())
        .limit(2)
    ).all()
    if not last_two:
        return None
    latest = last_two[0]
    if len(last_two) == 2:
        prev_at, start = last_two[1].observed_at, Decimal(last_two[1].value)
    else:
        prev_at, start = None, res.initial_level
    # A full tank overflows: rain recorded on it implies no more than its capacity.
    implied = flows.level_between(conn, res, Decimal(start), prev_at, latest.observed_at)
    return Drift(latest.observed_at, Decimal(latest.value), implied)
