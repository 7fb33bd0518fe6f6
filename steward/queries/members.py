"""Usage and quota compliance per member: stewards of the commons only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
from sqlalchemy import Connection, case, func, select, type_coerce

from steward.access import Scope
from steward.queries import quotas
from steward.store.models import Event, Member, Resource
from steward.store.types import Quantity

USAGE_DAYS = 30
#: Graduated quota status, least to most serious (for sorting).
STATUS_ORDER = {"ok": 0, "nudged": 1, "warned": 2, "review": 3}


def usage(scope: Scope, conn: Connection, now: datetime | None = None) -> pd.DataFrame:
    """One row per member and resource they used or hold a quota on, worst status first.

    Columns: member, name, resource, used_30d, allocation, used, remaining,
    projected, status, explanation, computed_at (when the quota figures were
    worked out, UTC: the pipeline's last run; ``used_30d`` is read now).
    """
    commons_id = scope.require_steward()
    now = now or datetime.now(UTC)
    since = now - timedelta(days=USAGE_DAYS)
    # A reversal cancels the use it names.
    undo = case((Event.reverses_id.is_(None), 1), else_=-1)
    used = conn.execute(
        select(
            Member.code,
            Member.name,
            Resource.slug,
            type_coerce(func.sum(Event.quantity * undo), Quantity()),
        )
        .join(Member, Member.id == Event.member_id)
        .join(Resource, Resource.id == Event.resource_id)
        .where(
            Member.commons_id == commons_id,
            Event.kind == "use",
            Event.scheduled.is_(False),
            Event.occurred_at > since,
            Event.occurred_at <= now,
        )
        .group_by(Member.code, Member.name, Resource.slug)
    ).all()
    recent = pd.DataFrame(
        [(c, n, s, float(q)) for c, n, s, q in used],
        columns=["member", "name", "resource", "used_30d"],
    )
    quota = quotas.current(conn, commons_id=commons_id)[
        [
            "member",
            "name",
            "resource",
            "allocation",
            "used",
            "remaining",
            "projected",
            "status",
            "explanation",
            "computed_at",
        ]
    ]
    frame = recent.merge(quota, on=["member", "name", "resource"], how="outer")
    frame["used_30d"] = frame["used_30d"].fillna(0.0)
    frame["status"] = frame["status"].fillna("no quota")
    rank = frame["status"].map(STATUS_ORDER).fillna(-1)
    frame = frame.assign(_rank=rank).sort_values(
        ["_rank", "member", "resource"], ascending=[False, True, True]
    )
    return frame.drop(columns="_rank").reset_index(drop=True)
