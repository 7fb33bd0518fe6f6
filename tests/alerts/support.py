"""Shared pieces of the alert tests: the test clock, routes that deliver nowhere, a stored forecast."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection

from steward.store import catalog
from steward.store.models import ForecastRun, OutboxMessage

T0 = datetime(2025, 3, 12, 11, 0, tzinfo=UTC)

#: Routes to a closed local port: messages are queued in the outbox, never delivered.
STEWARDS: dict[str, Any] = {"name": "stewards", "urls": ["json://127.0.0.1:9/"]}
MEMBERS_ROUTE: dict[str, Any] = {
    "name": "members",
    "audience": "members",
    "severities": ["info", "warning"],
    "urls": ["json://127.0.0.1:9/?-to={email}"],
}


def insert_forecast(
    conn: Connection, slug: str, risk: dict, paths: dict | None = None, at: datetime = T0
) -> None:
    """Store one forecast run for ``slug`` carrying ``risk`` (and ``paths``), made at ``at``."""
    res = catalog.resource(conn, slug)
    conn.execute(
        insert(ForecastRun),
        {
            "resource_id": res.id,
            "created_at": at,
            "data_cutoff": at,
            "horizon_days": 90,
            "method": "test",
            "reason": "",
            "scores": {},
            "risk": risk,
            "paths": paths or {},
        },
    )


def outbox_rows(conn: Connection, first: Any) -> list[tuple[Any, str, str]]:
    """Every queued message as (``first`` column, title, body), oldest first."""
    return [
        tuple(r)
        for r in conn.execute(
            select(first, OutboxMessage.title, OutboxMessage.body).order_by(OutboxMessage.id)
        )
    ]
