"""Words, numbers and times as people read them, and user text shown as text, never as markup.

Streamlit never renders raw HTML without ``unsafe_allow_html`` (which no page of
this app uses); escaping Markdown as well keeps a name like ``[x](http://evil)``
or ``![x](http://tracker)`` from becoming a link or loading an image.

Numbers are formatted by unit with Babel (CLDR data): money to the cent with its
currency sign, tools as whole units, litres and packets without float noise.
Times are shown in the commons' timezone with its abbreviation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel.numbers import format_currency, format_decimal

from steward.display import duration as duration  # shared with the CLI
from steward.display import visible
from steward.quotas.explain import fmt, quota_unit

_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:=])")
LOCALE = "en"
_CURRENCY = re.compile(r"^[A-Z]{3}$")


def plain(value: object) -> str:
    """Escape Markdown so ``st.markdown`` and labels show the value literally.

    Direction controls (a right-to-left override) are first made visible as ``<U+202E>``.
    """
    return _MARKDOWN.sub(r"\\\1", visible(value))


@dataclass(frozen=True)
class Words:
    """What a resource's events are called where people use it."""

    use: str
    replenish: str
    adjust: str = "correction"
    #: Plural of ``use`` for headers ("loans", "grants", "watering").
    uses: str = ""
    replenishes: str = ""

    def event(self, kind: str) -> str:
        return {"use": self.use, "replenish": self.replenish, "adjust": self.adjust}.get(kind, kind)


POOL = Words("loan", "return", uses="loans", replenishes="returns")
FUND = Words("grant", "donation", uses="grants", replenishes="donations")
WATER = Words("watering", "rain or refill", uses="watering", replenishes="rain and refills")
STOCK = Words("use", "refill", uses="use", replenishes="refills")
WATER_UNITS = {"l", "litre", "litres", "liter", "liters", "gal", "gallons", "m3"}


def is_money(unit: str) -> bool:
    return bool(_CURRENCY.match(unit or ""))


def words(kind: str, unit: str) -> Words:
    """The vocabulary of a resource: loan/return (pools), grant/donation (funds), watering/rain (water)."""
    if kind == "pool":
        return POOL
    if is_money(unit):
        return FUND
    if (unit or "").lower() in WATER_UNITS:
        return WATER
    return STOCK


def _clean(value: float, places: int) -> float:
    # Round first so -0.004 shows as 0, not "-0.00".
    return round(value, places) + 0.0


MINUS = "\u2212"


#: Formatted figures and times kept per process: the same few hundred recur on every
#: page run, and Babel spent more CPU writing them than the health page spent on
#: the rest of its warm run. A pure function of its arguments: nothing of a viewer.
MEMO = 4096


@lru_cache(maxsize=MEMO)
def amount(value: float | None, unit: str = "", *, kind: str = "stock") -> str:
    """A quantity as people write it: "$1,204.50", "3 units", "6,743.6 L", "—" when unknown.

    A negative amount starts with the minus sign (U+2212), not a hyphen: it
    reads the same and no spreadsheet takes it for a formula. Memoized (:data:`MEMO`).
    """
    if value is None:
        return "—"
    if _clean(value, 2) < 0:
        return MINUS + amount(-value, unit, kind=kind)
    if is_money(unit):
        return format_currency(_clean(value, 2), unit, locale=LOCALE)
    if kind == "pool" or unit in ("units", "unit", ""):
        whole = _clean(value, 0)
        text = format_decimal(whole, format="#,##0", locale=LOCALE)
        if kind == "pool" or unit in ("units", "unit"):
            return f"{text} {'unit' if whole == 1 else 'units'}"
        return text
    text = format_decimal(_clean(value, 1), format="#,##0.#", locale=LOCALE)
    return f"{text} {unit}".strip()


def public_amount(value: float | None, unit: str = "", *, kind: str = "stock") -> str:
    """A figure rounded for the public page, written so it does not claim more precision.

    "about $2,900", "about 9,100 L": the rounding (2 significant digits, see
    :data:`steward.queries.health.PUBLIC_DIGITS`) removed the cents and the litres,
    and "$2,900.00" would read as exact. A pool's units on loan under 100 are whole
    numbers the rounding left as they were, so they stay exact ("3 units").
    """
    if value is None:
        return "—"
    if kind == "pool" and float(value).is_integer() and abs(value) < 100:
        return amount(value, unit, kind=kind)
    if is_money(unit):
        text = format_currency(
            abs(value), unit, format="¤#,##0", currency_digits=False, locale=LOCALE
        )
        text = (MINUS if _clean(value, 0) < 0 else "") + text
    else:
        text = amount(value, unit, kind=kind)
    return f"about {text}"


def quota_amount(value: float | None, unit: str, *, kind: str, places: int | None = None) -> str:
    """A quota figure: a pool's quotas count unit-days on loan (2 drills for 3 days = 6).

    Money as :func:`amount` writes it (to the cent); anything else to at most two
    decimals, as the quota's explanation and ``steward quotas`` write it
    (:func:`steward.quotas.explain.fmt`), so the card never says 0.5 where the text
    under it says 0.48. ``places`` as for :func:`~steward.quotas.explain.fmt`: a
    member's figures share it (:func:`~steward.quotas.explain.quota_places`).
    """
    if value is None:
        return "—"
    if is_money(unit) and kind != "pool":
        return amount(value, unit, kind=kind)
    shown = fmt(abs(value), quota_unit(kind, unit), places=places)
    return MINUS + shown if _clean(value, 2) < 0 else shown


def quota_left(
    value: float | None,
    unit: str,
    *,
    kind: str,
    status: str | None = None,
    places: int | None = None,
) -> str:
    """What is left of a quota (allocation - used): "over by $50.79" when negative.

    The figure `steward quotas` shows, never clamped to 0 and never a bare minus
    sign; "—" for a suspended quota (it has no allocation to measure against).
    """
    if value is None or status == "suspended":
        return "—"
    if value < 0:
        return "over by " + quota_amount(-value, unit, kind=kind, places=places)
    return quota_amount(value, unit, kind=kind, places=places)


def number(value: float | None, unit: str = "") -> str:
    """A figure with its unit (money to the cent, whole units, one decimal otherwise)."""
    return amount(value, unit, kind="pool" if unit == "units" else "stock")


def change(value: float | None, unit: str = "", *, kind: str = "stock") -> str | None:
    """A change with its direction ("up $12.00", "down 3 units"); None when unknown.

    Words, not a leading + or -: a table cell starting with either is a formula
    to a spreadsheet (and would be shown quoted).
    """
    if value is None:
        return None
    places = 2 if is_money(unit) else 0 if kind == "pool" else 1
    value = _clean(value, places)
    if value == 0:
        return "no change"
    return ("up " if value > 0 else "down ") + amount(abs(value), unit, kind=kind)


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


@lru_cache(maxsize=MEMO)
def local_time(value: datetime | None, tz: str, *, with_date: bool = True) -> str:
    """A UTC time in the commons' timezone, labelled: "30 Nov 2026, 14:05 PST" (memoized)."""
    if value is None:
        return "never"
    local = value.astimezone(ZoneInfo(tz))
    stamp = f"{local:%H:%M} {local.tzname()}"
    return f"{local.day} {local:%b %Y}, {stamp}" if with_date else stamp


def day(value: date | None) -> str:
    """A calendar day with its year: "14 Mar 2027"."""
    return "—" if value is None else f"{value.day} {value:%b %Y}"
