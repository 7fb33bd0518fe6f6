"""The published chance of every unit being out blends the simulation with the pool's
past (issue #9): the figure the dashboard shows and an alert's track record quotes is
the one the risk backtest scored, and the run's reason says how it was made."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import numpy as np
import pandas as pd
import pytest

from steward.forecast import runs, select
from steward.forecast.runs import _flow_reason, _past_full_share, _pool_run
from tests.forecast.conftest import pool_inputs

DAYS = pd.date_range("2026-01-01", periods=10, freq="D")


def test_the_past_share_counts_complete_days_that_ended_with_every_unit_out() -> None:
    frame = pd.DataFrame(
        {"level": [2, 2, 1, 0, 2, 2, 2, 2, 2, 2], "capacity": [2] * 8 + [0, 2]}, index=DAYS
    )
    # Days before 6 January: 1, 2 and 5 January were full; the 6th is not over yet.
    assert _past_full_share(frame, pd.Timestamp("2026-01-06")) == pytest.approx(3 / 5)
    # Only days at the latest capacity count: the day with 0 units is left out.
    assert _past_full_share(frame, pd.Timestamp("2026-01-11")) == pytest.approx(7 / 9)
    assert _past_full_share(frame.iloc[:0], pd.Timestamp("2026-01-06")) == 0.0


def test_the_past_share_is_of_the_pool_as_it_now_is() -> None:
    """A pool given a third drill is not as often full as it was with two."""
    frame = pd.DataFrame(
        {"level": [2] * 6 + [2, 3, 1, 2], "capacity": [2] * 6 + [3] * 4}, index=DAYS
    )
    # Full on all 6 days with 2 drills; with 3, full on 1 day of 4.
    assert _past_full_share(frame, pd.Timestamp("2026-01-11")) == pytest.approx(1 / 4)


def test_the_published_chance_is_the_blend_the_backtest_scores(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    inp, demand = pool_inputs(past_full=0.6)
    sel = {"demand": select(demand, 6, nonnegative=True)}
    dates = pd.date_range("2025-12-30", periods=28, freq="D")
    # The blend alone: the shrinkage toward the commons has tests of its own below.
    monkeypatch.setattr(runs, "PRIOR_DAYS", 0)
    monkeypatch.setattr(runs, "SIMULATED_WEIGHT", 1.0)
    _, _, alone = _pool_run(inp, sel, dates, 400, np.random.default_rng(5), target=0.1)
    monkeypatch.setattr(runs, "SIMULATED_WEIGHT", 0.9)
    risk, paths, proj = _pool_run(inp, sel, dates, 400, np.random.default_rng(5), target=0.1)
    blended = 0.9 * alone.p_all_units_out + 0.1 * 0.6
    assert np.allclose(proj.p_all_units_out, blended)
    # Stored as published: the per-day figure in the paths, its peak in the risk.
    assert np.allclose(paths["p_all_units_out"], blended, atol=1e-4)
    assert risk["max_p_all_units_out"] == pytest.approx(float(blended.max()), abs=1e-4)
    assert (risk["past_full_share"], risk["simulated_weight"]) == (0.6, 0.9)
    # The headline's chance of demand beyond the units is the simulation's own.
    assert np.allclose(proj.p_over_capacity, alone.p_over_capacity)


def test_the_runs_reason_says_in_words_how_the_chance_was_made(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(runs, "SIMULATED_WEIGHT", 0.9)
    sel = cast(Any, SimpleNamespace(reason="intermittent demand: tsb kept."))
    inp = cast(
        Any,
        SimpleNamespace(
            past_full=0.25, past_days=180, commons_full=0.4, res=SimpleNamespace(kind="pool")
        ),
    )
    said = _flow_reason(inp, "demand", sel)
    assert said.startswith("intermittent demand: tsb kept. The chance of every unit being out")
    assert "90% the simulation's and 10% how often the pool was booked out before" in said
    assert "(25% of its past days with as many units)" in said
    assert said.endswith(
        "with 180 days of history it leans 50% on how often the commons' pools were "
        "booked out (40% of their days)"
    )
    assert _flow_reason(inp, "use", sel) == sel.reason


def test_a_pool_with_one_quiet_season_of_history_is_shrunk_toward_its_commons() -> None:
    """90 quiet winter days say little of spring: the demo's pools given 4% at their
    first origin were booked out on 45% of the days that followed. With the commons'
    pools booked out on 40% of their days, the published chance leans on that share
    by PRIOR_DAYS / (90 + PRIOR_DAYS); with years of history hardly at all."""
    weeks = pd.date_range(end="2025-12-28", periods=13, freq="W-SUN")
    quiet = pd.Series(np.r_[np.zeros(12), 1.0], weeks)
    sel = {"demand": select(quiet, 6, nonnegative=True)}
    dates = pd.date_range("2025-12-30", periods=28, freq="D")
    inp, _ = pool_inputs(past_full=0.0, past_days=90, commons_full=0.4)
    inp.series = {"demand": quiet}
    inp.on_loan_now = 0
    risk, _, proj = _pool_run(inp, sel, dates, 400, np.random.default_rng(5), target=0.1)
    lean = runs.PRIOR_DAYS / (90 + runs.PRIOR_DAYS)
    assert lean > 0.5
    # The simulation alone gives a quiet 2-unit pool next to no chance of being booked out.
    assert proj.p_all_units_out.min() >= 0.4 * lean - 1e-9
    assert (risk["commons_full_share"], risk["past_days"]) == (0.4, 90)
    seasoned, _ = pool_inputs(past_full=0.0, past_days=3650, commons_full=0.4)
    seasoned.series = {"demand": quiet}
    seasoned.on_loan_now = 0
    _, _, old = _pool_run(seasoned, sel, dates, 400, np.random.default_rng(5), target=0.1)
    assert old.p_all_units_out.max() < 0.4 * 0.1


def test_shrinkage_weighs_the_pools_own_days_against_prior_days() -> None:
    p = pd.Series([0.0, 0.5, 1.0])
    assert np.allclose(runs.shrink_to_prior(p, 0.3, 0), 0.3)
    half = runs.shrink_to_prior(p, 0.3, runs.PRIOR_DAYS)
    assert np.allclose(half, 0.5 * p + 0.15)
    with pytest.raises(ValueError):
        runs.shrink_to_prior(p, 0.3, -1)


def test_the_commons_prior_is_the_mean_share_of_its_own_pools() -> None:
    def pool(commons: str, share: float, kind: str = "pool") -> Any:
        return SimpleNamespace(
            res=SimpleNamespace(kind=kind, commons_slug=commons),
            past_full=share,
            commons_full=0.0,
            own_days=runs._no_days(),
        )

    shed, shed2, garden, tank = (
        pool("shed", 0.2),
        pool("shed", 0.6),
        pool("garden", 0.1),
        pool("shed", 0.9, "stock"),
    )
    runs.commons_prior([shed, shed2, garden, tank])
    assert shed.commons_full == pytest.approx(0.4) and shed2.commons_full == pytest.approx(0.4)
    assert garden.commons_full == pytest.approx(0.1)
    assert tank.commons_full == 0.0  # a stock takes no part
