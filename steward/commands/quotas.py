"""`steward quotas`: this period's fair-use quotas, per member and resource."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text
from sqlalchemy import select

from steward.alerts.records import rows
from steward.display import cell
from steward.errors import InputError
from steward.quotas import update_quotas
from steward.quotas.explain import fmt
from steward.store.models import Member, Quota, QuotaBudget, Resource
from steward.workspace import Workspace

console = Console()
STATUS_STYLE = {
    "ok": "green",
    "nudged": "yellow",
    "warned": "dark_orange",
    "review": "bold red",
    "suspended": "dim",
}


def _has_quotas(ws: Workspace, now: datetime) -> bool:
    with ws.store.read() as conn:
        return (
            conn.execute(
                select(Quota.id).where(Quota.period_start <= now, Quota.period_end > now).limit(1)
            ).first()
            is not None
        )


def register(app: typer.Typer) -> None:
    @app.command()
    def quotas(
        ctx: typer.Context,
        member: Annotated[
            str | None, typer.Option("--member", "-m", help="Only this member (code).")
        ] = None,
        resource: Annotated[
            str | None, typer.Option("--resource", "-r", help="Only this resource (slug).")
        ] = None,
        refresh: Annotated[
            bool, typer.Option("--refresh", help="Recompute quotas first (from the ledger).")
        ] = False,
        explain: Annotated[
            bool, typer.Option("--explain", help="Print each quota's explanation.")
        ] = False,
    ) -> None:
        """Show this period's quotas: allocation, used, remaining, projected, status."""
        from steward.cli import state

        ws = state(ctx).workspace()
        now = datetime.now(UTC)
        if refresh or not _has_quotas(ws, now):
            # A period with no quotas yet (a new week or month, or a fresh store) opens now.
            with console.status("Computing this period's quotas..."):
                update = update_quotas(ws, ws.settings, now)
            for slug, why in update.skipped.items():
                console.print(f"quotas for {slug} skipped: {why}", markup=False)
        stmt = (
            select(Quota, Member.code, Member.name, Resource.slug, Resource.unit)
            .join(Member, Member.id == Quota.member_id)
            .join(Resource, Resource.id == Quota.resource_id)
            .where(Quota.period_start <= now, Quota.period_end > now)
            .order_by(Resource.slug, Member.code)
        )
        if member:
            stmt = stmt.where(Member.code == member)
        if resource:
            stmt = stmt.where(Resource.slug == resource)
        with ws.store.read() as conn:
            found = rows(conn, stmt)
        if not found:
            scope = " ".join(
                x
                for x in (
                    f"member {member}" if member else "",
                    f"resource {resource}" if resource else "",
                )
                if x
            )
            raise InputError(
                f"no quotas for this period{' for ' + scope if scope else ''}",
                hint="give resources a `quota:` policy in the config, then run `steward quotas --refresh`",
            )
        table = Table(title="Fair-use quotas this period")
        for col in ("resource", "member", "allocation", "used", "remaining", "projected", "status"):
            table.add_column(
                col,
                justify="right"
                if col in ("allocation", "used", "remaining", "projected")
                else "left",
            )
        for q, code, name, slug, unit in found:
            remaining = max(q.allocation - q.used, 0)
            style = STATUS_STYLE.get(q.status, "")
            table.add_row(
                cell(slug),
                cell(f"{name} ({code})"),
                fmt(q.allocation, unit),
                fmt(q.used, unit),
                fmt(remaining, unit),
                fmt(q.projected, unit),
                cell(q.status, style),
            )
        console.print(table)
        with ws.store.read() as conn:
            budgets = rows(
                conn,
                select(QuotaBudget, Resource.slug, Resource.unit)
                .join(Resource, Resource.id == QuotaBudget.resource_id)
                .where(QuotaBudget.period_start <= now, QuotaBudget.period_end > now)
                .order_by(Resource.slug),
            )
        for b, slug, unit in budgets:
            if resource and slug != resource:
                continue
            line = f"{slug}: budget {fmt(b.amount, unit)} this period"
            if b.opening_amount != b.amount:
                line += f" (quotas set from {fmt(b.opening_amount, unit)} when it opened)"
            if b.need is not None:
                line += f"; members ordinarily use {fmt(b.need, unit)}"
            if b.single_use is not None:
                line += f"; one ordinary use is {fmt(b.single_use, unit)}"
            console.print(line, markup=False, highlight=False)
            if b.state != "ok" and b.remedy:
                console.print(f"  [bold red]{b.state}[/]: {escape(b.remedy)}", highlight=False)
        if explain:
            for q, code, _name, slug, _unit in found:
                console.print(
                    Text("\n") + cell(f"{slug} / {code}", "bold") + cell(f": {q.explanation}")
                )
