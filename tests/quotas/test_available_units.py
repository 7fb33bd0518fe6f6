"""A loan long past due is a lost unit, and status, forecast and quota budget count the same units."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from steward.availability import LOST_AFTER_DAYS, units
from steward.forecast.runs import _inputs
from steward.ledger import Batch, Ledger, NewEvent, NewLoanTerm
from steward.quotas import period_bounds
from steward.quotas.resource_budget import pool_period_budget
from steward.quotas.tracking import policy_for
from steward.status import resource_status
from steward.store import catalog

NOW = datetime(2025, 3, 12, 11, 0, tzinfo=UTC)  # Wednesday, noon in Paris


def _record(ws, events=(), terms=()) -> None:
    with ws.store.write() as conn:
        result = Ledger(conn).record(Batch("books", events=events, loan_terms=terms))
        assert result.quarantined == 0, result.reasons


def _budget(ws):
    b = period_bounds(NOW, "Europe/Paris", "week")
    with ws.store.read() as conn:
        drill = catalog.resource(conn, "drill")
        return pool_period_budget(conn, drill, policy_for(ws.settings, "drill"), b, NOW)


def test_a_loan_long_past_due_is_a_lost_unit_everywhere(garden) -> None:
    out = NOW - timedelta(days=LOST_AFTER_DAYS + 20)
    due = NOW - timedelta(days=LOST_AFTER_DAYS + 13)
    _record(
        garden,
        (NewEvent("drill", "use", 1, out, "gone-out", member="ben", loan_ref="gone"),),
        (NewLoanTerm("drill", "gone", out, due, "gone-term"),),
    )
    with garden.store.read() as conn:
        drill = catalog.resource(conn, "drill")
        found = units(conn, drill, NOW)
        status = resource_status(conn, drill, NOW)
        forecast = _inputs(conn, drill, NOW)
    assert (found.recorded, found.lost, found.available) == (Decimal(3), 1, Decimal(2))
    reason = "3 units recorded, 1 counted lost: on loan 43 days past due, since 28 Jan 2025"
    assert found.reason("Europe/Paris", NOW) == reason
    # Status, forecast and budget count the same 2 units, and say why where they differ.
    assert (status.capacity, status.on_loan, status.capacity_note) == (2.0, 0.0, reason)
    assert (forecast.capacity_now, forecast.on_loan_now, forecast.lost_overdue) == (2.0, 0, 1)
    budget = _budget(garden)
    assert budget.amount == pytest.approx(2 * 0.5 * 7)
    assert f"of 2 units ({reason})" in budget.basis
