"""Budgets against closed forms."""

from __future__ import annotations

import numpy as np
import pytest

from steward.errors import QuotaError
from steward.quotas.sustainable import pool_budget, sustainable_stock_budget

# level0, replenish per day, reserve, capacity, horizon, period, expected daily rate
CLOSED_FORMS = [
    (500.0, 0.0, 100.0, None, 40, 7, 10.0),  # (500 - 100) / 40
    (500.0, 5.0, 100.0, None, 40, 7, 15.0),  # 5 + 400 / 40
    (1000.0, 20.0, 100.0, 1000.0, 30, 30, 50.0),  # 20 + 900 / 30, never above capacity
    (200.0, 0.0, 0.0, None, 10, 7, 20.0),  # no reserve: must not run empty
]


@pytest.mark.parametrize(("level0", "r", "reserve", "cap", "h", "period", "rate"), CLOSED_FORMS)
def test_deterministic_replenishment_gives_the_exact_budget(
    level0, r, reserve, cap, h, period, rate
) -> None:
    rep = np.full((1, h), r)
    got = sustainable_stock_budget(level0, None, rep, reserve, cap, 0.1, period)
    # Strictly below the reserve counts as a breach, so the boundary rate itself is allowed.
    assert got.daily_rate == pytest.approx(rate, rel=1e-9)
    assert got.per_period == pytest.approx(rate * period, rel=1e-9)


def test_overflow_above_capacity_is_lost() -> None:
    # 900 of 1000, 200 arrives on day 1 (100 overflows), nothing after; 20 days.
    rep = np.zeros((1, 20))
    rep[0, 0] = 200
    got = sustainable_stock_budget(900, None, rep, 100, 1000, 0.1, 1)
    assert got.daily_rate == pytest.approx(900 / 19, rel=1e-9)
    uncapped = sustainable_stock_budget(900, None, rep, 100, None, 0.1, 1)
    assert uncapped.daily_rate == pytest.approx(50, rel=1e-9)


def test_a_dry_scenario_lowers_the_budget_at_the_risk_target() -> None:
    # Half the paths are wet (10/day), half dry (0/day): at a 10% target the dry ones bind.
    rep = np.vstack([np.full((50, 30), 10.0), np.zeros((50, 30))])
    got = sustainable_stock_budget(400, None, rep, 100, None, 0.1, 7)
    assert got.daily_rate == pytest.approx(10.0, rel=1e-9)
    tolerant = sustainable_stock_budget(400, None, rep, 100, None, 0.6, 7)
    assert tolerant.daily_rate == pytest.approx(20.0, rel=1e-9)


def test_use_shape_is_kept() -> None:
    # Use twice as heavy in the second half: the budget rate is the mean daily draw.
    shape = np.concatenate([np.ones(10), 2 * np.ones(10)])[None, :]
    got = sustainable_stock_budget(400, shape, np.zeros((1, 20)), 100, None, 0.1, 1)
    assert got.daily_rate == pytest.approx(15.0, rel=1e-9)  # 300 over 20 days


def test_below_reserve_already_means_no_budget() -> None:
    got = sustainable_stock_budget(50, None, np.zeros((1, 10)), 100, None, 0.1, 7)
    assert got.per_period == 0 and got.risk_without_use == 1.0


def test_pledged_donation_raises_the_budget() -> None:
    rep = np.zeros((1, 30))
    base = sustainable_stock_budget(400, None, rep, 100, None, 0.1, 30)
    rep[0, 0] = 300  # pledged for tomorrow
    pledged = sustainable_stock_budget(400, None, rep, 100, None, 0.1, 30)
    assert base.per_period == pytest.approx(300)
    assert pledged.per_period == pytest.approx(600)


@pytest.mark.parametrize(
    ("caps", "util", "period", "expected"),
    [
        ([3.0] * 7, 0.8, 7, 16.8),
        ([3.0], 0.5, 30, 45.0),
        ([2.0, 2.0, 4.0, 4.0], 1.0, 4, 12.0),
        (5.0, 0.8, 10, 40.0),
    ],
)
def test_pool_budget(caps, util, period, expected) -> None:
    assert pool_budget(caps, util, period) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: sustainable_stock_budget(1, None, np.zeros((1, 5)), 0, None, 1.5, 7),
            "risk_target",
        ),
        (
            lambda: sustainable_stock_budget(1, None, np.full((1, 5), np.nan), 0, None, 0.1, 7),
            "non-finite",
        ),
        (lambda: pool_budget([1.0], 0.0, 7), "utilisation"),
        (lambda: pool_budget([], 0.5, 7), "capacity_by_day"),
    ],
)
def test_bad_budget_input(call, message) -> None:
    with pytest.raises(QuotaError, match=message):
        call()
