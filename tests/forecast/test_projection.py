"""Stock and pool projections against closed-form cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from steward.forecast import project_pool, project_stock
from steward.forecast.projection import batched_demand, checkout_batches, day_ends_on_loan

DATES = pd.date_range("2025-06-01", periods=30, freq="D")


def test_deterministic_use_gives_exact_depletion_date() -> None:
    use = np.full((3, 30), 10.0)
    proj = project_stock(100.0, use, np.zeros((3, 30)), dates=DATES, reserve=30.0, capacity=None)
    # Level after day k is 100 - 10k: below 30 on day 8, empty on day 10.
    assert proj.date_p50 == DATES[7] and proj.date_p90 == DATES[7]
    assert proj.expected_depletion_date == DATES[9]
    assert proj.p_below_reserve.iloc[6] == 0.0 and proj.p_below_reserve.iloc[7] == 1.0
    assert proj.p_below_reserve_within_horizon == 1.0
    assert (proj.level_paths >= 0).all()
    assert proj.expected_unmet.iloc[10] == pytest.approx(10.0)  # use beyond the stock is unmet
    assert proj.level_quantiles["q0.5"].iloc[4] == pytest.approx(50.0)


def test_replenishment_and_capacity_overflow() -> None:
    use = np.full((1, 30), 5.0)
    rep = np.full((1, 30), 8.0)
    proj = project_stock(95.0, use, rep, dates=DATES, reserve=10.0, capacity=100.0)
    assert proj.level_paths.max() == 100.0  # a full tank overflows
    assert proj.expected_overflow.iloc[1] == pytest.approx(1.0)  # 98 + 3 = 101
    assert proj.expected_overflow.iloc[2] == pytest.approx(3.0)
    assert proj.date_p50 is None and proj.p_below_reserve_within_horizon == 0.0


def test_scheduled_delivery_postpones_depletion() -> None:
    use = np.full((1, 30), 10.0)
    delivery = pd.Series([50.0], index=[DATES[5]])
    proj = project_stock(
        100.0, use, np.zeros((1, 30)), dates=DATES, reserve=None, capacity=None, scheduled=delivery
    )
    assert proj.expected_depletion_date == DATES[14]  # 150 units at 10 a day


def test_stochastic_stock_probabilities_are_monotone() -> None:
    rng = np.random.default_rng(0)
    use = rng.gamma(4.0, 2.5, size=(2000, 30))
    proj = project_stock(200.0, use, np.zeros((2000, 30)), dates=DATES, reserve=50.0, capacity=300)
    assert (np.diff(proj.p_below_reserve.to_numpy()) >= 0).all()
    # Mean use is 10/day: the reserve is crossed around day 15.
    assert DATES[12] <= proj.date_p50 <= DATES[17]
    assert proj.date_p90 is not None and proj.date_p90 >= proj.date_p50


def test_poisson_arrivals_fixed_duration_match_poisson_tail() -> None:
    rng = np.random.default_rng(42)
    lam, d, cap, n = 3.0, 5, 20, 20000
    demand = rng.poisson(lam, size=(n, 30))
    proj = project_pool(0, demand, np.array([d]), cap, dates=DATES, rng=rng)
    expected = stats.poisson.sf(cap, lam * d)  # P(M/D/inf occupancy > c)
    steady = proj.p_over_capacity.iloc[d:].to_numpy()
    assert steady.mean() == pytest.approx(expected, abs=0.005)
    assert np.abs(steady - expected).max() < 0.015
    assert proj.occupancy_quantiles["mean"].iloc[10] == pytest.approx(lam * d, rel=0.02)
    need = proj.extra_units_needed
    assert stats.poisson.sf(cap + need, lam * d) <= 0.1 + 0.01
    assert stats.poisson.sf(cap + need - 1, lam * d) > 0.1 - 0.01


def test_pool_current_loans_and_capacity_changes() -> None:
    rng = np.random.default_rng(1)
    demand = np.zeros((10, 30))
    cap = np.full(30, 2.0)
    cap[10:] = 5.0  # units bought on day 10
    proj = project_pool([3, 12, 40], demand, np.array([7]), cap, dates=DATES, rng=rng)
    occ = proj.occupancy_paths[0]
    assert occ[0] == 3 and occ[3] == 2 and occ[12] == 1
    assert proj.p_over_capacity.iloc[0] == 1.0 and proj.p_over_capacity.iloc[3] == 0.0
    assert proj.expected_unmet.iloc[0] == pytest.approx(1.0)
    assert proj.extra_units_needed == 1


def test_pool_count_of_current_loans_uses_residual_durations() -> None:
    rng = np.random.default_rng(2)
    proj = project_pool(10, np.zeros((500, 30)), np.array([4.0, 8.0]), 10, dates=DATES, rng=rng)
    occ = proj.occupancy_paths
    # A loan of d ends of day has 0 .. d-1 still ahead: none is out 8 days on.
    assert (occ[:, 7:] == 0).all() and (np.diff(occ, axis=1) <= 0).all()
    # Length bias: 2/3 of current loans are 8-day ones, so (3/4 * 1/2 + 1/4 * 1/2) * 10
    # = 5 are still out after 3 more days on average, against 3.75 without the bias.
    assert occ[:, 0].mean() == pytest.approx(10 * (1 - (1 / 3) / 4 - (2 / 3) / 8), abs=0.15)
    assert occ[:, 3].mean() == pytest.approx(10 * (2 / 3) * (4 / 8), abs=0.15)


def test_loans_are_measured_in_ends_of_day_out() -> None:
    out = pd.Series(pd.to_datetime(["2026-03-02T16:00:00Z", "2026-03-02T09:00:00Z"]))
    back = pd.Series(pd.to_datetime(["2026-03-09T17:00:00Z", "2026-03-02T15:00:00Z"]))
    # A week (7.04 days) was out at 7 ends of day; a loan back the same day at none.
    assert day_ends_on_loan(out, back, "UTC").tolist() == [7, 0]
    # Local days: in Auckland the second loan ran from 10 pm to 4 am, over a day's end.
    assert day_ends_on_loan(out, back, "Pacific/Auckland").tolist() == [7, 1]
    # Across the spring DST change two local midnights are 23 hours apart: a week's
    # loan from Berlin's 27 to 3 April 2026 still spans 7 ends of day, and 8 in autumn.
    spring_out = pd.Series(pd.to_datetime(["2026-03-27T10:00:00Z", "2026-10-22T10:00:00Z"]))
    spring_back = pd.Series(pd.to_datetime(["2026-04-03T09:00:00Z", "2026-10-30T10:00:00Z"]))
    assert day_ends_on_loan(spring_out, spring_back, "Europe/Berlin").tolist() == [7, 8]
    # A same-day loan occupies no end of day; a week's loan seven of them.
    rng = np.random.default_rng(0)
    demand = np.zeros((1, 30))
    demand[0, 2] = 1
    for d, covered in ((0, 0), (7, 7)):
        proj = project_pool(0, demand, np.array([d]), 1, dates=DATES, rng=rng)
        assert proj.occupancy_paths[0].sum() == covered


def test_all_units_out_is_reaching_the_capacity_when_loans_last_a_day() -> None:
    rng = np.random.default_rng(5)
    demand = rng.poisson(0.4, size=(4000, 30))
    proj = project_pool(0, demand, np.array([1]), 2, dates=DATES, rng=rng)
    # A loan of one end of day: units out at a day's end are min(requests, 2).
    assert proj.p_all_units_out.mean() == pytest.approx(stats.poisson.sf(1, 0.4), abs=0.01)
    assert (proj.p_all_units_out >= proj.p_over_capacity).all()


def test_a_request_finding_every_unit_out_is_turned_away_not_queued() -> None:
    demand = np.zeros((1, 30))
    demand[0, 2] = 2
    proj = project_pool(0, demand, np.array([7]), 1, dates=DATES, rng=np.random.default_rng(0))
    # Demanded: two units for a week. Lent: one, and the pool is free again on day 9.
    assert proj.occupancy_paths[0, 2:9].tolist() == [2.0] * 7
    assert proj.p_all_units_out.iloc[2:9].tolist() == [1.0] * 7
    assert proj.p_all_units_out.iloc[9:].sum() == 0.0


def _lent_by_hand(demand: np.ndarray, days_out: int, units: int) -> np.ndarray:
    """Units on loan at each day's end: returns first, then requests while a unit is free."""
    full = np.zeros(demand.shape)
    for i, row in enumerate(demand):
        due: list[int] = []
        for t, wanted in enumerate(row):
            due = [d for d in due if d > t]
            due += [t + days_out] * int(min(wanted, units - len(due)))
            full[i, t] = len(due) >= units
    return full


def test_turn_aways_match_a_loan_by_loan_simulation() -> None:
    rng = np.random.default_rng(5)
    demand = rng.poisson(0.6, size=(300, 30))
    proj = project_pool(0, demand, np.array([4]), 2, dates=DATES, rng=rng)
    expected = _lent_by_hand(demand, 4, 2).mean(axis=0)
    assert proj.p_all_units_out.to_numpy() == pytest.approx(expected)
    # A backlog of requests would keep the pool full more often than lending does.
    assert proj.p_all_units_out.iloc[10:].mean() < (proj.occupancy_paths >= 2)[:, 10:].mean()


def test_a_loan_already_out_long_is_one_of_the_long_ones() -> None:
    # Loans last 2 or 20 ends of day. One out for 5 days already is a 20-day one:
    # it stays out 14 more ends of day after today, on every path.
    rng = np.random.default_rng(3)
    lengths = np.array([2.0] * 9 + [20.0])
    proj = project_pool(
        1, np.zeros((300, 30)), lengths, 1, dates=DATES, rng=rng, ages=np.array([5])
    )
    occ = proj.occupancy_paths
    assert (occ[:, :14] == 1).all() and (occ[:, 14:] == 0).all()
    # Without its age it is the equilibrium draw: often gone within two days.
    blind = project_pool(1, np.zeros((300, 30)), lengths, 1, dates=DATES, rng=rng)
    assert blind.occupancy_paths[:, 2].mean() < 0.9


def test_an_age_past_every_observed_loan_falls_back_to_the_equilibrium_draw() -> None:
    rng = np.random.default_rng(4)
    proj = project_pool(
        1, np.zeros((200, 30)), np.array([3.0]), 1, dates=DATES, rng=rng, ages=np.array([9])
    )
    assert (proj.occupancy_paths[:, 3:] == 0).all()


def test_checkouts_come_in_a_members_batches_of_a_day() -> None:
    uses = pd.DataFrame(
        {
            "occurred_at": pd.to_datetime(
                [
                    "2026-03-02T10:00:00Z",
                    "2026-03-02T10:05:00Z",
                    "2026-03-02T18:00:00Z",
                    "2026-03-03T09:00:00Z",
                    "2026-03-03T09:00:00Z",
                ]
            ),
            "quantity": [1.0, 1.0, 2.0, 1.0, 1.0],
            "member_id": [7, 7, 8, None, None],
        }
    )
    # Member 7's two loans of one day are one batch; checkouts without a member are
    # batches of their own.
    assert sorted(checkout_batches(uses, "UTC").tolist()) == [1.0, 1.0, 2.0, 2.0]
    assert len(checkout_batches(uses.iloc[:0], "UTC")) == 0


def test_batched_demand_keeps_the_expected_units() -> None:
    rng = np.random.default_rng(5)
    expected = np.full((4000, 30), 0.3)
    lumpy = batched_demand(expected, np.array([1.0, 1.0, 1.0, 40.0]), rng)
    assert lumpy.mean() == pytest.approx(0.3, rel=0.05)
    # Most days nothing, some days forty at once: far more spread than Poisson.
    assert lumpy.var() > 10 * 0.3 and (lumpy >= 40).any()
    single = batched_demand(expected, np.ones(5), rng)
    assert single.mean() == pytest.approx(0.3, rel=0.05)
    assert single.var() == pytest.approx(0.3, rel=0.1)


def test_projection_starts_from_a_level_below_zero() -> None:
    """A ledger below zero is projected from there, not lifted to 0 (a fund overpaid)."""
    dates = pd.date_range("2025-03-13", periods=5, freq="D")
    proj = project_stock(
        -100.0,
        np.full((1, 5), 10.0),
        np.full((1, 5), 30.0),
        dates=dates,
        reserve=50.0,
        capacity=None,
    )
    # 30 in a day, and nothing can be used while it is below zero: -70, -40, -10, then
    # 20 there and 10 used, then 10 + 30 - 10.
    assert proj.level_paths[0].tolist() == [-70.0, -40.0, -10.0, 10.0, 30.0]
    assert proj.expected_unmet.tolist() == [10.0, 10.0, 10.0, 0.0, 0.0]
    assert proj.p_below_reserve.iloc[-1] == 1.0
