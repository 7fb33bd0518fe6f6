"""Collector commands: collect, sources, quarantine list|show|retry, and run (the scheduler)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text
from sqlalchemy import Connection, func, select

from steward import collectors
from steward.access import Scope
from steward.collectors.base import Chunk, RunReport
from steward.collectors.retry import retry_quarantined
from steward.config import Settings
from steward.display import cell, duration, local_time
from steward.errors import InputError, SourceError
from steward.queries.sources import Newest, allowed_sources, newest_data
from steward.store.models import CollectorState, Commons, QuarantinedRow
from steward.workspace import Workspace

console = Console()


def register(app: typer.Typer) -> None:
    quarantine = typer.Typer(
        help="Rows a source sent that could not be recorded.", no_args_is_help=True
    )
    app.add_typer(quarantine, name="quarantine")

    @app.command()
    def collect(
        ctx: typer.Context,
        names: Annotated[
            list[str] | None, typer.Argument(help="Collectors (default: all enabled).")
        ] = None,
        from_start: Annotated[
            bool,
            typer.Option("--from-start", help="Re-read whole sources (duplicates are skipped)."),
        ] = False,
    ) -> None:
        """Run collectors now and show what each read."""
        from steward.cli import state

        ws = state(ctx).workspace()
        chosen = names or [c.name for c in ws.settings.collectors if c.enabled]
        for name in chosen:
            collectors.build(ws.config, name)  # unknown names and bad options fail up front
        reports = [_collect_one(ws, name, from_start) for name in chosen]
        console.print(collect_summary(reports))
        failed = [r for r in reports if r.status != "ok"]
        if failed:
            raise SourceError(
                "; ".join(f"{r.name}: {r.error}" for r in failed),
                hint="`steward sources` shows each collector's last error",
            )

    @app.command()
    def sources(ctx: typer.Context) -> None:
        """Health of every configured collector."""
        from steward.cli import state

        ws = state(ctx).workspace()
        with ws.store.read() as conn:
            states = {s.source: s for s in conn.execute(select(CollectorState)).all()}
            newest = newest_by_source(conn, ws.settings)
        console.print(sources_table(ws.settings, states, newest))

    @quarantine.command("list")
    def quarantine_list(
        ctx: typer.Context,
        source: Annotated[str | None, typer.Option(help="Only this collector.")] = None,
        all_rows: Annotated[bool, typer.Option("--all", help="Include resolved rows.")] = False,
        limit: Annotated[int, typer.Option(help="Rows to show.")] = 50,
    ) -> None:
        """Quarantined rows, newest first."""
        from steward.cli import state

        ws = state(ctx).workspace()
        stmt = select(QuarantinedRow).order_by(QuarantinedRow.id.desc()).limit(limit)
        if source:
            stmt = stmt.where(QuarantinedRow.source == source)
        if not all_rows:
            stmt = stmt.where(QuarantinedRow.resolved_at.is_(None))
        with ws.store.read() as conn:
            rows = conn.execute(stmt).all()
            hidden = 0 if all_rows else _resolved_count(conn, source)
        # Rows recorded since (fixed and imported again, or by a later run) need no
        # action: hidden unless --all, which says how each was resolved.
        settled = (
            f"{hidden:,} resolved row{'s' * (hidden != 1)} hidden (recorded since, or "
            "retried); --all shows them"
            if hidden
            else ""
        )
        if not rows:
            console.print("No quarantined rows." + (f" {settled}." if settled else ""))
            return
        console.print(
            f"Quarantined rows, newest first ({len(rows)} shown)", style="bold", highlight=False
        )
        for block in quarantine_blocks(rows, ws.settings):
            console.print(block)
        console.print(
            "steward quarantine show ID prints a row as the source sent it.", highlight=False
        )
        if settled:
            console.print(settled + ".", highlight=False, markup=False)

    @quarantine.command("show")
    def quarantine_show(
        ctx: typer.Context, row_id: Annotated[int, typer.Argument(help="Row id from `list`.")]
    ) -> None:
        """One quarantined row: why, and exactly what the source sent."""
        from steward.cli import state

        ws = state(ctx).workspace()
        with ws.store.read() as conn:
            row = conn.execute(select(QuarantinedRow).where(QuarantinedRow.id == row_id)).first()
        if row is None:
            raise InputError(f"no quarantined row {row_id}", hint="see `steward quarantine list`")
        run = f" (collector run {row.run_id})" if row.run_id is not None else ""
        console.print(cell(f"#{row.id}", "bold") + cell(f" {row.source} {row.location}{run}"))
        # In the collector's commons' clock, as `steward sources` shows its runs.
        tz = _zone(ws.settings, _commons_of(ws.settings, row.source))
        console.print(cell(f"quarantined {local_time(_utc(row.created_at), tz)}"))
        console.print(cell(f"reason: {row.reason}"))
        if row.resolved_at:
            console.print(
                cell(f"resolved {local_time(_utc(row.resolved_at), tz)}: {row.resolution}")
            )
        console.print_json(json.dumps(row.raw, default=str))

    @quarantine.command("retry")
    def quarantine_retry(
        ctx: typer.Context,
        source: Annotated[str, typer.Argument(help="Collector whose rows to retry.")],
    ) -> None:
        """Map a collector's quarantined rows again, e.g. after fixing its column mapping."""
        from steward.cli import state

        ws = state(ctx).workspace()
        outcome = retry_quarantined(ws, source)
        console.print(outcome)

    @app.command("run")
    def run_command(ctx: typer.Context) -> None:
        """Run the scheduled jobs (collectors, pipeline, weekly risk backtest) until stopped."""
        from steward import scheduler
        from steward.cli import state

        ws = state(ctx).workspace()
        scheduler.run_forever(
            ws,
            on_ready=lambda s: console.print(f"Running {len(s.get_jobs())} job(s); Ctrl-C stops."),
        )


def _collect_one(ws: Workspace, name: str, from_start: bool) -> RunReport:
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rows]} rows"),
        TimeElapsedColumn(),
    )
    # Off the terminal (a log, a pipe) a transient bar left one blank line per collector.
    with Progress(
        *columns, console=console, transient=True, disable=not console.is_terminal
    ) as progress:
        task = progress.add_task(name, total=None, rows=0)

        def on_chunk(chunk: Chunk, report: RunReport) -> None:
            done, total = chunk.progress or (None, None)
            progress.update(task, completed=done, total=total, rows=f"{report.rows_read:,}")

        return collectors.run(ws, name, on_chunk=on_chunk, from_start=from_start)


def collect_summary(reports: list[RunReport]) -> Group:
    """What each collector read this run, in columns that fit 80 characters.

    The ``upd.`` column (members changed by a roster row) shows when a run updated
    any, so the other runs keep their columns' room. A failed collector's error
    follows the table at full width (a column cut it to stubs).
    """
    updated = any(r.updated for r in reports)
    table = Table(
        title="Collected",
        caption="rows this run: new (recorded), "
        + ("upd. (members changed), " if updated else "")
        + "dup. (already there), quar. (quarantined)",
    )
    table.add_column("collector", overflow="fold", min_width=14 if updated else 18)
    columns = ("read", "new", "upd.", "dup.", "quar.", "skip.", "secs")
    for col in columns if updated else tuple(c for c in columns if c != "upd."):
        table.add_column(col, justify="right", no_wrap=True)
    problems: list[Text] = []
    for r in reports:
        name = cell(r.name)
        if r.status != "ok":
            name += cell("\nFAILED", "bold red")
            problems.append(cell(f"{r.name} failed: ", "red") + cell(r.error or "no error given"))
        counts = [r.rows_read, r.accepted, *([r.updated] if updated else []), r.duplicates]
        table.add_row(
            name,
            *(f"{v:,}" for v in (*counts, r.quarantined, r.skipped)),
            f"{r.seconds:.1f}",
        )
        if r.repeats:
            problems.append(
                cell(
                    f"{r.name}: {r.repeats:,} of the duplicates repeat an earlier row of the "
                    "same read (same id, same contents; recorded once)"
                )
            )
    if any(r.quarantined for r in reports):
        problems.append(Text("Quarantined rows and why: steward quarantine list"))
    return Group(table, *problems)


#: A word longer than this in a reason (a 400-digit quantity) is shortened in the list.
LONG_WORD = 40


def _shorten_long_words(text: str) -> str:
    """``text`` with each word over :data:`LONG_WORD` characters cut in its middle.

    A 401-digit quantity filled five lines, or Rich cut it and what followed
    ("is too large (at most 9,000,000,000)") with it; ``quarantine show`` keeps it whole.
    """
    out = []
    for word in text.split(" "):
        if len(word) > LONG_WORD:
            core = len(word.strip("'\"(),;"))  # the value's own characters, not its quotes
            word = f"{word[:24]}…{word[-8:]} ({core:,} characters)"
        out.append(word)
    return " ".join(out)


def quarantine_blocks(rows: Sequence[Any], settings: Settings) -> list[RenderableType]:
    """One block per quarantined row: id, source, where and when, then its whole reason.

    A four-column table at 80 columns gave the reason 30 characters, cut it at 200
    and let Rich drop the end of a long value with "…", so a steward could not read
    why the row was refused or what to fix. The time is the collector's commons'
    clock, labelled, as ``quarantine show`` prints it.
    """
    blocks: list[RenderableType] = []
    for r in rows:
        tz = _zone(settings, _commons_of(settings, r.source))
        head = cell(f"#{r.id} ", "bold") + cell(
            f"{r.source}  {r.location}  {local_time(_utc(r.created_at), tz)}"
        )
        body = [f"reason: {_shorten_long_words(r.reason)}"]
        if r.resolved_at is not None:
            body.append(f"resolved {local_time(_utc(r.resolved_at), tz)}: {r.resolution}")
        blocks.append(Group(head, Padding(cell("\n".join(body)), (0, 0, 1, 4))))
    return blocks


def _resolved_count(conn: Connection, source: str | None) -> int:
    """Quarantined rows (of ``source``, or all) already resolved."""
    stmt = select(func.count()).where(QuarantinedRow.resolved_at.is_not(None))
    if source:
        stmt = stmt.where(QuarantinedRow.source == source)
    return int(conn.execute(stmt).scalar_one())


def _utc(at: datetime) -> datetime:
    """A stored time as UTC (SQLite returns it without its zone)."""
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _commons_of(settings: Settings, source: str) -> str | None:
    """The commons of the collector named ``source`` (None for an import or unknown name)."""
    return next((c.commons for c in settings.collectors if c.name == source), None)


def _zone(settings: Settings, commons: str | None) -> str:
    """The collector's commons' timezone; with none named, the one all commons share, else UTC."""
    zones = {c.slug: c.timezone for c in settings.commons}
    if commons in zones:
        return zones[commons]
    return zones.popitem()[1] if len(set(zones.values())) == 1 else "UTC"


def newest_by_source(
    conn: Connection, settings: Settings, now: datetime | None = None
) -> dict[str, Newest]:
    """The newest event or reading of every source, by source name, across every commons.

    The same query as the dashboard's Sources page ("Newest data",
    :func:`steward.queries.sources.newest_data`), read as the steward of each
    commons in turn: the CLI runs with the whole workspace's rights. A source
    that recorded no event or reading (a member list) is absent.
    """
    found: dict[str, Newest] = {}
    for commons_id in conn.execute(select(Commons.id).order_by(Commons.id)).scalars():
        scope = Scope.steward(commons_id)
        mine = allowed_sources(scope, conn, settings)
        for n in newest_data(scope, conn, now, collectors=mine):
            found[n.source] = n
    return found


def _times_cell(
    last_success: datetime | None, newest: Newest | None, tz: str, *, ran: bool
) -> Text:
    """Last success on the first line, the newest data on the second (STALE on a third)."""
    text = cell(local_time(last_success, tz) if ran else "never run")
    if newest is None:
        return text + cell("\nno events or readings", "dim")
    text += cell(f"\n{local_time(newest.happened_at, tz)}")
    if newest.stale:
        text += cell("\nSTALE", "bold red")  # why: in a line below the table
    return text


def sources_table(
    settings: Settings,
    states: dict[str, Any],
    newest: Mapping[str, Newest] | None = None,
    now: datetime | None = None,
) -> Group:
    """Each collector's health: a table that fits 80 characters, then its errors in full.

    ``states`` maps a collector name to its ``collector_state`` row, whose row counts add
    up every run since the first. ``newest`` maps a source name to the newest event or
    reading it delivered (:func:`newest_by_source`): a collector that runs fine but reads
    nothing new (a dead sensor, an export nobody refreshes) succeeds every few minutes,
    so its last success alone reads as fresh data. Both are shown, the newest data
    flagged STALE when overdue by the source's own rhythm (a seasonal source's quiet
    months are spared; ``now``, default the clock, dates how old it is). Duplicates and skipped rows (normal on a re-read) are left to
    ``steward collect``'s summary, so the figures a steward acts on keep their width; a
    failing collector's error follows the table at full width, where it can be read.
    """
    newest = newest or {}
    now = now or datetime.now(UTC)
    table = Table(
        title="Collectors",
        caption=(
            "newest data: when the newest event or reading a source holds happened\n"
            "rows since the first run: read, new (recorded), quar. (quarantined)"
        ),
    )
    table.add_column("collector", overflow="fold", min_width=18)
    # One column, two lines: two columns of times left each too narrow for its year.
    table.add_column("last success\nnewest data", overflow="fold", min_width=22)
    table.add_column("read", justify="right", no_wrap=True)
    table.add_column("new", justify="right", no_wrap=True)
    table.add_column("quar.", justify="right", no_wrap=True)
    problems: list[Text] = []
    stale: list[str] = []
    for cfg in settings.collectors:
        st = states.get(cfg.name)
        tz = _zone(settings, cfg.commons)
        schedule = (
            f"every {cfg.schedule.every}" if cfg.schedule.every else f"cron {cfg.schedule.cron}"
        )
        if not cfg.enabled:
            schedule = "disabled"
        name = cell(cfg.name) + cell(f"\n{cfg.kind}, {schedule}", "dim")
        data = newest.get(cfg.name)
        if data is not None and data.stale:
            stale.append(cfg.name)
        if st is None:
            table.add_row(name, _times_cell(None, data, tz, ran=False), "", "", "")
            continue
        if st.consecutive_failures:
            # In the name's cell: a column of its own cost the times their width.
            name += cell(f"\nfailed {st.consecutive_failures}x in a row", "red")
            problems.append(
                cell(f"{cfg.name} failed {st.consecutive_failures} times in a row: ", "red")
                + cell((st.last_error or "no error recorded")[:300])
            )
        table.add_row(
            name,
            _times_cell(st.last_success_at, data, tz, ran=True),
            f"{st.rows_read:,}",
            f"{st.accepted:,}",
            f"{st.quarantined:,}",
        )
    for source in stale:
        data = newest[source]
        usual = f", against a usual gap of {duration(data.usual_gap)}" if data.usual_gap else ""
        if data.longest_gap:
            usual += f" and at most {duration(data.longest_gap)} in the month before"
        problems.append(
            cell(f"{source} is stale: ", "bold red")
            + cell(
                f"its newest data is {duration(now - data.happened_at)} old{usual}, though its "
                "collector succeeds; check the source itself (a sensor, an export nobody "
                "refreshes)."
            )
        )
    if any(st.quarantined for st in states.values()):
        problems.append(Text("Quarantined rows and why: steward quarantine list"))
    return Group(table, *problems)
