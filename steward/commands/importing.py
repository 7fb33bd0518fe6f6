"""`steward import`: load a CSV of events, readings, members or capacity changes by hand."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from steward.importer import ImportOptions, RecordKind, import_file, number_format

console = Console(soft_wrap=True)


def _count_lines(path: Path) -> int:
    with path.open("rb") as handle:
        return max(
            sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b"")) - 1, 0
        )


def register(app: typer.Typer) -> None:
    @app.command("import")
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
    ) -> None:
        """Load a CSV by hand; re-running it never double counts."""
        from steward.cli import state

        ws = state(ctx).workspace()
        opts = ImportOptions(
            kind,
            source or f"import:{path.name}",
            timezone,
            commons,
            number_format=number_format(decimal, thousands),
            delimiter=delimiter,
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
            result = import_file(ws.store, path, opts, progress=lambda n: bar.advance(task, n))
        console.print(
            f"{result.rows_read} rows read: {result.accepted} accepted, "
            f"{result.duplicates} duplicates, {result.quarantined} quarantined"
        )
        for reason, count in sorted(result.reasons.items(), key=lambda kv: -kv[1])[:10]:
            console.print(f"  quarantined {count} x {reason}", highlight=False, markup=False)
