"""Alerts as people read them: most severe first, and a state that says who holds it.

Used by ``steward alerts list`` and the dashboard's alert queries.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, case, func, select

from steward.alerts.records import entities
from steward.store.models import Alert, AlertHistory

#: Sort key: critical before warning before info.
SEVERITY_ORDER = case((Alert.severity == "critical", 0), (Alert.severity == "warning", 1), else_=2)


#: Key in ``Alert.details`` naming the alert that held this one back (inhibition).
HELD_BACK_BY = "held_back_by"
#: What a holding resource alert says, in a few words, for the state of what it holds back.
HOLDER_SAYS = {
    "negative_level": "the resource's level is below zero",
    "below_reserve": "the resource is below its reserve",
    "deficit": "a deficit is forecast for the resource",
    "depletion": "the resource is forecast to run out",
    "overbooking": "the resource is overbooked",
}
#: The history note of an inhibited alert: "held back while <fingerprint> stands".
_INHIBITED_NOTE = ("held back while ", " stands")


def lifecycle_state(alert: Alert, now: datetime, held_back: str | None = None) -> str:
    """'firing', 'firing, acknowledged', 'firing, silenced', 'pending', 'resolved'...

    ``held_back`` (from :func:`held_back_states`) replaces the state of a closed
    alert that another alert held back: it did not resolve, and must not read so.
    """
    if held_back is not None and alert.state not in ("pending", "firing"):
        return held_back
    marks = []
    if alert.state in ("pending", "firing"):
        if alert.acknowledged_at is not None:
            marks.append("acknowledged")
        if alert.silenced_until is not None and alert.silenced_until > now:
            marks.append("silenced")
    return ", ".join([alert.state, *marks])


def alert_page(
    conn: Connection, *, include_resolved: bool, limit: int, page: int
) -> tuple[int, list[Alert]]:
    """(how many alerts match, the ``page``-th page of ``limit``), most severe then newest."""
    where = [] if include_resolved else [Alert.state.in_(("pending", "firing"))]
    total = int(conn.execute(select(func.count()).select_from(Alert).where(*where)).scalar_one())
    found = entities(
        conn,
        select(Alert)
        .where(*where)
        .order_by(SEVERITY_ORDER, Alert.id.desc())
        .limit(limit)
        .offset((page - 1) * limit),
    )
    return total, found


def held_back_states(conn: Connection, found: Iterable[Any]) -> dict[int, str]:
    """Alert id -> state words, for each closed alert of ``found`` that was held back.

    ``found`` holds objects with ``id``, ``state`` and ``details`` (``Alert``
    entities or rows). The holder comes from ``details[HELD_BACK_BY]`` (written by
    the lifecycle since it was kept there) or, for alerts closed before, from the
    alert's "inhibited" history row. The words say which alert holds it and whether
    that one still stands, e.g. "held back by below_reserve #6 (the resource is
    below its reserve; this alert's condition may still hold)". Two queries at most
    besides the holders' states; alerts that were not held back are left out.
    """
    closed = [a for a in found if a.state not in ("pending", "firing")]
    holders: dict[int, tuple[str, int | None]] = {}  # alert id -> (holder fingerprint, id)
    for a in closed:
        mark = (a.details or {}).get(HELD_BACK_BY)
        if isinstance(mark, dict) and mark.get("fingerprint"):
            holders[a.id] = (str(mark["fingerprint"]), mark.get("alert_id"))
    older = [a.id for a in closed if a.id not in holders]
    if older:
        notes = conn.execute(
            select(AlertHistory.alert_id, AlertHistory.note)
            .where(AlertHistory.alert_id.in_(older), AlertHistory.action == "inhibited")
            .order_by(AlertHistory.id)
        ).all()
        start, end = _INHIBITED_NOTE
        for alert_id, note in notes:
            if note and note.startswith(start) and note.endswith(end):
                holders[alert_id] = (note[len(start) : -len(end)], None)
    if not holders:
        return {}
    ids = {i for _, i in holders.values() if i is not None}
    open_ids = (
        set(
            conn.execute(
                select(Alert.id).where(Alert.id.in_(ids), Alert.state.in_(("pending", "firing")))
            ).scalars()
        )
        if ids
        else set()
    )
    out: dict[int, str] = {}
    for alert_id, (fingerprint, holder_id) in holders.items():
        rule = fingerprint.split(":", 1)[0]
        if holder_id is None:  # an older alert: its history names the holder, not its number
            out[alert_id] = f"held back by {fingerprint} (this alert's condition may still hold)"
        elif holder_id in open_ids:
            says = HOLDER_SAYS.get(rule, f"{rule} stands")
            out[alert_id] = (
                f"held back by {rule} #{holder_id} ({says}; this alert's condition may still hold)"
            )
        else:
            out[alert_id] = f"held back by {rule} #{holder_id} until that closed"
    return out
