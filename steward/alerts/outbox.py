"""Queue notifications in the outbox, in the same transaction as the alert change.

One outbox row per (alert, route, route URL, state change): the unique
``dedupe_key`` makes re-running an evaluation (or a crash and restart) queue
nothing twice, and one URL failing never resends to the route's other URLs.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, insert, select

from steward.config import RouteConfig, Settings
from steward.errors import ConfigError
from steward.store.models import OutboxMessage

EMAIL_PLACEHOLDER = "{email}"


def check_routes(settings: Settings) -> None:
    """A members' route must address each member by ``{email}``: a shared channel would leak."""
    for i, route in enumerate(settings.alerts.routes):
        if route.audience != "members":
            continue
        for j, url in enumerate(route.urls):
            if EMAIL_PLACEHOLDER not in url:
                raise ConfigError(
                    f"alerts.routes[{i}].urls[{j}] (route {route.name}): a route for members "
                    "must contain {email}, so each member's message reaches only that member",
                    hint="e.g. mailto://smtp.example.org?from=steward@example.org&to={email}",
                )


def routes_for(
    settings: Settings, audience: str, severity: str, commons: str | None
) -> list[RouteConfig]:
    """Routes of ``commons`` (a slug) for this audience and severity; none for no commons."""
    if commons is None:
        return []
    return [
        r
        for r in settings.routes_of(commons)
        if r.audience == audience and severity in r.severities
    ]


def enqueue(
    conn: Connection,
    *,
    key: str,
    alert_id: int | None,
    route: RouteConfig,
    title: str,
    body: str,
    now: datetime,
    commons_id: int | None = None,
) -> int:
    """Queue the message on every URL of ``route``; returns how many rows were new."""
    added = 0
    for index in range(len(route.urls)):
        dedupe = f"{key}:{route.name}:{index}"
        exists = conn.execute(
            select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe)
        ).first()
        if exists:
            continue
        conn.execute(
            insert(OutboxMessage),
            {
                "dedupe_key": dedupe,
                "alert_id": alert_id,
                "route": f"{route.name}#{index}",
                "title": title,
                "body": body,
                "created_at": now,
                "attempts": 0,
                "next_attempt_at": now,
                "commons_id": commons_id,
            },
        )
        added += 1
    return added
