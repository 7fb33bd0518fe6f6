"""The pipeline's entry point: refresh every resource's quotas for the current period."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection

from steward.config import Settings
from steward.errors import QuotaError
from steward.quotas.explain import fmt, quota_unit
from steward.quotas.periods import period_bounds
from steward.quotas.resource_budget import Budget, period_budget, record_budget
from steward.quotas.tracking import QuotaRow, compute_quotas, suspend_quotas
from steward.store import catalog
from steward.workspace import Workspace


@dataclass
class QuotaSummary:
    resources: int = 0
    quotas: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    budgets: dict[str, float] = field(default_factory=dict)
    #: Resources whose budget is below their members' ordinary need (slug -> state).
    deficits: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    rows: list[QuotaRow] = field(default_factory=list)


def update_quotas(
    target: Workspace | Connection,
    settings: Settings,
    now: datetime,
    *,
    budgets: Mapping[str, Budget | float] | None = None,
) -> QuotaSummary:
    """Recompute this period's quotas of every resource that has a quota policy.

    ``budgets`` (by resource slug) overrides the computed budget of a resource
    (tests, what-if runs); the others are read from the ledger. Each period's
    budget is stored (``quota_budget``); a resource whose budget cannot be
    computed (not enough history) is named with the reason in ``summary.skipped``
    and its members' quotas are recorded as ``suspended`` with that reason.
    """
    if isinstance(target, Workspace):
        with target.store.write() as conn:
            return update_quotas(conn, settings, now, budgets=budgets)
    conn = target
    summary = QuotaSummary()
    for commons in settings.commons:
        for cfg in commons.resources:
            if cfg.quota is None:
                continue
            res = catalog.resource(conn, cfg.slug)
            if res is None:
                summary.skipped[cfg.slug] = "not in the database yet: open the workspace to sync"
                continue
            bounds = period_bounds(now, res.timezone, cfg.quota.period)
            given = (budgets or {}).get(cfg.slug)
            if given is None:
                try:
                    budget = period_budget(
                        conn,
                        res,
                        cfg.quota,
                        bounds,
                        now=now,
                        horizon_days=settings.forecast.horizon_days,
                    )
                except QuotaError as exc:
                    summary.skipped[cfg.slug] = exc.message
                    # Its quotas cannot be computed: they are suspended, with the reason.
                    why = exc.message.removeprefix(f"{cfg.slug}: ")
                    reason = f"its sustainable budget cannot be computed yet ({why}" + (
                        f"; {exc.hint})" if exc.hint else ")"
                    )
                    rows = suspend_quotas(conn, settings, res, bounds, now, reason)
                    summary.quotas += len(rows)
                    summary.statuses.update(r.status for r in rows)
                    summary.rows.extend(rows)
                    continue
            elif isinstance(given, Budget):
                budget = given
            else:
                budget = Budget(
                    float(given),
                    f"The sustainable budget is {fmt(given, quota_unit(res.kind, res.unit))}",
                )
            budget = record_budget(conn, res, bounds, budget, now)
            rows = compute_quotas(
                conn,
                settings,
                res,
                budget=budget,
                period_start=bounds.start,
                period_end=bounds.end,
                now=now,
            )
            summary.resources += 1
            summary.quotas += len(rows)
            summary.statuses.update(r.status for r in rows)
            summary.budgets[cfg.slug] = budget.amount
            if budget.state != "ok":
                summary.deficits[cfg.slug] = budget.state
            summary.rows.extend(rows)
    return summary
