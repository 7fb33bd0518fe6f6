"""User text shown as text: never as terminal markup, never with hidden direction controls.

Names, summaries, reasons and explanations come from sources and members. Rich
reads ``[bold]`` or ``[/]`` in a string as markup (and raises MarkupError on an
unbalanced tag), so the CLI prints user text through :func:`cell`, a
:class:`rich.text.Text` that is never parsed. Unicode direction controls
(right-to-left override and friends, the "Trojan Source" characters) can make
``gnp.exe`` read as ``exe.png``; :func:`visible` shows each as ``<U+202E>``,
and other invisible control characters likewise.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from rich.text import Text

# Bidi embeddings, overrides and isolates, marks; zero-width and other format characters.
_HIDDEN = re.compile(
    r"[\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\x00-\x08\x0b-\x1f\x7f-\x9f]"
)


def visible(value: object) -> str:
    """``str(value)`` with direction controls and control characters written as ``<U+XXXX>``."""
    return _HIDDEN.sub(lambda m: f"<U+{ord(m.group()):04X}>", str(value))


def cell(value: object, style: str = "") -> Text:
    """A Rich ``Text`` of :func:`visible` ``value``: printed literally, markup never parsed."""
    return Text(visible(value), style=style)


def local_time(value: datetime | None, tz: str = "UTC", *, never: str = "never") -> str:
    """A UTC instant in a commons' timezone, labelled: ``"30 Nov 2026, 07:19 PST"``.

    The same form as the dashboard's times, so a steward reading a notification or the
    CLI sees the clock the pages show. ``tz`` is an IANA name (a commons' ``timezone``).
    """
    if value is None:
        return never
    local = value.astimezone(ZoneInfo(tz))
    return f"{local.day} {local:%b %Y}, {local:%H:%M} {local.tzname()}"


def zone_label(tz: str, at: datetime) -> str:
    """A timezone as a reader can place it at ``at``: ``"America/New_York (EST, UTC-5)"``.

    The abbreviation alone ("GMT", "EST") is what every time carries; a list that
    holds several commons' times states each zone once with its offset from UTC,
    so 11:08 GMT, 06:08 EST and 03:08 PST read as the one moment they are.
    """
    local = at.astimezone(ZoneInfo(tz))
    offset = local.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    utc = f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")
    name = local.tzname() or tz
    return tz if name == "UTC" and tz == "UTC" else f"{tz} ({name}, {utc})"


def duration(span: timedelta | None) -> str:
    """A span as people say it, to its largest unit: "45 minutes", "7 hours", "3 days".

    ``None`` is ``"—"``; a negative span counts as none. Shared by the CLI and the dashboard (``dashboards.text`` re-exports it).
    """
    if span is None:
        return "—"
    seconds = max(span.total_seconds(), 0)
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size:
            n = round(seconds / size)
            return f"{n} {unit}{'' if n == 1 else 's'}"
    return "less than a minute"


def local_day(value: datetime, tz: str = "UTC") -> date:
    """The calendar day of a UTC instant in a commons' timezone (an IANA name)."""
    return value.astimezone(ZoneInfo(tz)).date()


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` with thousands separators and its noun agreeing: ``"1 alert"``, ``"12,400 events"``.

    ``plural`` defaults to ``noun + "s"``; give it for irregular nouns.
    """
    return f"{n:,} {noun if n == 1 else (plural or noun + 's')}"


def clipped(text: str, width: int) -> str:
    """``text`` in at most ``width`` characters: whole if it fits, else cut after a
    word and marked with "…" ("quantity '...' is not a number written with a…")."""
    if len(text) <= width:
        return text
    head = text[: width - 1]
    if text[width - 1] != " " and " " in head:
        head = head.rsplit(" ", 1)[0]
    return head.rstrip(" ,;:(") + "…"


def is_currency(unit: str) -> bool:
    """Whether ``unit`` is a currency code (``USD``, ``EUR``): three capital letters."""
    return len(unit) == 3 and unit.isascii() and unit.isalpha() and unit.isupper()


def quantity(value: float | Decimal | None, unit: str = "", *, whole: bool = False) -> str:
    """A quantity as a person writes it, with its unit: ``"2,681.09 USD"``, ``"611 packets"``.

    Money (a currency ``unit``) keeps two decimals; ``whole`` quantities (a pool's
    units) none; anything else at most one, with trailing zeros dropped, so a count
    of seed packets reads ``611`` rather than ``611.00`` and litres ``9,092.8``
    without float noise. A negative value starts with ``-``. ``None`` is ``"—"``.
    """
    if value is None:
        return "—"
    number = float(value)
    if is_currency(unit):
        text = f"{number:,.2f}"
    elif whole:
        text = f"{round(number):,d}"
    else:
        text = f"{number:,.1f}".removesuffix(".0")
    if text.startswith("-") and not text.strip("-0.,"):
        text = text[1:]  # -0.04 rounds to "0", not "-0"
    return f"{text} {unit}".strip()


def change(value: float | Decimal | None, unit: str = "", *, whole: bool = False) -> str:
    """A change in words: ``"up 12 packets"``, ``"down 893.7 L"``, ``"no change"``.

    Formatted as :func:`quantity`; a change that rounds to zero is ``"no change"``.
    """
    if value is None:
        return "—"
    places = 2 if is_currency(unit) else 0 if whole else 1
    if round(abs(float(value)), places) == 0:
        return "no change"
    return ("up " if float(value) > 0 else "down ") + quantity(abs(float(value)), unit, whole=whole)


def json_safe(value: Any) -> Any:
    """``value`` for JSON output, with binary float noise rounded away.

    Ledger quantities are exact to six decimal places; a float computed from them
    (a difference, a sum) prints as ``-326.55999999999995`` unless rounded. Floats
    are rounded to six decimal places, recursively through dicts, lists and
    tuples; NaN and infinities become ``None`` (JSON has neither). Other values
    are returned unchanged.
    """
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return None
        return round(value, 6) + 0.0
    if isinstance(value, Decimal):
        return json_safe(float(value))
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def day_span(first: date, last: date) -> str:
    """An inclusive run of calendar days: ``"1–30 Nov 2026"``, ``"28 Dec 2026 – 3 Jan 2027"``.

    ``last`` is the last day included (a period stored with an exclusive end, the
    next period's first instant, ends the day before it). Raises ValueError when
    ``last`` is before ``first``.
    """
    if last < first:
        raise ValueError(f"day_span: last day {last} is before the first {first}")
    if first == last:
        return f"{first.day} {first:%b %Y}"
    if first.year != last.year:
        return f"{first.day} {first:%b %Y} – {last.day} {last:%b %Y}"
    if first.month != last.month:
        return f"{first.day} {first:%b} – {last.day} {last:%b %Y}"
    return f"{first.day}–{last.day} {last:%b %Y}"


def local_days(start: datetime, end: datetime, tz: str) -> str:
    """A period stored as UTC instants, ``end`` exclusive, as its local days: ``"1–30 Nov 2026"``.

    ``start`` and ``end`` are tz-aware (naive values are taken as UTC, as SQLite
    returns them); ``tz`` is the commons' IANA timezone. A month stored as
    1 Nov 07:00 UTC to 1 Dec 08:00 UTC in Los Angeles reads ``"1–30 Nov 2026"``.
    """
    zone = ZoneInfo(tz)
    a = (start if start.tzinfo else start.replace(tzinfo=UTC)).astimezone(zone)
    b = (end if end.tzinfo else end.replace(tzinfo=UTC)).astimezone(zone)
    last = b.date() - timedelta(days=1) if b.time() == time.min else b.date()
    return day_span(a.date(), max(last, a.date()))
