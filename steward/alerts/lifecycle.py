"""Alert lifecycle with an explicit clock: pending -> firing -> resolved.

* A condition seen for the first time is ``pending`` until it has held for the
  rule's ``for`` duration, then ``firing``; if it clears first it resolves quietly.
* One open alert per fingerprint: re-evaluating (or restarting) updates it, never
  duplicates it.
* A firing alert is sent again every ``repeat`` unless acknowledged or silenced;
  when a silence expires on a firing alert it is sent once ("resumed"), then repeats.
* Silences and acknowledgements carry who, when and why; every change is kept in
  AlertHistory.
* Volume control as in Alertmanager: *inhibition* (a resource-level alert --
  negative_level, below_reserve, deficit, depletion, overbooking -- holds back the
  member quota alerts of that resource, and one real problem is one alert: a
  level below zero supersedes the stock's other level alerts, an observed breach
  of the reserve supersedes the forecasts of one (deficit, depletion) and the
  anomaly of the fall that made it, and a
  deficit holds back the depletion alert it already states and, for a pool, the
  overbooking forecast that would ask for the same units again);
  *grouping* (stewards get one message per rule and resource per evaluation);
  a *rate limit* per route (``max_per_day`` over a rolling 24 hours) and a member
  storm cap per evaluation, past which messages are held and stewards get at
  most one digest per route every ``DIGEST_EVERY``.
* *Hysteresis*: threshold rules keep an open alert open down to a lower clearing
  threshold (``clear_margin``), and a RESOLVED message states the figures that
  hold now, never the ones the alert fired with.
* A firing alert whose condition turns the other way (``details["direction"]``
  changes: a drift from below the ledger to above it) is a different problem
  under the same fingerprint: it is sent again at once as CHANGED, quoting what
  it said before, and an acknowledgement of the old direction is cleared.

Every function takes ``now``; nothing here reads the wall clock.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Connection, func, insert, select, update

from steward.alerts import outbox
from steward.alerts.listing import HELD_BACK_BY
from steward.alerts.messages import (
    PLACEHOLDER_COMMAND,
    PLACEHOLDER_NOTE,
    command_prefix,
    group_message,
    message,
)
from steward.alerts.options import Rules, load_rules
from steward.alerts.records import entities
from steward.alerts.rules import Candidate, collect, holding
from steward.alerts.scope import CommonsOf
from steward.config import RouteConfig, Settings
from steward.display import counted, local_time
from steward.errors import InputError
from steward.store.models import Alert, AlertHistory, Commons, Member, OutboxMessage

OPEN = ("pending", "firing")
#: Rules whose alert concerns a whole resource: they inhibit its member quota alerts.
RESOURCE_RULES = ("negative_level", "below_reserve", "deficit", "depletion", "overbooking")
#: One real problem, one alert: a rule's alert holds back these rules' alerts of the
#: same resource (their figures rest on what it states, or it states them already).
SUPERSEDES: dict[str, tuple[str, ...]] = {
    "negative_level": ("below_reserve", "deficit", "depletion", "anomaly"),
    "below_reserve": ("deficit", "depletion", "anomaly"),
    # A pool's deficit already says it needs more units (and how many); the
    # overbooking forecast of the same pool would ask for them a second time.
    "deficit": ("depletion", "overbooking"),
}
#: At most one digest of held messages per route in this interval.
DIGEST_EVERY = timedelta(hours=6)
#: The rolling window of a route's ``max_per_day``.
RATE_WINDOW = timedelta(hours=24)


@dataclass
class EvaluationSummary:
    candidates: int = 0
    changes: Counter[str] = field(default_factory=Counter)
    queued: int = 0
    suppressed_member_messages: int = 0
    #: Member quota alerts held back by a resource-level alert (Alertmanager inhibition).
    inhibited: int = 0
    #: Resource alerts held back by another of the same resource that states them
    #: (:data:`SUPERSEDES`: one real problem, one alert).
    superseded: int = 0
    #: Messages held by a route's rate limit or the member storm cap.
    held: int = 0

    def held_back(self) -> list[str]:
        """What the evaluation did not raise because another alert stands, in words
        ([]: nothing), e.g. ["2 member alerts not raised while a resource alert stands",
        "1 alert not raised: another on the same resource states it"].

        "Not raised": such conditions are never stored as alerts, so the dashboard's
        Held back tab (alerts raised, then held back) does not list them.
        """
        out = []
        if self.inhibited:
            out.append(
                f"{counted(self.inhibited, 'member alert')} not raised while a resource alert stands"
            )
        if self.superseded:
            out.append(
                f"{counted(self.superseded, 'alert')} not raised: another on the same "
                "resource states it"
            )
        return out

    def __str__(self) -> str:
        """e.g. "3 conditions hold (3 firing); 3 messages queued"; zero counts left out."""
        changes = ", ".join(f"{v} {k}" for k, v in sorted(self.changes.items()))
        text = f"{self.candidates} conditions hold" + (f" ({changes})" if changes else "")
        extra = [
            f"{self.queued} messages queued" if self.queued else "",
            f"{self.held} held by rate limits" if self.held else "",
            *self.held_back(),
        ]
        return "; ".join([text, *(x for x in extra if x)])


@dataclass
class _Outgoing:
    alert: Alert
    change: str
    #: What holds now, for a RESOLVED message (None: the rule cannot say).
    now_text: str | None = None
    #: What the alert said before, for a CHANGED message.
    before: str | None = None


class _Run:
    """One evaluation: the connection, clock, settings and what it will send."""

    def __init__(
        self,
        conn: Connection,
        settings: Settings,
        rules: Rules,
        now: datetime,
        command: str = PLACEHOLDER_COMMAND,
    ) -> None:
        self.conn, self.settings, self.rules, self.now = conn, settings, rules, now
        self.command = command
        self.summary = EvaluationSummary()
        self.member_messages = 0
        self.outgoing: list[_Outgoing] = []
        self.resumed: set[int] = set()
        self.commons_of = CommonsOf(conn, settings)

    def history(
        self, alert_id: int, action: str, note: str | None = None, actor: str | None = None
    ) -> None:
        self.conn.execute(
            insert(AlertHistory),
            {"alert_id": alert_id, "at": self.now, "action": action, "actor": actor, "note": note},
        )
        self.summary.changes[action] += 1

    def notify(
        self, alert: Alert, change: str, now_text: str | None = None, before: str | None = None
    ) -> None:
        """Queue ``change`` of ``alert`` for sending at the end of the evaluation;
        ``now_text`` says what holds now (RESOLVED messages), ``before`` what the
        alert said before (CHANGED messages)."""
        self.conn.execute(
            update(Alert).where(Alert.id == alert.id).values(last_notified_at=self.now)
        )
        if alert.silenced_until is not None and alert.silenced_until > self.now:
            self.history(
                alert.id,
                "suppressed",
                f"{change}: silenced by {alert.silenced_by or 'a steward'} until "
                f"{local_time(alert.silenced_until, self.commons_of.timezone(alert.commons_id))}: "
                f"{alert.silence_reason}",
            )
            return
        if alert.audience == "members" and change.startswith("resolved"):
            return  # a member is told when a step is reached, not when it passes
        self.outgoing.append(_Outgoing(alert, change, now_text, before))

    # -- sending: grouping, rate limits, digests ----------------------------------

    def _sent_recently(self, route: RouteConfig) -> int:
        return int(
            self.conn.execute(
                select(func.count())
                .select_from(OutboxMessage)
                .where(
                    OutboxMessage.route == f"{route.name}#0",
                    OutboxMessage.created_at > self.now - RATE_WINDOW,
                    ~OutboxMessage.dedupe_key.startswith("digest:"),
                )
            ).scalar_one()
        )

    def _hold(self, alert_ids: list[int], route: RouteConfig, why: str) -> None:
        for alert_id in alert_ids:
            self.history(alert_id, "held", f"route {route.name}: {why}")
        self.summary.held += len(alert_ids)

    def _send(
        self,
        key: str,
        alert_ids: list[int],
        route: RouteConfig,
        title: str,
        body: str,
        commons_id: int | None,
    ) -> None:
        limit = route.max_per_day
        if limit is not None and self._sent_recently(route) >= limit:
            self._hold(alert_ids, route, f"rate limit of {limit} messages a day reached")
            return
        self.summary.queued += outbox.enqueue(
            self.conn,
            key=key,
            alert_id=alert_ids[0] if len(alert_ids) == 1 else None,
            route=route,
            title=title,
            body=body,
            now=self.now,
            commons_id=commons_id,
        )

    def flush(self) -> None:
        """Send what this evaluation produced: members one by one, stewards grouped."""
        groups: dict[tuple[int | None, str, str, str], list[_Outgoing]] = defaultdict(list)
        for out in self.outgoing:
            alert = out.alert
            if alert.audience == "members":
                self._member(out)
                continue
            subject = str(alert.resource_id or alert.source or alert.fingerprint)
            kind = out.change.split("-", 1)[0]
            groups[(alert.commons_id, alert.rule, subject, kind)].append(out)
        for (commons_id, rule, subject, kind), items in groups.items():
            severity = max((o.alert.severity for o in items), key=_SEVERITY_RANK.__getitem__)
            ids = [o.alert.id for o in items]
            tz = self.commons_of.timezone(commons_id)
            if len(items) == 1:
                title, body = message(
                    items[0].alert,
                    items[0].change,
                    tz,
                    now_text=items[0].now_text,
                    command=self.command,
                    before=items[0].before,
                )
                key = f"alert:{ids[0]}:{items[0].change}"
            else:
                title, body = group_message(
                    [o.alert for o in items],
                    kind,
                    tz,
                    now_texts={o.alert.id: o.now_text for o in items if o.now_text},
                    command=self.command,
                )
                key = f"group:{rule}:{subject}:{kind}:{self.now.isoformat()}"
            commons = self.commons_of.slug(commons_id)
            for route in outbox.routes_for(self.settings, "stewards", severity, commons):
                self._send(key, ids, route, title, body, commons_id)
        self._digests()

    def _member(self, out: _Outgoing) -> None:
        alert = out.alert
        commons = self.commons_of.slug(alert.commons_id)
        routes = outbox.routes_for(self.settings, "members", alert.severity, commons)
        if not routes:
            return
        email = self.conn.execute(select(Member.email).where(Member.id == alert.member_id)).scalar()
        if not email:
            self.history(alert.id, "not sent", "the member has no email address on record")
            return
        if self.member_messages >= self.rules.quota.max_member_messages:
            self.summary.suppressed_member_messages += 1
            for route in routes:
                self._hold(
                    [alert.id],
                    route,
                    f"storm cap of {self.rules.quota.max_member_messages} member messages "
                    "per evaluation",
                )
            return
        self.member_messages += 1
        title, body = message(
            alert, out.change, self.commons_of.timezone(alert.commons_id), command=self.command
        )
        for route in routes:
            self._send(
                f"alert:{alert.id}:{out.change}", [alert.id], route, title, body, alert.commons_id
            )

    def _digests(self) -> None:
        """At most one digest per route every DIGEST_EVERY, of what it held since the last."""
        for route in self.settings.alerts.routes:
            last = self.conn.execute(
                select(func.max(OutboxMessage.created_at)).where(
                    OutboxMessage.dedupe_key.startswith(f"digest:{route.name}:")
                )
            ).scalar()
            if last is not None and self.now - last < DIGEST_EVERY:
                continue
            held = self.conn.execute(
                select(AlertHistory.note, Alert.summary)
                .join(Alert, Alert.id == AlertHistory.alert_id)
                .where(
                    AlertHistory.action == "held",
                    AlertHistory.note.startswith(f"route {route.name}:"),
                    AlertHistory.at > (last or datetime.min.replace(tzinfo=self.now.tzinfo)),
                )
                .order_by(AlertHistory.id)
            ).all()
            if not held:
                continue
            n = len(held)
            what = "member messages" if route.audience == "members" else "messages"
            title = f"[DIGEST] {n} {what} held back on route {route.name}"
            body = (
                f"{n} {what} of route {route.name} were held back (rate limit or storm "
                f"cap) since the last digest. Review them with `{self.command} alerts list` "
                f"and `{self.command} quotas`.\n\n"
                + "\n".join(f"- {summary}" for _, summary in held[:50])
                + (f"\n\n{PLACEHOLDER_NOTE}" if self.command == PLACEHOLDER_COMMAND else "")
            )
            # To the stewards of the held route's own commons only.
            for target in outbox.routes_for(self.settings, "stewards", "warning", route.commons):
                self.summary.queued += outbox.enqueue(
                    self.conn,
                    key=f"digest:{route.name}:{self.now.isoformat()}",
                    alert_id=None,
                    route=target,
                    title=title,
                    body=body,
                    now=self.now,
                    commons_id=self.commons_of.id(route.commons),
                )


_SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}


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
            "commons_id": run.commons_of(c.resource_id, c.member_id, c.source),
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
        # Alerts from before commons scoping (or a collector moved to another commons).
        "commons_id": run.commons_of(c.resource_id, c.member_id, c.source),
    }
    if alert.state == "pending" and run.now - alert.first_seen_at >= c.pending_for:
        values |= {"state": "firing", "fired_at": run.now}
        run.conn.execute(update(Alert).where(Alert.id == alert.id).values(**values))
        run.history(alert.id, "firing", c.summary)
        run.notify(_load(run.conn, alert.id), "firing")
        return
    turned = _turned(alert, c)
    if turned and alert.state == "firing":
        # A different problem under the same fingerprint: what was acknowledged
        # (the old direction) is not what holds now.
        values |= {"acknowledged_at": None, "acknowledged_by": None, "acknowledged_note": None}
        run.conn.execute(update(Alert).where(Alert.id == alert.id).values(**values))
        run.history(alert.id, "changed", c.summary)
        run.notify(_load(run.conn, alert.id), f"changed-{run.now.isoformat()}", before=turned)
        return
    run.conn.execute(update(Alert).where(Alert.id == alert.id).values(**values))
    if alert.state != "firing" or alert.acknowledged_at is not None:
        return
    if alert.id in run.resumed:
        run.notify(_load(run.conn, alert.id), f"resumed-{run.now.isoformat()}")
        return
    last = alert.last_notified_at or alert.fired_at or alert.first_seen_at
    if run.now - last >= c.repeat:
        run.notify(_load(run.conn, alert.id), f"repeat-{last.isoformat()}")


def _turned(alert: Alert, c: Candidate) -> str | None:
    """What ``alert`` said before when its condition turned the other way (its
    ``details["direction"]`` differs from the candidate's), else None."""
    was = (alert.details or {}).get("direction")
    now = c.details.get("direction")
    if was is None or now is None or was == now:
        return None
    return alert.summary


def _resolve(
    run: _Run, alert: Alert, inhibited_by: str | None = None, now_text: str | None = None
) -> None:
    """Close ``alert``; ``now_text`` (the rule's current figures) goes into its history
    and its RESOLVED message, which never repeats the figures it fired with as current."""
    values: dict[str, object] = {
        "state": "resolved",
        "resolved_at": run.now,
        "last_evaluated_at": run.now,
    }
    details = dict(alert.details or {})
    if now_text:
        details["resolved_as"] = now_text
        values["details"] = details
    if inhibited_by is not None:
        # Kept on the alert so a listing can say it was held back, not resolved.
        holder = run.conn.execute(
            select(Alert.id)
            .where(Alert.fingerprint == inhibited_by, Alert.state.in_(OPEN))
            .order_by(Alert.id.desc())
            .limit(1)
        ).scalar()
        details[HELD_BACK_BY] = {"fingerprint": inhibited_by, "alert_id": holder}
        values["details"] = details
    run.conn.execute(update(Alert).where(Alert.id == alert.id).values(**values))
    if alert.state == "pending":
        run.history(alert.id, "cleared", "the condition cleared before the alert fired")
        return
    if inhibited_by is not None:
        run.history(alert.id, "inhibited", f"held back while {inhibited_by} stands")
        return
    run.history(alert.id, "resolved", now_text)
    run.notify(_load(run.conn, alert.id), "resolved", now_text)


def _expire_silences(run: _Run) -> None:
    expired = run.conn.execute(
        select(Alert.id, Alert.silence_reason).where(
            Alert.silenced_until.is_not(None), Alert.silenced_until <= run.now
        )
    ).all()
    for alert_id, reason in expired:
        run.conn.execute(update(Alert).where(Alert.id == alert_id).values(silenced_until=None))
        run.history(alert_id, "silence expired", f"was: {reason}" if reason else None)
        run.resumed.add(alert_id)


def inhibit(candidates: dict[str, Candidate]) -> dict[str, str]:
    """Fingerprints held back by another candidate -> the one that holds them.

    Per resource: a rule listed in :data:`SUPERSEDES` holds back the rules it
    names (a level below zero holds back the reserve breach, the deficit, the
    depletion forecast and the anomaly; an observed reserve breach holds back the
    deficit and depletion forecasts and the anomaly of the same fall; a deficit holds
    back the depletion alert it states and a pool's overbooking forecast), and any resource-level alert holds back the member quota alerts
    (and steward reviews). A held candidate names the highest-ranked holder
    (the order of :data:`RESOURCE_RULES`).
    """
    rank = {rule: i for i, rule in enumerate(RESOURCE_RULES)}
    by_resource: dict[int, list[Candidate]] = defaultdict(list)
    for c in candidates.values():
        if c.resource_id is not None and c.rule in RESOURCE_RULES:
            by_resource[c.resource_id].append(c)
    for found in by_resource.values():
        found.sort(key=lambda c: rank[c.rule])
    held: dict[str, str] = {}
    for fp, c in candidates.items():
        if c.resource_id is None:
            continue
        for holder in by_resource.get(c.resource_id, []):
            if holder.fingerprint == fp:
                continue
            if c.rule == "quota" or c.rule in SUPERSEDES.get(holder.rule, ()):
                held[fp] = holder.fingerprint
                break
    return held


def evaluate(
    conn: Connection, settings: Settings, now: datetime, *, config_path: Path | None = None
) -> EvaluationSummary:
    """Evaluate every rule at ``now`` and move alerts through their lifecycle.

    ``config_path`` is the configuration the monitor runs with: the commands a
    message suggests name it (``steward --config /srv/steward.yaml alerts ack 12``),
    so they run as printed on the monitor's host. Without it they name a
    placeholder and say what to put there.
    """
    outbox.check_routes(settings)
    run = _Run(conn, settings, load_rules(settings), now, command_prefix(config_path))
    _expire_silences(run)
    current = _open_alerts(conn)
    found = collect(conn, settings, run.rules, now, frozenset(current))
    cleared = {fp: c for fp, c in found.items() if not c.holds}
    candidates = holding(found)
    held = inhibit(candidates)
    run.summary.inhibited = sum(candidates[fp].rule == "quota" for fp in held)
    run.summary.superseded = len(held) - run.summary.inhibited
    candidates = {fp: c for fp, c in candidates.items() if fp not in held}
    run.summary.candidates = len(candidates)
    for fingerprint, candidate in candidates.items():
        alert = current.get(fingerprint)
        if alert is None:
            _create(run, candidate)
        else:
            _update(run, alert, candidate)
    for fingerprint, alert in current.items():
        if fingerprint not in candidates:
            now_text = cleared[fingerprint].summary if fingerprint in cleared else None
            _resolve(run, alert, inhibited_by=held.get(fingerprint), now_text=now_text)
    run.flush()
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
        update(Alert)
        .where(Alert.id == alert_id)
        .values(acknowledged_at=now, acknowledged_by=by, acknowledged_note=note)
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
    # The history note is shown on the pages: in the commons' time, as they show times.
    zone = conn.execute(
        select(Commons.timezone)
        .join(Alert, Alert.commons_id == Commons.id)
        .where(Alert.id == alert_id)
    ).scalar()
    conn.execute(
        update(Alert)
        .where(Alert.id == alert_id)
        .values(silenced_until=until, silence_reason=reason, silenced_at=now, silenced_by=by)
    )
    conn.execute(
        insert(AlertHistory),
        {
            "alert_id": alert_id,
            "at": now,
            "action": "silenced",
            "actor": by,
            "note": f"until {local_time(until, zone or 'UTC')}: {reason}",
        },
    )
    return _load(conn, alert_id)
