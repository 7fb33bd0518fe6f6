"""A resource's budget for a quota period, read from the store (the maths is in sustainable).

Data flows one way: this module reads the ledger (level, replenishment over the
last seasonal cycle, pledged deliveries, members' use per period, single draws),
calls the pure functions of :mod:`steward.quotas.sustainable`, and returns a
:class:`Budget` that :mod:`steward.quotas.tracking` splits among members. It
never fits a forecaster: the forecast engine's projections are read by the
alert rules from the stored forecast runs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
from babel.numbers import is_currency
from sqlalchemy import Connection, insert, select, update

from steward import availability, flows
from steward.config import QuotaPolicyConfig
from steward.errors import QuotaError
from steward.headlines import full_day
from steward.quotas.explain import fmt, pct
from steward.quotas.periods import Bounds, previous_periods
from steward.quotas.sustainable import (
    long_run_stock_budget,
    monthly_gap,
    pool_budget,
)
from steward.quotas.usage import MemberUsage
from steward.store.catalog import ResourceInfo
from steward.store.models import CapacityChange, Event, QuotaBudget

#: The seasonal cycle whose replenishment the stock budget counts on.
CYCLE_DAYS = 364
#: Members' ordinary need: the median of their total use over up to this many past periods.
NEED_PERIODS = 12
_Q = Decimal("0.000001")
#: One ordinary use: 4 in 5 recorded single uses are no larger.
ORDINARY_QUANTILE = 0.8


@dataclass(frozen=True)
class Budget:
    """What members can use in a period (resource unit), and why, in words.

    ``need``: the members' ordinary total use per period; ``single_use``: one
    ordinary use (:func:`single_use`: 4 in 5 single draws, or loans in unit-days,
    are no larger); ``state``: ``ok``,
    ``deficit`` (need above the budget; ``gap_per_month`` and ``remedy`` say what
    closes it) or ``stop`` (no use is sustainable). None: not known yet.
    """

    amount: float
    basis: str
    need: float | None = None
    single_use: float | None = None
    state: str = "ok"
    gap_per_month: float = 0.0
    remedy: str | None = None


def _scheduled_inflow(conn: Connection, res: ResourceInfo, now: datetime, h: int) -> float:
    """Pledged deliveries (scheduled replenish events) within the next ``h`` days."""
    rows = conn.execute(
        select(Event.quantity).where(
            Event.resource_id == res.id,
            Event.scheduled.is_(True),
            Event.kind == "replenish",
            Event.reverses_id.is_(None),
            Event.occurred_at > now,
            Event.occurred_at <= now + timedelta(days=h),
        )
    ).all()
    return float(sum(float(q) for (q,) in rows))


def weekly_inflow(daily: pd.DataFrame) -> np.ndarray:
    """Replenishment per 7-day block over the last cycle of complete days (newest last)."""
    history = daily["replenished"].iloc[:-1] if len(daily) > 1 else daily["replenished"]
    values = history.fillna(0.0).to_numpy(dtype=float)[-CYCLE_DAYS:]
    weeks = len(values) // 7
    if weeks == 0:
        return np.array([])
    return values[len(values) - weeks * 7 :].reshape(weeks, 7).sum(axis=1)


def single_use(conn: Connection, res: ResourceInfo) -> float | None:
    """One ordinary use: the ORDINARY_QUANTILE of single draws (stock) or of closed
    loans in unit-days (pool); None without any.

    Not the median: half of all ordinary uses are above the median, so a quota of one
    median use would put every member who made one slightly larger use over quota.
    """
    ev = flows.events_frame(conn, res)
    ev = ev.loc[ev["sign"] > 0]
    if str(res.kind) == "stock":
        uses = ev.loc[(ev["kind"] == "use") & ev["member_id"].notna(), "quantity"]
        return float(uses.astype(float).quantile(ORDINARY_QUANTILE)) if len(uses) else None
    loans = ev.loc[ev["loan_ref"].notna()]
    out = (
        loans.loc[loans["kind"] == "use"]
        .groupby("loan_ref")
        .agg(at=("occurred_at", "min"), units=("quantity", "sum"))
    )
    back = loans.loc[loans["kind"] == "replenish"].groupby("loan_ref")["occurred_at"].max()
    both = out.join(back.rename("back"), how="inner")
    days = (both["back"] - both["at"]).dt.total_seconds() / 86400
    unit_days = (days * both["units"]).loc[days > 0]
    return float(unit_days.quantile(ORDINARY_QUANTILE)) if len(unit_days) else None


def ordinary_need(usage: MemberUsage, bounds: Bounds, timezone: str) -> float | None:
    """Median of the members' total use per period over up to NEED_PERIODS past periods."""
    firsts = usage.first_use()
    if not firsts:
        return None
    first = min(firsts.values())
    past = [p for p in previous_periods(bounds, timezone, NEED_PERIODS) if p.end > first]
    if not past:
        return None
    totals = [sum(usage.between(p.start, p.end).values()) for p in past]
    return float(np.median(totals))


def stock_budget(
    conn: Connection,
    res: ResourceInfo,
    policy: QuotaPolicyConfig,
    bounds: Bounds,
    *,
    now: datetime,
    horizon_days: int,
) -> Budget:
    """The stock's long-run budget for ``bounds`` (see :func:`long_run_stock_budget`).

    Raises QuotaError when there is not yet a complete week of history.
    """
    level0 = float(flows.level(conn, res, now))
    weeks = weekly_inflow(flows.daily_flows(conn, res, until=now))
    if len(weeks) == 0:
        raise QuotaError(
            f"{res.slug}: a stock budget needs at least one complete week of history",
            hint="quotas start once the ledger covers a week; collect more data first",
        )
    pledged = _scheduled_inflow(conn, res, now, horizon_days)
    reserve = float(res.reserve) if res.reserve is not None else None
    result = long_run_stock_budget(
        level0,
        reserve,
        weeks,
        horizon_days=horizon_days,
        risk_target=policy.risk_target,
        period_days=bounds.days,
        pledged=pledged,
    )
    u = res.unit
    what = f"its reserve of {fmt(reserve, u)}" if reserve else "empty"
    end = (pd.Timestamp(now).tz_convert(res.timezone) + pd.Timedelta(days=horizon_days)).date()
    held = level0 + pledged - (reserve or 0.0)
    above = (
        f"{fmt(held, u)} above {what} spread over {horizon_days} days"
        if held >= 0
        else f"{fmt(-held, u)} to refill up to {what} within {horizon_days} days"
    )
    sources = (
        f"its reliable replenishment ({fmt(result.inflow_rate, u)} a day over the last "
        f"{len(weeks)} weeks, at {pct(policy.risk_target)} risk) and {above}"
    )
    if result.stop:
        basis = (
            f"{res.name} can sustain no use in {bounds.label()}: stop using it now. Even with "
            f"no use, {sources} leaves it below {what} on {full_day(end)}"
        )
    else:
        basis = (
            f"{res.name} can sustain {fmt(result.per_period, u)} of use in {bounds.label()} "
            f"({fmt(result.daily_rate, u)} a day): {sources}, so that the chance of being "
            f"below {what} on {full_day(end)} stays under {pct(policy.risk_target)}"
        )
    usage = MemberUsage(conn, res)
    need = ordinary_need(usage, bounds, res.timezone)
    state, gap, remedy = "stop" if result.stop else "ok", 0.0, None
    if need is not None:
        gap = monthly_gap(result.daily_rate, need, bounds.days)
        if gap > 0:
            state = "stop" if result.stop else "deficit"
            # A fund lives on income; a tank or seed bank on refills and harvests.
            inflow = "income" if is_currency(u) else "replenishment"
            # The shortfall in this period's own figures, so that the three numbers
            # add up; the monthly rate (an average month, 30.44 days) comes after.
            short = need - result.per_period
            # A month's own shortfall and the average month's (30.44 days) differ by a
            # few percent: "663.56 USD ... (651.52 USD a month)" read as two problems.
            pace = "" if bounds.kind == "month" else f" ({fmt(gap, u)} a month at that pace)"
            remedy = (
                f"needs {fmt(short, u)} more {inflow} in {bounds.label()}, or as much less "
                f"use{pace}, to keep the chance of being "
                f"below {what} on {full_day(end)} under {pct(policy.risk_target)}: members "
                f"ordinarily use {fmt(need, u)} in {bounds.label()} and it can sustain "
                f"{fmt(result.per_period, u)}"
            )
    return Budget(result.per_period, basis, need, single_use(conn, res), state, gap, remedy)


def _utc(at: datetime) -> datetime:
    # SQLite returns naive datetimes; every stored moment is UTC.
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def pool_period_budget(
    conn: Connection,
    res: ResourceInfo,
    policy: QuotaPolicyConfig,
    bounds: Bounds,
    now: datetime,
) -> Budget:
    """Unit-days the pool can lend in ``bounds`` at the policy's utilisation.

    Units per day as the forecast counts them (:mod:`steward.availability`): the
    recorded capacity (configured units plus changes effective by then) less the
    loans counted lost at ``now``, plus planned (scheduled) changes dated after
    ``now`` and by then. A plan dated before ``now`` did not happen as planned (had
    it, it would be recorded) and counts no more than it does in the forecast.

    Deficit: members' ordinary total use per period (their median over past
    periods) above the budget; ``remedy`` names the units to add (or the use to
    cut) that would close it.
    """
    rows = conn.execute(
        select(CapacityChange.effective_at, CapacityChange.delta, CapacityChange.scheduled).where(
            CapacityChange.resource_id == res.id
        )
    ).all()
    changes = [(_utc(at), float(d)) for at, d, planned in rows if not planned or _utc(at) > now]
    units = availability.units(conn, res, now)
    base = float(res.capacity or 0) - units.lost
    by_day = []
    for i in range(bounds.days):
        day_start = bounds.start + timedelta(days=i)
        by_day.append(base + sum(d for at, d in changes if at <= day_start))
    amount = pool_budget(np.array(by_day), policy.utilisation, bounds.days)
    n_units = fmt(by_day[0]) if len(set(by_day)) == 1 else f"{fmt(min(by_day))}-{fmt(max(by_day))}"
    # The basis reaches members (their quota's explanation, My usage): no due date,
    # which could point at the member who holds the loan. Stewards read it dated in
    # status and on the resource page.
    why = units.reason(res.timezone, now, dated=False)
    basis = (
        f"{res.name} can lend {fmt(amount)} unit-days in {bounds.label()}: "
        f"{pct(policy.utilisation)} of {n_units} units"
        + (f" ({why})" if why else "")
        + f" over {bounds.days} days, so that waiting lists stay short"
    )
    need = ordinary_need(MemberUsage(conn, res), bounds, res.timezone)
    state, gap, remedy = "ok", 0.0, None
    if need is not None and need > amount:
        gap = monthly_gap(amount / bounds.days, need, bounds.days)
        per_unit = policy.utilisation * bounds.days
        more = math.ceil((need - amount) / per_unit - 1e-9)
        state = "deficit"
        if units.lost == 1:
            back = "; a loan long past due that comes back counts as one"
        elif units.lost:
            back = f"; each of the {units.lost} loans long past due that comes back counts as one"
        else:
            back = ""
        pace = "" if bounds.kind == "month" else f" ({fmt(gap)} a month at that pace)"
        remedy = (
            f"needs {more} more {'unit' if more == 1 else 'units'} in {bounds.label()} "
            f"(each lends {fmt(per_unit)} unit-days at {pct(policy.utilisation)} use{back}), or "
            f"{fmt(need - amount)} unit-days less borrowing{pace}, "
            f"so that waiting lists stay short: members ordinarily borrow {fmt(need)} "
            f"unit-days in {bounds.label()} and it can lend {fmt(amount)} unit-days"
        )
    return Budget(amount, basis, need, single_use(conn, res), state, gap, remedy)


def period_budget(
    conn: Connection,
    res: ResourceInfo,
    policy: QuotaPolicyConfig,
    bounds: Bounds,
    *,
    now: datetime,
    horizon_days: int,
) -> Budget:
    """The budget of ``res`` for the period ``bounds`` (stock or pool)."""
    if str(res.kind) == "pool":
        return pool_period_budget(conn, res, policy, bounds, now)
    return stock_budget(conn, res, policy, bounds, now=now, horizon_days=horizon_days)


def _dec(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(repr(float(value))).quantize(_Q)


def record_budget(
    conn: Connection, res: ResourceInfo, bounds: Bounds, budget: Budget, now: datetime
) -> Budget:
    """Store the period's budget; returns the one the period's quotas are set from.

    The first budget of a period is its opening budget; a later computation
    updates ``amount`` (and the deficit figures) but the opening one stands for
    the running period's quotas. One ordinary use (``single_use``), the smallest
    quota, also stays as it was when the period opened, so a quota set from it
    never falls below it as new uses arrive.
    """
    found = conn.execute(
        select(QuotaBudget.id, QuotaBudget.opening_amount, QuotaBudget.single_use).where(
            QuotaBudget.resource_id == res.id, QuotaBudget.period_start == bounds.start
        )
    ).first()
    values = {
        "period_end": bounds.end,
        "amount": _dec(budget.amount),
        "need": _dec(budget.need),
        "single_use": _dec(budget.single_use),
        "gap_per_month": _dec(budget.gap_per_month),
        "state": budget.state,
        "basis": budget.basis,
        "remedy": budget.remedy,
        "computed_at": now,
    }
    if found is None:
        conn.execute(
            insert(QuotaBudget),
            {
                "resource_id": res.id,
                "period_start": bounds.start,
                "opening_amount": _dec(budget.amount),
                **values,
            },
        )
        return budget
    if found.single_use is not None:
        values["single_use"] = found.single_use
        budget = replace(budget, single_use=float(found.single_use))
    conn.execute(update(QuotaBudget).where(QuotaBudget.id == found.id).values(**values))
    return budget
