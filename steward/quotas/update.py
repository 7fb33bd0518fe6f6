"""The pipeline's entry point: refresh every resource's quotas for the current period."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from sqlalchemy import Connection

from steward.config import Settings
from steward.quotas.periods import period_bounds
from steward.quotas.resource_budget import Sampler, forecast_sampler, period_budget
from steward.quotas.tracking import Budget, QuotaRow, compute_quotas
from steward.store import catalog
from steward.workspace import Workspace


@dataclass
class QuotaSummary:
    resources: int = 0
    quotas: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    budgets: dict[str, float] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    rows: list[QuotaRow] = field(default_factory=list)


def update_quotas(
    target: Workspace | Connection,
    settings: Settings,
    now: datetime,
    *,
    budgets: Mapping[str, Budget | float] | None = None,
    sampler: Sampler = forecast_sampler,
    seed: int = 0,
) -> QuotaSummary:
    """Recompute this period's quotas of every resource that has a quota policy.

    ``budgets`` (by resource slug) lets the pipeline pass budgets it computed from
    its own forecast paths; the others are computed here.
    """
    if isinstance(target, Workspace):
        with target.store.write() as conn:
            return update_quotas(conn, settings, now, budgets=budgets, sampler=sampler, seed=seed)
    conn = target
    summary = QuotaSummary()
    rng = np.random.default_rng(seed)
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
            budget = (
                given
                if given is not None
                else period_budget(
                    conn, settings, res, cfg.quota, bounds, now=now, sampler=sampler, rng=rng
                )
            )
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
            summary.budgets[cfg.slug] = budget.amount if isinstance(budget, Budget) else budget
            summary.rows.extend(rows)
    return summary
