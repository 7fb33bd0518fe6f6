"""`steward alerts`: list, acknowledge, silence, evaluate and test routes."""

from __future__ import annotations

import getpass
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from steward.alerts import acknowledge, evaluate, silence
from steward.alerts.delivery import deliver_pending, send_test
from steward.alerts.options import parse_duration
from steward.alerts.records import entities
from steward.errors import InputError
from steward.store.models import Alert

console = Console()
SEVERITY_STYLE = {"info": "cyan", "warning": "yellow", "critical": "bold red"}


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
        all_: Annotated[bool, typer.Option("--all", help="Include resolved alerts.")] = False,
    ) -> None:
        """Open alerts (pending and firing), newest first."""
        from steward.cli import state

        ws = state(ctx).workspace()
        stmt = select(Alert).order_by(Alert.id.desc()).limit(200)
        if not all_:
            stmt = stmt.where(Alert.state.in_(("pending", "firing")))
        with ws.store.read() as conn:
            found = entities(conn, stmt)
        if not found:
            console.print("No open alerts." if not all_ else "No alerts.")
            return
        now = datetime.now(UTC)
        table = Table(title="Alerts")
        for col in ("id", "severity", "state", "rule", "summary", "since", "notes"):
            table.add_column(col)
        for a in found:
            notes = []
            if a.acknowledged_at:
                notes.append(f"ack by {a.acknowledged_by}")
            if a.silenced_until and a.silenced_until > now:
                notes.append(
                    f"silenced until {a.silenced_until:%Y-%m-%d %H:%M}: {a.silence_reason}"
                )
            style = SEVERITY_STYLE.get(a.severity, "")
            table.add_row(
                str(a.id),
                f"[{style}]{a.severity}[/]",
                a.state,
                a.rule,
                a.summary,
                f"{a.first_seen_at:%Y-%m-%d %H:%M}",
                "; ".join(notes),
            )
        console.print(table)

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
        console.print(f"Alert {alert_id} acknowledged.")

    @alerts.command("silence")
    def silence_(
        ctx: typer.Context,
        alert_id: Annotated[int, typer.Argument(help="Alert id.")],
        for_: Annotated[str, typer.Option("--for", help="How long, e.g. 2h, 2d, 1w.")],
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
        console.print(f"Alert {alert_id} silenced until {alert.silenced_until:%Y-%m-%d %H:%M} UTC.")

    @alerts.command("evaluate")
    def evaluate_(ctx: typer.Context) -> None:
        """Evaluate the rules now and deliver what is due (the scheduler does this too)."""
        from steward.cli import state

        ws = state(ctx).workspace()
        now = datetime.now(UTC)
        with ws.store.write() as conn:
            summary = evaluate(conn, ws.settings, now)
        sent = deliver_pending(ws.store, ws.settings, now)
        changes = ", ".join(f"{k} {v}" for k, v in summary.changes.items()) or "no changes"
        console.print(
            f"{summary.candidates} conditions hold; {changes}; {sent.delivered} delivered, {sent.failed} failed."
        )
        for error in sent.errors:
            console.print(f"  [yellow]{error}[/]", highlight=False)

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
