"""A pool whose members borrow more than it can lend is one deficit alert naming the units
that close it, and the quotas' sum stands beside the budget."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from steward.alerts import evaluate
from steward.ledger import NewEvent
from steward.queries.quotas import period_budgets
from steward.quotas import update_quotas
from steward.quotas.explain import allocated_text
from steward.store import catalog
from steward.store.models import Alert

from .support import NOW, drill_budget, record

# Ben has all 3 drills out for the three weeks before this one: 21 unit-days a week,
# against the 10.5 the pool lends a week (3 units at 50% use).
BUSY = (
    NewEvent("drill", "use", 3, "2025-02-17T00:00:00+01:00", "b-out", member="ben", loan_ref="b"),
    NewEvent("drill", "replenish", 3, "2025-03-10T00:00:00+01:00", "b-in", loan_ref="b"),
)


def test_a_pool_whose_members_borrow_more_than_it_lends_is_in_deficit(garden) -> None:
    record(garden, BUSY)
    budget = drill_budget(garden)
    assert (budget.amount, budget.need) == (pytest.approx(10.5), pytest.approx(21))
    assert budget.state == "deficit"
    # 10.5 unit-days short; each unit lends 3.5 a week at 50%: 3 more units close it.
    assert budget.remedy is not None and budget.remedy.startswith(
        "needs 3 more units in the week of"
    )
    assert "or 10.5 unit-days less borrowing" in budget.remedy
    # Both figures of the closing comparison carry their unit.
    assert budget.remedy.endswith(
        "borrow 21 unit-days in the week of 10 Mar to 16 Mar 2025 and it can lend 10.5 unit-days"
    ), budget.remedy


def test_a_pool_deficit_is_one_steward_alert(garden) -> None:
    """Like a stock's: the member alerts of the pool are then held under it
    (tests/alerts/test_volume.py holds that for any deficit)."""
    record(garden, BUSY)
    with garden.store.write() as conn:
        summary = update_quotas(conn, garden.settings, NOW)
        assert summary.deficits == {"drill": "deficit"}
        evaluate(conn, garden.settings, NOW)
        drill = catalog.resource(conn, "drill")
        found = conn.execute(
            select(Alert.rule, Alert.audience, Alert.state, Alert.summary, Alert.details).where(
                Alert.resource_id == drill.id
            )
        ).all()
    assert [(f.rule, f.audience, f.state) for f in found] == [("deficit", "stewards", "firing")]
    assert found[0].summary.startswith(
        "Drills: the pool is running a deficit: it needs 3 more units"
    )
    # A ledger figure, not a forecast: the message says so.
    assert found[0].details["how_sure"].startswith("How sure: recorded, not forecast")


def test_a_pool_deficit_states_the_overbooking_forecast_it_holds_back(garden) -> None:
    """The overbooking alert of a pool in deficit is folded into the deficit, which
    then says when the forecast expects the pool to run short, and how sure that is."""
    from datetime import timedelta

    from tests.alerts.support import insert_forecast

    record(garden, BUSY)
    dates = [(NOW + timedelta(days=d)).date().isoformat() for d in range(1, 29)]
    chances = [0.1] * 9 + [0.6] + [0.2] * 18  # peaks on Sat 22 March
    paths = {"dates": dates, "q0.9": [4.0] * 28, "capacity": [3.0] * 28}
    with garden.store.write() as conn:
        insert_forecast(
            conn, "drill", {"max_p_over_capacity": 0.6, "p_over_capacity_dates": chances}, paths
        )
        update_quotas(conn, garden.settings, NOW)
        summary = evaluate(conn, garden.settings, NOW)
        drill = catalog.resource(conn, "drill")
        found = conn.execute(
            select(Alert.rule, Alert.state, Alert.summary, Alert.details).where(
                Alert.resource_id == drill.id, Alert.state == "firing"
            )
        ).all()
    assert [f.rule for f in found] == ["deficit"]
    assert summary.superseded == 1  # the overbooking alert, not a member's
    assert found[0].summary.endswith(
        "The forecast: 60% chance demand for Drills exceeds the units available on "
        "Sat 22 March 2025, its highest chance of any day within the next 28 days."
    ), found[0].summary
    assert (
        "The forecast's chance is the latest run's, not yet checked"
        in (found[0].details["how_sure"])
    )


def test_the_quotas_sum_stands_beside_the_budget(garden) -> None:
    record(garden, BUSY)
    with garden.store.write() as conn:
        update_quotas(conn, garden.settings, NOW)
    with garden.store.read() as conn:
        found = {b.slug: b for b in period_budgets(conn, NOW)}
    drill = found["drill"]
    assert drill.quotas == 2 and drill.allocated >= drill.single_use * 2
    lines = drill.lines("10–16 Mar 2025")
    assert lines[0].startswith("drill: budget 10.5 unit-days for 10–16 Mar 2025")
    assert lines[1].strip().startswith(f"quotas add up to {drill.allocated.normalize():f}")
    assert lines[2].strip().startswith("deficit: drill needs 3 more units")


@pytest.mark.parametrize(
    ("total", "budget", "quotas", "at_single", "expected"),
    [
        (Decimal(8), Decimal(10), 2, 0, "quotas add up to 8 L for 2 members"),
        (
            Decimal(40),
            Decimal(10),
            4,
            4,
            "quotas add up to 40 L for 4 members, 4.0 times the budget: all of them hold "
            "one ordinary use (10 L), the smallest a quota can be",
        ),
        (
            Decimal(30),
            Decimal(10),
            3,
            2,
            "quotas add up to 30 L for 3 members, 3.0 times the budget: 2 of them hold "
            "one ordinary use (10 L), the smallest a quota can be",
        ),
    ],
)
def test_allocated_text(total, budget, quotas, at_single, expected) -> None:
    assert allocated_text(total, budget, quotas, at_single, Decimal(10), "L") == expected


def test_a_pool_deficit_holds_back_its_overbooking_forecast() -> None:
    """Both ask for more units of the same pool: one problem, one alert. Another
    pool's overbooking and the pool's member quota alerts are counted apart."""
    from datetime import timedelta

    from steward.alerts.lifecycle import inhibit
    from steward.alerts.rules import Candidate

    def candidate(rule: str, resource_id: int, audience: str = "stewards") -> Candidate:
        return Candidate(
            f"{rule}:{resource_id}:{audience}",
            rule,
            "warning",
            rule,
            timedelta(0),
            timedelta(days=1),
            audience=audience,
            resource_id=resource_id,
        )

    found = [
        candidate("deficit", 1),
        candidate("overbooking", 1),
        candidate("quota", 1, "member"),
        candidate("overbooking", 2),
    ]
    held = inhibit({c.fingerprint: c for c in found})
    assert held == {
        "overbooking:1:stewards": "deficit:1:stewards",
        "quota:1:member": "deficit:1:stewards",
    }
