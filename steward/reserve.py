"""Where a stock stands against its reserve *now*, as recorded: no forecast involved.

A stock below its reserve is a fact of the ledger, not a chance: the status
line, the dashboard and the alerts say "below its reserve now, since ..., by
..." rather than a forecast's "100% chance ... by <horizon end>". A level below
zero is a different fact: nothing can hold less than nothing, so for a fund it
means more was paid out than the records show coming in (missing income, a
payment recorded twice, an overdraft): a data or accounting problem.

Everything here is exact (Decimal, read in SQL) and imports neither pandas nor
numpy: `steward status` uses it and must start fast.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, func, select, type_coerce

from steward import flows
from steward.store.catalog import ResourceInfo
from steward.store.models import Event, Reading
from steward.store.types import Quantity

#: Rows of grouped event times read per query while walking back to a crossing.
_CHUNK = 2000
#: A reading sets the level at its instant; the level just before it is read here.
_JUST_BEFORE = timedelta(microseconds=1)
_CURRENCY = re.compile(r"^[A-Z]{3}$")


@dataclass(frozen=True)
class Vocabulary:
    """How people speak of a stock's events: a fund's grants and donations, a tank's watering."""

    uses: str
    replenishes: str
    #: What a level below zero means in this resource's words.
    negative_means: str


FUND = Vocabulary(
    "grants and payments",
    "donations and dues",
    "more was paid out than the records show coming in",
)
WATER = Vocabulary("watering", "rain and refills", "more was drawn than the records show was there")
STOCK = Vocabulary("use", "refills", "more was used than the records show was there")
_WATER_UNITS = {"l", "litre", "litres", "liter", "liters", "gal", "gallons", "m3"}


def vocabulary(unit: str) -> Vocabulary:
    """The words for a stock measured in ``unit``: a currency code (``USD``) is a fund,
    litres or gallons are water, anything else a plain stock."""
    if _CURRENCY.match(unit or ""):
        return FUND
    if (unit or "").lower() in _WATER_UNITS:
        return WATER
    return STOCK


@dataclass(frozen=True)
class Breach:
    """A stock's recorded level below its reserve (or below zero) now.

    ``level`` and ``reserve`` are in the resource's unit; ``shortfall`` is
    ``reserve - level`` (what would bring it back to the reserve); ``since`` is
    the UTC instant of the recorded change (event or reading) that took the
    level below the line and kept it there, None when it has been below since
    the first record (its initial level was already below). ``negative_since``
    is the same for zero, set only when ``level`` is below zero.
    ``threshold`` is the line itself: the reserve, or 0 for a stock without one
    (then "below" means empty: at or below zero).
    """

    level: Decimal
    reserve: Decimal | None
    threshold: Decimal
    shortfall: Decimal
    since: datetime | None
    negative: bool
    negative_since: datetime | None

    @property
    def line(self) -> str:
        """ "its reserve" or "empty", for sentences."""
        return "its reserve" if self.reserve else "empty"


def _below_line(reserve: Decimal | None) -> tuple[Decimal, bool]:
    """(threshold, strict): below a positive reserve means ``level < reserve``; without
    one it means empty, ``level <= 0``, as the forecast counts it."""
    if reserve is not None and reserve > 0:
        return reserve, True
    return Decimal(0), False


def _is_below(level: Decimal, threshold: Decimal, strict: bool) -> bool:
    return level < threshold if strict else level <= threshold


def breach(conn: Connection, res: ResourceInfo, now: datetime | None = None) -> Breach | None:
    """The stock's breach of its reserve at ``now`` (UTC), or None when it is at or above it.

    Pools never breach (returns None). The level is :func:`steward.flows.level`
    (latest reading plus the events since); ``since`` walks back through the
    recorded changes to the one that crossed the line (:func:`crossed_at`).
    """
    if str(res.kind) != "stock":
        return None
    now = now or datetime.now(UTC)
    level = flows.level(conn, res, now)
    threshold, strict = _below_line(res.reserve)
    negative = level < 0
    if not _is_below(level, threshold, strict) and not negative:
        return None
    since = crossed_at(conn, res, now, level, threshold, strict)
    negative_since = crossed_at(conn, res, now, level, Decimal(0), True) if negative else None
    return Breach(
        level=level,
        reserve=res.reserve if res.reserve and res.reserve > 0 else None,
        threshold=threshold,
        shortfall=threshold - level,
        since=since,
        negative=negative,
        negative_since=negative_since,
    )


def breaches(
    conn: Connection, found: list[ResourceInfo], levels: dict[int, float], now: datetime
) -> dict[int, Breach]:
    """:func:`breach` for the stocks among ``found`` whose already-read level (``levels``,
    by resource id) is below their line: the others cost no query."""
    out = {}
    for res in found:
        value = levels.get(res.id)
        if str(res.kind) != "stock" or value is None:
            continue
        threshold, strict = _below_line(res.reserve)
        if value < 0 or _is_below(Decimal(str(value)), threshold, strict):
            found_breach = breach(conn, res, now)
            if found_breach is not None:
                out[res.id] = found_breach
    return out


def crossed_at(
    conn: Connection,
    res: ResourceInfo,
    now: datetime,
    level: Decimal,
    threshold: Decimal,
    strict: bool = True,
) -> datetime | None:
    """When the level last went below ``threshold`` and stayed there up to ``now``.

    ``level`` is the level at ``now``. Walks back through the events (grouped
    by instant, newest first) and readings: before a group of events the level
    was ``level - their net effect``; before a reading it was what the previous
    reading and the events since imply. The first instant going back whose
    "before" level was not below is the crossing. None: below since the first
    record (the initial level or first reading was already below).
    """
    at = now
    while True:
        anchor = conn.execute(
            select(Reading.observed_at, Reading.value)
            .where(Reading.resource_id == res.id, Reading.observed_at <= at)
            .order_by(Reading.observed_at.desc(), Reading.id.desc())
            .limit(1)
        ).first()
        found = _walk_events(
            conn, res, at, anchor.observed_at if anchor else None, level, threshold, strict
        )
        if isinstance(found, datetime):
            return found
        if anchor is None:
            return None
        # The level right after the reading is the reading; just before it, the older history's.
        before = flows.level(conn, res, anchor.observed_at - _JUST_BEFORE)
        if not _is_below(before, threshold, strict):
            return _utc(anchor.observed_at)
        no_older = (
            conn.execute(
                select(func.count())
                .select_from(Event)
                .where(
                    Event.resource_id == res.id,
                    Event.occurred_at < anchor.observed_at,
                    Event.scheduled.is_(False),
                )
            ).scalar_one()
            == 0
            and conn.execute(
                select(func.count())
                .select_from(Reading)
                .where(Reading.resource_id == res.id, Reading.observed_at < anchor.observed_at)
            ).scalar_one()
            == 0
        )
        if no_older:
            # The first record is this reading: below it since then.
            return _utc(anchor.observed_at)
        level, at = before, anchor.observed_at - _JUST_BEFORE


def _walk_events(
    conn: Connection,
    res: ResourceInfo,
    at: datetime,
    after: datetime | None,
    level: Decimal,
    threshold: Decimal,
    strict: bool,
) -> datetime | None:
    """The crossing among events in (``after``, ``at``], newest first; None when the level
    stays below through all of them."""
    effect = flows._signed_effect()
    upper = at
    inclusive = True
    while True:
        when = Event.occurred_at <= upper if inclusive else Event.occurred_at < upper
        stmt = (
            select(Event.occurred_at, type_coerce(func.sum(effect), Quantity()))
            .where(Event.resource_id == res.id, Event.scheduled.is_(False), when)
            .group_by(Event.occurred_at)
            .order_by(Event.occurred_at.desc())
            .limit(_CHUNK)
        )
        if after is not None:
            stmt = stmt.where(Event.occurred_at > after)
        rows: list[Any] = list(conn.execute(stmt).all())
        for occurred_at, net in rows:
            before = level - Decimal(net)
            if not _is_below(before, threshold, strict):
                return _utc(occurred_at)
            level = before
        if len(rows) < _CHUNK:
            return None
        upper, inclusive = rows[-1][0], False


def exact(value: Decimal) -> str:
    """A Decimal as plain text without trailing zeros: ``50.000000`` (PostgreSQL's
    NUMERIC) and ``50`` (SQLite's millionths) both read ``"50"``; never exponent form."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
