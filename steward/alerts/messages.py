"""The words of a notification: a title and a plain-text body per state change.

A member's quota message is built only from that member's own quota row, so it
can never carry another member's numbers.
"""

from __future__ import annotations

import shlex
import shutil
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

from steward.display import local_time
from steward.quotas.explain import fmt, left_text, quota_places
from steward.store.models import Alert

#: A title longer than this is cut (see :func:`short`); the body always has the whole summary.
TITLE_CHARS = 120
_CHANGE_TAG = {
    "firing": "",
    "resolved": "RESOLVED ",
    "repeat": "STILL FIRING ",
    "resumed": "SILENCE EXPIRED ",
    "changed": "CHANGED ",
}


#: Said when the resource's own backtest cannot yet vouch for the figure (none stored,
#: or too few cases in its bin): a rule's ``track_record`` replaces it when it can.
_FORECAST_SURE = (
    "How sure: the chance above is the latest forecast's, not yet checked against how "
    "this resource's past forecasts came true: its weekly backtest (steward calibrate) "
    "has not run or has too few cases like it. Read it as a guide, not a measurement."
)
_RECORDED_SURE = (
    "How sure: recorded, not forecast: the level the ledger holds now (the latest "
    "reading plus the events since)."
)
#: Per rule: how sure the alert is, and what a steward can do about it. A steward who
#: reads only the message should know both without opening the dashboard. ``{cmd}``
#: is the runnable ``steward --config ...`` prefix (:func:`command_prefix`),
#: ``{resource}``, ``{source}`` and ``{member}`` the alert's own subject.
GUIDANCE: dict[str, tuple[str, str]] = {
    "negative_level": (
        "How sure: recorded, not forecast: the ledger's own total is below zero, which no "
        "stock can be; the records are what is in doubt, not the arithmetic.",
        "What to do: find what the records miss or hold twice; {cmd} quarantine list "
        "shows rows a source could not record.",
    ),
    "below_reserve": (
        _RECORDED_SURE,
        "What to do: hold use that can wait and seek replenishment; {cmd} quotas "
        "--resource {resource} shows what members may still use.",
    ),
    "depletion": (
        _FORECAST_SURE,
        "What to do: plan a refill or replenishment before the earlier date above, or ask members "
        "to use less; {cmd} quotas --resource {resource} --explain shows members' quotas.",
    ),
    "deficit": (
        _FORECAST_SURE,
        "What to do: raise income, or cut use, by the shortfall above (this period's; a "
        "weekly period's also gives the monthly pace to keep after it). {cmd} "
        "quotas --resource {resource} --explain shows members' quotas.",
    ),
    "overbooking": (
        _FORECAST_SURE,
        "What to do: add the units named above, shorten loans, or ask members to book other days.",
    ),
    "anomaly": (
        "How sure: the level is as recorded; the range is the forecast's for today.",
        "What to do: check today's records for a typo or unrecorded use, and the resource itself.",
    ),
    "drift": (
        "How sure: measured: a reading against the ledger's own total, not a forecast.",
        # For a reading below the ledger; one above carries its own (rules.drift).
        "What to do: check the resource for a leak and the sensor for a fault, and record "
        "any use the ledger is missing.",
    ),
    "collector_stale": (
        "How sure: from the collector's own run record.",
        "What to do: {cmd} sources shows the collector's last error; fix the source or "
        "its settings, then {cmd} collect {source}",
    ),
    "quota": (
        "How sure: use as recorded in the ledger this period.",
        "What to do: talk with the member; {cmd} quotas --member {member} --explain shows "
        "how their quota was set.",
    ),
    "quota_overrun": (
        "How sure: use as recorded in the ledger this period; a wrong record (a loan never "
        "returned, a typo in an amount) looks the same, so check the records first.",
        "What to do: check the member's records this period; if they are right, contact the "
        "member yourself (their email is on the dashboard's Members page) to agree on "
        "returning or repaying; {cmd} quotas --member {member} --explain shows how their "
        "quota was set. This message goes to stewards only, never to other members.",
    ),
}
#: The command that helps, after a rule's own "What to do" (``details["what_to_do"]``).
COMMAND_HINT = {
    "negative_level": "{cmd} quarantine list shows rows a source could not record.",
    "below_reserve": "{cmd} quotas --resource {resource} shows what members may still use.",
    "deficit": "{cmd} quotas --resource {resource} --explain shows members' quotas.",
}
#: The command prefix a message prints when it does not know the monitor's configuration.
PLACEHOLDER_COMMAND = "steward --config <your steward.yaml>"
#: Said once under a message that prints :data:`PLACEHOLDER_COMMAND`.
PLACEHOLDER_NOTE = (
    "(<your steward.yaml> stands for the configuration file the monitor runs with; "
    "run the commands on its host.)"
)


def command_prefix(config_path: Path | None) -> str:
    """The ``steward --config PATH`` prefix a message's commands start with, runnable as printed.

    ``config_path`` is the configuration the monitor was started with (made
    absolute). The program is ``steward`` when the ``steward`` on ``PATH`` is this
    installation's, else this installation's script by its full path (the
    scheduler is often started as ``.venv/bin/steward run``), else ``python -m
    steward``. Without a path: :data:`PLACEHOLDER_COMMAND`, which messages explain.
    """
    if config_path is None:
        return PLACEHOLDER_COMMAND
    here = Path(sys.executable).parent / "steward"
    on_path = shutil.which("steward")
    if on_path and (not here.exists() or Path(on_path).resolve() == here.resolve()):
        program = ["steward"]
    elif here.exists():
        program = [str(here)]
    else:
        program = [sys.executable, "-m", "steward"]
    return shlex.join([*program, "--config", str(Path(config_path).resolve())])


def _guidance(alert: Alert, command: str) -> tuple[str, str]:
    """(how sure, what to do) of ``alert``, its commands runnable (``command`` prefix)."""
    return advice(alert.rule, alert.details or {}, alert.source, command)


def advice(
    rule: str, details: dict[str, Any], source: str | None, command: str = PLACEHOLDER_COMMAND
) -> tuple[str, str]:
    """(how sure, what to do) of an alert of ``rule``, as its notification says them.

    ``details`` and ``source`` are the alert's own; ``command`` starts the commands it
    names (:func:`command_prefix`). ``("", "")`` for a rule without guidance. The
    dashboard's Alerts page shows the same two lines the message carries.
    """
    if rule not in GUIDANCE:
        return "", ""
    sure, todo = GUIDANCE[rule]
    record = details.get("track_record")
    own = details.get("how_sure")
    if isinstance(own, str) and own:
        # The rule's own basis (a figure from the ledger rather than a forecast).
        sure = own
    if isinstance(record, str) and record:
        # The resource's own backtest says more than the generic line.
        sure = f"How sure: {record} (backtest of this resource's past forecasts)"
    filled = {
        "cmd": command,
        "resource": shlex.quote(str(details.get("resource") or "")),
        "source": shlex.quote(source or ""),
        "member": shlex.quote(str(details.get("member") or "")),
    }
    specific = details.get("what_to_do")
    if isinstance(specific, str) and specific:
        # The rule's own advice with the alert's figures (user text: never a template),
        # then the command that helps.
        hint = COMMAND_HINT.get(rule)
        return sure, specific + (f" {hint.format(**filled)}" if hint else "")
    return sure, todo.format(**filled)


def quota_note(details: dict[str, Any]) -> str | None:
    """What a resource alert may truly say about its quotas, from ``details["quotas"]``.

    ``{"enforced": n, "suspended": m}`` counts this period's quotas of the resource
    (set by the alert rules); None when the alert carries no such counts.
    """
    counts = details.get("quotas")
    if not isinstance(counts, dict):
        return None
    enforced, suspended = int(counts.get("enforced", 0)), int(counts.get("suspended", 0))
    if enforced:
        held = f" ({suspended} more are suspended)" if suspended else ""
        return (
            f"Members' quotas: {enforced} members hold an enforced quota{held}; their quota "
            "messages are held back while this alert stands (steward quotas --explain shows "
            "how each was set, and whether the budget could give each one ordinary use)."
        )
    if suspended:
        return (
            f"Members' quotas: all {suspended} are suspended (steward quotas says why), so no "
            "quota limits use until they can be computed."
        )
    return (
        "Members' quotas: it has none; a quota policy in the configuration would share "
        "what it can sustain among its members."
    )


def status_lines(alert: Alert, tz: str = "UTC") -> list[str]:
    """Who acknowledged or silenced the alert, when and why (empty when neither).

    Times are in ``tz`` (the alert's commons' timezone), labelled, as the dashboard shows them.
    """
    lines = []
    if alert.acknowledged_at is not None:
        why = f": {alert.acknowledged_note}" if alert.acknowledged_note else ""
        lines.append(
            f"Acknowledged by {alert.acknowledged_by or 'a steward'} at "
            f"{local_time(alert.acknowledged_at, tz)}{why}"
        )
    if alert.silenced_until is not None:
        since = f" at {local_time(alert.silenced_at, tz)}" if alert.silenced_at else ""
        lines.append(
            f"Silenced by {alert.silenced_by or 'a steward'}{since} until "
            f"{local_time(alert.silenced_until, tz)}: {alert.silence_reason}"
        )
    elif alert.silence_reason and alert.silenced_by:
        lines.append(f"Was silenced by {alert.silenced_by} (expired): {alert.silence_reason}")
    return lines


def steward_message(
    alert: Alert,
    change: str,
    tz: str = "UTC",
    *,
    now_text: str | None = None,
    command: str = PLACEHOLDER_COMMAND,
    before: str | None = None,
) -> tuple[str, str]:
    """A steward's message about one alert: (title, plain-text body), times in ``tz``.

    A RESOLVED message leads with ``now_text``, the figures that hold now (e.g. the
    chance the forecast gives today), and quotes what the alert said before as
    such: it never presents the old figures as current. A CHANGED message (the
    condition turned the other way, e.g. a drift from below the ledger to above
    it) quotes ``before``, the summary last sent. ``command`` starts the
    commands it suggests (:func:`command_prefix`).
    """
    kind = change.split("-", 1)[0]
    tag = _CHANGE_TAG.get(kind, "")
    if kind == "resolved":
        now = now_text or "the condition no longer holds"
        title = f"[{tag}{alert.severity.upper()}] {alert.rule}: {short(now)}"
        lines = [
            f"Now: {now}.",
            "",
            f"Until now it said: {alert.summary}",
            "",
        ]
    else:
        title = f"[{tag}{alert.severity.upper()}] {alert.rule}: {short(alert.summary)}"
        lines = [alert.summary, ""]
        if alert.rule in GUIDANCE:
            sure, todo = _guidance(alert, command)
            note = quota_note(alert.details or {})
            lines += [sure, todo, *([note] if note else []), ""]
    if kind == "resumed":
        lines.append("The silence on this alert has expired and the condition still holds.")
    if kind == "changed":
        lines.append(
            "It has turned the other way since it was sent, so what to do has changed "
            "with it (an acknowledgement of the old direction no longer holds)."
            + (f" It said before: {before}" if before else "")
        )
    lines += status_lines(alert, tz)
    lines += [f"Alert #{alert.id}, first seen {local_time(alert.first_seen_at, tz)}."]
    if kind != "resolved":
        lines.append(
            "Acknowledge or silence it on the dashboard's Alerts page, or on the monitor's "
            f"host: {command} alerts ack {alert.id} "
            f"(or: {command} alerts silence {alert.id} --for 1d --reason 'why')"
        )
    if command == PLACEHOLDER_COMMAND and any(command in line for line in lines):
        lines.append(PLACEHOLDER_NOTE)
    return title, "\n".join(lines)


def group_message(
    alerts: list[Alert],
    kind: str,
    tz: str = "UTC",
    *,
    now_texts: dict[int, str] | None = None,
    command: str = PLACEHOLDER_COMMAND,
) -> tuple[str, str]:
    """One message for several alerts of one rule and resource (Alertmanager grouping).

    For RESOLVED groups ``now_texts`` (by alert id) says what holds now; an alert
    without one is listed as what it said when it fired, marked so.
    """
    tag = _CHANGE_TAG.get(kind, "")
    severity = max(alerts, key=lambda a: _RANK.get(a.severity, 0)).severity
    first = alerts[0]
    title = f"[{tag}{severity.upper()}] {first.rule}: {len(alerts)} alerts"
    if first.details.get("resource_name"):
        title += f" on {first.details['resource_name']}"
    lines = [f"{len(alerts)} {first.rule} alerts {kind} together:", ""]
    for a in alerts[:50]:
        if kind == "resolved":
            now = (now_texts or {}).get(a.id)
            text = f"now: {now}" if now else f"no longer holds (it said: {a.summary})"
            lines.append(f"- #{a.id} {text}")
        else:
            lines.append(f"- #{a.id} {a.summary}")
        lines += [f"    {line}" for line in status_lines(a, tz)]
    if len(alerts) > 50:
        lines.append(f"... and {len(alerts) - 50} more: {command} alerts list")
    if command == PLACEHOLDER_COMMAND and any(command in line for line in lines):
        lines.append(PLACEHOLDER_NOTE)
    return title[:250], "\n".join(lines)


_RANK = {"info": 0, "warning": 1, "critical": 2}
#: What a pool's quota counts, for a member who has never met the word.
UNIT_DAY = "(A unit-day is one item on loan for one day: 2 drills for 3 days is 6.)"


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
    allocation, used, projected = (
        Decimal(str(details[k])) for k in ("allocation", "used", "projected")
    )
    # One rounding for the four figures, the summary and the page (quota_places).
    places = quota_places(allocation, used, projected)
    body = "\n".join(
        [
            f"Hello {details['member_name']},",
            "",
            alert.summary + ".",
            "",
            # The words of the My usage page's cards (Used, My quota, Left, At my pace).
            f"Your quota:             {fmt(allocation, unit, places=places)}",
            f"Used so far:            {fmt(used, unit, places=places)}",
            f"Left:                   {left_text(allocation, used, unit, places=places)}",
            f"At your pace, by end:   {fmt(projected, unit, places=places)}",
            *([UNIT_DAY] if unit == "unit-days" else []),
            "",
            details["explanation"],
            "",
            "Thank you for helping keep our commons healthy.",
        ]
    )
    return title, body


def message(
    alert: Alert,
    change: str,
    tz: str = "UTC",
    *,
    now_text: str | None = None,
    command: str = PLACEHOLDER_COMMAND,
    before: str | None = None,
) -> tuple[str, str]:
    """(title, body) of the message telling ``change`` of ``alert``; times in ``tz``;
    ``now_text``, ``command`` and ``before`` as for :func:`steward_message`."""
    if alert.audience == "members" and alert.rule == "quota":
        return member_message(alert, alert.details)
    return steward_message(alert, change, tz, now_text=now_text, command=command, before=before)


def short(summary: str, limit: int = TITLE_CHARS) -> str:
    """The summary's first sentence or clause, cut at a word and marked, for a title.

    A title is what a mail client or chat preview shows; cutting mid-figure (the old
    250-character cut left "(members ordinarily use" dangling) misleads, so the cut
    falls at a sentence or clause end, else at a word, followed by "...".
    """
    text = " ".join(summary.split())
    if len(text) <= limit:
        return text
    head = text[:limit]
    for stop in (". ", ": ", " (", "; "):
        at = head.rfind(stop)
        if at >= limit // 4:
            return head[:at].rstrip(" .:;") + " ..."
    return head.rsplit(" ", 1)[0] + " ..."
