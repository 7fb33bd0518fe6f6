"""`steward quotas`: this period's fair-use quotas, per member and resource."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text
from sqlalchemy import Connection, select

from steward.alerts.records import rows
from steward.display import cell, is_currency, local_days
from steward.errors import InputError
from steward.queries.quotas import period_budgets
from steward.quotas import update_quotas
from steward.quotas.explain import (
    fmt,
    left_text,
    quota_places,
    quota_unit,
    suspended_reason,
)
from steward.quotas.tracking import urgency
from steward.store.models import Commons, Member, Quota, Resource
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


def _known(conn: Connection, column: Any, value: str | None, what: str, option: str) -> None:
    """InputError naming the known slugs when ``value`` is not one of them.

    A misspelt slug otherwise read "no quotas for this period", with a hint to
    configure quotas that already exist.
    """
    if value is None:
        return
    known = list(conn.execute(select(column).order_by(column)).scalars())
    if value not in known:
        shown = ", ".join(known[:20]) + (f", ... ({len(known)} in all)" if len(known) > 20 else "")
        raise InputError(f"no {what} {value!r}", hint=f"{option} takes one of: {shown}")


def _one_member(conn: Connection, code: str, commons: str | None) -> int:
    """The id of the member with this code (in ``commons`` when given).

    Codes are unique within a commons only: a code two commons share is refused,
    naming ``--commons``, rather than listing two people's quotas as one member's.
    InputError when no member has the code.
    """
    stmt = (
        select(Member.id, Commons.slug)
        .join(Commons, Commons.id == Member.commons_id)
        .where(Member.code == code)
    )
    if commons:
        stmt = stmt.where(Commons.slug == commons)
    found = conn.execute(stmt.order_by(Commons.slug)).all()
    if not found:
        where = f" in commons {commons}" if commons else ""
        raise InputError(
            f"no member with code {code!r}{where}",
            hint="member codes are as in the member list (`steward import members`)",
        )
    if len(found) > 1:
        raise InputError(
            f"member code {code!r} is used in {len(found)} commons: "
            + ", ".join(slug for _id, slug in found),
            hint="name the commons with --commons SLUG",
        )
    return int(found[0][0])


def quota_tables(found: list[Any], periods: dict[str, str] | None = None) -> list[Table]:
    """One table per resource, its unit named once in the title, so six columns fit 80.

    ``found`` holds ``(Quota, member code, member name, resource slug, unit, resource
    name, resource kind)`` rows ordered by resource. Figures are in the quota's unit
    (:func:`~steward.quotas.explain.quota_unit`: unit-days for a pool); "left" is the
    quota less what was used, "over by X" when the member used more (the figure the
    dashboard shows, never clamped to 0), and "—" for a suspended quota. ``periods``
    maps a resource slug to its quota period's local days (``"1–31 Dec 2026"``), named
    in the title so "used" and "left" say of which period.
    """
    periods = periods or {}
    tables: list[Table] = []
    current = None
    for q, code, name, slug, unit, res_name, kind in found:
        if slug != current:
            current = slug
            named = quota_unit(kind, unit) or "units"
            table = Table(
                title=cell(
                    f"{res_name} ({slug})\nquotas in {named}"
                    + (f" for {periods[slug]}" if slug in periods else "")
                ),
                caption="projected: use by the period's end at the current pace"
                + (
                    "\na unit-day is one unit on loan for one day"
                    "\na loan still out counts to its due day (overdue: to today)"
                    if named == "unit-days"
                    else ""
                ),
                title_justify="left",
            )
            table.add_column("member", overflow="fold")
            for col in ("quota", "used", "left", "projected"):
                table.add_column(col, justify="right", no_wrap=True)
            table.add_column("status", no_wrap=True)
            tables.append(table)
        # The title names the unit; money is still written to the cent.
        money = is_currency(quota_unit(kind, unit))
        # A member's figures rounded alike, as their explanation and messages round them.
        p = quota_places(q.allocation, q.used, q.projected)
        table.add_row(
            cell(f"{name} ({code})"),
            fmt(q.allocation, money=money, places=p),
            fmt(q.used, money=money, places=p),
            "—"
            if q.status == "suspended"
            else left_text(q.allocation, q.used, money=money, places=p),
            fmt(q.projected, money=money, places=p),
            cell(q.status, STATUS_STYLE.get(q.status, "")),
        )
    return tables


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
        commons: Annotated[
            str | None,
            typer.Option(
                "--commons", help="Only this commons (slug); settles a member code two share."
            ),
        ] = None,
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
        with ws.store.read() as conn:
            _known(conn, Resource.slug, resource, "resource", "--resource")
            _known(conn, Commons.slug, commons, "commons", "--commons")
            member_id = _one_member(conn, member, commons) if member else None
            stmt = (
                select(
                    Quota,
                    Member.code,
                    Member.name,
                    Resource.slug,
                    Resource.unit,
                    Resource.name,
                    Resource.kind,
                )
                .join(Member, Member.id == Quota.member_id)
                .join(Resource, Resource.id == Quota.resource_id)
                .where(Quota.period_start <= now, Quota.period_end > now)
                .order_by(Resource.slug, Member.code)
            )
            if member_id is not None:
                stmt = stmt.where(Quota.member_id == member_id)
            if commons:
                stmt = stmt.join(Commons, Commons.id == Member.commons_id).where(
                    Commons.slug == commons
                )
            if resource:
                stmt = stmt.where(Resource.slug == resource)
            # Most urgent first within each resource, as the dashboard lists them: the
            # demo's one warned member sat on row 198 of 300 in member order.
            found = sorted(rows(conn, stmt), key=lambda r: (r[3], urgency(r[0].status)))
            zones = dict(
                conn.execute(
                    select(Resource.slug, Commons.timezone).join(
                        Commons, Commons.id == Resource.commons_id
                    )
                ).all()
            )
        if not found:
            scope = " ".join(
                x
                for x in (
                    f"member {member}" if member else "",
                    f"resource {resource}" if resource else "",
                    f"commons {commons}" if commons else "",
                )
                if x
            )
            hint = "give resources a `quota:` policy in the config, then run `steward quotas --refresh`"
            if member and _has_quotas(ws, now):
                # Others hold quotas: a member added since the last pipeline run was
                # told to configure a policy the resources already had.
                hint = (
                    f"others hold quotas this period: member {member} gets theirs at the next "
                    "pipeline run (a member added since the last one has none yet), or now "
                    "with `steward quotas --refresh`"
                )
            raise InputError(
                f"no quotas for this period{' for ' + scope if scope else ''}", hint=hint
            )
        periods = {
            slug: local_days(q.period_start, q.period_end, zones.get(slug, "UTC"))
            for q, _code, _name, slug, *_ in found
        }
        for table in quota_tables(found, periods):
            console.print(table)
        # A suspended quota says why, in words, without --explain.
        reasons = dict.fromkeys(
            (slug, suspended_reason(q.explanation))
            for q, _code, _name, slug, *_ in found
            if q.status == "suspended"
        )
        for slug, why in reasons:
            console.print(f"{slug}: suspended: {why}", markup=False, highlight=False)
        with ws.store.read() as conn:
            budgets = period_budgets(conn, now)
        for b in budgets:
            # Only the resources whose quotas are listed: with --member, those the member
            # holds a quota on, not every budget of the workspace.
            if b.slug not in periods:
                continue
            # The sum of the quotas is every member's: stewards' business, as the budget is.
            for line in b.lines(periods[b.slug]):
                console.print(line, markup=False, highlight=False)
        if explain:
            for q, code, _name, slug, *_ in found:
                console.print(
                    Text("\n") + cell(f"{slug} / {code}", "bold") + cell(f": {q.explanation}")
                )
