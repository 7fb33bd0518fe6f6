"""`steward forecast`: forecast resources now and store the runs."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from steward.forecast.runs import run_forecasts
from steward.status import all_statuses

console = Console(soft_wrap=True)
#: The outlook sentences printed after a forecast, most urgent first.
OUTLOOK_LINES = 12


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
        say = _Printer(console)
        say(f"{summary.runs} forecast runs stored; {summary.scored} earlier runs scored.")
        if summary.skipped:
            say(
                f"{len(summary.skipped)} resources not forecast again: their data have not "
                "changed since their last forecast, which is younger than "
                f"forecast.max_age_hours ({ws.settings.forecast.max_age_hours:g} h)."
            )
        quotas, alerts, delivery = refresh_after_forecast(ws, now)
        say(
            f"Quotas refreshed: {quotas.quotas} for {quotas.resources} resources"
            + (f" ({len(quotas.deficits)} in deficit)" if quotas.deficits else "")
            + f". Alerts: {alerts}. Delivered {delivery.delivered}, failed {delivery.failed}."
        )
        for slug, why in quotas.skipped.items():
            say(f"quotas for {slug} skipped: {why}", indent=2)
        for slug in summary.no_data:
            say(f"{slug}: no data yet, nothing to forecast", indent=2)
        slugs = [*summary.methods, *summary.skipped]
        with ws.store.read() as conn:
            # One batched read of every resource's status (with the alerts just
            # refreshed), kept for those forecast now or kept: a status read per
            # resource cost seconds on a 600-type library whose data had not changed.
            wanted = set(slugs)
            statuses = [s for s in all_statuses(conn, datetime.now(UTC)) if s.slug in wanted]
        # Most urgent first (below its reserve now, firing alerts, then the highest
        # chance): the demo's 33 pools in catalogue order, each sentence wrapping
        # at 80 columns, hid the two resources that needed a steward.
        listed = sorted((s for s in statuses if s.headline), key=lambda s: s.attention())
        if listed:
            say("Outlook, most urgent first:")
        # A library of 600 item types printed 600 sentences at every run: the head of
        # the list is what a steward acts on, and `status` lists the rest.
        for status in listed[:OUTLOOK_LINES]:
            say(status.headline, indent=2)
        if len(listed) > OUTLOOK_LINES:
            say(
                f"... and {len(listed) - OUTLOOK_LINES:,} more, less urgent: "
                "`steward status` lists every resource.",
                indent=2,
            )


class _Printer:
    """Prints plain text wrapped at the console's width, later lines under the first
    one's text, never at a hyphen (a slug like ``rain-tank`` stays whole).

    Rich's own wrapping is off (``soft_wrap``) so that a long word or path is never
    cut; lines are wrapped here instead, where a sentence is known to be one.
    """

    def __init__(self, out: Console) -> None:
        self.out = out

    def __call__(self, text: str, indent: int = 0) -> None:
        width = max(self.out.width - indent - 2, 40)
        lines = textwrap.wrap(text, width=width, break_on_hyphens=False) or [""]
        pad = " " * indent
        body = f"\n{pad}  ".join(lines)
        self.out.print(pad + body, markup=False, highlight=False, soft_wrap=True)
