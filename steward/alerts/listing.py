"""Alerts as people read them: most severe first, and a state that says who holds it.

Used by ``steward alerts list`` and the dashboard's alert queries.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, case, func, select

from steward.alerts.records import entities
from steward.store.models import Alert

#: Sort key: critical before warning before info.
SEVERITY_ORDER = case((Alert.severity == "critical", 0), (Alert.severity == "warning", 1), else_=2)


def lifecycle_state(alert: Alert, now: datetime) -> str:
    """'firing', 'firing, acknowledged', 'firing, silenced', 'pending', 'resolved'..."""
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
