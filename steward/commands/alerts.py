"""`steward alerts`: list, acknowledge, silence, evaluate and test routes."""

from __future__ import annotations

import getpass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer
from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from sqlalchemy import select, update

from steward.alerts import acknowledge, evaluate, silence
from steward.alerts.delivery import deliver_pending, send_test
from steward.alerts.listing import alert_page, held_back_states, lifecycle_state
from steward.alerts.messages import (
    PLACEHOLDER_COMMAND,
    advice,
    command_prefix,
    status_lines,
)
from steward.alerts.options import parse_duration
from steward.alerts.records import entities
from steward.display import cell, counted, local_time, zone_label
from steward.errors import InputError
from steward.store.models import Alert, Commons

console = Console()
SEVERITY_STYLE = {"info": "cyan", "warning": "yellow", "critical": "bold red"}


def alert_blocks(
    found: list[Alert],
    zones: dict[int, str],
    now: datetime,
    held_back: dict[int, str] | None = None,
    command: str = PLACEHOLDER_COMMAND,
) -> list[RenderableType]:
    """One block per alert, so the summary keeps the full width at 80 columns.

    The first line names id, severity, state, rule and since when (in the alert's
    commons' timezone, ``zones`` mapping commons id to IANA name); the summary, how
    sure and what to do (as the alert's notification says them, its commands
    starting with ``command``: :func:`command_prefix`) and who acknowledged or
    silenced it follow, indented. A table squeezed the summary into a
    12-character column of 40 lines. ``held_back`` (alert id -> state words, from
    :func:`held_back_states`) names the alert that held a closed one back: such an
    alert did not resolve, and its line does not say it did.
    """
    held_back = held_back or {}
    blocks: list[RenderableType] = []
    for a in found:
        tz = zones.get(a.commons_id, "UTC") if a.commons_id is not None else "UTC"
        head = (
            cell(f"#{a.id} ", "bold")
            + cell(a.severity.upper(), SEVERITY_STYLE.get(a.severity, ""))
            + cell(
                f"  {lifecycle_state(a, now, held_back.get(a.id))}  {a.rule}  since {local_time(a.first_seen_at, tz)}"
            )
        )
        # How sure and what to do, as the notification and the dashboard say them: the
        # list said only what and when, so a steward at the terminal had to look elsewhere.
        sure, todo = advice(a.rule, a.details or {}, a.source, command)
        body = "\n".join(
            [*_addressee(a), a.summary, *(x for x in (sure, todo) if x), *status_lines(a, tz)]
        )
        blocks.append(Group(head, Padding(cell(body), (0, 0, 1, 4))))
    return blocks


def alert_groups(
    found: list[Alert],
    commons: dict[int, tuple[str, str]],
    now: datetime,
    held_back: dict[int, str] | None = None,
    command: str = PLACEHOLDER_COMMAND,
) -> list[RenderableType]:
    """:func:`alert_blocks` under one heading per commons, the commons with the most
    severe alert first (``found`` comes most severe first).

    ``commons`` maps commons id to (name, IANA timezone). Each heading names the
    commons and its zone once, with the offset from UTC: one list held 11:08 GMT,
    06:08 EST and 03:08 PST for one moment, with nothing to say whose clock each was.
    Alerts of no commons (a collector not assigned to one) come last, in UTC.
    """
    order: list[int | None] = []
    for a in found:
        if a.commons_id not in order:
            order.append(a.commons_id)
    order.sort(key=lambda c: c is None)  # stable: the no-commons group goes last
    zones = {cid: tz for cid, (_, tz) in commons.items()}
    out: list[RenderableType] = []
    for cid in order:
        name, tz = (
            commons.get(cid, ("No commons", "UTC")) if cid is not None else ("No commons", "UTC")
        )
        out.append(cell(f"{name} · times in {zone_label(tz, now)}", "bold underline"))
        out.extend(
            alert_blocks([a for a in found if a.commons_id == cid], zones, now, held_back, command)
        )
    return out


def _addressee(a: Alert) -> list[str]:
    """For a member's alert, whom it speaks to: its summary says "you" and "your".

    Read by a steward, "At your pace you will use about 13.21 unit-days" named no
    one. Empty for stewards' alerts. The member's name and code come from the
    alert's details (as they were when it fired).
    """
    if a.audience != "members":
        return []
    details = a.details or {}
    name, code = details.get("member_name"), details.get("member")
    who = f"{name} ({code})" if name and code else str(name or code or f"member #{a.member_id}")
    return [f"To {who}:"]


def outbox_blocks(found: list[Any], zones: dict[int, str]) -> list[RenderableType]:
    """One block per undelivered message: id, state and route, then its title and error.

    ``found`` holds ``OutboxMessage`` rows; a retry time is in the message's commons'
    timezone (``zones``: commons id to IANA name), labelled.
    """
    blocks: list[RenderableType] = []
    for m in found:
        tz = zones.get(m.commons_id, "UTC") if m.commons_id is not None else "UTC"
        state = (
            cell("dead letter (retries ran out)", "bold red")
            if m.dead_at
            else cell(f"retrying at {local_time(m.next_attempt_at, tz)}", "yellow")
        )
        route = m.route.rpartition("#")[0] or m.route
        head = (
            cell(f"#{m.id} ", "bold")
            + state
            + cell(f"  to {route}, {counted(m.attempts, 'attempt')}")
        )
        body = "\n".join([m.title, f"last error: {m.last_error or 'none recorded'}"])
        if m.dead_at:
            body += f"\nsend it again: steward alerts outbox --retry {m.id}"
        blocks.append(Group(head, Padding(cell(body), (0, 0, 1, 4))))
    return blocks


def _duration(text: str) -> timedelta:
    try:
        return parse_duration(text, where="--for")
    except ValueError as exc:
        raise InputError(str(exc)) from None


def register(app: typer.Typer) -> None:
    alerts = typer.Typer(
        help="Alerts: list, acknowledge, silence, test a route.", no_args_is_help=True
    )
    app.add_typer(alerts, name="alerts")

    @alerts.command("list")
    def list_(
        ctx: typer.Context,
        all_: Annotated[
            bool, typer.Option("--all", help="Include resolved and held-back alerts.")
        ] = False,
        limit: Annotated[
            int, typer.Option("--limit", min=1, max=1000, help="Alerts per page.")
        ] = 50,
        page: Annotated[int, typer.Option("--page", min=1, help="Page to show (1 first).")] = 1,
    ) -> None:
        """Alerts, most severe first, then newest; pending and firing only unless --all."""
        from steward.cli import state

        ws = state(ctx).workspace()
        with ws.store.read() as conn:
            total, found = alert_page(conn, include_resolved=all_, limit=limit, page=page)
        if not found:
            if total and page > 1:
                raise InputError(
                    f"page {page} is past the end: {total} alerts make "
                    f"{-(-total // limit)} page(s) of {limit}",
                    hint="use a smaller --page",
                )
            console.print("No open alerts." if not all_ else "No alerts.")
            return
        now = datetime.now(UTC)
        first = (page - 1) * limit + 1
        with ws.store.read() as conn:
            commons = {
                cid: (name, tz)
                for cid, name, tz in conn.execute(
                    select(Commons.id, Commons.name, Commons.timezone)
                ).all()
            }
            held_back = held_back_states(conn, found)
        console.print(
            f"Alerts {first}-{first + len(found) - 1} of {total}" + ("" if all_ else " open"),
            style="bold",
            highlight=False,
        )
        command = command_prefix(ws.config.path)
        for block in alert_groups(found, commons, now, held_back, command):
            console.print(block)
        shown = first + len(found) - 1
        if shown < total:
            console.print(
                f"Showing {first}-{shown} of {total}; next: steward alerts list"
                + (" --all" if all_ else "")
                + f" --page {page + 1}"
                + (f" --limit {limit}" if limit != 50 else ""),
                highlight=False,
            )
        else:
            console.print(
                f"Showing all {total}." if first == 1 else f"Showing {first}-{shown} of {total}."
            )

    @alerts.command("outbox")
    def outbox_(
        ctx: typer.Context,
        retry: Annotated[
            int | None, typer.Option("--retry", help="Send this dead letter again now.")
        ] = None,
    ) -> None:
        """Notifications not yet delivered: retrying, or dead letters (retries ran out)."""
        from steward.cli import state
        from steward.store.models import OutboxMessage

        ws = state(ctx).workspace()
        now = datetime.now(UTC)
        if retry is not None:
            with ws.store.write() as conn:
                done = conn.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id == retry, OutboxMessage.delivered_at.is_(None))
                    .values(dead_at=None, attempts=0, next_attempt_at=now)
                ).rowcount
            if done != 1:
                raise InputError(f"message {retry} is not an undelivered message")
            console.print(f"Message {retry} will be sent again.", markup=False, highlight=False)
            return
        with ws.store.read() as conn:
            found = entities(
                conn,
                select(OutboxMessage)
                .where(OutboxMessage.delivered_at.is_(None), OutboxMessage.attempts > 0)
                .order_by(OutboxMessage.id.desc())
                .limit(200),
            )
        if not found:
            console.print("Every notification was delivered.")
            return
        with ws.store.read() as conn:
            zones = dict(conn.execute(select(Commons.id, Commons.timezone)).all())
        console.print("Undelivered notifications", style="bold", highlight=False)
        for block in outbox_blocks(found, zones):
            console.print(block)

    @alerts.command("ack")
    def ack(
        ctx: typer.Context,
        alert_id: Annotated[int, typer.Argument(help="Alert id (see `steward alerts list`).")],
        note: Annotated[str | None, typer.Option(help="Why, or what is being done.")] = None,
    ) -> None:
        """Acknowledge an alert: no more repeats until it resolves."""
        from steward.cli import state

        ws = state(ctx).workspace()
        with ws.store.write() as conn:
            acknowledge(conn, alert_id, by=getpass.getuser(), now=datetime.now(UTC), note=note)
        console.print(f"Alert {alert_id} acknowledged by {getpass.getuser()}.")

    @alerts.command("silence")
    def silence_(
        ctx: typer.Context,
        alert_id: Annotated[int, typer.Argument(help="Alert id.")],
        for_: Annotated[str, typer.Option("--for", help="How long, e.g. 2h, 14d, 2w, '2 weeks'.")],
        reason: Annotated[str, typer.Option("--reason", help="Why (kept in the history).")],
    ) -> None:
        """Silence an alert's notifications for a while, with a reason."""
        from steward.cli import state

        duration = _duration(for_)
        ws = state(ctx).workspace()
        with ws.store.write() as conn:
            alert = silence(
                conn,
                alert_id,
                duration=duration,
                reason=reason,
                by=getpass.getuser(),
                now=datetime.now(UTC),
            )
            tz = conn.execute(
                select(Commons.timezone).where(Commons.id == alert.commons_id)
            ).scalar()
        until = local_time(alert.silenced_until, tz or "UTC")
        console.print(f"Alert {alert_id} silenced until {until}.", highlight=False)

    @alerts.command("evaluate")
    def evaluate_(ctx: typer.Context) -> None:
        """Evaluate the rules now and deliver what is due (the scheduler does this too)."""
        from steward.cli import state

        ws = state(ctx).workspace()
        now = datetime.now(UTC)
        with ws.store.write() as conn:
            summary = evaluate(conn, ws.settings, now, config_path=ws.config.path)
        sent = deliver_pending(ws.store, ws.settings, now)
        changes = ", ".join(f"{k} {v}" for k, v in summary.changes.items()) or "no changes"
        console.print(
            f"{summary.candidates} conditions hold; {changes}; {sent.delivered} delivered, {sent.failed} failed."
        )
        held_back = summary.held_back()
        if summary.held:
            held_back.append(
                f"{counted(summary.held, 'message')} held by rate limits (stewards get a digest)"
            )
        if held_back:
            console.print("; ".join(held_back) + ".")
        for error in sent.errors:
            console.print(cell(f"  {error}", "yellow"))

    @alerts.command("test")
    def test_(
        ctx: typer.Context,
        route: Annotated[str, typer.Argument(help="Route name from alerts.routes.")],
        email: Annotated[
            str | None, typer.Option(help="Address for a members' route ({email}).")
        ] = None,
    ) -> None:
        """Send a test message through a route."""
        from steward.cli import state

        ws = state(ctx).workspace(sync=False)
        for safe in send_test(ws.settings, route, email=email):
            console.print(f"Sent to {safe}")
