"""A pool member's projection counts each open loan until it is due back, not as a habit.

On the 1st of a month a loan checked out twelve days earlier already counts as use,
and read as a daily habit it projected a month of borrowing: a member returning a
drill the next day was warned of an overrun that would never happen.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from steward.ledger import Batch, Ledger, NewEvent, NewLoanTerm, NewMember
from steward.quotas import compute_quotas, period_bounds
from steward.quotas.explain import CountedLoan, loans_text
from steward.quotas.tracking import QuotaRow
from steward.store import catalog
from steward.workspace import Workspace, open_workspace

from .support import record

SHED: dict[str, Any] = {
    "commons": [
        {
            "slug": "shed",
            "name": "Shed",
            "timezone": "Europe/Paris",
            "resources": [
                {
                    "slug": "drill",
                    "name": "Drills",
                    "kind": "pool",
                    "capacity": 3,
                    "quota": {"policy": "equal", "period": "month"},
                },
                {
                    "slug": "tank",
                    "name": "Rain tank",
                    "kind": "stock",
                    "unit": "L",
                    "capacity": 1000,
                    "reserve": 100,
                    "initial_level": 800,
                    "quota": {"policy": "equal", "period": "month"},
                },
            ],
        }
    ]
}

# Monday 1 December 2025, 6:00 in Paris: six hours into the month.
NOW = datetime(2025, 12, 1, 5, 0, tzinfo=UTC)
PERIOD_DAYS_LEFT = 30.75
#: Ana's drill went out twelve days ago, at 6:00 Paris: 0.25 unit-days so far this month.
OUT = NOW - timedelta(days=12)


def paris(day: str) -> datetime:
    """Midnight (Paris) starting ``day`` (YYYY-MM-DD), in UTC: the end of the day before."""
    return datetime.fromisoformat(f"{day}T00:00:00+01:00").astimezone(UTC)


@pytest.fixture
def shed(db_url: str, store: Any, settings_factory: Callable[..., Path]) -> Iterator[Workspace]:
    """Ana, new, whose only loan is her open drill; Ben, who borrowed and returned one."""
    ws = open_workspace(settings_factory(SHED, db_url=db_url))
    members = (
        NewMember("shed", "ana", "Ana Alvarez", "ana@example.org"),
        NewMember("shed", "ben", "Ben Brown", "ben@example.org"),
    )
    events = (
        NewEvent(
            "drill", "use", 1, "2025-11-20T10:00:00+01:00", "b1-out", member="ben", loan_ref="b1"
        ),
        NewEvent("drill", "replenish", 1, "2025-11-23T10:00:00+01:00", "b1-in", loan_ref="b1"),
        NewEvent("drill", "use", 1, OUT, "a1-out", member="ana", loan_ref="a1"),
    )
    with ws.store.write() as conn:
        Ledger(conn).record(Batch("seed", events=events, members=members))
    yield ws
    ws.close()


def quotas(ws: Workspace, slug: str = "drill", budget: float = 20) -> dict[str, QuotaRow]:
    """This month's quotas of ``slug`` at NOW, by member code (10 unit-days each of 20)."""
    b = period_bounds(NOW, "Europe/Paris", "month")
    with ws.store.write() as conn:
        res = catalog.resource(conn, slug)
        rows = compute_quotas(
            conn, ws.settings, res, budget=budget, period_start=b.start, period_end=b.end, now=NOW
        )
    return {r.member_code: r for r in rows}


def test_a_carried_over_loan_due_back_soon_is_not_warned(shed) -> None:
    # Due back by the end of Wednesday 3 December: 2.75 more days.
    record(shed, terms=(NewLoanTerm("drill", "a1", OUT, paris("2025-12-04"), "a1-due"),))
    ana = quotas(shed)["ana"]
    assert ana.allocation == Decimal(10) and ana.used == Decimal("0.25")
    assert ana.status == "ok"
    # Her only loan is this one: no borrowing habit beyond it to extrapolate.
    assert ana.projected == Decimal(3)
    assert "counting your loan due back on 3 December 2025 until then" in ana.explanation
    assert "you will have used 3.00 unit-days by the end of the period" in ana.explanation


def test_a_loan_due_after_the_period_counts_to_its_end(shed) -> None:
    record(shed, terms=(NewLoanTerm("drill", "a1", OUT, paris("2026-01-10"), "a1-due"),))
    ana = quotas(shed)["ana"]
    assert ana.projected == Decimal("0.25") + Decimal(str(PERIOD_DAYS_LEFT))
    assert ana.status == "warned"
    assert (
        "counting your loan due back on 9 January 2026 as out to the period's end"
        in ana.explanation
    )


def test_an_overdue_loan_still_out_is_counted_as_returned_today(shed) -> None:
    """A drill a few days late is the overdue reminders' case: projected to the month's
    end it warned its borrower of a month of borrowing, a second alert for one problem."""
    # Due back by the end of Friday 28 November, still out on the 1st.
    record(shed, terms=(NewLoanTerm("drill", "a1", OUT, paris("2025-11-29"), "a1-due"),))
    ana = quotas(shed)["ana"]
    assert ana.used == Decimal("0.25") and ana.projected == Decimal("0.25")
    assert ana.status == "ok"
    counted = "counting your overdue loan (due back on 28 November 2025) as returned today"
    assert counted in ana.explanation
    assert ana.explanation.endswith(
        "Each day your overdue loan stays out adds to your use: please bring it back."
    )


def test_a_loan_without_a_due_date_keeps_the_recent_pace(shed) -> None:
    # Nothing says when it comes back: 12 unit-days in 14 days, as before.
    ana = quotas(shed)["ana"]
    assert ana.projected == pytest.approx(
        Decimal("0.25") + Decimal(12 / 14 * PERIOD_DAYS_LEFT), abs=Decimal("0.00001")
    )
    assert ana.status == "warned"
    assert "counting your loan" not in ana.explanation


def test_the_habit_beside_an_open_loan_leaves_that_loan_out(shed) -> None:
    """Ben's own earlier loan is his habit; his open one counts until it is due, once."""
    record(
        shed,
        (
            NewEvent(
                "drill", "use", 2, NOW - timedelta(days=2), "b2-out", member="ben", loan_ref="b2"
            ),
        ),
        (NewLoanTerm("drill", "b2", NOW - timedelta(days=2), NOW + timedelta(days=1), "b2-due"),),
    )
    ben = quotas(shed)["ben"]
    # 2 drills for 6 hours so far and 1 more day; his habit is his other loan alone,
    # 3 unit-days in the last 14 days, over the 30.75 days left.
    assert ben.used == Decimal("0.5")
    assert ben.projected == pytest.approx(
        Decimal("2.5") + Decimal(3 / 14 * PERIOD_DAYS_LEFT), abs=Decimal("0.00001")
    )
    assert ben.status == "ok"
    assert "counting your loan due back on 2 December 2025 until then" in ben.explanation


def test_a_stock_projects_its_recent_pace_as_before(shed) -> None:
    record(
        shed,
        (
            NewEvent("tank", "use", 28, "2025-11-24T08:00:00+01:00", "t1", member="ana"),
            NewEvent("tank", "use", 2, "2025-12-01T05:30:00+01:00", "t2", member="ana"),
        ),
    )
    ana = quotas(shed, "tank", budget=100)["ana"]
    # 30 L in the last 14 days (since her first use 7 days ago, counted as 14): 30 / 14 per day.
    assert ana.used == Decimal(2)
    assert ana.projected == pytest.approx(
        Decimal(2) + Decimal(30 / 14 * PERIOD_DAYS_LEFT), abs=Decimal("0.00001")
    )
    assert ana.status == "ok" and "counting your loan" not in ana.explanation


@pytest.mark.parametrize(
    ("loans", "said"),
    [
        ((), ""),
        (
            (CountedLoan(date(2025, 12, 3), "due"),),
            "counting your loan due back on 3 December 2025 until then",
        ),
        (
            (
                CountedLoan(date(2025, 11, 28), "overdue"),
                CountedLoan(date(2025, 12, 3), "due"),
                CountedLoan(date(2026, 1, 9), "end"),
            ),
            "counting your overdue loan (due back on 28 November 2025) as returned today, your "
            "loan due back on 3 December 2025 until then and your loan due back on 9 January "
            "2026 as out to the period's end",
        ),
    ],
)
def test_the_counted_loans_in_words(loans, said) -> None:
    assert loans_text(loans) == said


def test_a_loan_counted_to_an_unknown_end_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown until 'soon'"):
        loans_text((CountedLoan(date(2025, 12, 3), "soon"),))
