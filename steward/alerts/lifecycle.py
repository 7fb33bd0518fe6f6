"""Alert lifecycle with an explicit clock: pending -> firing -> resolved.

* A condition seen for the first time is ``pending`` until it has held for the
  rule's ``for`` duration, then ``firing``; if it clears first it resolves quietly.
* One open alert per fingerprint: re-evaluating (or restarting) updates it, never
  duplicates it.
* A firing alert is sent again every ``repeat`` unless acknowledged or silenced.
* Silences carry an expiry and a reason; every change is kept in AlertHistory.
* Storm control: rules look at current state only, and member notifications per
  evaluation are capped; the overflow goes to stewards as one digest.

Every function takes ``now``; nothing here reads the wall clock.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Connection, insert, select, update

from steward.alerts import outbox
from steward.alerts.messages import message
from steward.alerts.options import Rules, load_rules
from steward.alerts.records import entities
from steward.alerts.rules import Candidate, collect
from steward.config import Settings
from steward.errors import InputError
from steward.store.models import Alert, AlertHistory, Member

OPEN = ("pending", "firing")


@dataclass
class EvaluationSummary:
    candidates: int = 0
    changes: Counter[str] = field(default_factory=Counter)
    queued: int = 0
    suppressed_member_messages: int = 0


class _Run:
    """One evaluation: the connection, clock, settings and running counters."""

    def __init__(self, conn: Connection, settings: Settings, rules: Rules, now: datetime) -> None:
        self.conn, self.settings, self.rules, self.now = conn, settings, rules, now
        self.summary = EvaluationSummary()
        self.member_messages = 0
        self.overflow: list[str] = []

    def history(
        self, alert_id: int, action: str, note: str | None = None, actor: str | None = None
    ) -> None:
        self.conn.execute(
            insert(AlertHistory),
            {"alert_id": alert_id, "at": self.now, "action": action, "actor": actor, "note": note},
        )
        self.summary.changes[action] += 1

    def notify(self, alert: Alert, change: str) -> None:
        """Queue ``change`` of ``alert`` on every matching route (once per key)."""
        self.conn.execute(
            update(Alert).where(Alert.id == alert.id).values(last_notified_at=self.now)
        )
        if alert.silenced_until is not None and alert.silenced_until > self.now:
            self.history(
                alert.id,
                "suppressed",
                f"{change}: silenced until {alert.silenced_until:%Y-%m-%d %H:%M} UTC",
            )
            return
        routes = outbox.routes_for(self.settings, alert.audience, alert.severity)
        if alert.audience == "members":
            if change.startswith("resolved"):
                return  # a member is told when a step is reached, not when it passes
            if not routes:
                return
            email = self.conn.execute(
                select(Member.email).where(Member.id == alert.member_id)
            ).scalar()
            if not email:
                self.history(alert.id, "not sent", "the member has no email address on record")
                return
            if self.member_messages >= self.rules.quota.max_member_messages:
                self.overflow.append(alert.summary)
                self.summary.suppressed_member_messages += 1
                self.history(
                    alert.id,
                    "not sent",
                    "storm cap: too many member messages at once; stewards got a digest",
                )
                return
            self.member_messages += 1
        title, body = message(alert, change)
        for route in routes:
            self.summary.queued += outbox.enqueue(
                self.conn,
                key=f"alert:{alert.id}:{change}",
                alert_id=alert.id,
                route=route,
                title=title,
                body=body,
                now=self.now,
            )

    def digest(self) -> None:
        if not self.overflow:
            return
        n = len(self.overflow)
        title = f"[INFO] {n} member quota messages held back"
        body = (
            f"{n} member quota notifications were not sent in one go (storm cap "
            f"{self.rules.quota.max_member_messages}). Review them with `steward quotas`.\n\n"
            + "\n".join(f"- {s}" for s in self.overflow[:50])
        )
        for route in outbox.routes_for(self.settings, "stewards", "warning"):
            self.summary.queued += outbox.enqueue(
                self.conn,
                key=f"digest:{self.now.isoformat()}",
                alert_id=None,
                route=route,
                title=title,
                body=body,
                now=self.now,
            )


def _open_alerts(conn: Connection) -> dict[str, Alert]:
    rows = entities(conn, select(Alert).where(Alert.state.in_(OPEN)).order_by(Alert.id))
    return {a.fingerprint: a for a in rows}


def _load(conn: Connection, alert_id: int) -> Alert:
    return entities(conn, select(Alert).where(Alert.id == alert_id))[0]


def _create(run: _Run, c: Candidate) -> None:
    firing = c.pending_for <= timedelta(0)
    alert_id = run.conn.execute(
        insert(Alert).returning(Alert.id),
        {
            "fingerprint": c.fingerprint,
            "rule": c.rule,
            "severity": c.severity,
            "audience": c.audience,
            "resource_id": c.resource_id,
            "member_id": c.member_id,
            "source": c.source,
            "state": "firing" if firing else "pending",
            "summary": c.summary,
            "details": c.details,
            "first_seen_at": run.now,
            "fired_at": run.now if firing else None,
            "last_evaluated_at": run.now,
        },
    ).scalar_one()
    run.history(alert_id, "firing" if firing else "pending", c.summary)
    if firing:
        run.notify(_load(run.conn, alert_id), "firing")


def _update(run: _Run, alert: Alert, c: Candidate) -> None:
    values: dict[str, object] = {
        "summary": c.summary,
        "details": c.details,
        "severity": c.severity,
        "last_evaluated_at": run.now,
    }
    if alert.state == "pending" and run.now - alert.first_seen_at >= c.pending_for:
        values |= {"state": "firing", "fired_at": run.now}
        run.conn.execute(update(Alert).where(Alert.id == alert.id).values(**values))
        run.history(alert.id, "firing", c.summary)
        run.notify(_load(run.conn, alert.id), "firing")
        return
    run.conn.execute(update(Alert).where(Alert.id == alert.id).values(**values))
    if alert.state != "firing" or alert.acknowledged_at is not None:
        return
    last = alert.last_notified_at or alert.fired_at or alert.first_seen_at
    if run.now - last >= c.repeat:
        run.notify(_load(run.conn, alert.id), f"repeat-{last.isoformat()}")


def _resolve(run: _Run, alert: Alert) -> None:
    run.conn.execute(
        update(Alert)
        .where(Alert.id == alert.id)
        .values(state="resolved", resolved_at=run.now, last_evaluated_at=run.now)
    )
    if alert.state == "pending":
        run.history(alert.id, "cleared", "the condition cleared before the alert fired")
        return
    run.history(alert.id, "resolved")
    run.notify(_load(run.conn, alert.id), "resolved")


def _expire_silences(run: _Run) -> None:
    expired = run.conn.execute(
        select(Alert.id, Alert.silence_reason).where(
            Alert.silenced_until.is_not(None), Alert.silenced_until <= run.now
        )
    ).all()
    for alert_id, reason in expired:
        run.conn.execute(update(Alert).where(Alert.id == alert_id).values(silenced_until=None))
        run.history(alert_id, "silence expired", f"was: {reason}" if reason else None)


def evaluate(conn: Connection, settings: Settings, now: datetime) -> EvaluationSummary:
    """Evaluate every rule at ``now`` and move alerts through their lifecycle."""
    outbox.check_routes(settings)
    run = _Run(conn, settings, load_rules(settings), now)
    _expire_silences(run)
    candidates = collect(conn, settings, run.rules, now)
    run.summary.candidates = len(candidates)
    current = _open_alerts(conn)
    for fingerprint, candidate in candidates.items():
        alert = current.get(fingerprint)
        if alert is None:
            _create(run, candidate)
        else:
            _update(run, alert, candidate)
    for fingerprint, alert in current.items():
        if fingerprint not in candidates:
            _resolve(run, alert)
    run.digest()
    return run.summary


# -- steward actions ----------------------------------------------------------------


def _require_open(conn: Connection, alert_id: int) -> Alert:
    found = entities(conn, select(Alert).where(Alert.id == alert_id))
    alert = found[0] if found else None
    if alert is None:
        raise InputError(
            f"alert {alert_id} does not exist", hint="list alerts with `steward alerts list`"
        )
    if alert.state not in OPEN:
        raise InputError(
            f"alert {alert_id} is {alert.state}; only pending or firing alerts can be acknowledged or silenced"
        )
    return alert


def acknowledge(
    conn: Connection, alert_id: int, *, by: str, now: datetime, note: str | None = None
) -> Alert:
    """A steward has seen the alert: no more repeats until it resolves."""
    _require_open(conn, alert_id)
    conn.execute(
        update(Alert).where(Alert.id == alert_id).values(acknowledged_at=now, acknowledged_by=by)
    )
    conn.execute(
        insert(AlertHistory),
        {"alert_id": alert_id, "at": now, "action": "acknowledged", "actor": by, "note": note},
    )
    return _load(conn, alert_id)


def silence(
    conn: Connection, alert_id: int, *, duration: timedelta, reason: str, by: str, now: datetime
) -> Alert:
    """Hold back the alert's notifications until ``now + duration``, for a stated reason."""
    if duration <= timedelta(0):
        raise InputError(
            f"a silence must last longer than zero, got {duration}", hint="e.g. --for 2d"
        )
    if not reason.strip():
        raise InputError("a silence needs a reason", hint="e.g. --reason 'tank being repaired'")
    _require_open(conn, alert_id)
    until = now + duration
    conn.execute(
        update(Alert)
        .where(Alert.id == alert_id)
        .values(silenced_until=until, silence_reason=reason)
    )
    conn.execute(
        insert(AlertHistory),
        {
            "alert_id": alert_id,
            "at": now,
            "action": "silenced",
            "actor": by,
            "note": f"until {until:%Y-%m-%d %H:%M} UTC: {reason}",
        },
    )
    return _load(conn, alert_id)
