"""A resource's budget for the current period, from its ledger and a forecast.

The pipeline usually passes budgets it computed from its own forecast paths;
this module computes them when it does not: it fits the daily use and
replenishment with :func:`steward.forecast.selection.select`, draws sample
paths, adds pledged (scheduled) deliveries, and solves for the budget.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import Connection, select

from steward import flows
from steward.config import QuotaPolicyConfig, Settings
from steward.quotas.explain import fmt, pct
from steward.quotas.periods import Bounds
from steward.quotas.sustainable import pool_budget, sustainable_stock_budget
from steward.quotas.tracking import Budget
from steward.store.catalog import ResourceInfo
from steward.store.models import CapacityChange, Event

#: (daily series, horizon, number of paths, rng) -> (n, horizon) simulated paths.
Sampler = Callable[[pd.Series, int, int, np.random.Generator], np.ndarray]


def forecast_sampler(y: pd.Series, h: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """Sample paths from the forecaster that wins the backtest for ``y``."""
    from steward.forecast.selection import select

    if len(y) == 0:
        return np.zeros((1, h))
    chosen = select(y.astype("float64"), h, nonnegative=True)
    return np.clip(chosen.forecaster.sample_paths(h, n, rng), 0.0, None)


def _scheduled_inflow(conn: Connection, res: ResourceInfo, now: datetime, h: int) -> np.ndarray:
    """Pledged deliveries (scheduled replenish events) per future local day."""
    rows = conn.execute(
        select(Event.occurred_at, Event.quantity).where(
            Event.resource_id == res.id,
            Event.scheduled.is_(True),
            Event.kind == "replenish",
            Event.reverses_id.is_(None),
            Event.occurred_at > now,
            Event.occurred_at <= now + timedelta(days=h),
        )
    ).all()
    out = np.zeros(h)
    today = pd.Timestamp(now).tz_convert(res.timezone).normalize()
    for at, qty in rows:
        day = (pd.Timestamp(at).tz_convert(res.timezone).normalize() - today).days - 1
        out[min(max(day, 0), h - 1)] += float(qty)
    return out


def stock_budget(
    conn: Connection,
    res: ResourceInfo,
    policy: QuotaPolicyConfig,
    bounds: Bounds,
    *,
    now: datetime,
    horizon_days: int,
    paths: int,
    sampler: Sampler,
    rng: np.random.Generator,
) -> Budget:
    level0 = float(flows.level(conn, res, now))
    daily = flows.daily_flows(conn, res, until=now)
    history = daily.iloc[:-1] if len(daily) > 1 else daily  # today is not complete yet
    use = sampler(history["used"], horizon_days, paths, rng)
    rep = sampler(history["replenished"], horizon_days, paths, rng)
    rep = rep + _scheduled_inflow(conn, res, now, horizon_days)[None, :]
    reserve = float(res.reserve) if res.reserve is not None else None
    capacity = float(res.capacity) if res.capacity is not None else None
    result = sustainable_stock_budget(
        level0, use, rep, reserve, capacity, policy.risk_target, bounds.days
    )
    u = res.unit
    what = f"its reserve of {fmt(reserve, u)}" if reserve else "empty"
    if result.per_period == 0:
        basis = (
            f"{res.name} can sustain no use in {bounds.label()}: even with no use the forecast "
            f"gives a {pct(result.risk_without_use)} chance of falling below {what} within "
            f"{horizon_days} days (the policy accepts {pct(policy.risk_target)})"
        )
    else:
        basis = (
            f"{res.name} can sustain {fmt(result.per_period, u)} of use in {bounds.label()} "
            f"({fmt(result.daily_rate, u)} a day), which keeps the chance of falling below "
            f"{what} within the next {horizon_days} days at {pct(policy.risk_target)} or less, "
            f"given its level of {fmt(level0, u)} and the forecast replenishment"
        )
    return Budget(result.per_period, basis)


def pool_period_budget(
    conn: Connection, res: ResourceInfo, policy: QuotaPolicyConfig, bounds: Bounds
) -> Budget:
    changes = conn.execute(
        select(CapacityChange.effective_at, CapacityChange.delta).where(
            CapacityChange.resource_id == res.id
        )
    ).all()
    base = float(res.capacity or 0)
    by_day = []
    for i in range(bounds.days):
        day_start = bounds.start + timedelta(days=i)
        by_day.append(base + sum(float(d) for at, d in changes if at <= day_start))
    amount = pool_budget(np.array(by_day), policy.utilisation, bounds.days)
    units = fmt(by_day[0]) if len(set(by_day)) == 1 else f"{fmt(min(by_day))}-{fmt(max(by_day))}"
    basis = (
        f"{res.name} can lend {fmt(amount)} unit-days in {bounds.label()}: "
        f"{pct(policy.utilisation)} of {units} units over {bounds.days} days, "
        "so that waiting lists stay short"
    )
    return Budget(amount, basis)


def period_budget(
    conn: Connection,
    settings: Settings,
    res: ResourceInfo,
    policy: QuotaPolicyConfig,
    bounds: Bounds,
    *,
    now: datetime,
    sampler: Sampler = forecast_sampler,
    rng: np.random.Generator | None = None,
) -> Budget:
    if str(res.kind) == "pool":
        return pool_period_budget(conn, res, policy, bounds)
    return stock_budget(
        conn,
        res,
        policy,
        bounds,
        now=now,
        horizon_days=settings.forecast.horizon_days,
        paths=settings.forecast.paths,
        sampler=sampler,
        rng=rng or np.random.default_rng(0),
    )
