"""Budgets, deficits and units to add, against closed forms."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest

from steward.errors import QuotaError
from steward.quotas.sustainable import (
    DAYS_PER_MONTH,
    long_run_stock_budget,
    monthly_gap,
    pool_budget,
    units_to_meet,
)

# level0, steady inflow per day, reserve, pledged, horizon, period, expected daily rate
CLOSED_FORMS = [
    (500.0, 0.0, 100.0, 0.0, 40, 7, 10.0),  # (500 - 100) / 40
    (500.0, 5.0, 100.0, 0.0, 40, 7, 15.0),  # 5 + 400 / 40
    (1000.0, 20.0, 100.0, 0.0, 30, 30, 50.0),  # 20 + 900 / 30
    (200.0, 0.0, 0.0, 0.0, 10, 7, 20.0),  # no reserve: down to empty
    (400.0, 0.0, 100.0, 300.0, 30, 30, 20.0),  # a pledged 300 counts: (400 + 300 - 100) / 30
    (50.0, 10.0, 100.0, 0.0, 10, 7, 5.0),  # below reserve: the inflow must refill 50 first
]


@pytest.mark.parametrize(("level0", "r", "reserve", "pledged", "h", "period", "rate"), CLOSED_FORMS)
def test_steady_inflow_gives_the_exact_budget(level0, r, reserve, pledged, h, period, rate) -> None:
    weeks = np.full(52, 7 * r)
    got = long_run_stock_budget(
        level0, reserve, weeks, horizon_days=h, risk_target=0.1, period_days=period, pledged=pledged
    )
    assert got.daily_rate == pytest.approx(rate, rel=1e-12)
    assert got.per_period == pytest.approx(rate * period, rel=1e-12)
    assert not got.stop


def test_a_rain_tank_that_empties_every_summer_keeps_a_budget_all_year() -> None:
    # 26 wet weeks of 700 L, 26 dry weeks of nothing: the yield over the year carries it.
    weeks = np.array([700.0] * 26 + [0.0] * 26)
    got = long_run_stock_budget(
        1500.0, 1500.0, weeks, horizon_days=364, risk_target=0.1, period_days=7
    )
    sd = float(np.std(weeks, ddof=1))
    inflow = (350.0 - NormalDist().inv_cdf(0.9) * sd / math.sqrt(52)) / 7
    assert got.inflow_rate == pytest.approx(inflow, rel=1e-12)
    assert got.per_period == pytest.approx(7 * inflow, rel=1e-12)
    assert got.per_period > 200  # not "near zero all year"


def test_a_higher_risk_tolerance_counts_on_more_inflow() -> None:
    weeks = np.array([100.0, 0.0] * 26)
    strict = long_run_stock_budget(0, 0, weeks, horizon_days=90, risk_target=0.05, period_days=7)
    lax = long_run_stock_budget(0, 0, weeks, horizon_days=90, risk_target=0.5, period_days=7)
    assert strict.daily_rate < lax.daily_rate == pytest.approx(50 / 7)


def test_zero_is_reserved_for_stop_using_it_now() -> None:
    got = long_run_stock_budget(
        1000, 2500, np.zeros(52), horizon_days=240, risk_target=0.1, period_days=30
    )
    assert got.per_period == 0 and got.stop
    assert got.drawdown_rate == pytest.approx(-1500 / 240)


def test_fund_monthly_gap_closed_form() -> None:
    # A fund at its reserve, income 3,000 USD a month, grants of 3,310 USD a month:
    # it needs +310 USD/month (more income or fewer grants) to hold the reserve.
    income_per_day = 3000 / DAYS_PER_MONTH
    weeks = np.full(52, 7 * income_per_day)
    got = long_run_stock_budget(
        2500, 2500, weeks, horizon_days=240, risk_target=0.1, period_days=30
    )
    need = 3310 / DAYS_PER_MONTH * 30  # their ordinary use in a 30-day period
    assert monthly_gap(got.daily_rate, need, 30) == pytest.approx(310, rel=1e-12)
    assert monthly_gap(got.daily_rate, 0.5 * need, 30) == 0


@pytest.mark.parametrize(
    ("q90", "capacity", "units"),
    [
        ([3, 5, 8, 6], [6, 6, 6, 6], 2),  # the weekend peak of 8 against 6 drills: 2 more
        ([3.2, 6.4], [6, 6], 1),  # 0.4 over rounds up to a whole unit
        ([2, 3], [6, 6], 0),  # never over: nothing to add
        ([5, 9, None], [6, 8, 8], 1),  # capacity grows; missing days are skipped
        ([], [], 0),
    ],
)
def test_units_to_meet(q90, capacity, units) -> None:
    assert units_to_meet(q90, capacity) == units


def test_units_to_meet_brings_simulated_overbooking_under_target() -> None:
    rng = np.random.default_rng(1)
    occupancy = rng.poisson(6.0, size=(4000, 30)).astype(float)
    cap = np.full(30, 5.0)
    k = units_to_meet(np.quantile(occupancy, 0.9, axis=0).tolist(), cap.tolist())
    assert (occupancy > cap + k).mean(axis=0).max() <= 0.1
    assert (occupancy > cap + k - 1).mean(axis=0).max() > 0.1


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


def _stock(**kw):
    args = {"horizon_days": 30, "risk_target": 0.1, "period_days": 7} | kw
    weeks = args.pop("weeks", [1.0])
    return lambda: long_run_stock_budget(1, 0, weeks, **args)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (_stock(risk_target=1.5), "risk_target"),
        (_stock(weeks=[np.nan]), "finite"),
        (_stock(weeks=[]), "at least one complete week"),
        (_stock(horizon_days=0), "horizon_days"),
        (_stock(period_days=0), "period_days"),
        (lambda: monthly_gap(1, 1, 0), "period_days"),
        (lambda: pool_budget([1.0], 0.0, 7), "utilisation"),
        (lambda: pool_budget([], 0.5, 7), "capacity_by_day"),
    ],
)
def test_bad_budget_input(call, message) -> None:
    with pytest.raises(QuotaError, match=message):
        call()
