"""`steward import`: load a CSV of events, readings, members or capacity changes by hand."""

from __future__ import annotations

import shlex
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from steward.display import clipped, counted
from steward.importer import ImportOptions, ImportResult, RecordKind, import_file, number_format
from steward.ledger import TimeWindow

if TYPE_CHECKING:
    from steward.workspace import Workspace

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)
#: `steward import`'s exit status when every row was quarantined (nothing recorded).
EXIT_ALL_QUARANTINED = 3


def _count_lines(path: Path) -> int:
    with path.open("rb") as handle:
        return max(
            sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b"")) - 1, 0
        )


def register(app: typer.Typer) -> None:
    @app.command(
        "import",
        # One string per paragraph: the help re-wraps each to the terminal, and a
        # docstring's own line breaks would survive as ragged short lines.
        help="Load a CSV by hand; re-running it never double counts.\n\n"
        "Exit status: 0 when the file's rows are recorded (or were already), also when some "
        "were quarantined (the summary says how many and where to see them); 3 when every row "
        "was quarantined, so nothing was recorded; 1 when the file could not be read at all "
        "(missing columns, bad options).",
    )
    def import_(
        ctx: typer.Context,
        kind: Annotated[RecordKind, typer.Argument(help="events, readings, members or capacity.")],
        path: Annotated[Path, typer.Argument(help="CSV file with Steward's column names.")],
        source: Annotated[
            str | None, typer.Option(help="Source name for idempotence (default import:FILENAME).")
        ] = None,
        timezone: Annotated[
            str | None, typer.Option(help="Timezone of timestamps written without an offset.")
        ] = None,
        commons: Annotated[
            str | None, typer.Option(help="Commons of imported members (if no 'commons' column).")
        ] = None,
        decimal: Annotated[
            str | None, typer.Option(help="The file's decimal mark: '.' or ','.")
        ] = None,
        thousands: Annotated[
            str | None,
            typer.Option(help="Its thousands separator: ',', '.', ' ', \"'\" or 'none'."),
        ] = None,
        delimiter: Annotated[
            str | None, typer.Option(help="Column delimiter (default: sniffed).")
        ] = None,
        encoding: Annotated[
            str,
            typer.Option(help="The file's text encoding: utf-8 (default), latin-1 or cp1252."),
        ] = "utf-8",
        ignore_column: Annotated[
            list[str] | None,
            typer.Option(
                "--ignore-column",
                help="A header column to leave out on purpose (repeatable); any other "
                "column the import does not read is refused.",
            ),
        ] = None,
    ) -> None:
        """Load a CSV by hand (see the command's help for the exit status)."""
        from steward.cli import state

        ws = state(ctx).workspace()
        opts = ImportOptions(
            kind,
            source or f"import:{path.name}",
            timezone,
            commons,
            number_format=number_format(decimal, thousands),
            delimiter=delimiter,
            encoding=encoding,
            ignore_columns=tuple(ignore_column or ()),
        )
        total = _count_lines(path) if path.exists() else 0
        with Progress(
            TextColumn("[bold]import[/] {task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        ) as bar:
            task = bar.add_task(path.name, total=total or None)
            result = import_file(
                ws.store,
                path,
                opts,
                progress=lambda n: bar.advance(task, n),
                window=TimeWindow.from_config(ws.settings),
            )
        # Members alone can be updated: a changed roster row is never "accepted".
        updated = f"{result.updated:,} updated, " if opts.kind == "members" else ""
        console.print(
            f"{counted(result.rows_read, 'row')} read: {result.accepted:,} accepted, "
            f"{updated}{counted(result.duplicates, 'duplicate')}, "
            f"{result.quarantined:,} quarantined"
        )
        if result.repeats:
            examples = "; ".join(result.repeat_examples)
            more = ", ..." if result.repeats > len(result.repeat_examples) else ""
            console.print(
                f"  {result.repeats:,} of the duplicates "
                f"{'repeats' if result.repeats == 1 else 'repeat'} an earlier row of this file "
                f"(same id, same contents; recorded once): {examples}{more}",
                highlight=False,
                markup=False,
            )
        for reason, count in sorted(result.reasons.items(), key=lambda kv: -kv[1])[:10]:
            # One line per reason at the terminal's width: `quarantine list` has them whole.
            head = f"  quarantined {count:,} x "
            shown = clipped(reason, max(console.width - len(head), 40))
            console.print(head + shown, highlight=False, markup=False)
        if any(w in reason for reason in result.reasons for w in ("UTC offset", "--timezone")):
            # The reasons' example zone is only an example: name the commons' own.
            zones = ", ".join(f"{slug} {zone}" for slug, (_, zone) in commons_zones(ws).items())
            console.print(
                f"  the commons' timezones, for --timezone: {zones}",
                highlight=False,
                markup=False,
            )
        if opts.timezone is not None and (said := other_zone(ws, opts, result)):
            width = max(console.width, 40)
            console.print(
                textwrap.fill(
                    said,
                    width,
                    initial_indent="  ",
                    subsequent_indent="  ",
                    break_long_words=False,
                    break_on_hyphens=False,
                ),
                highlight=False,
                markup=False,
            )
        if result.quarantined:
            # Quoted: "import:water-dec (1).csv", pasted as printed, broke in a shell.
            see = f"steward quarantine list --source {shlex.quote(opts.source)}"
            if not result.accepted and not result.updated and not result.duplicates:
                err_console.print(
                    (
                        "error: the only row was quarantined; nothing was recorded"
                        if result.quarantined == 1
                        else f"error: all {result.quarantined:,} rows were quarantined; "
                        "nothing was recorded"
                    ),
                    style="bold red",
                    highlight=False,
                    markup=False,
                )
                err_console.print(
                    f"  hint: see why: {see}; fix the file or the options, then import it again",
                    highlight=False,
                    markup=False,
                )
                raise typer.Exit(EXIT_ALL_QUARANTINED)
            console.print(
                f"{result.quarantined:,} of {counted(result.rows_read, 'row')} "
                f"{'was' if result.quarantined == 1 else 'were'} quarantined, not "
                f"recorded; see why: {see} (one row: steward quarantine show ID)",
                highlight=False,
                markup=False,
            )


def commons_zones(ws: Workspace) -> dict[str, tuple[str, str]]:
    """Commons slug -> (name, timezone) of each configured commons: its own zone, the
    one ``--timezone`` names to read its times as it keeps them."""
    return {c.slug: (c.name, c.timezone) for c in ws.settings.commons}


def other_zone(ws: Workspace, opts: ImportOptions, result: ImportResult) -> str:
    """What to say when ``--timezone`` read rows of a commons that keeps another zone.

    Not refused: a file exported in UTC for a London garden is read right with
    ``--timezone UTC``; but Europe/Paris typed for it puts every time an hour off,
    silently. Only rows that lacked a UTC offset count ("" when none did, or when
    each such row's commons keeps the zone given). Names how to undo what was
    recorded with what Steward offers: there is no undo command, and the same ids
    imported again with other times are refused as changed rows.
    """
    counts = result.read_in_timezone
    if not counts:
        return ""
    from steward.store import catalog

    named = commons_zones(ws)
    zones: dict[str, tuple[str, str]] = {}
    rows: dict[str, int] = {}
    # From the store: a pool a MyTurn inventory created belongs to a commons too.
    with ws.store.read() as conn:
        for r in catalog.resources(conn, sorted(counts)):
            zones[r.commons_slug] = named.get(r.commons_slug, (r.commons_slug, r.timezone))
            rows[r.commons_slug] = rows.get(r.commons_slug, 0) + counts[r.slug]
    differ = {slug: zones[slug] for slug in sorted(zones) if zones[slug][1] != opts.timezone}
    if not differ:
        return ""
    where = " and ".join(
        f"{counted(rows[slug], 'row')} of {name}, which keeps {zone}"
        for slug, (name, zone) in differ.items()
    )
    wanted = sorted({zone for _, zone in differ.values()})
    option = (
        f"--timezone {wanted[0]}"
        if len(wanted) == 1
        else "each commons' rows in a file of their own with its --timezone"
    )
    said = f"Times without an offset were read as {opts.timezone} in {where}."
    if not (result.accepted or result.duplicates or result.conflicts):
        return f"{said} If that is wrong, re-import with {option}."
    undo = {
        "events": "first import their reversals (a reverses column naming each id, with "
        f"--source {opts.source}), then the rows under new ids",
        "capacity": "first import each change's opposite delta at the same effective_at "
        f"(with --source {opts.source}), then the rows under new ids",
        "readings": "Steward has no command that removes a recorded reading: those "
        "recorded stay at the times read",
    }[opts.kind]
    return (
        f"{said} If that is wrong, re-import with {option}; the ids already recorded "
        f"would be refused as changed, so {undo}."
    )
