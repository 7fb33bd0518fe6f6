"""The one sentence a steward reads first about a resource's forecast.

Shared by `steward status` and the dashboard so both say the same thing, e.g.
"62% chance Repair fund is below its reserve by 14 March".
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from steward.store.catalog import ResourceInfo

NO_FORECAST = "No forecast yet"


def when(value: Any) -> date | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value)).date()
    except ValueError:
        return None


def day_month(day: date, today: date | None = None) -> str:
    """ "14 March", or "14 March 2027" when the date is not in the current year."""
    this_year = (today or date.today()).year
    return f"{day.day} {day:%B}" + ("" if day.year == this_year else f" {day.year}")


def headline(
    res: ResourceInfo, risk: dict[str, Any] | None, horizon_end: date | None = None
) -> str:
    if risk is None:
        return NO_FORECAST
    if res.kind == "stock" and isinstance(risk.get("p_below_reserve"), int | float):
        by = when(risk.get("horizon_end")) or horizon_end
        tail = f" by {day_month(by)}" if by else " within the forecast horizon"
        text = f"{float(risk['p_below_reserve']):.0%} chance {res.name} is below its reserve{tail}"
        median = when(risk.get("date_p50"))
        return text + (f"; median date {day_month(median)}" if median else "")
    if res.kind == "pool" and isinstance(risk.get("max_p_over_capacity"), int | float):
        peak = when(risk.get("peak_date"))
        on = f" on {peak:%a} {day_month(peak)}" if peak else ""
        if not on and horizon_end:
            on = f" by {day_month(horizon_end)}"
        return (
            f"{float(risk['max_p_over_capacity']):.0%} chance demand for {res.name} "
            f"exceeds the units available{on}"
        )
    return "Forecast has no risk figures for this resource"
