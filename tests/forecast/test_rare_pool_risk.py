"""A pool borrowed about once a year must not show an absurd overbooking risk."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select as sql_select

from steward.forecast import select
from steward.forecast.runs import run_forecasts
from steward.ledger import Batch, Ledger, NewEvent
from steward.store.models import ForecastRun
from steward.workspace import open_workspace

NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)


def _loans(starts: tuple[str, ...], days: int = 14) -> list[NewEvent]:
    events = []
    for i, start in enumerate(starts):
        out = pd.Timestamp(f"{start}T10:00:00+00:00")
        ref = f"loan-{i}"
        events.append(NewEvent("ladder", "use", 1, out.isoformat(), f"o{i}", loan_ref=ref))
        back = (out + pd.Timedelta(days=days)).isoformat()
        events.append(NewEvent("ladder", "replenish", 1, back, f"b{i}", loan_ref=ref))
    return events


# The history starts with the pool's first loan, so the weekly series opens on it.
ONCE_A_YEAR = {
    "once-in-44-weeks": ("2025-04-28",),
    "once-a-year": ("2023-04-24", "2024-04-22", "2025-04-28"),
}


def test_weekly_demand_once_a_year_gets_its_rate_not_a_drifting_median() -> None:
    weeks = pd.date_range("2023-01-01", periods=156, freq="W-SUN")
    y = pd.Series(0.0, index=weeks)
    y.iloc[[23, 73, 128]] = 1.0
    sel = select(y, 15, nonnegative=True)
    assert "intermittent demand" in sel.reason
    expected = sel.forecaster.point(15)
    # About one loan in 52 weeks: never two loans a quarter.
    assert expected.sum() < 1.0
    assert np.all(np.diff(expected) <= 1e-12)  # no upward drift


@pytest.mark.slow
@pytest.mark.parametrize("starts", list(ONCE_A_YEAR.values()), ids=list(ONCE_A_YEAR))
def test_a_one_unit_pool_borrowed_once_a_year_stays_under_ten_percent(
    db_url: str, store: object, settings_factory: Callable[..., Path], starts: tuple[str, ...]
) -> None:
    config = {
        "commons": [
            {
                "slug": "shed",
                "name": "Shed",
                "timezone": "UTC",
                "resources": [
                    {"slug": "ladder", "name": "Orchard ladder", "kind": "pool", "capacity": 1}
                ],
            }
        ],
        "forecast": {"executor": "serial"},
    }
    ws = open_workspace(settings_factory(config, db_url=db_url))
    try:
        with ws.store.write() as conn:
            Ledger(conn).record(Batch("seed", events=_loans(starts)))
        summary = run_forecasts(ws, now=NOW)
        assert summary.runs == 1
        with ws.store.read() as conn:
            risk = conn.execute(sql_select(ForecastRun.risk)).scalar_one()
        # The daily risk, and the risk over any week of the horizon.
        assert risk["max_p_over_capacity"] < 0.10
        weekly = pd.Series(risk["p_over_capacity_dates"]).rolling(7).sum().max()
        assert weekly < 0.10
    finally:
        ws.close()
