"""Quota tracking on a real store: periods, use, pace, the ladder and the explanation."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
import pytest
from sqlalchemy import func, select

from steward.errors import QuotaError
from steward.ledger import Batch, Ledger, NewCapacityChange
from steward.quotas import Budget, compute_quotas, period_bounds, update_quotas
from steward.quotas.resource_budget import pool_budget, pool_period_budget
from steward.quotas.tracking import ladder, policy_for
from steward.store import catalog
from steward.store.models import Quota, QuotaBudget

NOW = datetime(2025, 3, 12, 11, 0, tzinfo=UTC)  # Wednesday, noon in Paris


@pytest.mark.parametrize(
    ("at", "tz", "kind", "start", "end"),
    [
        (
            "2025-03-12T11:00:00+00:00",
            "Europe/Paris",
            "week",
            "2025-03-09T23:00:00+00:00",
            "2025-03-16T23:00:00+00:00",
        ),
        # The week of the spring DST change is 167 hours long.
        (
            "2025-03-30T12:00:00+00:00",
            "Europe/Paris",
            "week",
            "2025-03-23T23:00:00+00:00",
            "2025-03-30T22:00:00+00:00",
        ),
        (
            "2025-02-10T00:00:00+00:00",
            "America/Los_Angeles",
            "month",
            "2025-02-01T08:00:00+00:00",
            "2025-03-01T08:00:00+00:00",
        ),
        # Sunday evening in Los Angeles is already Monday in UTC: still the old week.
        (
            "2025-03-17T03:00:00+00:00",
            "America/Los_Angeles",
            "week",
            "2025-03-10T07:00:00+00:00",
            "2025-03-17T07:00:00+00:00",
        ),
    ],
)
def test_period_bounds(at, tz, kind, start, end) -> None:
    b = period_bounds(datetime.fromisoformat(at), tz, kind)
    assert (b.start, b.end) == (datetime.fromisoformat(start), datetime.fromisoformat(end))


@pytest.mark.parametrize(
    ("used", "projected", "allocation", "status"),
    [
        (10, 20, 100, "ok"),
        (80, 90, 100, "nudged"),
        (79.9, 99, 100, "ok"),
        (50, 101, 100, "warned"),
        (90, 120, 100, "warned"),
        (101, 150, 100, "review"),
        (0, 0, 0, "ok"),
        (1, 1, 0, "review"),
        # Nothing used this period yet: last period's pace warns of nothing.
        (0, 150, 100, "ok"),
        (0.5, 150, 100, "warned"),
    ],
)
def test_ladder(used, projected, allocation, status) -> None:
    assert ladder(used, projected, allocation) == status


def test_weighted_quotas_with_use_pace_and_explanation(garden) -> None:
    b = period_bounds(NOW, "Europe/Paris", "week")
    with garden.store.write() as conn:
        tank = catalog.resource(conn, "tank")
        rows = compute_quotas(
            conn,
            garden.settings,
            tank,
            budget=Budget(200, "Rain tank can sustain 200 L this week"),
            period_start=b.start,
            period_end=b.end,
            now=NOW,
        )
    by = {r.member_code: r for r in rows}
    assert by["ana"].allocation == Decimal(50) and by["ben"].allocation == Decimal(150)
    assert by["ana"].used == Decimal(30) and by["ben"].used == Decimal(140)
    # ben: 160 L in the last 14 days -> ~11.4 L/day for 4.5 more days -> projected over 150.
    assert by["ben"].projected == pytest.approx(Decimal("191.428571"), abs=Decimal("0.01"))
    assert by["ben"].status == "warned"
    assert by["ana"].status == "ok"  # 30 of 50 L, on pace for about 40
    text = by["ben"].explanation
    # His quota, use and pace rounded alike: the pace, 191.43 L, needs the hundredths.
    assert "weight is 3 out of a total of 4" in text and "150 L" in text
    assert "Your quota: 150.00 L" in text and "you have used 140.00 L" in text
    assert "Ana" not in text and "30 L" not in text


def test_pool_use_is_unit_days(garden) -> None:
    b = period_bounds(NOW, "Europe/Paris", "week")
    with garden.store.write() as conn:
        drill = catalog.resource(conn, "drill")
        rows = compute_quotas(
            conn,
            garden.settings,
            drill,
            budget=10.5,
            period_start=b.start,
            period_end=b.end,
            now=NOW,
        )
    by = {r.member_code: r for r in rows}
    assert by["ana"].used == Decimal(2)  # 2 drills for one day
    # Ana is the only member who borrowed drills lately: she shares the budget alone;
    # Ben, who never did, holds a starter share (an equal share: no ordinary use known).
    assert by["ana"].allocation == Decimal("10.5")
    assert by["ben"].allocation == Decimal("10.5") and "starter share" in by["ben"].explanation
    # One unit per explanation: the quota, use and pace all in unit-days, never "units".
    text = by["ana"].explanation
    assert "10.5 unit-days" in text and "used 2.00 unit-days" in text
    assert not re.search(r"\d units\b", text), text


def test_recompute_updates_in_place(garden) -> None:
    for _ in range(2):
        update_quotas(garden, garden.settings, NOW, budgets={"tank": 200, "drill": 10})
    with garden.store.read() as conn:
        assert conn.execute(select(func.count()).select_from(Quota)).scalar_one() == 4


def test_update_quotas_computes_the_long_run_stock_budget(garden) -> None:
    # One complete week of history and no replenishment: the closed form applies.
    summary = update_quotas(garden, garden.settings, NOW, budgets={"drill": 10})
    level = 800 - 30 - 140 - 20
    expected = (level - 100) / garden.settings.forecast.horizon_days * 7
    assert summary.budgets["tank"] == pytest.approx(expected, rel=1e-6)
    assert summary.quotas == 4 and summary.statuses.total() == 4
    with garden.store.read() as conn:
        stored = conn.execute(select(QuotaBudget.amount, QuotaBudget.single_use)).all()
    # One ordinary use of the tank, 4 in 5 of 20, 30 and 140 L no larger: 30 + 0.6 x 110 = 96 L.
    assert (round(float(stored[0][0]), 4), stored[0][1]) == (round(expected, 4), Decimal(96))


def test_a_budgets_date_is_written_as_every_other_date(garden) -> None:
    """ "on 08 June 2025" stood in the explanation beside "by 8 June 2025" elsewhere."""
    at = NOW.replace(day=10)  # the 90-day horizon ends on 8 June 2025
    update_quotas(garden, garden.settings, at, budgets={"drill": 10})
    with garden.store.read() as conn:
        said = conn.execute(select(Quota.explanation)).scalars().first()
    assert said is not None and "below its reserve of 100 L on 8 June 2025 stays under" in said


def test_a_running_period_keeps_the_quota_members_were_told(garden) -> None:
    update_quotas(garden, garden.settings, NOW, budgets={"tank": 400, "drill": 10})
    later = NOW.replace(hour=18)
    summary = update_quotas(garden, garden.settings, later, budgets={"tank": 40, "drill": 10})
    by = {r.member_code: r for r in summary.rows if r.resource == "tank"}
    assert by["ana"].allocation == Decimal(100) and by["ben"].allocation == Decimal(300)
    assert by["ana"].status == "ok"
    assert "would give you 10 L" in by["ana"].explanation
    assert "applies from the next period" in by["ana"].explanation


def test_floors_are_scaled_to_fit_the_budget(garden) -> None:
    b = period_bounds(NOW, "Europe/Paris", "week")
    data = garden.settings.model_dump()
    data["commons"][0]["resources"][0]["quota"]["floor"] = 70
    settings = type(garden.settings).model_validate(data)
    with garden.store.write() as conn:
        rows = compute_quotas(
            conn,
            settings,
            catalog.resource(conn, "tank"),
            budget=Budget(100, "Rain tank can sustain 100 L"),
            period_start=b.start,
            period_end=b.end,
            now=NOW,
        )
    assert sum(r.allocation for r in rows) == Decimal(100)
    assert "floor of 70 L per member is more than the budget" in rows[0].explanation


def test_a_share_smaller_than_one_ordinary_use_is_raised_to_it(garden) -> None:
    b = period_bounds(NOW, "Europe/Paris", "week")
    with garden.store.write() as conn:
        rows = compute_quotas(
            conn,
            garden.settings,
            catalog.resource(conn, "tank"),
            budget=Budget(40, "Rain tank can sustain 40 L", single_use=30, state="deficit"),
            period_start=b.start,
            period_end=b.end,
            now=NOW,
        )
    by = {r.member_code: r for r in rows}
    # 40 L cannot give both users one ordinary use (30 L): each gets exactly one; the
    # quota is enforced, not suspended.
    assert by["ana"].allocation == by["ben"].allocation == Decimal(30)
    assert by["ana"].status == "warned" and by["ben"].status == "review"
    assert "one ordinary use (30 L: 4 in 5 single uses are no larger)" in by["ana"].explanation
    assert "suspended" not in by["ana"].explanation
    assert "over your quota by 110.00 L" in by["ben"].explanation


@pytest.mark.parametrize(
    ("floor", "says"),
    [
        # The policy's floor is below one ordinary use (30 L): the larger minimum applies.
        (25, "(The policy's own floor, 25 L per member, is smaller than one ordinary use"),
        # Above it: the budget cannot promise the floor, only one ordinary use.
        (35, "(The policy's floor of 35 L per member is more than the budget allows; one"),
    ],
)
def test_a_policy_floor_beside_one_ordinary_use_says_which_applies(garden, floor, says) -> None:
    b = period_bounds(NOW, "Europe/Paris", "week")
    data = garden.settings.model_dump()
    data["commons"][0]["resources"][0]["quota"]["floor"] = floor
    settings = type(garden.settings).model_validate(data)
    with garden.store.write() as conn:
        rows = compute_quotas(
            conn,
            settings,
            catalog.resource(conn, "tank"),
            budget=Budget(40, "Rain tank can sustain 40 L", single_use=30, state="deficit"),
            period_start=b.start,
            period_end=b.end,
            now=NOW,
        )
    ana = next(r for r in rows if r.member_code == "ana")
    assert ana.allocation == Decimal(30)
    assert says in ana.explanation


def test_wrong_period_is_refused(garden) -> None:
    with garden.store.write() as conn, pytest.raises(QuotaError, match="not a calendar week"):
        compute_quotas(
            conn,
            garden.settings,
            catalog.resource(conn, "tank"),
            budget=1,
            period_start=NOW,
            period_end=NOW,
            now=NOW,
        )


def test_a_pools_budget_counts_capacity_as_the_forecast_does(garden) -> None:
    """Recorded changes from their day; plans only when dated after now (a plan dated
    before now did not happen as planned, or it would have been recorded)."""
    changes = (
        NewCapacityChange("drill", -1, "2025-03-13T00:00:00+01:00", "repair"),
        NewCapacityChange("drill", 3, "2025-03-11T00:00:00+01:00", "late-plan", scheduled=True),
        NewCapacityChange("drill", 2, "2025-03-15T00:00:00+01:00", "purchase", scheduled=True),
    )
    b = period_bounds(NOW, "Europe/Paris", "week")
    with garden.store.write() as conn:
        result = Ledger(conn).record(Batch("books", capacity_changes=changes))
        assert result.quarantined == 0, result.reasons
        drill = catalog.resource(conn, "drill")
        budget = pool_period_budget(conn, drill, policy_for(garden.settings, "drill"), b, NOW)
    # Mon-Wed 3 units, Thu-Fri 2 (one in repair), Sat-Sun 4 (two bought): never 3 more.
    assert budget.amount == pytest.approx(pool_budget(np.array([3, 3, 3, 2, 2, 4, 4.0]), 0.5, 7))
    assert "of 2-4 units" in budget.basis


def test_a_weight_updated_mid_period_counts_from_the_next_period(garden) -> None:
    """A roster update changes a weight at once, but not a quota already told."""
    from datetime import timedelta

    from steward.ledger import NewMember

    update_quotas(garden, garden.settings, NOW, budgets={"tank": 400, "drill": 10})
    with garden.store.write() as conn:
        result = Ledger(conn).record(
            Batch("roster", members=[NewMember("garden", "ana", "Ana Alvarez", weight=Decimal(3))])
        )
    assert (result.updated, result.accepted) == (1, 0)
    later = NOW.replace(hour=18)
    summary = update_quotas(garden, garden.settings, later, budgets={"tank": 400, "drill": 10})
    by = {r.member_code: r for r in summary.rows if r.resource == "tank"}
    assert by["ana"].allocation == Decimal(100)  # what she was told this week
    said = by["ana"].explanation
    assert "Your weight is 3 out of a total of 6" in said
    assert "The latest figures (forecast and members' weights) would give you 200 L" in said
    assert "stays at 100 L as announced" in said
    week_after = update_quotas(
        garden, garden.settings, NOW + timedelta(days=7), budgets={"tank": 400, "drill": 10}
    )
    nxt = {r.member_code: r for r in week_after.rows if r.resource == "tank"}
    assert nxt["ana"].allocation == nxt["ben"].allocation
