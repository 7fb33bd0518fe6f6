"""Data sources for stewards: collector health, recent runs, quarantined rows, retry.

Collectors are not tied to a commons in the store, so the caller passes the
source names the steward may see (from the configuration, where every collector
has exactly one commons). Quarantined rows keep the raw source row, which may name
members: stewards only.

Retrying goes through ``steward.collectors.base.retry_quarantined`` when that
module provides it (see :func:`retry_available`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Collection
from typing import Any

import pandas as pd
from sqlalchemy import Connection, select

from steward.access import Scope
from steward.config import Settings
from steward.store.models import CollectorRun, CollectorState, Commons, QuarantinedRow


def allowed_sources(scope: Scope, conn: Connection, settings: Settings) -> list[str]:
    """Collector names the steward may see: those of their commons (each has exactly one)."""
    commons_id = scope.require_steward()
    commons_slug = conn.execute(select(Commons.slug).where(Commons.id == commons_id)).scalar()
    return [c.name for c in settings.collectors if c.commons == commons_slug]


def collectors(scope: Scope, conn: Connection, sources: Collection[str]) -> pd.DataFrame:
    scope.require_steward()
    rows = conn.execute(
        select(
            CollectorState.source,
            CollectorState.last_success_at,
            CollectorState.last_error_at,
            CollectorState.last_error,
            CollectorState.consecutive_failures,
            CollectorState.rows_read,
            CollectorState.accepted,
            CollectorState.duplicates,
            CollectorState.quarantined,
        )
        .where(CollectorState.source.in_(list(sources)))
        .order_by(CollectorState.source)
    ).all()
    frame = pd.DataFrame(
        rows,
        columns=[
            "source",
            "last_success_at",
            "last_error_at",
            "last_error",
            "consecutive_failures",
            "rows_read",
            "accepted",
            "duplicates",
            "quarantined",
        ],
    )
    known = set(frame["source"])
    missing = [s for s in sources if s not in known]
    if missing:
        # Configured but never run: show them, so a silent collector is noticed.
        extra = pd.DataFrame({"source": missing, "consecutive_failures": 0})
        # Every column, even when no collector has run yet (a frame of only never-run ones).
        extra = extra.reindex(columns=frame.columns)
        frame = pd.concat([frame, extra], ignore_index=True) if len(frame) else extra
    frame["health"] = [
        "never run" if pd.isna(ok) and pd.isna(err) else "failing" if (fails or 0) > 0 else "ok"
        for ok, err, fails in zip(
            frame.get("last_success_at", pd.Series(dtype=object)),
            frame.get("last_error_at", pd.Series(dtype=object)),
            frame["consecutive_failures"],
            strict=False,
        )
    ]
    return frame.sort_values("source").reset_index(drop=True)


def runs(scope: Scope, conn: Connection, sources: Collection[str], limit: int = 50) -> pd.DataFrame:
    scope.require_steward()
    rows = conn.execute(
        select(
            CollectorRun.id,
            CollectorRun.source,
            CollectorRun.started_at,
            CollectorRun.finished_at,
            CollectorRun.status,
            CollectorRun.rows_read,
            CollectorRun.accepted,
            CollectorRun.duplicates,
            CollectorRun.quarantined,
            CollectorRun.error,
        )
        .where(CollectorRun.source.in_(list(sources)))
        .order_by(CollectorRun.started_at.desc(), CollectorRun.id.desc())
        .limit(limit)
    ).all()
    return pd.DataFrame(
        rows,
        columns=[
            "run",
            "source",
            "started_at",
            "finished_at",
            "status",
            "rows_read",
            "accepted",
            "duplicates",
            "quarantined",
            "error",
        ],
    )


def quarantined(
    scope: Scope,
    conn: Connection,
    sources: Collection[str],
    *,
    include_resolved: bool = False,
    limit: int = 500,
) -> pd.DataFrame:
    scope.require_steward()
    stmt = (
        select(
            QuarantinedRow.id,
            QuarantinedRow.source,
            QuarantinedRow.run_id,
            QuarantinedRow.location,
            QuarantinedRow.reason,
            QuarantinedRow.raw,
            QuarantinedRow.created_at,
            QuarantinedRow.resolved_at,
            QuarantinedRow.resolution,
        )
        .where(QuarantinedRow.source.in_(list(sources)))
        .order_by(QuarantinedRow.created_at.desc(), QuarantinedRow.id.desc())
        .limit(limit)
    )
    if not include_resolved:
        stmt = stmt.where(QuarantinedRow.resolved_at.is_(None))
    rows = conn.execute(stmt).all()
    frame = pd.DataFrame(
        rows,
        columns=[
            "id",
            "source",
            "run",
            "location",
            "reason",
            "raw",
            "created_at",
            "resolved_at",
            "resolution",
        ],
    )
    # Raw rows are dicts; show them as text so every cell renders the same way.
    frame["raw"] = frame["raw"].map(lambda raw: "" if raw is None else str(raw))
    return frame


def retry_function() -> Callable[..., Any] | None:
    """``steward.collectors.retry.retry_quarantined(ws, source)`` when collectors are installed."""
    try:
        module = importlib.import_module("steward.collectors.retry")
    except ModuleNotFoundError:
        return None
    func = getattr(module, "retry_quarantined", None)
    return func if callable(func) else None


def retry_available() -> bool:
    return retry_function() is not None
