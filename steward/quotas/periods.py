"""Quota periods: calendar weeks (Monday to Sunday) or months in the commons' timezone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

Period = Literal["week", "month"]


@dataclass(frozen=True)
class Bounds:
    """A period as UTC instants, ``end`` exclusive, plus its local first and last day."""

    start: datetime
    end: datetime
    first_day: date
    last_day: date
    kind: Period

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    def label(self) -> str:
        if self.kind == "month":
            return self.first_day.strftime("%B %Y")
        # "3 Mar", as every other date is written ("03 Mar" stood beside "9 March 2025").
        first, last = self.first_day, self.last_day
        return f"the week of {first.day} {first:%b} to {last.day} {last:%b %Y}"


def _first_day(day: date, kind: Period) -> date:
    if kind == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def _next_first_day(first: date, kind: Period) -> date:
    if kind == "week":
        return first + timedelta(days=7)
    return (first.replace(day=28) + timedelta(days=4)).replace(day=1)


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)


def period_bounds(at: datetime, timezone: str, kind: Period) -> Bounds:
    """The period containing the instant ``at`` (tz-aware), in ``timezone``."""
    if at.tzinfo is None:
        raise ValueError("period_bounds needs a timezone-aware instant")
    zone = ZoneInfo(timezone)
    first = _first_day(at.astimezone(zone).date(), kind)
    nxt = _next_first_day(first, kind)
    return Bounds(
        _midnight(first, zone), _midnight(nxt, zone), first, nxt - timedelta(days=1), kind
    )


def previous_periods(bounds: Bounds, timezone: str, count: int) -> list[Bounds]:
    """Up to ``count`` full periods before ``bounds``, newest first."""
    out: list[Bounds] = []
    current = bounds
    for _ in range(count):
        current = period_bounds(current.start - timedelta(seconds=1), timezone, current.kind)
        out.append(current)
    return out
