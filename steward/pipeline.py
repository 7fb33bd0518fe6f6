"""collect -> forecast -> quotas -> alerts -> delivery, as one callable step.

The scheduler runs :func:`run_pipeline` on the forecast schedule (collectors run
on their own schedules); the CLI can run any step by hand.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from steward import loan_book
from steward.alerts import evaluate
from steward.alerts.delivery import deliver_pending
from steward.display import counted
from steward.errors import ForecastError
from steward.forecast.runs import ForecastSummary, run_forecasts
from steward.quotas.update import QuotaSummary, update_quotas
from steward.store.models import RiskCalibration
from steward.workspace import Workspace

log = logging.getLogger(__name__)

#: The scheduled risk backtest covers this much history (``steward calibrate``'s default).
CALIBRATION_PERIOD = timedelta(days=365)
#: A stored backtest older than this (a missed weekly run) is redone soon after start.
CALIBRATION_MAX_AGE = timedelta(days=8)


@dataclass
class PipelineSummary:
    forecast: ForecastSummary
    quotas: Any
    alerts: Any
    delivery: Any

    def line(self) -> str:
        """One short line a steward can read: what was forecast, what alerts hold, what was sent.

        e.g. "33 resources forecast (2 unchanged); 540 quotas; alerts: 3 conditions hold (3 firing);
        sent 3, failed 0".
        Held-back messages and member alerts under a resource alert are named only when some.
        """
        f, a, d = self.forecast, self.alerts, self.delivery
        parts = [f"{f.runs} resources forecast"]
        extra = [f"{len(f.skipped)} unchanged" if f.skipped else ""]
        extra.append(f"{len(f.no_data)} without data" if f.no_data else "")
        if any(extra):
            parts[0] += f" ({', '.join(x for x in extra if x)})"
        parts.append(f"{self.quotas.quotas} quotas")
        changes = ", ".join(f"{v} {k}" for k, v in sorted(a.changes.items()))
        parts.append(
            f"alerts: {a.candidates} conditions hold" + (f" ({changes})" if changes else "")
        )
        sent = f"sent {d.delivered}, failed {d.failed}"
        if a.held:
            sent += f", {a.held} held by rate limits"
        for text in a.held_back():
            sent += f", {text}"
        parts.append(sent)
        return "; ".join(parts)


def refresh_after_forecast(ws: Workspace, now: datetime) -> tuple[QuotaSummary, Any, Any]:
    """Quotas, alerts, the loan book and delivery that depend on the forecasts, so the store is consistent.

    ``steward forecast`` calls this too: a forecast never leaves quotas and alerts
    of an older one behind.
    """
    quotas = update_quotas(ws, ws.settings, now)
    with ws.store.write() as conn:
        alerts = evaluate(conn, ws.settings, now, config_path=ws.config.path)
    # The pools' open loans, so the live loan views need not read every checkout.
    with ws.store.write() as conn:
        loan_book.refresh(conn, now)
    delivery = deliver_pending(ws.store, ws.settings, now)
    return quotas, alerts, delivery


def run_pipeline(
    ws: Workspace,
    *,
    now: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> PipelineSummary:
    """Forecast every resource, recompute quotas, evaluate alerts, deliver, refresh planner statistics."""
    now = now or datetime.now(UTC)
    forecast = run_forecasts(ws, now=now, progress=progress)
    quotas, alerts, delivery = refresh_after_forecast(ws, now)
    # The pages' queries need the planner's statistics to stay index lookups as the
    # ledger grows (see Store.refresh_statistics).
    ws.store.refresh_statistics()
    # Not logged here: the scheduler logs it; the demo prints it itself.
    return PipelineSummary(forecast, quotas, alerts, delivery)


def latest_calibration(ws: Workspace) -> datetime | None:
    """When the newest stored risk backtest was computed (UTC); None before the first."""
    with ws.store.read() as conn:
        newest = conn.execute(select(func.max(RiskCalibration.computed_at))).scalar_one()
    return None if newest is None else newest.replace(tzinfo=newest.tzinfo or UTC)


def calibration_due(ws: Workspace, now: datetime | None = None) -> bool:
    """True when no risk backtest is stored or the newest is older than CALIBRATION_MAX_AGE."""
    newest = latest_calibration(ws)
    return newest is None or (now or datetime.now(UTC)) - newest > CALIBRATION_MAX_AGE


def run_calibration(ws: Workspace, *, now: datetime | None = None) -> int:
    """Backtest every resource's risk figures over the last year and store how often they
    came true (``steward calibrate`` with its defaults); returns calibrations stored.

    The scheduler runs this weekly so the resource pages' track record and the
    alerts' "How sure" line stay current. A store younger than the forecast
    horizon has no origin yet: that is logged and 0 returned, not raised.
    """
    from steward.forecast.risk_backtest import backtest_risks, store_calibration

    now = now or datetime.now(UTC)
    try:
        result = backtest_risks(ws, start=now - CALIBRATION_PERIOD, end=now)
    except ForecastError as exc:
        log.info("calibration: nothing to backtest yet (%s)", exc.message)
        return 0
    with ws.store.write() as conn:
        written = store_calibration(conn, result, now=now)
    log.info(
        "calibration: %s stored from %s",
        counted(written, "resource calibration"),
        counted(len(result.origins), "origin"),
    )
    return written
