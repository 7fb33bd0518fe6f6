"""The words of a notification: a title and a plain-text body per state change.

A member's quota message is built only from that member's own quota row, so it
can never carry another member's numbers.
"""

from __future__ import annotations

from typing import Any

from steward.quotas.explain import fmt
from steward.store.models import Alert

_CHANGE_TAG = {
    "firing": "",
    "resolved": "RESOLVED ",
    "repeat": "STILL FIRING ",
    "resumed": "SILENCE EXPIRED ",
}


def status_lines(alert: Alert) -> list[str]:
    """Who acknowledged or silenced the alert, when and why (empty when neither)."""
    lines = []
    if alert.acknowledged_at is not None:
        why = f": {alert.acknowledged_note}" if alert.acknowledged_note else ""
        lines.append(
            f"Acknowledged by {alert.acknowledged_by or 'a steward'} at "
            f"{alert.acknowledged_at:%Y-%m-%d %H:%M} UTC{why}"
        )
    if alert.silenced_until is not None:
        since = f" at {alert.silenced_at:%Y-%m-%d %H:%M} UTC" if alert.silenced_at else ""
        lines.append(
            f"Silenced by {alert.silenced_by or 'a steward'}{since} until "
            f"{alert.silenced_until:%Y-%m-%d %H:%M} UTC: {alert.silence_reason}"
        )
    elif alert.silence_reason and alert.silenced_by:
        lines.append(f"Was silenced by {alert.silenced_by} (expired): {alert.silence_reason}")
    return lines


def steward_message(alert: Alert, change: str) -> tuple[str, str]:
    kind = change.split("-", 1)[0]
    tag = _CHANGE_TAG.get(kind, "")
    title = f"[{tag}{alert.severity.upper()}] {alert.rule}: {alert.summary}"[:250]
    lines = [alert.summary, ""]
    if kind == "resolved":
        lines.append("The condition no longer holds.")
    if kind == "resumed":
        lines.append("The silence on this alert has expired and the condition still holds.")
    lines += status_lines(alert)
    lines += [f"Alert #{alert.id}, first seen {alert.first_seen_at:%Y-%m-%d %H:%M} UTC."]
    if kind != "resolved":
        # The command runs on the monitor's host, whose config path the reader may not know.
        lines.append(
            "Acknowledge or silence it on the dashboard's Alerts page, or on the monitor's "
            f"host: steward --config PATH/steward.yaml alerts ack {alert.id} "
            f"(or: alerts silence {alert.id} --for 1d --reason '...')"
        )
    return title, "\n".join(lines)


def group_message(alerts: list[Alert], kind: str) -> tuple[str, str]:
    """One message for several alerts of one rule and resource (Alertmanager grouping)."""
    tag = _CHANGE_TAG.get(kind, "")
    severity = max(alerts, key=lambda a: _RANK.get(a.severity, 0)).severity
    first = alerts[0]
    title = f"[{tag}{severity.upper()}] {first.rule}: {len(alerts)} alerts"
    if first.details.get("resource_name"):
        title += f" on {first.details['resource_name']}"
    lines = [f"{len(alerts)} {first.rule} alerts {kind} together:", ""]
    for a in alerts[:50]:
        lines.append(f"- #{a.id} {a.summary}")
        lines += [f"    {line}" for line in status_lines(a)]
    if len(alerts) > 50:
        lines.append(f"... and {len(alerts) - 50} more: steward alerts list")
    return title[:250], "\n".join(lines)


_RANK = {"info": 0, "warning": 1, "critical": 2}


def member_message(alert: Alert, details: dict[str, Any]) -> tuple[str, str]:
    """A member's own quota message: their allocation, use, remaining and pace."""
    unit = details["unit"]
    res_name = details["resource_name"]
    status = details["status"]
    heading = {
        "nudged": "a friendly heads-up",
        "warned": "your pace is above your quota",
        "review": "you are over your quota",
    }.get(status, "your quota")
    title = f"{res_name}: {heading}"
    body = "\n".join(
        [
            f"Hello {details['member_name']},",
            "",
            alert.summary + ".",
            "",
            f"Your quota:        {fmt(details['allocation'], unit)}",
            f"Used so far:       {fmt(details['used'], unit)}",
            f"Remaining:         {fmt(details['remaining'], unit)}",
            f"Projected by end:  {fmt(details['projected'], unit)}",
            "",
            details["explanation"],
            "",
            "Thank you for helping keep our commons healthy.",
        ]
    )
    return title, body


def message(alert: Alert, change: str) -> tuple[str, str]:
    if alert.audience == "members" and alert.rule == "quota":
        return member_message(alert, alert.details)
    return steward_message(alert, change)
