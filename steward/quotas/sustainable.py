"""Sustainable budgets and deficits: how much members can use per period. Pure numpy.

Stock (the long-run balance over a seasonal cycle): members can use, per day,
what the resource is reliably replenished with plus what it holds above its
reserve spread over the horizon::

    rate = inflow_q + (level0 + pledged - reserve) / horizon_days

``inflow_q`` is the ``risk_target`` quantile of the mean daily replenishment over
the horizon, from the weekly replenishment of the last seasonal cycle (a year of
a rain tank's yield, a fund's dues and donations) under a normal approximation
of the mean of ``horizon_days / 7`` weeks. At that rate the level at the
horizon's end is at or above the reserve with probability about
``1 - risk_target``. A dry summer is paid for by a wet winter: the budget is not
"never below the reserve on any day", which would give a tank that empties every
summer a budget near zero all year. A rate of zero or less means "stop using it
now": even with no use, the income over the horizon does not restore the reserve.

Deficit: when the members' ordinary need per period (the median of their total
use per period) is above the budget, the gap per month is what would close it:
that much more income, or that much less use.

Pool: unit-days per period = target utilisation x the capacity of each day; the
units that would bring overbooking under a target come from the forecast's
occupancy quantile (:func:`units_to_meet`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from steward.errors import QuotaError

#: Days in an average month (365.25 / 12): a gap per day becomes a gap per month.
DAYS_PER_MONTH = 365.25 / 12


@dataclass(frozen=True)
class StockBudget:
    """A stock's budget. Rates are per day in the resource's unit."""

    per_period: float
    #: Members' total use per day that the budget allows (never below zero).
    daily_rate: float
    #: The replenishment per day the budget counts on (risk-target quantile).
    inflow_rate: float
    #: (level + pledged - reserve) / horizon: above 0 a surplus to draw down, below 0 a hole.
    drawdown_rate: float
    horizon_days: int
    #: The balance is zero or negative: members should stop using it now.
    stop: bool


def long_run_stock_budget(
    level0: float,
    reserve: float | None,
    weekly_inflow: Sequence[float] | np.ndarray,
    *,
    horizon_days: int,
    risk_target: float,
    period_days: float,
    pledged: float = 0.0,
) -> StockBudget:
    """The most members can use per period on the long-run balance (module docstring).

    ``weekly_inflow``: replenishment per complete week over the last seasonal cycle
    (at least one week). ``pledged``: scheduled deliveries within the horizon.
    Closed form with a steady inflow of ``r`` per day: rate = r + (level0 - reserve) / H.
    Raises QuotaError on a risk target outside (0, 1), a non-positive horizon or
    period, or inflow that is empty or not finite.
    """
    if not 0 < risk_target < 1:
        raise QuotaError(f"risk_target must be between 0 and 1, got {risk_target}")
    if period_days <= 0:
        raise QuotaError(f"period_days must be > 0, got {period_days}")
    if horizon_days < 1:
        raise QuotaError(f"horizon_days must be at least 1, got {horizon_days}")
    weeks = np.clip(np.asarray(weekly_inflow, dtype=float), 0.0, None)
    if weeks.ndim != 1 or weeks.size == 0:
        raise QuotaError("weekly_inflow needs at least one complete week of replenishment")
    if not np.isfinite(weeks).all() or not math.isfinite(level0) or not math.isfinite(pledged):
        raise QuotaError("level, pledged and weekly_inflow must be finite numbers")
    mean = float(weeks.mean())
    sd = float(weeks.std(ddof=1)) if weeks.size > 1 else 0.0
    z = NormalDist().inv_cdf(1.0 - risk_target)
    horizon_weeks = max(horizon_days / 7.0, 1.0)
    inflow = max(mean - z * sd / math.sqrt(horizon_weeks), 0.0) / 7.0
    drawdown = (level0 + pledged - float(reserve or 0.0)) / horizon_days
    rate = inflow + drawdown
    stop = rate <= 0
    rate = max(rate, 0.0)
    return StockBudget(rate * period_days, rate, inflow, drawdown, horizon_days, stop)


def monthly_gap(budget_rate: float, need_per_period: float, period_days: float) -> float:
    """Members' ordinary need above the budget, per month (0 when the budget covers it).

    ``budget_rate`` per day; ``need_per_period`` per period of ``period_days`` days.
    gap = (need / period_days - budget_rate) x 365.25 / 12.
    """
    if period_days <= 0:
        raise QuotaError(f"period_days must be > 0, got {period_days}")
    return max(need_per_period / period_days - budget_rate, 0.0) * DAYS_PER_MONTH


def units_to_meet(
    occupancy_quantile: Sequence[float | None], capacity: Sequence[float | None]
) -> int:
    """More units so that the forecast's occupancy quantile never exceeds capacity.

    With the ``1 - target`` occupancy quantile per day (e.g. ``q0.9`` for a 10%
    target) and the capacity per day, P(demand over capacity + k) <= target on
    every day exactly when k >= max over days of (quantile - capacity): the
    answer is that maximum rounded up, or 0. Days missing either figure are skipped.
    """
    gaps = [
        float(q) - float(c)
        for q, c in zip(occupancy_quantile, capacity, strict=False)
        if q is not None and c is not None
    ]
    if not gaps:
        return 0
    return max(math.ceil(max(gaps) - 1e-9), 0)


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
