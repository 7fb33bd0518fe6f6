"""Sustainable budgets: how much members can use per period. Pure numpy.

Stock: members draw at a constant daily ``rate`` on top of nothing else; the
forecast's replenishment paths (plus pledged, scheduled deliveries) refill it.
The budget is the largest rate that keeps P(level below the reserve at some day
within the horizon) at or under the risk target, times the days of a period.
The day follows :func:`steward.forecast.projection.project_stock`: replenishment
arrives, use is served, anything above capacity overflows.

When use paths are given, their shape (a dry summer's higher draw, weekends) is
kept: the rate scales the paths instead of replacing them by a flat line.

Pool: unit-days per period = target utilisation x the capacity of each day.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from steward.errors import QuotaError

#: Bisection steps: 2^-60 of the bracket is far below the ledger's 10^-6.
_STEPS = 60


@dataclass(frozen=True)
class StockBudget:
    per_period: float
    #: Members' total use per day that the budget allows (mean over the horizon).
    daily_rate: float
    #: P(below reserve within the horizon) at that rate.
    risk: float
    #: P(below reserve) even with no use at all: the budget is zero when over target.
    risk_without_use: float
    horizon_days: int


def _paths(x: np.ndarray | float, h: int | None, what: str) -> np.ndarray:
    arr = np.asarray(x, dtype=float)
    if arr.ndim == 0:
        if h is None:
            raise QuotaError(f"{what}: give paths with a length, not a single number")
        arr = np.full((1, h), float(arr))
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] == 0:
        raise QuotaError(f"{what} must be an (n paths, days) array, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise QuotaError(f"{what} contains non-finite values (NaN or infinity)")
    return np.clip(arr, 0.0, None)


def _p_below(
    level0: float,
    draw: np.ndarray,
    replenish: np.ndarray,
    reserve: float,
    capacity: float | None,
) -> float:
    if capacity is None:
        # No overflow: the level is a plain running sum (use beyond empty is unmet).
        running = level0 + np.cumsum(replenish - draw, axis=1)
        # Use is not served below zero, so a path that empties stays at zero: same verdict.
        hit = running < reserve if reserve > 0 else running <= 0
        return float(hit.any(axis=1).mean())
    level = np.full(draw.shape[0], min(level0, capacity))
    hit = np.zeros(draw.shape[0], dtype=bool)
    for t in range(draw.shape[1]):
        level = np.clip(level + replenish[:, t] - draw[:, t], 0.0, capacity)
        hit |= level < reserve if reserve > 0 else level <= 0
    return float(hit.mean())


def sustainable_stock_budget(
    level0: float,
    use_paths: np.ndarray | float | None,
    replenish_paths: np.ndarray | float,
    reserve: float | None,
    capacity: float | None,
    risk_target: float,
    period_days: float,
    *,
    horizon_days: int | None = None,
) -> StockBudget:
    """The most members can use per period while P(below reserve) stays <= ``risk_target``.

    ``replenish_paths``: (n, H) simulated daily replenishment. ``use_paths``: (n, H)
    daily use giving the *shape* of demand (None or all zero: a flat draw).
    Closed form with a flat draw and a steady replenishment ``r`` per day (no
    capacity): rate = r + (level0 - reserve) / H.
    """
    if not 0 < risk_target < 1:
        raise QuotaError(f"risk_target must be between 0 and 1, got {risk_target}")
    if period_days <= 0:
        raise QuotaError(f"period_days must be > 0, got {period_days}")
    rep = _paths(replenish_paths, horizon_days, "replenish_paths")
    h = rep.shape[1]
    if horizon_days is not None and horizon_days != h:
        rep = rep[:, :horizon_days] if h > horizon_days else rep
        h = rep.shape[1]
    shape = np.ones((1, h))
    if use_paths is not None:
        use = _paths(use_paths, h, "use_paths")[:, :h]
        if use.shape[1] != h:
            raise QuotaError(f"use_paths cover {use.shape[1]} days, replenish_paths {h}")
        if float(use.mean()) > 0:
            shape = use / float(use.mean())  # mean 1: the multiplier is a daily rate
    n = max(rep.shape[0], shape.shape[0])
    rep, shape = np.broadcast_to(rep, (n, h)), np.broadcast_to(shape, (n, h))
    res = float(reserve or 0.0)
    cap = None if capacity is None else float(capacity)

    def risk(rate: float) -> float:
        return _p_below(float(level0), rate * shape, rep, res, cap)

    base = risk(0.0)
    if base > risk_target:
        return StockBudget(0.0, 0.0, base, base, h)
    # Bracket: a rate that drains more than everything there is, plus all inflow.
    hi = max((max(float(level0), 0.0) + float(rep.sum(axis=1).max())) / h * 2.0, 1e-9) + 1.0
    while risk(hi) <= risk_target:
        hi *= 2.0
        if not math.isfinite(hi):
            raise QuotaError("the stock budget does not converge: check the replenishment paths")
    lo = 0.0
    for _ in range(_STEPS):
        mid = (lo + hi) / 2.0
        if risk(mid) <= risk_target:
            lo = mid
        else:
            hi = mid
    return StockBudget(lo * period_days, lo, risk(lo), base, h)


def pool_budget(
    capacity_by_day: np.ndarray | list[float] | float, utilisation: float, period: int
) -> float:
    """Unit-days members may book in a period of ``period`` days.

    ``capacity_by_day`` gives the units available on each day of the period; a
    shorter array repeats its last value (capacity stays as last known).
    """
    if not 0 < utilisation <= 1:
        raise QuotaError(f"utilisation must be in (0, 1], got {utilisation}")
    if period < 1:
        raise QuotaError(f"a period has at least one day, got {period}")
    cap = np.atleast_1d(np.asarray(capacity_by_day, dtype=float))
    if cap.size == 0 or not np.isfinite(cap).all():
        raise QuotaError("capacity_by_day must be finite numbers, at least one")
    if len(cap) < period:
        cap = np.concatenate([cap, np.full(period - len(cap), cap[-1])])
    return float(utilisation * np.clip(cap[:period], 0.0, None).sum())
