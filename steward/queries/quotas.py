"""Quota rows: the current period's allocation, use and status per member and resource."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import pandas as pd
from sqlalchemy import Connection, and_, case, func, select, type_coerce

from steward.access import Scope
from steward.alerts.records import rows
from steward.queries.resources import stewarded
from steward.quotas.explain import allocated_text, fmt, quota_unit
from steward.store.models import Member, Quota, QuotaBudget, Resource
from steward.store.types import Quantity

COLUMNS = [
    "member",
    "name",
    "resource",
    "period_start",
    "period_end",
    "allocation",
    "used",
    "remaining",
    "projected",
    "status",
    "policy",
    "explanation",
    "computed_at",
]


def current(
    conn: Connection,
    *,
    commons_id: int,
    member_id: int | None = None,
    resource_id: int | None = None,
) -> pd.DataFrame:
    """Latest period's quota per (member, resource); unscoped: callers check the scope."""
    newest = (
        select(Quota.member_id, Quota.resource_id, func.max(Quota.period_start).label("start"))
        .group_by(Quota.member_id, Quota.resource_id)
        .subquery()
    )
    stmt = (
        select(
            Member.code,
            Member.name,
            Resource.slug,
            Quota.period_start,
            Quota.period_end,
            Quota.allocation,
            Quota.used,
            Quota.projected,
            Quota.status,
            Quota.policy,
            Quota.explanation,
            Quota.computed_at,
        )
        .join(
            newest,
            and_(
                Quota.member_id == newest.c.member_id,
                Quota.resource_id == newest.c.resource_id,
                Quota.period_start == newest.c.start,
            ),
        )
        .join(Member, Member.id == Quota.member_id)
        .join(Resource, Resource.id == Quota.resource_id)
        .where(Member.commons_id == commons_id)
        .order_by(Member.code, Resource.slug)
    )
    if member_id is not None:
        stmt = stmt.where(Quota.member_id == member_id)
    if resource_id is not None:
        stmt = stmt.where(Quota.resource_id == resource_id)
    rows = conn.execute(stmt).all()
    frame = pd.DataFrame(
        [
            (
                r.code,
                r.name,
                r.slug,
                r.period_start,
                r.period_end,
                float(r.allocation),
                float(r.used),
                float(r.allocation - r.used),
                float(r.projected),
                r.status,
                r.policy,
                r.explanation,
                r.computed_at,
            )
            for r in rows
        ],
        columns=COLUMNS,
    )
    return frame


def for_resource(scope: Scope, conn: Connection, slug: str) -> pd.DataFrame:
    """Every member's quota on one resource: stewards of its commons only."""
    res = stewarded(scope, conn, slug)
    return current(conn, commons_id=res.commons_id, resource_id=res.id)


def is_current(frame: pd.DataFrame, now: datetime | None = None) -> pd.Series:
    now = now or datetime.now(UTC)
    return (pd.to_datetime(frame["period_start"], utc=True) <= now) & (
        pd.to_datetime(frame["period_end"], utc=True) > now
    )


@dataclass(frozen=True)
class PeriodBudget:
    """A resource's budget for the running period beside what its quotas add up to.

    Figures in the quota's unit (:func:`~steward.quotas.explain.quota_unit`):
    ``amount`` (the budget now), ``opening_amount`` (the one the period's quotas were
    set from), ``need`` and ``single_use`` (None: not known), ``allocated`` (the sum of
    the period's quotas; a suspended quota holds 0), ``quotas`` (how many),
    ``at_single`` (how many are exactly one ordinary use, the smallest quota).
    ``state``: ``ok``, ``deficit`` or ``stop``; ``remedy`` what closes a deficit.
    """

    resource_id: int
    slug: str
    unit: str
    period_start: datetime
    period_end: datetime
    amount: Decimal
    opening_amount: Decimal
    need: Decimal | None
    single_use: Decimal | None
    state: str
    remedy: str | None
    allocated: Decimal
    quotas: int
    at_single: int

    def lines(self, period: str) -> list[str]:
        """The steward's lines: budget, ordinary use, the quotas' sum beside the budget,
        and the deficit with what closes it. ``period``: the period's local days."""
        u = self.unit
        line = f"{self.slug}: budget {fmt(self.amount, u)} for {period}"
        if self.opening_amount != self.amount:
            line += f" (quotas set from {fmt(self.opening_amount, u)} when it opened)"
        if self.need is not None:
            line += f"; members ordinarily use {fmt(self.need, u)}"
        if self.single_use is not None:
            line += f"; one ordinary use is {fmt(self.single_use, u)}"
        out = [line]
        if self.quotas:
            total = allocated_text(
                self.allocated,
                self.opening_amount,
                self.quotas,
                self.at_single,
                self.single_use,
                u,
            )
            out.append(f"  {total}")
        if self.state != "ok" and self.remedy:
            out.append(f"  {self.state}: {self.slug} {self.remedy}")
        return out


def period_budgets(
    conn: Connection, now: datetime, resource_ids: Sequence[int] | None = None
) -> list[PeriodBudget]:
    """Each resource's budget for the period running at ``now`` (tz-aware), with its
    quotas added up, by slug; ``resource_ids`` limits the resources. Unscoped:
    callers check the scope (stewards only: the sum covers every member's quota)."""
    at_single = func.sum(case((Quota.allocation == QuotaBudget.single_use, 1), else_=0))
    stmt = (
        select(
            QuotaBudget,
            Resource.slug,
            Resource.unit,
            Resource.kind,
            # Summed in the store's own representation (SQLite: millionths), then decoded.
            type_coerce(func.coalesce(func.sum(Quota.allocation), 0), Quantity()).label(
                "allocated"
            ),
            func.count(Quota.id).label("quotas"),
            func.coalesce(at_single, 0).label("at_single"),
        )
        .join(Resource, Resource.id == QuotaBudget.resource_id)
        .outerjoin(
            Quota,
            and_(
                Quota.resource_id == QuotaBudget.resource_id,
                Quota.period_start == QuotaBudget.period_start,
            ),
        )
        .where(QuotaBudget.period_start <= now, QuotaBudget.period_end > now)
        .group_by(QuotaBudget.id, Resource.slug, Resource.unit, Resource.kind)
        .order_by(Resource.slug)
    )
    if resource_ids is not None:
        stmt = stmt.where(QuotaBudget.resource_id.in_(list(resource_ids)))
    out = []
    for b, slug, unit, kind, allocated, quotas, single_count in rows(conn, stmt):
        out.append(
            PeriodBudget(
                resource_id=b.resource_id,
                slug=slug,
                unit=quota_unit(kind, unit),
                period_start=b.period_start,
                period_end=b.period_end,
                amount=Decimal(b.amount),
                opening_amount=Decimal(b.opening_amount),
                need=None if b.need is None else Decimal(b.need),
                single_use=None if b.single_use is None else Decimal(b.single_use),
                state=b.state,
                remedy=b.remedy,
                allocated=Decimal(allocated),
                quotas=int(quotas),
                at_single=int(single_count or 0),
            )
        )
    return out


def budget_for(scope: Scope, conn: Connection, slug: str, now: datetime) -> PeriodBudget | None:
    """One resource's running period budget and quota sum: stewards of its commons only."""
    res = stewarded(scope, conn, slug)
    found = period_budgets(conn, now, [res.id])
    return found[0] if found else None
