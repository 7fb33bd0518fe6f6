"""One line per resource for the steward overview: where it stands, the outlook, what to do."""

from __future__ import annotations

from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from dashboards.text import amount, change, day, public_amount, words
from steward.queries.alerts import ResourceAlert
from steward.queries.health import PUBLIC_WINDOW, Tile
from steward.reserve import vocabulary

if TYPE_CHECKING:
    from steward.queries.overdue import PoolLoans

#: What a withheld public figure shows (see :func:`hidden_text` for the reason).
HIDDEN = "hidden"


def hidden_text(min_members: int) -> str:
    """Why a public figure is hidden: fewer than ``min_members`` members changed it lately."""
    return (
        f"Hidden: fewer than {min_members} members used it in the last "
        f"{PUBLIC_WINDOW.days} days, so "
        "the figure would show one member's own use. Stewards see it on their Overview."
    )


STATUS_LABELS = {"danger": "at risk", "watch": "watch", "ok": "healthy", "unknown": "no data"}


def now_text(tile: Tile) -> str:
    """ "6,743.6 L (reserve 1,500 L)" or "5 of 8 units on loan".

    A public tile's rounded level reads "about 6,700 L"; a withheld one says it is
    hidden (see :func:`hidden_text`) rather than showing a bare dash.
    """
    if tile.shown == "withheld":
        return HIDDEN
    if tile.kind == "pool":
        write = public_amount if tile.shown == "rounded" else amount
        on_loan = write(tile.level, tile.unit, kind="pool")  # "6 units", "about 150 units"
        if tile.capacity is None:
            return f"{on_loan} on loan"
        count = on_loan.removesuffix(" units").removesuffix(" unit")
        return f"{count} of {amount(tile.capacity, tile.unit, kind='pool')} on loan"
    level = (
        public_amount(tile.level, tile.unit)
        if tile.shown == "rounded"
        else amount(tile.level, tile.unit)
    )
    if tile.reserve is None:
        return level
    return f"{level} (reserve {amount(tile.reserve, tile.unit)})"


def every_unit_out(tile: Tile, loans: PoolLoans | None) -> str:
    """What to do about a pool with every unit out now, from its loans (``loans``:
    its overdue count and next due date; None when not known).

    The Overdue page is named only when this pool has loans there; otherwise the
    loans are ordinary ones not yet due, and what holds is that members asking now
    wait (until the next due date, when a loan carries one).
    """
    if loans is not None and loans.overdue:
        late = "1 loan is late" if loans.overdue == 1 else f"{loans.overdue} loans are late"
        return f"Every unit is out now and {late}: the Overdue page says which"
    if loans is not None and loans.next_due is not None:
        back = day(loans.next_due.astimezone(ZoneInfo(tile.timezone)).date())
        return (
            f"Every unit is out now, none late: the next is due back by {back}; "
            "members asking now wait until then"
        )
    return "Every unit is out now, none late: members asking now wait until a loan comes back"


def what_to_do(tile: Tile, loans: PoolLoans | None = None) -> str:
    """The action a steward would take, in the resource's own words.

    ``loans`` are a pool's loans out now (:func:`steward.queries.overdue.pool_loans`):
    with every unit out, the advice names the Overdue page only when some are late.
    """
    vocab = words(tile.kind, tile.unit)
    when = f" before {day(tile.risk_date)}" if tile.risk_date else ""
    if tile.status == "unknown":
        return "Check its data source: nothing recorded yet"
    if tile.below is not None and tile.below.negative:
        return (
            "Check the records: a level below zero means "
            f"{vocabulary(tile.unit).negative_means}; record what is missing or reverse "
            "what was recorded twice"
        )
    if tile.below is not None:
        short = amount(float(tile.below.shortfall), tile.unit)
        if tile.below.reserve is None:
            return f"Empty now: seek {vocab.replenishes} and hold {vocab.uses}"
        return (
            f"Below its reserve now: hold {vocab.uses} that can wait and seek {short} "
            f"of {vocab.replenishes}"
        )
    below = tile.kind == "stock" and tile.reserve is not None and tile.level is not None
    if below and tile.level < tile.reserve:  # type: ignore[operator]
        return f"Below its reserve now: hold {vocab.uses} and seek {vocab.replenishes}"
    if not tile.has_forecast:
        return "Run a forecast (`steward forecast`)"
    if tile.status == "danger":
        if tile.kind == "pool":
            return f"Add units or limit loan length{' around ' + day(tile.risk_date) if tile.risk_date else ''}"
        return f"Seek {vocab.replenishes} or slow {vocab.uses}{when}"
    if tile.status == "watch":
        out = tile.kind == "pool" and tile.capacity and (tile.level or 0) >= tile.capacity
        if out:
            # Why it is "watch" at a low risk: every unit it can lend is out now.
            return every_unit_out(tile, loans)
        return "Keep an eye on it: check again after the next forecast"
    return "Nothing to do"


def when_text(tile: Tile) -> str:
    """The day beside the Risk figure, saying which day it is (stocks and pools differ):
    "below now", "over 50% by 21 Jun 2027" or "peak on 25 Jul 2027"; "—" for none.

    A stock's is a forecast crossing, said "by" as the status line says it; a pool's
    is one day's chance, said "on"."""
    if tile.below is not None:
        return "below now"
    if tile.risk_date is None:
        return "—"
    if tile.kind == "pool":
        return f"peak on {day(tile.risk_date)}"
    return f"over 50% by {day(tile.risk_date)}"


def alerts_text(alerts: list[ResourceAlert]) -> str:
    """Firing alerts of one resource, one per rule: "critical: ... (acknowledged by sam ...)"."""
    parts = []
    for alert in alerts:
        text = f"{alert.severity}: {alert.summary}"
        if alert.count > 1:
            text += f" ({alert.count} alerts)"
        for note in (alert.acknowledged, alert.silenced):
            if note:
                text += f" [{note}]"
        parts.append(text)
    return "; ".join(parts)


def beyond_units(tile: Tile) -> int:
    """Units a pool has on loan beyond the units it has now (0: none, or not a pool).

    Loans recorded beyond a pool's units are kept, not refused (real lending records
    key a checkout before the unit it took), and shown as recorded: the excess is a
    finding for a steward, as ``steward status`` lists it under "Data to check".
    Units counted lost leave both figures alike, so this is units out less units
    recorded. Only on exact figures (a rounded public tile says nothing of it).
    """
    if tile.kind != "pool" or tile.shown != "exact" or tile.capacity is None:
        return 0
    if tile.level is None:
        return 0
    return max(round(tile.level - tile.capacity), 0)


def row(
    tile: Tile, alerts: list[ResourceAlert] | None = None, loans: PoolLoans | None = None
) -> dict[str, object]:
    """The overview table's row for a tile (plain column names, formatted values).

    ``alerts`` are the resource's firing alerts grouped per rule
    (:func:`steward.queries.alerts.resource_alerts`); ``loans`` a pool's loans out
    now (:func:`steward.queries.overdue.pool_loans`), for its advice.
    """
    return {
        # Whole percent, as every other view writes it (54.8% beside "55%" elsewhere).
        "Risk": None if tile.probability is None else round(tile.probability, 2),
        "When": when_text(tile),
        "Status": STATUS_LABELS[tile.status],
        "Resource": tile.name,
        "Now": now_text(tile)
        + (f" ({beyond_units(tile)} more than its units)" if beyond_units(tile) else ""),
        "What to do": what_to_do(tile, loans),
        "Alerts": alerts_text(alerts or []),
        "Outlook": tile.headline,
        "Last 7 days": change(tile.trend, tile.unit, kind=tile.kind) or "—",
        "slug": tile.slug,
    }
