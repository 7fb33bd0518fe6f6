"""Per-member quotas for one resource and period: allocation, use, pace, status.

The graduated ladder a member climbs, from the quota's own numbers:
``ok`` -> ``nudged`` (80% used) -> ``warned`` (some use, projected over) -> ``review`` (over).

Who shares the budget: the members who actually use the resource. A member is
*active* on a resource when they used it in the ``ACTIVE_WEEKS`` weeks before the
computation (for a pool, had a unit on loan then); the budget is split among the
active members by the policy. Every other member holds a *starter share* so they
can start using it: one ordinary use of the resource (4 in 5 of its single draws,
or of its loans in unit-days, are no larger), within the policy's cap. Starter shares are paid
for out of the budget at the pace newcomers have arrived: the median number of
members per past period who used it after ``ACTIVE_WEEKS`` weeks without, times
the starter share, is set aside before the split.

A quota is never smaller than one ordinary use (a share smaller than that tells
a member nothing they could act on): when the budget cannot give every active
member one ordinary use, each gets exactly one, and the explanation says the
budget falls short. The one exception is a budget of zero ("stop using it now"),
which gives quotas of zero. A quota is ``suspended`` only when it cannot be
computed at all (the resource's budget cannot be computed yet:
:func:`suspend_quotas`), with the reason in words.

A quota's allocation is set when the period opens (or when the member first
appears in it) and is what the member was told: a later, lower budget applies
from the next period and is announced in the explanation, never applied to the
running one. Policy floors are scaled down so they fit in the budget.

The projection (``projected``, what ``warned`` reads): the use so far, plus the
member's recent pace (``pace`` in :func:`compute_quotas`) over the rest of the
period. For a pool, a loan still out is not a habit: each open loan with a due date
is counted on its own, its units until it is due back, capped at the period's end
(:func:`open_loans_ahead`), and the pace is read without it, so the same loan is not
counted twice. An overdue loan still out is counted as returned now: it is the
overdue reminders' case, and projecting it to the period's end warned a member
whose drill was two days late of a month of borrowing, a second alert for one
problem; each day it stays out still adds to what they have used. An open loan
without a due date stays in the pace, as any other use. A stock's projection is the pace alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from statistics import median
from typing import Any

from sqlalchemy import Connection, insert, select, update

from steward.config import QuotaPolicyConfig, Settings
from steward.display import local_day
from steward.errors import QuotaError
from steward.loan_book import open_loans_now
from steward.quotas.allocation import Claimant, allocate
from steward.quotas.explain import (
    CountedLoan,
    ShareFacts,
    fmt,
    later_text,
    quota_places,
    quota_unit,
    share_text,
    stop_text,
    suspended_text,
    tracking_text,
)
from steward.quotas.periods import Bounds, period_bounds, previous_periods
from steward.quotas.resource_budget import Budget
from steward.quotas.usage import MemberUsage
from steward.store.catalog import ResourceInfo
from steward.store.models import Member, Quota

NUDGE_AT = 0.8
#: Recent pace: use over the last two weeks, per day (see ``pace`` in compute_quotas).
PACE_DAYS = 14
#: Need: average use over up to this many past periods.
NEED_PERIODS = 6
#: Active members: those who used the resource in this many weeks before now.
ACTIVE_WEEKS = 12
#: Newcomers per period: the median over up to this many past periods.
NEWCOMER_PERIODS = 12
_Q = Decimal("0.000001")


@dataclass(frozen=True)
class QuotaRow:
    member_id: int
    member_code: str
    member_name: str
    resource: str
    unit: str
    period_start: datetime
    period_end: datetime
    allocation: Decimal
    used: Decimal
    projected: Decimal
    status: str
    policy: str
    explanation: str

    @property
    def remaining(self) -> Decimal:
        """The allocation less what was used: negative when over (never clamped to 0)."""
        return self.allocation - self.used


#: The ladder's steps, most urgent first: the rows a steward acts on lead every quota
#: list (the CLI's and the dashboard's). By member number, the demo's one warned
#: member of 300 sat near row 198.
STATUS_ORDER = ("suspended", "review", "warned", "nudged", "ok")


def urgency(status: str) -> int:
    """Rank of a quota ``status`` in :data:`STATUS_ORDER` (0 most urgent; unknown last)."""
    try:
        return STATUS_ORDER.index(status)
    except ValueError:
        return len(STATUS_ORDER)


def ladder(used: float, projected: float, allocation: float) -> str:
    """The member's step on the ladder (see module docstring); not for suspended quotas.

    A pace warning needs some use this period: on the 1st, with nothing used yet, a
    pace read from last month's loans warned members of an overrun they had not begun
    (the demo's first run told three members "Used so far: 0").
    """
    eps = 1e-9
    if used > allocation + eps:
        return "review"
    if projected > allocation + eps and used > eps:
        return "warned"
    if allocation > 0 and used >= NUDGE_AT * allocation - eps:
        return "nudged"
    return "ok"


def policy_for(settings: Settings, slug: str) -> QuotaPolicyConfig:
    try:
        _, res = settings.resource(slug)
    except KeyError:
        raise QuotaError(
            f"resource {slug!r} is not in the configuration",
            hint="add it under commons[].resources",
        ) from None
    if res.quota is None:
        raise QuotaError(
            f"resource {slug!r} has no quota policy",
            hint=f"add a `quota:` section (policy, period, ...) to resource {slug} in the config",
        )
    return res.quota


def _need(
    usage: MemberUsage, member_id: int, first_use: datetime | None, bounds: Bounds, tz: str
) -> tuple[float | None, str]:
    if first_use is None or first_use >= bounds.start:
        return None, "no use on record before this period"
    past = [p for p in previous_periods(bounds, tz, NEED_PERIODS) if p.end > first_use]
    total = sum(usage.between(p.start, p.end).get(member_id, 0.0) for p in past)
    n = len(past)
    return total / n, f"your average over the last {n} {bounds.kind}{'s' if n > 1 else ''}"


def _decimal(value: float) -> Decimal:
    return Decimal(repr(max(value, 0.0))).quantize(_Q)


def _row(
    member: Any,
    resource: ResourceInfo,
    bounds: Bounds,
    policy: QuotaPolicyConfig,
    allocation: Decimal,
    used: float,
    projected: float,
    status: str,
    explanation: str,
) -> QuotaRow:
    """One member's quota row; ``member`` is a row with ``id``, ``code`` and ``name``."""
    return QuotaRow(
        member_id=member.id,
        member_code=member.code,
        member_name=member.name,
        resource=resource.slug,
        unit=resource.unit,
        period_start=bounds.start,
        period_end=bounds.end,
        allocation=allocation,
        used=_decimal(used),
        projected=_decimal(projected),
        status=status,
        policy=policy.policy,
        explanation=explanation,
    )


@dataclass(frozen=True)
class LoanAhead:
    """A member's open loan of a pool that a projection counts until it is due back.

    ``units`` still out at the projection's moment; ``days``: from that moment to
    its due date, or to the period's end when that is earlier (0 for an overdue
    loan, and once the period is over); ``ahead``: ``units x days`` in unit-days.
    ``counted`` says so in the member's words (:class:`~steward.quotas.explain.CountedLoan`).
    """

    loan_ref: str
    member_id: int
    units: float
    days: float
    counted: CountedLoan

    @property
    def ahead(self) -> float:
        """Unit-days the loan adds to the projection: ``units x days``."""
        return self.units * self.days


def open_loans_ahead(
    conn: Connection,
    resource: ResourceInfo,
    usage: MemberUsage,
    now: datetime,
    period_end: datetime,
) -> dict[int, list[LoanAhead]]:
    """Per member id, their open loans of pool ``resource`` at ``now`` that have a due date.

    Oldest checkout first. Open loans as :func:`steward.loan_book.open_loans_now`
    finds them (due date: the latest term begun by ``now``); units from ``usage``.
    A loan due by ``period_end`` is counted until its due date, one due later to
    ``period_end``, an overdue one (due at or before ``now``) as returned at ``now``
    (0 days ahead).
    Loans without a due date or a member are left out (the pace counts them). A
    stock gives ``{}``. ``now`` and ``period_end`` are tz-aware (``ValueError`` if not).
    """
    if str(resource.kind) != "pool":
        return {}
    loans = open_loans_now(conn, [resource.id], as_of=now)
    loans = loans.loc[loans["due_at"].notna() & loans["member_id"].notna()]
    if loans.empty:
        return {}
    units = usage.on_loan(list(loans["loan_ref"]), now)
    out: dict[int, list[LoanAhead]] = {}
    for ref, member_id, due_at in zip(
        loans["loan_ref"], loans["member_id"], loans["due_at"], strict=True
    ):
        held = units.get(str(ref), 0.0)
        if held <= 0:
            continue
        due = due_at.to_pydatetime()
        if due <= now:
            until, stop = "overdue", now
        elif due > period_end:
            until, stop = "end", period_end
        else:
            until, stop = "due", due
        days = max((stop - now).total_seconds() / 86400, 0.0)
        # The day it is due back: a due instant is the first one overdue.
        day = local_day(due - timedelta(microseconds=1), resource.timezone)
        out.setdefault(int(member_id), []).append(
            LoanAhead(str(ref), int(member_id), held, days, CountedLoan(day, until))
        )
    return out


def expected_newcomers(usage: MemberUsage, bounds: Bounds, tz: str) -> float:
    """Members who start using the resource in an ordinary period (median, may be 0).

    Over up to NEWCOMER_PERIODS past periods: the members who used it in the period
    after ``ACTIVE_WEEKS`` weeks without. Only periods with ``ACTIVE_WEEKS`` weeks of
    recorded use before them count (in the first weeks of a ledger every user would
    look new); with none, 0.
    """
    firsts = usage.first_use()
    if not firsts:
        return 0.0
    first = min(firsts.values())
    counts = []
    for p in previous_periods(bounds, tz, NEWCOMER_PERIODS):
        if p.start - timedelta(weeks=ACTIVE_WEEKS) < first:
            break
        now_users = {k for k, v in usage.between(p.start, p.end).items() if v > 0}
        before = usage.between(p.start - timedelta(weeks=ACTIVE_WEEKS), p.start)
        counts.append(sum(1 for k in now_users if before.get(k, 0.0) <= 0))
    return float(median(counts)) if counts else 0.0


def compute_quotas(
    conn: Connection,
    settings: Settings,
    resource: ResourceInfo,
    *,
    budget: Budget | float,
    period_start: datetime,
    period_end: datetime,
    now: datetime,
) -> list[QuotaRow]:
    """Split ``budget`` among the members who use ``resource`` and upsert every member's Quota.

    Active members (use in the last ``ACTIVE_WEEKS`` weeks) share the budget less the
    starter reserve; the others hold a starter share (module docstring). Raises
    QuotaError when the period is not a calendar period of the resource's policy.
    """
    policy = policy_for(settings, resource.slug)
    bounds = period_bounds(period_start, resource.timezone, policy.period)
    if bounds.start != period_start or bounds.end != period_end:
        raise QuotaError(
            f"{period_start.isoformat()} - {period_end.isoformat()} is not a calendar "
            f"{policy.period} in {resource.timezone}",
            hint="use steward.quotas.periods.period_bounds to get a period",
        )
    unit = quota_unit(resource.kind, resource.unit)  # one unit in every quota text
    if not isinstance(budget, Budget):
        budget = Budget(float(budget), f"The sustainable budget is {fmt(budget, unit)}")
    members = conn.execute(
        select(Member.id, Member.code, Member.name, Member.weight)
        .where(Member.commons_id == resource.commons_id, Member.status == "active")
        .order_by(Member.code)
    ).all()
    usage = MemberUsage(conn, resource)
    firsts = usage.first_use()
    until = min(now, bounds.end)
    recent_use = usage.between(now - timedelta(weeks=ACTIVE_WEEKS), until)
    active = [m for m in members if recent_use.get(m.id, 0.0) > 0]
    active_ids = {m.id for m in active}
    needs = {m.id: _need(usage, m.id, firsts.get(m.id), bounds, resource.timezone) for m in active}
    claimants = [Claimant(m.code, float(m.weight), needs[m.id][0]) for m in active]
    cap = None if policy.cap is None else float(policy.cap)
    single = budget.single_use
    stop = budget.amount <= 0
    newcomers = expected_newcomers(usage, bounds, resource.timezone)
    # The starter share: one ordinary use, within the cap; without any use on record,
    # one claimant's equal share (everyone is a claimant when no one is active).
    if stop:
        starter = 0.0
    elif single is not None and single > 0:
        starter = single if cap is None else min(single, cap)
    else:
        starter = budget.amount / max(len(active) + math.ceil(newcomers), 1)
        if not active:
            starter = budget.amount / max(len(members), 1)
    reserve = min(starter * newcomers, budget.amount) if active else 0.0
    for_active = budget.amount - reserve
    floor = None if policy.floor is None else float(policy.floor)
    floor_scaled = floor is not None and bool(active) and floor * len(active) > for_active
    if floor is not None and floor_scaled:
        # A floor is a promise only as far as the budget goes: scale it so the floors fit.
        floor = for_active / len(active)
    # Never smaller than one ordinary use (unless the budget says stop).
    minimum = 0.0 if stop or single is None else (single if cap is None else min(single, cap))
    raised = minimum > (floor or 0.0)
    effective_floor = max(floor or 0.0, minimum) or None
    alloc = allocate(policy.policy, for_active, claimants, floor=effective_floor, cap=policy.cap)
    told = dict(
        conn.execute(
            select(Quota.member_id, Quota.allocation).where(
                Quota.resource_id == resource.id,
                Quota.period_start == bounds.start,
                Quota.status != "suspended",
            )
        ).all()
    )

    used = usage.between(bounds.start, until)
    # A pool's open loans with a due date are counted until then, on their own: the
    # pace leaves them out (module docstring).
    loans = open_loans_ahead(conn, resource, usage, now, bounds.end)
    counted = {loan.loan_ref for held in loans.values() for loan in held}
    recent = usage.between(now - timedelta(days=PACE_DAYS), now, without=counted)
    habit = (
        usage.between(now - timedelta(weeks=ACTIVE_WEEKS), until, without=counted)
        if counted
        else recent_use
    )
    remaining_days = max((bounds.end - now).total_seconds() / 86400, 0.0)

    def pace(member_id: int) -> float:
        """Use per day (unit-days per day for a pool): the lower of the last PACE_DAYS'
        rate and the rate over the active window (or since the first use, if later), so
        one lumpy use (a season's seeds, a week's loan) is not extrapolated as a daily
        habit. Without the open loans counted on their own (``loans``)."""
        short = recent.get(member_id, 0.0) / PACE_DAYS
        first = firsts.get(member_id)
        if first is None:
            return short
        days = (now - first).total_seconds() / 86400
        days = min(max(days, PACE_DAYS), ACTIVE_WEEKS * 7)
        return min(short, habit.get(member_id, 0.0) / days)

    total_weight = sum(c.weight for c in claimants)
    weights = {c.key: c for c in claimants}

    rows: list[QuotaRow] = []
    for m in members:
        is_active = m.id in active_ids
        fresh = alloc.amounts[m.code] if is_active else _decimal(starter)
        amount = told.get(m.id, fresh)
        u = used.get(m.id, 0.0)
        held = loans.get(m.id, [])
        projected = u + sum(loan.ahead for loan in held) + pace(m.id) * remaining_days
        status = ladder(u, projected, float(amount))
        c = weights.get(m.code)
        facts = ShareFacts(
            policy=policy.policy,
            budget=for_active,
            budget_basis=budget.basis,
            unit=unit,
            members=len(active),
            allocation=amount,
            weight=float(m.weight) if c is None else c.weight,
            total_weight=total_weight,
            need=None if c is None else c.need,
            need_basis=needs[m.id][1] if m.id in needs else "",
            level=alloc.level,
            floor=floor if not raised else minimum,
            cap=cap,
            at_floor=m.code in alloc.at_floor,
            at_high=m.code in alloc.at_high,
            floors_exceed_budget=alloc.floors_exceed_budget,
            floor_asked=float(policy.floor) if floor_scaled and policy.floor is not None else None,
            active=is_active,
            active_weeks=ACTIVE_WEEKS,
            period=bounds.kind,
            single_use=single,
            minimum_raised=raised,
            starter=starter,
            reserve=reserve,
            newcomers=newcomers,
            total_budget=budget.amount,
            places=quota_places(amount, u, projected),
        )
        text = share_text(facts)
        if amount != fresh:
            text += " " + later_text(amount, fresh, unit)
        if stop:
            text += " " + stop_text(budget.state, unit)
        text += " " + tracking_text(
            u,
            float(amount),
            projected,
            unit,
            bounds.label(),
            status,
            [loan.counted for loan in held],
        )
        rows.append(_row(m, resource, bounds, policy, amount, u, projected, status, text))
    _upsert(conn, resource.id, rows, now)
    return rows


def suspend_quotas(
    conn: Connection,
    settings: Settings,
    resource: ResourceInfo,
    bounds: Bounds,
    now: datetime,
    reason: str,
) -> list[QuotaRow]:
    """Record this period's quotas of ``resource`` as ``suspended`` because ``reason``.

    For a resource whose budget cannot be computed (``reason`` says why, in words, as
    a clause: "it has less than one complete week of history"). Each member's use is
    still tracked (allocation 0, status ``suspended``); a member who already holds a
    computed quota for the period keeps it (it is what they were told).
    """
    policy = policy_for(settings, resource.slug)
    unit = quota_unit(resource.kind, resource.unit)
    members = conn.execute(
        select(Member.id, Member.code, Member.name)
        .where(Member.commons_id == resource.commons_id, Member.status == "active")
        .order_by(Member.code)
    ).all()
    computed = set(
        conn.execute(
            select(Quota.member_id).where(
                Quota.resource_id == resource.id,
                Quota.period_start == bounds.start,
                Quota.status != "suspended",
            )
        ).scalars()
    )
    usage = MemberUsage(conn, resource)
    used = usage.between(bounds.start, min(now, bounds.end))
    rows = []
    for m in members:
        if m.id in computed:
            continue
        u = used.get(m.id, 0.0)
        rows.append(
            _row(
                m,
                resource,
                bounds,
                policy,
                Decimal(0),
                u,
                u,
                "suspended",
                suspended_text(resource.name, reason, bounds.label(), u, unit),
            )
        )
    _upsert(conn, resource.id, rows, now)
    return rows


def _upsert(conn: Connection, resource_id: int, rows: list[QuotaRow], now: datetime) -> None:
    if not rows:
        return
    existing = dict(
        conn.execute(
            select(Quota.member_id, Quota.id).where(
                Quota.resource_id == resource_id, Quota.period_start == rows[0].period_start
            )
        ).all()
    )
    for row in rows:
        values = {
            "period_end": row.period_end,
            "allocation": row.allocation,
            "used": row.used,
            "projected": row.projected,
            "policy": row.policy,
            "explanation": row.explanation,
            "status": row.status,
            "computed_at": now,
        }
        qid = existing.get(row.member_id)
        if qid is None:
            conn.execute(
                insert(Quota),
                {
                    "member_id": row.member_id,
                    "resource_id": resource_id,
                    "period_start": row.period_start,
                    **values,
                },
            )
        else:
            conn.execute(update(Quota).where(Quota.id == qid).values(**values))
