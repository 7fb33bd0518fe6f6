"""collect -> forecast -> quotas -> alerts -> delivery, as one callable step.

The scheduler runs :func:`run_pipeline` on the forecast schedule (collectors run
on their own schedules); the CLI can run any step by hand.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from steward.alerts import evaluate
from steward.alerts.delivery import deliver_pending
from steward.forecast.runs import ForecastSummary, run_forecasts
from steward.quotas.update import QuotaSummary, update_quotas
from steward.workspace import Workspace

log = logging.getLogger(__name__)


@dataclass
class PipelineSummary:
    forecast: ForecastSummary
    quotas: Any
    alerts: Any
    delivery: Any


def refresh_after_forecast(ws: Workspace, now: datetime) -> tuple[QuotaSummary, Any, Any]:
    """Quotas, alerts and delivery that depend on the forecasts, so the store is consistent.

    ``steward forecast`` calls this too: a forecast never leaves quotas and alerts
    of an older one behind.
    """
    quotas = update_quotas(ws, ws.settings, now)
    with ws.store.write() as conn:
        alerts = evaluate(conn, ws.settings, now)
    delivery = deliver_pending(ws.store, ws.settings, now)
    return quotas, alerts, delivery


def run_pipeline(
    ws: Workspace,
    *,
    now: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> PipelineSummary:
    """Forecast every resource, then recompute quotas, evaluate alerts and deliver."""
    now = now or datetime.now(UTC)
    forecast = run_forecasts(ws, now=now, progress=progress)
    quotas, alerts, delivery = refresh_after_forecast(ws, now)
    log.info(
        "pipeline: %d forecasts (%d without data), %d quotas, alerts %s, delivered %d, failed %d",
        forecast.runs,
        len(forecast.no_data),
        quotas.quotas,
        alerts,
        delivery.delivered,
        delivery.failed,
    )
    return PipelineSummary(forecast, quotas, alerts, delivery)
