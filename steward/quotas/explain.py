"""Plain-words explanations of a quota, written for the member who holds it.

Each text names only the member's own figures and commons-wide totals (budget,
number of members, total weight): never another member's use or share.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from steward.display import is_currency
from steward.headlines import full_day


def places_for(*values: float | Decimal | None) -> int:
    """The decimals (0-2) that write every one of ``values`` to the hundredth.

    Figures read side by side (a member's quota, use, what is left and the pace)
    share it (:func:`fmt`'s ``places``): "about 29 unit-days" beside "14.79 unit-days"
    read as one figure rounded and one not; "29.00" beside "14.79" does not.
    """
    need = 0
    for value in values:
        if value is None:
            continue
        text = f"{abs(float(value)):.2f}"
        need = max(need, 2 if not text.endswith("0") else 1 if not text.endswith(".00") else 0)
    return need


def fmt(
    value: float | Decimal, unit: str = "", *, money: bool = False, places: int | None = None
) -> str:
    """1234.5 -> '1,234.5'; whole numbers without decimals; at most 2 decimals.

    Money (a currency code ``unit``, see :func:`steward.display.is_currency`) is always
    to the cent: '1,129.80 USD', never '1,129.8 USD'; so is a bare figure with
    ``money`` (a table whose title names the currency). ``places`` (0-2, from
    :func:`places_for`) writes exactly that many decimals instead, so figures read
    together are rounded alike.
    """
    cents = money or is_currency(unit)
    number = float(value)
    text = f"{number:,.2f}"
    if places is not None and not cents:
        text = f"{round(number, 2):,.{places}f}"
    elif not cents:
        text = text.rstrip("0").rstrip(".")
    if text in ("-0", "", "-0.00", "-0.0"):
        text = "0.00" if cents else text.removeprefix("-") or "0"
    return f"{text} {unit}".strip()


def quota_unit(kind: object, unit: str) -> str:
    """The unit a quota figure counts: a pool's quotas count unit-days on loan (2 drills
    for 3 days = 6, see :mod:`steward.quotas.usage`), a stock's the resource's own unit.

    Every quota text names this one unit, so "144 unit-days" and "0.48 units" never
    appear side by side for the same quantity.
    """
    return "unit-days" if str(kind) == "pool" else unit


def pct(value: float) -> str:
    return f"{value * 100:.0f}%"


def left_text(
    allocation: float | Decimal,
    used: float | Decimal,
    unit: str = "",
    *,
    money: bool = False,
    places: int | None = None,
) -> str:
    """What is left of a quota, in words: '12.5 L', or 'over by 50.79 USD' when over.

    The one figure every view shows (CLI, dashboard, messages): allocation - used,
    never clamped to 0. ``money``: to the cent without a unit; ``places`` as for
    :func:`fmt`.
    """
    left = Decimal(str(allocation)) - Decimal(str(used))
    if left < 0:
        return f"over by {fmt(-left, unit, money=money, places=places)}"
    return fmt(left, unit, money=money, places=places)


def quota_places(
    allocation: float | Decimal | None,
    used: float | Decimal | None,
    projected: float | Decimal | None,
) -> int:
    """The decimals one member's quota figures share: quota, use, what is left, pace."""
    left = None
    if allocation is not None and used is not None:
        left = Decimal(str(allocation)) - Decimal(str(used))
    return places_for(allocation, used, left, projected)


def allocated_text(
    total: Decimal,
    budget: Decimal,
    quotas: int,
    at_single: int,
    single_use: Decimal | None,
    unit: str,
) -> str:
    """The period's quotas added up beside the budget, for stewards (never to a member).

    e.g. "quotas add up to 2,921.75 unit-days for 300 members, 19.6 times the budget:
    255 of them hold one ordinary use (9.74 unit-days), the smallest a quota can be". Every
    member holds at least one ordinary use (what they could act on), so the sum can
    be far above the budget; this line says by how much and why.
    """
    text = f"quotas add up to {fmt(total, unit)} for {quotas:,} member{'s' if quotas != 1 else ''}"
    if budget > 0 and total > budget:
        text += f", {float(total / budget):,.1f} times the budget"
        if at_single and single_use is not None:
            # Why the sum passes the budget: no quota is smaller than one ordinary use.
            held = "all of them hold" if at_single == quotas else f"{at_single:,} of them hold"
            text += (
                f": {held} one ordinary use ({fmt(single_use, unit)}), the smallest a quota can be"
            )
    elif total > budget:
        text += ", over a budget of 0"
    return text


@dataclass(frozen=True)
class ShareFacts:
    """What one member's share rests on.

    ``budget`` and ``members`` are what the active members share (the budget less
    the starter reserve, and how many they are); ``total_budget`` the whole budget.
    """

    policy: str
    budget: float
    budget_basis: str
    unit: str
    members: int
    allocation: Decimal
    weight: float
    total_weight: float
    need: float | None
    need_basis: str
    level: float
    floor: float | None
    cap: float | None
    at_floor: bool
    at_high: bool
    floors_exceed_budget: bool
    #: The policy's floor when it had to be scaled down to fit the budget.
    floor_asked: float | None = None
    #: The member used the resource in the last ``active_weeks`` weeks.
    active: bool = True
    active_weeks: int = 12
    period: str = "period"
    single_use: float | None = None
    #: The floor is one ordinary use (``single_use``), above the policy's own floor.
    minimum_raised: bool = False
    starter: float = 0.0
    reserve: float = 0.0
    newcomers: float = 0.0
    total_budget: float | None = None
    #: Decimals of "Your quota: ..." (:func:`quota_places`): as the member's other figures.
    places: int | None = None


def _ordinary(f: ShareFacts) -> str:
    return f"one ordinary use ({fmt(f.single_use or 0, f.unit)}: 4 in 5 single uses are no larger)"


def share_text(f: ShareFacts) -> str:
    """How the member's allocation was computed, in words a member can read."""
    u = f.unit
    parts = [f"{f.budget_basis}."]
    who = f"the {f.members} member{'s' if f.members != 1 else ''} who used it in the last {f.active_weeks} weeks"
    if f.reserve > 0:
        parts.append(
            f"About {fmt(f.newcomers)} member{'s' if f.newcomers != 1 else ''} a {f.period} start "
            f"using it after a break, so {fmt(f.reserve, u)} of it is set aside for starter "
            f"shares and {fmt(f.budget, u)} is shared among {who}."
        )
    if not f.active:
        if f.single_use is not None and f.starter > 0:
            what = f"{_ordinary(f)}" + (
                f", within the policy's cap of {fmt(f.cap, u)}"
                if f.cap is not None and f.cap < f.single_use
                else ""
            )
        elif f.starter > 0:
            what = "an equal share, since no ordinary use is on record yet"
        else:
            what = "nothing, since the budget is zero"
        parts.append(
            f"You have not used it in the last {f.active_weeks} weeks, so you hold a starter "
            f"share to start using it again: {what}. Your quota: "
            f"{fmt(f.allocation, u, places=f.places)}."
        )
        return " ".join(parts)
    if f.floors_exceed_budget:
        if f.minimum_raised:
            promise = f"{_ordinary(f)}, the smallest quota that means anything"
        else:
            promise = f"the guaranteed floor of {fmt(f.floor or 0, u)}"
        parts.append(
            f"That is not enough to give each of {who} {promise}, so each of them gets "
            f"exactly that: {fmt(f.allocation, u)}."
        )
        if f.floor_asked is not None and f.minimum_raised:
            # Said after "each gets exactly 9.74", "the floor of 7 is more than the budget
            # allows" read as a contradiction: say which of the two minimums applies.
            if f.floor_asked <= float(f.allocation):
                parts.append(
                    f"(The policy's own floor, {fmt(f.floor_asked, u)} per member, is smaller "
                    "than one ordinary use, so one ordinary use applies.)"
                )
            else:
                parts.append(
                    f"(The policy's floor of {fmt(f.floor_asked, u)} per member is more than "
                    "the budget allows; one ordinary use is what it can promise.)"
                )
        return " ".join(parts)
    if f.policy == "equal":
        parts.append(
            f"It is shared equally among {who}: "
            f"{fmt(f.budget, u)} / {f.members} = {fmt(f.budget / max(f.members, 1), u)} each."
        )
    elif f.policy == "weighted":
        if f.total_weight > 0:
            share = f.budget * f.weight / f.total_weight
            parts.append(
                f"It is shared among {who} in proportion to each member's weight (dues, "
                f"shares or hours). Your weight is {fmt(f.weight)} out of a total of "
                f"{fmt(f.total_weight)}, so your share is {fmt(f.budget, u)} x {fmt(f.weight)} "
                f"/ {fmt(f.total_weight)} = {fmt(share, u)}."
            )
        else:
            parts.append(f"It is shared by weight among {who}, but none has a weight above zero.")
    else:
        parts.append(
            f"It is shared by need among {who}: members who need less get what they need, "
            "and the rest is shared equally by everyone else."
        )
        if f.need is None:
            parts.append(
                "You have no use on record before this period, so you get the equal share of "
                "what is left"
            )
        else:
            parts.append(f"Your need is {fmt(f.need, u)} ({f.need_basis})")
        if f.at_high and f.need is not None and (f.cap is None or f.need <= f.cap):
            parts[-1] += f", and you get all of it: {fmt(f.allocation, u)}."
        else:
            parts[-1] += f"; the equal share of what is left is {fmt(f.level, u)}."
    if f.minimum_raised and f.at_floor:
        parts.append(f"A quota is never smaller than {_ordinary(f)}, so yours is raised to it.")
    elif f.floor_asked is not None:
        parts.append(
            f"The policy's floor of {fmt(f.floor_asked, u)} per member is more than the budget "
            f"allows for {f.members} members, so it is scaled to {fmt(f.floor or 0, u)} each."
        )
    elif f.at_floor and f.floor:
        parts.append(f"The policy guarantees at least {fmt(f.floor, u)}, so yours is raised to it.")
    elif f.at_high and f.cap is not None and Decimal(str(f.cap)) == f.allocation:
        parts.append(f"The policy caps a share at {fmt(f.cap, u)}, so yours is limited to it.")
    parts.append(f"Your quota: {fmt(f.allocation, u, places=f.places)}.")
    return " ".join(parts)


def later_text(told: Decimal, latest: Decimal, unit: str) -> str:
    """Today's figures (a newer budget, or a member's weight changed since) give a
    quota other than the one the member was told at the period's start.

    The share sentence before it is worked out from today's figures, so this one
    says why the quota told still stands; it names both causes, since a roster
    update can change a weight mid-period as a new forecast changes the budget.
    """
    if latest < told:
        return (
            f"The latest figures (forecast and members' weights) would give you "
            f"{fmt(latest, unit)}; your quota for this period stays at {fmt(told, unit)}, and "
            "the new figure applies from the next period."
        )
    return (
        f"The latest figures (forecast and members' weights) would give you "
        f"{fmt(latest, unit)}; your quota for this period stays at {fmt(told, unit)} as "
        "announced."
    )


#: Every suspended quota's explanation starts with this resource-level sentence.
SUSPENDED_LEAD = "Quotas on {name} are suspended for {period}: {reason}."


def suspended_text(name: str, reason: str, period: str, used: float, unit: str) -> str:
    """Why a resource's quotas are suspended (they cannot be computed), in words.

    ``reason`` is a clause ("its budget cannot be computed yet: ..."); the first
    sentence is the same for every member (:func:`suspended_reason` reads it back).
    """
    return (
        SUSPENDED_LEAD.format(name=name, period=period, reason=reason.rstrip("."))
        + f" Your use is still recorded ({fmt(used, unit)} so far) but not measured "
        "against a quota, and you will not be warned against one."
    )


def suspended_reason(explanation: str) -> str:
    """The resource-level sentence of a suspended quota's explanation (for stewards)."""
    head, sep, _ = explanation.partition(" Your use is still recorded")
    return head if sep else explanation


def stop_text(state: str, unit: str) -> str:
    """A budget of zero: the resource can sustain no use now."""
    told = " The stewards have been told what would close the gap." if state != "ok" else ""
    return (
        f"The resource can sustain no use this period, so every quota is {fmt(0, unit)}: "
        f"please do not use it now.{told}"
    )


STATUS_TEXT = {
    "ok": "You are well within your quota.",
    "nudged": "You have used 80% or more of your quota: a friendly heads-up.",
    "warned": "At your recent pace you will go over your quota before the period ends.",
    "review": "You are over your quota; a steward will review it with you.",
}


@dataclass(frozen=True)
class CountedLoan:
    """One of the member's open loans of a pool, counted in the projection on its own.

    ``due_day``: the day it is due back, in the commons' calendar (the last day
    before its due instant). ``until``: how far it is counted: ``"due"`` (until it is
    due back, within the period), ``"end"`` (due after the period: to its end) or
    ``"overdue"`` (past due and still out: as returned now).
    """

    due_day: date
    until: str


def loans_text(loans: Sequence[CountedLoan]) -> str:
    """The open loans a projection counts, as a clause: "counting your loan due back on
    3 December 2025 until then"; "" for none. Raises ValueError for an unknown ``until``.
    """
    said = []
    for loan in loans:
        day = full_day(loan.due_day)
        if loan.until == "due":
            said.append(f"your loan due back on {day} until then")
        elif loan.until == "end":
            said.append(f"your loan due back on {day} as out to the period's end")
        elif loan.until == "overdue":
            said.append(f"your overdue loan (due back on {day}) as returned today")
        else:
            raise ValueError(f"unknown until {loan.until!r}: due, end or overdue")
    if not said:
        return ""
    listed = said[0] if len(said) == 1 else ", ".join(said[:-1]) + " and " + said[-1]
    return f"counting {listed}"


def tracking_text(
    used: float,
    allocation: float,
    projected: float,
    unit: str,
    period_label: str,
    status: str,
    loans: Sequence[CountedLoan] = (),
) -> str:
    """The member's use so far, pace and step on the ladder, in words.

    Its figures are rounded alike with the quota's (:func:`quota_places`), as the
    message's and the page's are: the same figure reads the same everywhere.
    ``loans``: the open loans the projection counts until they are due back
    (:func:`loans_text`), named so the projected figure can be checked by the member.
    """
    places = quota_places(allocation, used, projected)
    share = f" ({pct(used / allocation)} of it)" if allocation > 0 else ""
    over = used - allocation
    status_text = STATUS_TEXT[status]
    if status == "review" and over > 0:
        status_text = (
            f"You are over your quota by {fmt(over, unit, places=places)}; a steward will "
            "review it with you."
        )
    counting = loans_text(loans)
    pace = f"at your recent pace, {counting}," if counting else "at your recent pace"
    # "Well within your quota" beside a drill two months late read as all being well.
    late = sum(1 for loan in loans if loan.until == "overdue")
    overdue = (
        f" Each day your overdue loan{'s stay' if late > 1 else ' stays'} out adds to your "
        f"use: please bring {'them' if late > 1 else 'it'} back."
        if late
        else ""
    )
    return (
        f"In {period_label} you have used {fmt(used, unit, places=places)}{share}; {pace} "
        f"you will have used {fmt(projected, unit, places=places)} by the end "
        f"of the period. {status_text}{overdue}"
    )
