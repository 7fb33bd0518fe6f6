"""Per-member quotas for one resource and period: allocation, use, pace, status.

The graduated ladder a member climbs, from the quota's own numbers:
``ok`` -> ``nudged`` (80% used) -> ``warned`` (projected over) -> ``review`` (over).

A quota's allocation is set when the period opens (or when the member first
appears in it) and is what the member was told: a later, lower budget applies
from the next period and is announced in the explanation, never applied to the
running one. A quota smaller than one ordinary use of the resource (its median
single draw) is ``suspended`` with the reason: such a share tells a member
nothing they could act on. Floors are scaled down so they fit in the budget.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import Connection, insert, select, update

from steward.config import QuotaPolicyConfig, Settings
from steward.errors import QuotaError
from steward.quotas.allocation import Claimant, allocate
from steward.quotas.explain import (
    ShareFacts,
    fmt,
    later_text,
    quota_unit,
    share_text,
    suspended_text,
    tracking_text,
)
from steward.quotas.periods import Bounds, period_bounds, previous_periods
from steward.quotas.resource_budget import Budget
from steward.quotas.usage import MemberUsage
from steward.store.catalog import ResourceInfo
from steward.store.models import Member, Quota

NUDGE_AT = 0.8
#: Recent pace: use over the last two weeks, per day.
PACE_DAYS = 14
#: Need: average use over up to this many past periods.
NEED_PERIODS = 6
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
        return max(self.allocation - self.used, Decimal(0))


def ladder(used: float, projected: float, allocation: float) -> str:
    """The member's step on the ladder (see module docstring); not for suspended quotas."""
    eps = 1e-9
    if used > allocation + eps:
        return "review"
    if projected > allocation + eps:
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
    """Allocate ``budget`` among the commons' active members and upsert their Quota rows."""
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
    needs = {m.id: _need(usage, m.id, firsts.get(m.id), bounds, resource.timezone) for m in members}
    claimants = [Claimant(m.code, float(m.weight), needs[m.id][0]) for m in members]
    floor = None if policy.floor is None else float(policy.floor)
    floor_scaled = floor is not None and bool(members) and floor * len(members) > budget.amount
    if floor is not None and floor_scaled:
        # A floor is a promise only as far as the budget goes: scale it so the floors fit.
        floor = budget.amount / len(members)
    alloc = allocate(policy.policy, budget.amount, claimants, floor=floor, cap=policy.cap)
    told = dict(
        conn.execute(
            select(Quota.member_id, Quota.allocation).where(
                Quota.resource_id == resource.id, Quota.period_start == bounds.start
            )
        ).all()
    )
    single = budget.single_use

    until = min(now, bounds.end)
    used = usage.between(bounds.start, until)
    recent = usage.between(now - timedelta(days=PACE_DAYS), now)
    remaining_days = max((bounds.end - now).total_seconds() / 86400, 0.0)
    total_weight = sum(c.weight for c in claimants)

    rows: list[QuotaRow] = []
    for m, c in zip(members, claimants, strict=True):
        fresh = alloc.amounts[m.code]
        amount = told.get(m.id, fresh)
        u = used.get(m.id, 0.0)
        projected = u + recent.get(m.id, 0.0) / PACE_DAYS * remaining_days
        suspended = single is not None and float(amount) < single
        status = "suspended" if suspended else ladder(u, projected, float(amount))
        facts = ShareFacts(
            policy=policy.policy,
            budget=budget.amount,
            budget_basis=budget.basis,
            unit=unit,
            members=len(members),
            allocation=amount,
            weight=c.weight,
            total_weight=total_weight,
            need=c.need,
            need_basis=needs[m.id][1],
            level=alloc.level,
            floor=floor,
            cap=None if policy.cap is None else float(policy.cap),
            at_floor=m.code in alloc.at_floor,
            at_high=m.code in alloc.at_high,
            floors_exceed_budget=alloc.floors_exceed_budget,
            floor_asked=float(policy.floor) if floor_scaled and policy.floor is not None else None,
        )
        text = share_text(facts)
        if amount != fresh:
            text += " " + later_text(amount, fresh, unit)
        if suspended and single is not None:
            text += " " + suspended_text(float(amount), single, unit, budget.state)
        else:
            text += " " + tracking_text(u, float(amount), projected, unit, bounds.label(), status)
        rows.append(
            QuotaRow(
                member_id=m.id,
                member_code=m.code,
                member_name=m.name,
                resource=resource.slug,
                unit=resource.unit,
                period_start=bounds.start,
                period_end=bounds.end,
                allocation=amount,
                used=_decimal(u),
                projected=_decimal(projected),
                status=status,
                policy=policy.policy,
                explanation=text,
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
