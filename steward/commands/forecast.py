"""`steward forecast`: forecast resources now and store the runs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from steward.forecast.runs import run_forecasts
from steward.status import resource_status
from steward.store.catalog import resources as catalog_resources

console = Console(soft_wrap=True)


def register(app: typer.Typer) -> None:
    @app.command()
    def forecast(
        ctx: typer.Context,
        resources: Annotated[
            list[str] | None, typer.Argument(help="Resource slugs (default: all).")
        ] = None,
    ) -> None:
        """Forecast resources (backtested model choice), store risk figures, refresh quotas and alerts."""
        from steward.cli import state
        from steward.pipeline import refresh_after_forecast

        ws = state(ctx).workspace()
        with Progress(
            TextColumn("[bold]forecast[/]"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as bar:
            task = bar.add_task("series", total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            now = datetime.now(UTC)
            summary = run_forecasts(ws, resources or None, now=now, progress=progress)
        console.print(f"{summary.runs} forecast runs stored; {summary.scored} earlier runs scored.")
        if summary.skipped:
            console.print(
                f"{len(summary.skipped)} resources skipped: their data have not changed since "
                "their last forecast, which is younger than forecast.max_age_hours "
                f"({ws.settings.forecast.max_age_hours:g} h).",
                markup=False,
            )
        quotas, alerts, delivery = refresh_after_forecast(ws, now)
        console.print(
            f"Quotas refreshed: {quotas.quotas} for {quotas.resources} resources"
            + (f" ({len(quotas.deficits)} in deficit)" if quotas.deficits else "")
            + f". Alerts: {alerts}. Delivered {delivery.delivered}, failed {delivery.failed}.",
            markup=False,
            highlight=False,
        )
        for slug, why in quotas.skipped.items():
            console.print(f"  quotas for {slug} skipped: {why}", markup=False)
        for slug in summary.no_data:
            console.print(f"  {slug}: no data yet, nothing to forecast", markup=False)
        with ws.store.read() as conn:
            # Only the resources forecast now: a status costs a few queries each.
            for res in catalog_resources(conn, list(summary.methods)) if summary.methods else []:
                status = resource_status(conn, res)
                if status.headline:
                    console.print(f"  {status.headline}", markup=False, highlight=False)
