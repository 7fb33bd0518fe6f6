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
from datetime import date, datetime
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


def local_day(value: datetime, tz: str = "UTC") -> date:
    """The calendar day of a UTC instant in a commons' timezone (an IANA name)."""
    return value.astimezone(ZoneInfo(tz)).date()


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` with thousands separators and its noun agreeing: ``"1 alert"``, ``"12,400 events"``.

    ``plural`` defaults to ``noun + "s"``; give it for irregular nouns.
    """
    return f"{n:,} {noun if n == 1 else (plural or noun + 's')}"
