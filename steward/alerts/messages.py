"""The words of a notification: a title and a plain-text body per state change.

A member's quota message is built only from that member's own quota row, so it
can never carry another member's numbers.
"""

from __future__ import annotations

from typing import Any

from steward.quotas.explain import fmt
from steward.store.models import Alert

_CHANGE_TAG = {"firing": "", "resolved": "RESOLVED ", "repeat": "STILL FIRING "}


def steward_message(alert: Alert, change: str) -> tuple[str, str]:
    kind = change.split("-", 1)[0]
    tag = _CHANGE_TAG.get(kind, "")
    title = f"[{tag}{alert.severity.upper()}] {alert.rule}: {alert.summary}"[:250]
    lines = [alert.summary, ""]
    if kind == "resolved":
        lines.append("The condition no longer holds.")
    lines += [
        f"Alert #{alert.id} ({alert.fingerprint}), first seen {alert.first_seen_at:%Y-%m-%d %H:%M} UTC."
    ]
    if kind != "resolved":
        lines.append(
            f"Acknowledge: steward alerts ack {alert.id}   "
            f"Silence: steward alerts silence {alert.id} --for 1d --reason '...'"
        )
    return title, "\n".join(lines)


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
