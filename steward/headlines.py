"""The one sentence a steward reads first about a resource's forecast.

Shared by `steward status`, the dashboard and the forecast alerts, so all say
the same thing with the same dates, e.g. "62% chance Repair fund falls below its
reserve by 14 March 2027, over 50% by 2 February 2027".

A forecast crossing is stated "by" a date (it may come any day up to it); a
pool's likeliest day and a recorded fact "on" or "since" theirs.

The dates mean one thing everywhere:

* a stock's date is the first day the chance of having been below the reserve
  passes 50% (the chance only grows with time, so from that day on it is more
  likely than not; ``date_p50`` of the forecast);
* a pool's date is its likeliest day: the day with the highest chance that
  demand exceeds the units available, and the chance stated is that day's.

A stock already below its reserve gets no chance at all: it is below now, and
the sentence says since when and by how much (:func:`breach_headline`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from steward.store.catalog import ResourceInfo

if TYPE_CHECKING:
    from steward.reserve import Breach

NO_FORECAST = "No forecast yet"
#: The cumulative chance whose first day a stock's sentence names.
STOCK_DATE_CHANCE = 0.5


def when(value: Any) -> date | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value)).date()
    except ValueError:
        return None


def day_month(day: date, today: date | None = None) -> str:
    """ "14 March 2027": always with its year, whatever ``today`` is.

    A headline often names two dates ("by 28 July 2027, over 50% by 26 December
    2026"); dropping the year of the one in the current year
    read as if both were in the same year. ``today`` is accepted for the
    callers that pass it and no longer changes the form.
    """
    return full_day(day)


def full_day(day: date) -> str:
    """ "14 March 2027": the form messages use (they are read later, so always with the year)."""
    return f"{day.day} {day:%B %Y}"


def stock_outlook(
    name: str,
    p: float,
    line: str,
    by: date | None,
    passes_half: date | None,
    show: Callable[[date], str] = full_day,
) -> str:
    """ "62% chance Rain tank falls below its reserve by 30 June 2027, over 50% by 1 May 2027".

    ``p`` is P(below the line at some point by ``by``) (0-1); ``line`` names the
    line ("its reserve", "its reserve of 100 L", "empty"); ``passes_half`` is
    the first day that cumulative chance reaches 50% (None when it never does
    within the horizon). ``show`` writes a date.

    Both dates are forecast crossings, so both take "by": "is below its reserve by
    29 July; the chance passes 50% on 26 December" said "by" of one and "on" of
    the other, and "is below ... by" read as a state on that day rather than a fall
    at any time up to it.
    """
    falls = "runs empty" if line == "empty" else f"falls below {line}"
    tail = f" by {show(by)}" if by else " within the forecast horizon"
    text = f"{p:.0%} chance {name} {falls}{tail}"
    if passes_half:
        text += f", over {STOCK_DATE_CHANCE:.0%} by {show(passes_half)}"
    return text


def pool_outlook(
    name: str,
    p: float,
    peak: date | None,
    window: str,
    show: Callable[[date], str] = full_day,
    units: str = "the units available",
) -> str:
    """ "45% chance demand for Drills exceeds the units available on Sat 21 March, its
    highest chance of any day by 28 July".

    ``p`` is the highest daily chance in the window (0-1), ``peak`` its day
    (the first such day on a tie), ``window`` says which days were looked at
    ("by 28 July", "within the next 28 days").
    """
    # "its highest chance of any day": the figure is the peak day's, not the whole window's.
    on = (
        f" on {peak:%a} {show(peak)}, its highest chance of any day {window}"
        if peak
        else f" {window}"
    )
    return f"{p:.0%} chance demand for {name} exceeds {units}{on}"


def breach_headline(res: ResourceInfo, found: Breach, tz: str, today: date | None = None) -> str:
    """The sentence for a stock below its reserve (or below zero) now, from the ledger.

    e.g. "Below its reserve now: 1,842.1 USD, 657.9 USD short of 2,500 USD, since
    14 November: hold grants and payments that can wait and seek donations and dues"
    or "Recorded level below zero: -2,655.92 USD since 3 December (more was paid
    out than the records show coming in): check the records for ...". Says what,
    since when, by how much and what to do; ``tz`` is the commons' timezone.
    """
    from steward.display import local_day
    from steward.quotas.explain import fmt
    from steward.reserve import vocabulary

    def since(at: datetime | None) -> str:
        return f"since {day_month(local_day(at, tz), today)}" if at else "since its first record"

    words = vocabulary(res.unit)
    if found.negative:
        return (
            f"Recorded level below zero: {fmt(found.level, res.unit)} "
            f"{since(found.negative_since)} ({words.negative_means}): check the records "
            f"for missing {words.replenishes} or {words.uses} recorded twice"
        )
    if found.reserve is None:
        return f"Empty now, {since(found.since)}: seek {words.replenishes}"
    return (
        f"Below its reserve now: {fmt(found.level, res.unit)}, "
        f"{fmt(found.shortfall, res.unit)} short of {fmt(found.reserve, res.unit)}, "
        f"{since(found.since)}: hold {words.uses} that can wait and seek {words.replenishes}"
    )


def public_breach_headline(found: Breach, tz: str, today: date | None = None) -> str:
    """:func:`breach_headline` without figures, for signed-out visitors (no level, no shortfall)."""
    from steward.display import local_day

    def since(at: datetime | None) -> str:
        return f"since {day_month(local_day(at, tz), today)}" if at else "since its first record"

    if found.negative:
        return f"Recorded level below zero {since(found.negative_since)}: the records need checking"
    if found.reserve is None:
        return f"Empty now, {since(found.since)}"
    return f"Below its reserve now, {since(found.since)}"


def headline(
    res: ResourceInfo,
    risk: dict[str, Any] | None,
    horizon_end: date | None = None,
    *,
    breach: Breach | None = None,
) -> str:
    """The resource's one sentence: below its reserve now (``breach``, from the ledger),
    else the forecast's chance and date as the module docstring defines them."""
    if breach is not None:
        return breach_headline(res, breach, res.timezone)
    if risk is None:
        return NO_FORECAST
    if res.kind == "stock" and isinstance(risk.get("p_below_reserve"), int | float):
        line = "its reserve" if res.reserve else "empty"
        by = when(risk.get("horizon_end")) or horizon_end
        return stock_outlook(
            res.name,
            float(risk["p_below_reserve"]),
            line,
            by,
            when(risk.get("date_p50")),
            day_month,
        )
    if res.kind == "pool" and isinstance(risk.get("max_p_over_capacity"), int | float):
        end = when(risk.get("horizon_end")) or horizon_end
        window = f"by {day_month(end)}" if end else "within the forecast horizon"
        return pool_outlook(
            res.name,
            float(risk["max_p_over_capacity"]),
            when(risk.get("peak_date")),
            window,
            day_month,
        )
    return "Forecast has no risk figures for this resource"
