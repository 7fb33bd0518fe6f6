"""Plain-words explanations of a quota, written for the member who holds it.

Each text names only the member's own figures and commons-wide totals (budget,
number of members, total weight): never another member's use or share.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


def fmt(value: float | Decimal, unit: str = "") -> str:
    """1234.5 -> '1,234.5'; whole numbers without decimals; at most 2 decimals."""
    number = float(value)
    text = f"{number:,.2f}".rstrip("0").rstrip(".")
    if text in ("-0", ""):
        text = "0"
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


@dataclass(frozen=True)
class ShareFacts:
    """What one member's share rests on."""

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


def share_text(f: ShareFacts) -> str:
    u = f.unit
    parts = [f"{f.budget_basis}."]
    if f.floors_exceed_budget:
        parts.append(
            f"The guaranteed floor of {fmt(f.floor or 0, u)} per member for {f.members} members "
            f"is more than that budget, so every member gets the floor: {fmt(f.allocation, u)}."
        )
        return " ".join(parts)
    if f.policy == "equal":
        parts.append(
            f"It is shared equally among {f.members} members: "
            f"{fmt(f.budget, u)} / {f.members} = {fmt(f.budget / f.members, u)} each."
        )
    elif f.policy == "weighted":
        if f.total_weight > 0:
            share = f.budget * f.weight / f.total_weight
            parts.append(
                f"It is shared in proportion to each member's weight (dues, shares or hours). "
                f"Your weight is {fmt(f.weight)} out of a total of {fmt(f.total_weight)}, so your "
                f"share is {fmt(f.budget, u)} x {fmt(f.weight)} / {fmt(f.total_weight)} = "
                f"{fmt(share, u)}."
            )
        else:
            parts.append("It is shared by weight, but no member has a weight above zero.")
    else:
        parts.append(
            f"It is shared by need among {f.members} members: members who need less get what "
            "they need, and the rest is shared equally by everyone else."
        )
        if f.need is None:
            parts.append(
                "You have no use on record yet, so you get the equal share of what is left"
            )
        else:
            parts.append(f"Your need is {fmt(f.need, u)} ({f.need_basis})")
        if f.at_high and f.need is not None and (f.cap is None or f.need <= f.cap):
            parts[-1] += f", and you get all of it: {fmt(f.allocation, u)}."
        else:
            parts[-1] += f"; the equal share of what is left is {fmt(f.level, u)}."
    if f.floor_asked is not None:
        parts.append(
            f"The policy's floor of {fmt(f.floor_asked, u)} per member is more than the budget "
            f"allows for {f.members} members, so it is scaled to {fmt(f.floor or 0, u)} each."
        )
    elif f.at_floor and f.floor:
        parts.append(f"The policy guarantees at least {fmt(f.floor, u)}, so yours is raised to it.")
    elif f.at_high and f.cap is not None and Decimal(str(f.cap)) == f.allocation:
        parts.append(f"The policy caps a share at {fmt(f.cap, u)}, so yours is limited to it.")
    parts.append(f"Your quota: {fmt(f.allocation, u)}.")
    return " ".join(parts)


def later_text(told: Decimal, latest: Decimal, unit: str) -> str:
    """A newer budget differs from the one the member was told at the period's start."""
    if latest < told:
        return (
            f"The latest forecast would give you {fmt(latest, unit)}; your quota for this period "
            f"stays at {fmt(told, unit)}, and the new figure applies from the next period."
        )
    return (
        f"The latest forecast would give you {fmt(latest, unit)}; your quota for this period "
        f"stays at {fmt(told, unit)} as announced."
    )


def suspended_text(allocation: float, single: float, unit: str, state: str) -> str:
    """Why a quota smaller than one ordinary use is suspended, not enforced."""
    why = (
        " The resource cannot sustain its members' ordinary use; the stewards have been told "
        "what would close the gap."
        if state in ("deficit", "stop")
        else ""
    )
    return (
        f"Your share ({fmt(allocation, unit)}) is smaller than one ordinary use of this resource "
        f"({fmt(single, unit)}, the median single use), so your quota is suspended: you will "
        f"not be warned against it.{why}"
    )


STATUS_TEXT = {
    "ok": "You are well within your quota.",
    "nudged": "You have used 80% or more of your quota: a friendly heads-up.",
    "warned": "At your recent pace you will go over your quota before the period ends.",
    "review": "You are over your quota; a steward will review it with you.",
}


def tracking_text(
    used: float, allocation: float, projected: float, unit: str, period_label: str, status: str
) -> str:
    share = f" ({pct(used / allocation)} of it)" if allocation > 0 else ""
    return (
        f"In {period_label} you have used {fmt(used, unit)}{share}; at your recent pace you "
        f"will have used about {fmt(projected, unit)} by the end of the period. "
        f"{STATUS_TEXT[status]}"
    )
