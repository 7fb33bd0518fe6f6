"""Alerts for stewards: list by state, acknowledge, silence with a reason.

Only the steward of the commons an alert is about may act on it; the action
itself (state change + history row) is the alert lifecycle's.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import Connection, func, select, update

from steward.access import Scope
from steward.alerts import lifecycle
from steward.alerts.listing import SEVERITY_ORDER, held_back_states, lifecycle_state
from steward.alerts.messages import PLACEHOLDER_COMMAND, advice, status_lines
from steward.alerts.records import rows as record_rows
from steward.display import local_time
from steward.errors import AccessDenied, InputError
from steward.store.models import Alert, AlertHistory, Commons, Member, OutboxMessage, Resource

STATES = ("firing", "pending", "resolved")
COLUMNS = [
    "id",
    "state",
    "severity",
    "rule",
    "resource",
    "summary",
    "first_seen_at",
    "fired_at",
    "resolved_at",
    "acknowledged_by",
    "acknowledged_at",
    "silenced_until",
    "silence_reason",
    "acknowledged_note",
    "silenced_by",
    "silenced_at",
    "status",
    "held_back",
    "how_sure",
    "what_to_do",
]


def _in_commons(commons_id: int) -> Any:
    """Alerts that belong to the commons (resource, member and collector alerts alike)."""
    return Alert.commons_id == commons_id


def list_alerts(
    scope: Scope,
    conn: Connection,
    states: Sequence[str] = STATES,
    limit: int = 500,
    audience: str | None = "stewards",
    command: str = PLACEHOLDER_COMMAND,
) -> pd.DataFrame:
    """Alerts of the steward's commons; by default those addressed to stewards.

    A member's quota alert exists twice: once for the member ("you have used...")
    and once for stewards ("X is over quota"); stewards see their own copy.

    ``held_back`` is empty, or for a closed alert another alert held back
    (inhibition), what holds it, e.g. "held back by below_reserve #6 (the resource
    is below its reserve; this alert's condition may still hold)": such an alert
    is "resolved" in the store but did not resolve, and must not be shown as so.

    ``how_sure`` and ``what_to_do`` are the two lines the alert's notification
    carries (:func:`steward.alerts.messages.advice`), their commands starting with
    ``command``; ``status`` says who acknowledged or silenced it, times in the
    commons' timezone, labelled, as every other time on the page.
    """
    commons_id = scope.require_steward()
    tz = conn.execute(select(Commons.timezone).where(Commons.id == commons_id)).scalar() or "UTC"
    rows = conn.execute(
        select(
            Alert.id,
            Alert.state,
            Alert.severity,
            Alert.rule,
            Resource.slug,
            Alert.summary,
            Alert.first_seen_at,
            Alert.fired_at,
            Alert.resolved_at,
            Alert.acknowledged_by,
            Alert.acknowledged_at,
            Alert.silenced_until,
            Alert.silence_reason,
            Alert.acknowledged_note,
            Alert.silenced_by,
            Alert.silenced_at,
            Alert.details,
            Alert.source,
        )
        .outerjoin(Resource, Resource.id == Alert.resource_id)
        .where(
            _in_commons(commons_id),
            Alert.state.in_(list(states)),
            Alert.audience == audience if audience is not None else Alert.id.isnot(None),
        )
        .order_by(SEVERITY_ORDER, Alert.last_evaluated_at.desc(), Alert.id.desc())
        .limit(limit)
    ).all()
    held = held_back_states(conn, rows)
    frame = pd.DataFrame(rows, columns=[*COLUMNS[:-4], "details", "source"])
    now = datetime.now(UTC)
    frame["status"] = [_status(r, now, tz) for r in frame.itertuples()]
    frame["held_back"] = [held.get(int(i), "") for i in frame["id"]]
    said = [
        # An alert from before details named their resource still names it (its row's).
        advice(rule, {"resource": slug, **(details or {})}, source, command)
        for rule, slug, details, source in zip(
            frame["rule"], frame["resource"], frame["details"], frame["source"], strict=True
        )
    ]
    frame["how_sure"] = [sure for sure, _ in said]
    frame["what_to_do"] = [todo for _, todo in said]
    return frame.drop(columns=["details", "source"])


def _utc(at: Any) -> datetime:
    stamp = pd.Timestamp(at)
    return (stamp if stamp.tzinfo else stamp.tz_localize("UTC")).to_pydatetime()


def _status(row: Any, now: datetime, tz: str) -> str:
    """'acknowledged by X at T: note; silenced by Y until U: reason' (empty when neither).

    Times in ``tz`` (the commons' IANA zone), labelled: the page says "Times in
    Europe/London", and a bare UTC "2026-12-01 11:08" beside it read as local.
    """
    parts = []
    if row.acknowledged_at is not None and not pd.isna(row.acknowledged_at):
        note = f": {row.acknowledged_note}" if row.acknowledged_note else ""
        parts.append(
            f"acknowledged by {row.acknowledged_by} at "
            f"{local_time(_utc(row.acknowledged_at), tz)}{note}"
        )
    until = row.silenced_until
    if until is not None and not pd.isna(until) and _utc(until) > now:
        parts.append(
            f"silenced by {row.silenced_by or 'a steward'} until "
            f"{local_time(_utc(until), tz)}: {row.silence_reason}"
        )
    return "; ".join(parts)


@dataclass(frozen=True)
class ResourceAlert:
    """A firing steward alert about a resource, grouped per rule, as the overview shows it.

    ``count`` alerts of the same rule are folded into one (``summary`` is the most
    severe one's); ``acknowledged`` / ``silenced`` carry who, when and why.
    """

    rule: str
    severity: str
    summary: str
    count: int
    state: str
    acknowledged: str | None
    silenced: str | None


def resource_alerts(scope: Scope, conn: Connection) -> dict[str, list[ResourceAlert]]:
    """Firing steward alerts per resource slug, one per rule, most severe first.

    Member quota messages are not here: see :func:`member_message_count`.
    """
    commons_id = scope.require_steward()
    found = record_rows(
        conn,
        select(Alert, Resource.slug)
        .join(Resource, Resource.id == Alert.resource_id)
        .where(
            Resource.commons_id == commons_id,
            Alert.state == "firing",
            Alert.audience == "stewards",
        )
        .order_by(Resource.slug, SEVERITY_ORDER, Alert.id.desc()),
    )
    now = datetime.now(UTC)
    # Who acknowledged or silenced, and when: in the commons' time, as the pages show times.
    tz = conn.execute(select(Commons.timezone).where(Commons.id == commons_id)).scalar() or "UTC"
    grouped: dict[str, dict[str, list[Any]]] = defaultdict(dict)
    for alert, slug in found:
        grouped[slug].setdefault(alert.rule, []).append(alert)
    out: dict[str, list[ResourceAlert]] = {}
    for slug, by_rule in grouped.items():
        items = []
        for rule, alerts in by_rule.items():
            lead = alerts[0]
            lines = status_lines(lead, tz)
            items.append(
                ResourceAlert(
                    rule=rule,
                    severity=lead.severity,
                    summary=lead.summary
                    if len(alerts) == 1
                    else f"{len(alerts)} {rule} alerts, e.g. {lead.summary}",
                    count=len(alerts),
                    state=lifecycle_state(lead, now),
                    acknowledged=next((x for x in lines if x.startswith("Acknowledged")), None),
                    silenced=next((x for x in lines if x.startswith("Silenced")), None),
                )
            )
        rank = {"critical": 0, "warning": 1, "info": 2}
        out[slug] = sorted(items, key=lambda a: rank.get(a.severity, 3))
    return out


def member_message_count(scope: Scope, conn: Connection) -> int:
    """How many member quota messages are firing in the steward's commons."""
    commons_id = scope.require_steward()
    member_ids = select(Member.id).where(Member.commons_id == commons_id)
    return int(
        conn.execute(
            select(func.count())
            .select_from(Alert)
            .where(
                Alert.state == "firing",
                Alert.audience == "members",
                Alert.member_id.in_(member_ids),
            )
        ).scalar_one()
    )


def _own_alert(scope: Scope, conn: Connection, alert_id: int) -> None:
    commons_id = scope.require_steward()
    found = conn.execute(
        select(Alert.id).where(Alert.id == alert_id, _in_commons(commons_id))
    ).scalar()
    if found is None:
        raise AccessDenied(f"alert {alert_id} is not an alert of your commons")


def _clean(text: str, what: str) -> str:
    text = text.strip()
    if not text:
        raise InputError(f"a {what} is required", hint=f"say in a few words why ({what})")
    return text[:2000]


def acknowledge(
    scope: Scope, conn: Connection, alert_id: int, note: str, now: datetime | None = None
) -> None:
    """Mark an alert as seen by the signed-in steward (inside the caller's write transaction)."""
    _own_alert(scope, conn, alert_id)
    lifecycle.acknowledge(
        conn,
        alert_id,
        by=scope.username or "steward",
        now=now or datetime.now(UTC),
        note=_clean(note, "note"),
    )


def silence(
    scope: Scope,
    conn: Connection,
    alert_id: int,
    duration: timedelta,
    reason: str,
    now: datetime | None = None,
) -> None:
    """Hold back an alert's notifications for a while, with the reason on record."""
    _own_alert(scope, conn, alert_id)
    lifecycle.silence(
        conn,
        alert_id,
        duration=duration,
        reason=_clean(reason, "reason"),
        by=scope.username or "steward",
        now=now or datetime.now(UTC),
    )


def history(scope: Scope, conn: Connection, alert_id: int) -> pd.DataFrame:
    _own_alert(scope, conn, alert_id)
    rows = conn.execute(
        select(AlertHistory.at, AlertHistory.action, AlertHistory.actor, AlertHistory.note)
        .where(AlertHistory.alert_id == alert_id)
        .order_by(AlertHistory.at)
    ).all()
    return pd.DataFrame(rows, columns=["at", "action", "actor", "note"])


OUTBOX_COLUMNS = [
    "id",
    "state",
    "route",
    "title",
    "attempts",
    "last_error",
    "next_attempt_at",
    "dead_at",
]


def undelivered(scope: Scope, conn: Connection, limit: int = 200) -> pd.DataFrame:
    """Notifications of the steward's commons not yet delivered: retrying, or dead letters.

    ``state`` is ``dead letter`` (retries ran out; only a steward's retry sends it
    again) or ``retrying`` (``next_attempt_at`` says when).
    """
    commons_id = scope.require_steward()
    rows = conn.execute(
        select(
            OutboxMessage.id,
            OutboxMessage.route,
            OutboxMessage.title,
            OutboxMessage.attempts,
            OutboxMessage.last_error,
            OutboxMessage.next_attempt_at,
            OutboxMessage.dead_at,
        )
        .where(
            OutboxMessage.commons_id == commons_id,
            OutboxMessage.delivered_at.is_(None),
            OutboxMessage.attempts > 0,
        )
        .order_by(OutboxMessage.dead_at.is_(None), OutboxMessage.id.desc())
        .limit(limit)
    ).all()
    frame = pd.DataFrame(
        [{**r._mapping, "state": "dead letter" if r.dead_at else "retrying"} for r in rows],
        columns=OUTBOX_COLUMNS,
    )
    return frame


def retry_message(
    scope: Scope, conn: Connection, message_id: int, now: datetime | None = None
) -> None:
    """Send a dead letter (or a retrying message) again now, with a fresh set of attempts."""
    commons_id = scope.require_steward()
    done = conn.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == message_id,
            OutboxMessage.commons_id == commons_id,
            OutboxMessage.delivered_at.is_(None),
        )
        .values(dead_at=None, attempts=0, next_attempt_at=now or datetime.now(UTC))
    )
    if done.rowcount != 1:
        raise AccessDenied(f"message {message_id} is not an undelivered message of your commons")
