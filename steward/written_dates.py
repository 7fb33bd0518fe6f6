"""Why a written date cannot be read, in words that name the fix.

A source's date that does not parse is refused, never guessed; these say what is
wrong with it: a day the calendar does not have (``2026-02-30``), or a date that is
not ISO 8601 (``30/11/2026``, where which number is the day cannot be told in
general), with the ISO spelling to write instead when only one reading exists.
"""

from __future__ import annotations

import re
from datetime import date

_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
_ISO_DAY = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})(?:$|[T ])")
_SLASHED = re.compile(
    r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})"
    r"(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}(?:\.\d+)?))?)?\s*$"
)


def missing_day(text: str) -> str | None:
    """``"30 February 2026 does not exist"`` when ``text`` starts with an ISO date the
    calendar does not have; None when it does not start with one, or the day exists."""
    found = _ISO_DAY.match(str(text))
    if not found:
        return None
    year, month, day = (int(g) for g in found.groups())
    if not 1 <= month <= 12:
        return f"there is no month {month:02d} (the date is year-month-day)"
    try:
        date(year, month, day)
    except ValueError:
        return f"{day} {_MONTHS[month - 1]} {year} does not exist"
    return None


def _when(year: int, month: int, day: int, clock: str) -> str | None:
    try:
        written = date(year, month, day)
    except ValueError:
        return None
    return written.isoformat() + clock


def not_iso(text: str) -> str:
    """Why ``text`` (no ISO date) is refused and what to write: the ISO spelling of a
    ``dd/mm/yyyy`` or ``mm/dd/yyyy`` date, both when either reading exists."""
    found = _SLASHED.match(str(text))
    if not found:
        return "is not ISO 8601; write it as year-month-day (2024-05-01T14:30)"
    first, second, year = int(found[1]), int(found[2]), int(found[3])
    clock = ""
    if found[4] is not None:
        clock = f"T{int(found[4]):02d}:{found[5]}" + (f":{found[6]}" if found[6] else "")
    day_first = _when(year, second, first, clock)
    month_first = _when(year, first, second, clock)
    if not (day_first or month_first):
        return (
            f"is not a date: {found[1]}/{found[2]} is no day and month either way round; "
            "write it as year-month-day (2024-05-01T14:30)"
        )
    if day_first == month_first:
        return f"is not ISO 8601; write it as {day_first}"
    why = (
        f"is not ISO 8601: written {found[1]}/{found[2]} or {found[2]}/{found[1]}, which "
        "number is the day cannot be told in general, so Steward does not guess"
    )
    if day_first and month_first:
        return (
            f"{why}; write it as year-month-day: {day_first} ({first} "
            f"{_MONTHS[second - 1]}) or {month_first} ({second} {_MONTHS[first - 1]}), "
            "whichever it means"
        )
    return f"{why}; write it as {day_first or month_first}"
