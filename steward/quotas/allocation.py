"""Fair allocation of a budget among members: pure math, no database.

Every policy is one water-filling problem: member *i* gets
``clip(level * weight_i, low_i, high_i)`` where the water ``level`` is the one
that makes the allocations add up to the budget.

* ``equal``         weight 1 for everyone, high = cap.
* ``weighted``      weight = the member's weight (dues, shares, hours), high = cap.
* ``max_min_fair``  weight 1, high = min(cap, need): those who need less get what
                    they need, the rest share what is left equally. When every
                    need is met and budget is left, the surplus is water-filled
                    too, with needs as minimums (up to the cap): a quota is a
                    ceiling, and a member who borrowed nothing last month must
                    not be "over quota" after one loan nobody else competed for.

``low`` is the floor: a floor is a promise, so it holds even when the floors
add up to more than the budget (the result then says so). When the highs add
up to less than the budget, the rest stays unallocated. Amounts are exact
multiples of 10^-6 (the ledger's scale) that add up exactly.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from steward.errors import QuotaError
from steward.store.types import SCALE

Policy = Literal["equal", "weighted", "max_min_fair"]
POLICIES: tuple[Policy, ...] = ("equal", "weighted", "max_min_fair")
_MICRO = 10**SCALE


@dataclass(frozen=True)
class Claimant:
    """A member as the allocation sees them. ``need`` None means no history yet."""

    key: str
    weight: float = 1.0
    need: float | None = None


@dataclass(frozen=True)
class Allocation:
    amounts: dict[str, Decimal]
    #: The water level (per unit of weight) that the unconstrained members got.
    level: float
    total: Decimal
    unallocated: Decimal
    #: The floors alone exceed the budget; every member got exactly the floor.
    floors_exceed_budget: bool
    at_floor: frozenset[str]
    at_high: frozenset[str]


def _bounds(
    policy: Policy, claimants: Sequence[Claimant], floor: float | None, cap: float | None
) -> tuple[list[float], list[float], list[float]]:
    low = [float(floor or 0.0)] * len(claimants)
    cap_f = math.inf if cap is None else float(cap)
    weights: list[float] = []
    high: list[float] = []
    for c, lo in zip(claimants, low, strict=True):
        if policy == "weighted":
            if not math.isfinite(c.weight) or c.weight < 0:
                raise QuotaError(
                    f"member {c.key}: weight {c.weight} is not a non-negative number",
                    hint="set the member's weight to 0 or more in the members file",
                )
            weights.append(c.weight)
        else:
            weights.append(1.0)
        hi = cap_f
        if policy == "max_min_fair" and c.need is not None:
            hi = min(hi, max(c.need, 0.0))
        high.append(max(hi, lo))
    return weights, low, high


def _fill(level: float, weights: list[float], low: list[float], high: list[float]) -> list[float]:
    return [min(max(level * w, lo), hi) for w, lo, hi in zip(weights, low, high, strict=True)]


def _solve_level(budget: float, weights: list[float], low: list[float], high: list[float]) -> float:
    """The water level whose filled allocations sum to ``budget`` (already reachable)."""
    points = sorted(
        {0.0}
        | {lo / w for w, lo in zip(weights, low, strict=True) if w > 0}
        | {hi / w for w, hi in zip(weights, high, strict=True) if w > 0 and math.isfinite(hi)}
    )
    # The total is non-decreasing in the level: binary search for the first breakpoint
    # whose total reaches the budget (O(n log n) instead of trying each in turn).
    lo_i, hi_i = 0, len(points)
    while lo_i < hi_i:
        mid = (lo_i + hi_i) // 2
        if sum(_fill(points[mid], weights, low, high)) >= budget:
            hi_i = mid
        else:
            lo_i = mid + 1
    point = points[lo_i] if lo_i < len(points) else math.inf
    prev = points[lo_i - 1] if lo_i > 0 else 0.0
    # Between two breakpoints the total is linear in the level: solve it exactly.
    base = _fill(prev, weights, low, high)
    slope = sum(
        w
        for w, lo, hi, a in zip(weights, low, high, base, strict=True)
        if w > 0 and a < hi and prev * w >= lo
    )
    if slope == 0:
        return prev
    level = prev + (budget - sum(base)) / slope
    return min(level, point)


def allocate(
    policy: Policy,
    budget: float | Decimal,
    claimants: Sequence[Claimant],
    *,
    floor: float | Decimal | None = None,
    cap: float | Decimal | None = None,
) -> Allocation:
    """Split ``budget`` among ``claimants`` under ``policy`` with an optional floor and cap."""
    if policy not in POLICIES:
        raise QuotaError(f"unknown quota policy {policy!r}; expected one of {', '.join(POLICIES)}")
    budget_f = float(budget)
    if not math.isfinite(budget_f) or budget_f < 0:
        raise QuotaError(f"the budget must be a finite number >= 0, got {budget}")
    keys = [c.key for c in claimants]
    if len(set(keys)) != len(keys):
        raise QuotaError("each member may appear only once in an allocation")
    if not claimants:
        zero = Decimal(0)
        return Allocation(
            {}, 0.0, zero, _dec(round(budget_f * _MICRO)), False, frozenset(), frozenset()
        )
    floor_f = None if floor is None else float(floor)
    cap_f = None if cap is None else float(cap)
    weights, low, high = _bounds(policy, claimants, floor_f, cap_f)
    # Solve with weights scaled to at most 1: a tiny weight (1e-300) would otherwise
    # need an infinite water level. The level is reported per unit of the real weight.
    scale = max(weights, default=0.0)
    if scale > 0:
        # A subnormal ratio has no finite reciprocal: such a member is weightless.
        weights = [w / scale if w / scale >= sys.float_info.min else 0.0 for w in weights]
    floors = sum(low)
    reachable = sum(hi if w > 0 else lo for w, lo, hi in zip(weights, low, high, strict=True))
    target = min(max(budget_f, floors), reachable)
    if budget_f <= floors:
        level, raw = 0.0, list(low)
    elif target >= reachable:
        level = max((hi / w for w, hi in zip(weights, high, strict=True) if w > 0), default=0.0)
        raw = [hi if w > 0 else lo for w, lo, hi in zip(weights, low, high, strict=True)]
    else:
        level = _solve_level(target, weights, low, high)
        raw = _fill(level, weights, low, high)
    if policy == "max_min_fair" and target >= reachable and budget_f > reachable:
        # Needs are all met: water-fill the surplus with needs as minimums, up to the cap.
        low = raw
        high = [max(math.inf if cap_f is None else cap_f, lo) for lo in raw]
        weights = [1.0] * len(raw)
        target = min(budget_f, sum(high))
        if math.isfinite(target):
            level = _solve_level(target, weights, low, high)
            raw = _fill(level, weights, low, high)
    micros = _apportion(raw, low, high, round(target * _MICRO))
    amounts = {k: _dec(m) for k, m in zip(keys, micros, strict=True)}
    total = sum(micros)
    return Allocation(
        amounts=amounts,
        level=level / scale if scale > 0 else level,
        total=_dec(total),
        unallocated=_dec(max(round(budget_f * _MICRO) - total, 0)),
        floors_exceed_budget=floors > budget_f,
        at_floor=frozenset(k for k, a, lo in zip(keys, raw, low, strict=True) if a <= lo),
        at_high=frozenset(
            k for k, a, hi, lo in zip(keys, raw, high, low, strict=True) if a >= hi and hi > lo
        ),
    )


def _apportion(raw: list[float], low: list[float], high: list[float], target: int) -> list[int]:
    """Round to micro-units so the parts add up to ``target`` (largest remainder)."""
    lo_m = [math.ceil(lo * _MICRO - 1e-6) for lo in low]
    hi_m = [math.floor(hi * _MICRO + 1e-6) if math.isfinite(hi) else None for hi in high]
    scaled = [a * _MICRO for a in raw]
    parts = [max(math.floor(s + 1e-6), lo) for s, lo in zip(scaled, lo_m, strict=True)]
    parts = [
        p if h is None else min(p, max(h, lo)) for p, h, lo in zip(parts, hi_m, lo_m, strict=True)
    ]
    gap = target - sum(parts)
    order = sorted(range(len(parts)), key=lambda i: parts[i] - scaled[i])
    step = 1 if gap > 0 else -1
    # Hand out the gap in even shares of whatever room is left (largest remainders
    # first for the last micro-units): O(n) per round, never one micro-unit per round.
    while gap != 0:
        ranked = order if step > 0 else list(reversed(order))
        room = {
            i: (math.inf if hi_m[i] is None else hi_m[i] - parts[i])
            if step > 0
            else parts[i] - lo_m[i]
            for i in ranked
        }
        open_ = [i for i in ranked if room[i] > 0]
        if not open_:
            break
        share = max(abs(gap) // len(open_), 1)
        for i in open_:
            if gap == 0:
                break
            moved = int(min(share, room[i], abs(gap)))
            parts[i] += step * moved
            gap -= step * moved
    return parts


def _dec(micros: int) -> Decimal:
    return Decimal(micros) / _MICRO
