"""`steward calibrate`: backtest the published risk figures and store how often they came true."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from rich.console import Console

from steward.errors import InputError
from steward.forecast.risk_backtest import POOL_EVENT, backtest_risks, store_calibration

console = Console(soft_wrap=True)


def _day(text: str | None, option: str) -> datetime | None:
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text).replace(tzinfo=UTC)
    except ValueError as exc:
        raise InputError(
            f"{option} {text!r} is not a date",
            hint=f"write it as YYYY-MM-DD, e.g. {option} 2019-01-01",
        ) from exc


def register(app: typer.Typer) -> None:
    @app.command()
    def calibrate(
        ctx: typer.Context,
        resources: Annotated[
            list[str] | None, typer.Argument(help="Resource slugs (default: all).")
        ] = None,
        since: Annotated[
            str | None,
            typer.Option(help="First origin, YYYY-MM-DD (default: a year before --until)."),
        ] = None,
        until: Annotated[
            str | None, typer.Option(help="End of the period, YYYY-MM-DD (default: today).")
        ] = None,
        every: Annotated[int, typer.Option(help="Days between pools' origins.", min=1)] = 28,
        stock_every: Annotated[
            int, typer.Option(help="Days between stocks' origins (one case each).", min=1)
        ] = 7,
    ) -> None:
        """Backtest the risk figures over past origins and store their reliability per resource."""
        from steward.cli import state

        ws = state(ctx).workspace()
        end = _day(until, "--until") or datetime.now(UTC)
        start = _day(since, "--since") or end - timedelta(days=365)
        result = backtest_risks(
            ws,
            start=start,
            end=end,
            every_days=every,
            stock_every_days=stock_every,
            slugs=resources or None,
            progress=lambda done, total: console.print(f"origin {done}/{total}", markup=False),
        )
        with ws.store.write() as conn:
            written = store_calibration(conn, result)
        console.print(
            f"{written} resource calibrations stored from {len(result.origins)} origins "
            f"({start.date()} to {end.date()}).",
            markup=False,
        )
        for slug, cases in sorted(result.cases.items()):
            if not cases.predicted:
                continue
            what = "pool-days" if cases.event == POOL_EVENT else "stock forecasts"
            predicted = sum(cases.predicted) / len(cases.predicted)
            observed = sum(cases.observed) / len(cases.observed)
            console.print(
                f"  {slug}: {len(cases.predicted)} {what}, mean predicted {predicted:.1%}, "
                f"observed {observed:.1%}",
                markup=False,
            )
