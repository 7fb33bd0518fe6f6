"""A loan long past due is a lost unit, and status, forecast and quota budget count the same units."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from steward.availability import LOST_AFTER_DAYS, units
from steward.forecast.runs import _inputs
from steward.ledger import NewEvent, NewLoanTerm
from steward.status import resource_status
from steward.store import catalog

from .support import NOW, drill_budget, record


def test_a_loan_long_past_due_is_a_lost_unit_everywhere(garden) -> None:
    out = NOW - timedelta(days=LOST_AFTER_DAYS + 20)
    due = NOW - timedelta(days=LOST_AFTER_DAYS + 13)
    record(
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
    budget = drill_budget(garden)
    assert budget.amount == pytest.approx(2 * 0.5 * 7)
    # Members read the basis in their quota's explanation: no due date, which could
    # point at the member who holds the loan.
    undated = "3 units recorded, 1 counted lost: on loan more than 30 days past due"
    assert f"of 2 units ({undated})" in budget.basis
    assert "Jan 2025" not in budget.basis
