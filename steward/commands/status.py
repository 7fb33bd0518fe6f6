"""`steward status`: one line per resource, as a table or JSON for scripts."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

import typer
from rich.console import Console, RenderableType
from rich.table import Table
from rich.text import Text
from sqlalchemy import Connection

from steward.display import cell, counted, json_safe, quantity
from steward.scheduler import recent_job_problems
from steward.status import ATTENTION_ORDER, ResourceStatus, all_statuses
from steward.workspace import Workspace

console = Console()


def _where(s: ResourceStatus) -> str:
    if not s.has_data:
        return "no data yet"
    if s.kind == "stock":
        reserve = f" (reserve {quantity(s.reserve, s.unit)})" if s.reserve is not None else ""
        return f"{quantity(s.level, s.unit)}{reserve}"
    cap = f"/{quantity(s.capacity, whole=True)}" if s.capacity is not None else ""
    note = f" ({s.capacity_note})" if s.capacity_note else ""
    where = f"{quantity(s.on_loan, whole=True)}{cap} on loan{note}"
    over = s.overbooked
    if over is not None and float(over["now"]) > 0:
        # As recorded, never clipped: the excess is the finding (see _data_to_check).
        where += f" ({quantity(float(over['now']), whole=True)} more than its units)"
    return where


def _data_to_check(rows: list[ResourceStatus]) -> Text | None:
    """Findings a steward can fix in the records: pools with more units out than units."""
    lines = []
    for s in rows:
        over = s.overbooked
        if over is None:
            continue
        last = (over["last"] or "")[:10]
        if over["checkouts"]:
            said = (
                f"{counted(over['checkouts'], 'checkout')} found every unit already out "
                f"(last on {last}; at most {over['worst']} more out than units)"
            )
        else:
            said = f"{over['now']} more units out than it has now"
        lines.append(f"- {s.name} ({s.slug}): {said}; {over['fix']}.")
    if not lines:
        return None
    head = (
        "Data to check: loans recorded beyond a pool's units (kept, since real "
        "records do this; the units out are shown as recorded):"
    )
    return cell("\n".join([head, *lines]))


def _name(s: ResourceStatus) -> Text:
    """The resource's name, then why it is near the top: below reserve, alerts firing."""
    text = cell(s.name)
    if s.below_reserve is not None:
        text += cell("\nBELOW RESERVE", "bold red")
    if s.firing:
        worst = s.firing[0]
        text += cell(
            f"\n{counted(len(s.firing), 'alert')}, {worst}",
            "red" if worst == "critical" else "yellow",
        )
    return text


def status_view(rows: list[ResourceStatus], names: dict[str, str]) -> list[RenderableType]:
    """The header line saying the order, then one table per commons, most urgent first.

    ``names`` maps a commons slug to its name (the table's title). Rows are sorted by
    :meth:`ResourceStatus.attention` (:data:`ATTENTION_ORDER`), and the commons by their
    most urgent row: a reserve breach in the third commons is not below the fold.
    """
    # One table per commons, so the commons is a title rather than a column:
    # at 80 columns the outlook, the line a steward acts on, keeps the room.
    by_commons: dict[str, list[ResourceStatus]] = {}
    for r in sorted(rows, key=ResourceStatus.attention):
        by_commons.setdefault(r.commons, []).append(r)
    out: list[RenderableType] = [Text(f"Resources {ATTENTION_ORDER}.")]
    for commons, members in by_commons.items():
        table = Table(title=cell(names.get(commons, commons)), title_justify="left", expand=True)
        table.add_column("resource", ratio=2)
        table.add_column("now", ratio=2)
        table.add_column("trend", ratio=2)
        table.add_column("outlook", ratio=4)
        for r in members:
            table.add_row(_name(r), cell(_where(r)), cell(r.trend_text), cell(r.headline))
        out.append(table)
    found = _data_to_check(rows)
    if found is not None:
        out.append(found)
    return out


def render(ws: Workspace, format: str = "table") -> None:
    with ws.store.read() as conn:
        rows = all_statuses(conn)
        problems = _job_problems(conn)
    if format == "json":
        payload = {"resources": [r.as_dict() for r in rows], "jobs": json_safe(problems)}
        typer.echo(json.dumps(payload, indent=2, default=str))
        return
    names = {c.slug: c.name for c in ws.settings.commons}
    for part in status_view(rows, names):
        console.print(part)
    for p in problems:
        console.print(
            f"job {p['job']} {p['status']} at {p['at']}: {p.get('error') or ''}",
            style="yellow",
            highlight=False,
            markup=False,
        )


def register(app: typer.Typer) -> None:
    @app.command()
    def status(
        ctx: typer.Context,
        format: Annotated[
            Literal["table", "json"], typer.Option("--format", help="table or json.")
        ] = "table",
    ) -> None:
        """Where each resource stands, its trend and its forecast risk."""
        from steward.cli import state

        render(state(ctx).workspace(), format)


def _job_problems(conn: Connection) -> list[dict[str, object]]:
    """Missed or failed scheduled jobs of the last day."""
    since = datetime.now(UTC) - timedelta(days=1)
    return [asdict(p) for p in recent_job_problems(conn, since)]
