"""`steward calibrate`: backtest the published risk figures and store how often they came true."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from steward.display import cell
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
            # A line per origin is progress for a terminal; in a log it buried the result.
            progress=(
                (lambda done, total: console.print(f"origin {done}/{total}", markup=False))
                if console.is_terminal
                else None
            ),
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
            console.print(calibration_line(slug, cases.event, cases.predicted, cases.observed))


def calibration_line(
    slug: str, event: str, predicted: Sequence[float], observed: Sequence[float]
) -> Text:
    """One resource's backtest in words: what was predicted, how often, how often it came true.

    ``predicted`` holds the chances given (0-1) and ``observed`` whether the event
    happened (0 or 1), one per pool-day (``event`` POOL_EVENT: all units out) or per
    stock forecast (below the reserve within the horizon). "mean predicted 28.3%,
    observed 65.1%" did not say of what.
    """
    given = sum(predicted) / len(predicted)
    seen = sum(observed) / len(observed)
    if event == POOL_EVENT:
        text = (
            f"  {slug}: over {len(predicted):,} past days we gave all units out a mean "
            f"chance of {given:.1%}; all units were out on {seen:.1%} of them"
        )
    else:
        text = (
            f"  {slug}: over {len(predicted):,} past forecasts we gave falling below the "
            f"reserve within the horizon a mean chance of {given:.1%}; it fell below after "
            f"{seen:.1%} of them"
        )
    return cell(text)
