"""The published chance of every unit out follows the pool's season (issue #9).

Left alone it carried the level at the forecast's origin 240 days ahead: on the
demo's backtest, January days were given more than June days while pools were
booked out on 19% and 51% of them. Its odds are scaled by how often the pool and its
commons' pools were booked out at the same time of past years, against their usual
share (runs.season_factor).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import numpy as np
import pandas as pd
import pytest

from steward.forecast import runs, select
from steward.forecast.runs import (
    _flow_reason,
    _pool_run,
    same_time_of_year,
    season_factor,
    seasonal_odds,
)
from tests.forecast.conftest import pool_inputs

PAST = pd.date_range("2024-01-01", "2025-12-31", freq="D")


def test_the_same_time_of_year_is_the_window_around_each_date_in_every_past_year() -> None:
    days = pd.DataFrame({"one": 1.0, "june": PAST.month == 6}, index=PAST)
    dates = pd.DatetimeIndex(["2026-06-15", "2026-01-03"])
    got = same_time_of_year(days, dates, window=15)
    # 31 May - 30 June of 2025 and of 2024: 31 days each, 30 of them in June.
    assert got[0].tolist() == [62.0, 60.0]
    # 19 December - 18 January around 3 January 2025 (31 days) and 2024 (the 18 of
    # them from 1 January: the data start there).
    assert got[1].tolist() == [31 + 18, 0.0]
    # No past year reaches: nothing.
    assert same_time_of_year(days.loc["2025-06"], pd.DatetimeIndex(["2025-07-01"])).sum() == 0
    assert same_time_of_year(days.iloc[:0], dates).tolist() == [[0.0, 0.0], [0.0, 0.0]]
    with pytest.raises(ValueError):
        same_time_of_year(days, dates, window=-1)


def test_the_season_factor_is_a_shrunk_ratio_of_booked_out_days_seen_to_expected() -> None:
    c, p = runs.SEASON_COMMONS_PRIOR, runs.SEASON_POOL_PRIOR
    nothing = np.zeros((1, 2))
    # No past year: no season.
    assert season_factor(nothing, nothing).tolist() == [1.0]
    # The commons' pools were booked out on 60 days where 30 were usual; the pool has
    # no past year of its own and follows its commons, shrunk toward no season.
    commons = np.array([[60.0, 30.0]])
    assert season_factor(nothing, commons)[0] == pytest.approx((60 + c) / (30 + c))
    # Its own quiet year pulls it toward its own ratio.
    rc = (60 + c) / (30 + c)
    own = np.array([[2.0, 10.0]])
    assert season_factor(own, commons)[0] == pytest.approx((2 + p * rc) / (10 + p))
    # One busy pool in a quiet commons does not make a season of it alone.
    assert season_factor(np.array([[16.0, 2.4]]), np.array([[16.0, 2.4]]))[0] < 3.0
    # Bounded both ways.
    assert season_factor(nothing, np.array([[1000.0, 10.0]]))[0] == runs.SEASON_MAX_FACTOR
    assert season_factor(nothing, np.array([[0.0, 1000.0]]))[0] == 1 / runs.SEASON_MAX_FACTOR
    with pytest.raises(ValueError):
        season_factor(np.zeros((2, 2)), np.zeros((3, 2)))


def _busy_summers() -> pd.DataFrame:
    """A pool booked out on every June-August day of two past years, a quarter usual."""
    full = PAST.month.isin([6, 7, 8]).astype(float)
    return pd.DataFrame({"full": full, "expected": full.mean()}, index=PAST)


def test_the_published_chance_is_scaled_by_the_pools_season() -> None:
    """Forecast on 31 December: July was booked out in both past years, January never."""
    inp = pool_inputs(past_full=0.3, past_days=730, commons_full=0.3, own_days=_busy_summers())[0]
    sel = {"demand": select(inp.series["demand"], 35, nonnegative=True)}
    dates = pd.date_range("2026-01-01", periods=240, freq="D")
    _, _, plain = _pool_run(
        pool_inputs(past_full=0.3, past_days=730, commons_full=0.3)[0],
        sel,
        dates,
        400,
        np.random.default_rng(5),
        target=0.1,
    )
    risk, paths, proj = _pool_run(inp, sel, dates, 400, np.random.default_rng(5), target=0.1)
    factor = season_factor(
        same_time_of_year(inp.own_days, dates), same_time_of_year(inp.commons_days, dates)
    )
    expected = seasonal_odds(plain.p_all_units_out, factor)
    assert np.allclose(proj.p_all_units_out, expected)
    july, january = proj.p_all_units_out.loc["2026-07"], proj.p_all_units_out.loc["2026-01-20":]
    # The odds, not the chance, are scaled: a 50% chance cannot double.
    before = plain.p_all_units_out.loc["2026-07"].mean()
    assert july.mean() / (1 - july.mean()) > 2 * before / (1 - before)
    assert (
        january.loc[:"2026-01-31"].mean()
        < plain.p_all_units_out.loc["2026-01-20":"2026-01-31"].mean()
    )
    # Stored as published, with the season's range; the headline's chance of demand
    # beyond the units (what alerts read) is the simulation's own.
    assert np.allclose(paths["p_all_units_out"], proj.p_all_units_out, atol=1e-4)
    assert risk["season_factor_max"] == pytest.approx(round(float(factor.max()), 4))
    assert risk["season_factor_min"] == pytest.approx(round(float(factor.min()), 4))
    assert np.allclose(proj.p_over_capacity, plain.p_over_capacity)


def test_the_commons_season_sums_its_pools_days() -> None:
    def pool(commons: str, days: pd.DataFrame, kind: str = "pool") -> Any:
        return SimpleNamespace(
            res=SimpleNamespace(kind=kind, commons_slug=commons),
            past_full=0.25,
            commons_full=0.0,
            own_days=days,
            commons_days=runs._no_days(),
        )

    busy = _busy_summers()
    shed, shed2, garden = pool("shed", busy), pool("shed", busy.iloc[-100:]), pool("garden", busy)
    runs.commons_prior([shed, shed2, garden])
    assert shed.commons_days is shed2.commons_days
    assert shed.commons_days["full"].sum() == busy["full"].sum() + busy["full"].iloc[-100:].sum()
    assert shed.commons_days.index.equals(PAST)
    assert garden.commons_days["full"].sum() == busy["full"].sum()


def test_the_runs_reason_names_the_season_only_when_there_is_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(runs, "SIMULATED_WEIGHT", 0.9)
    sel = cast(Any, SimpleNamespace(reason="ets kept."))
    inp = cast(
        Any,
        SimpleNamespace(
            past_full=0.25, past_days=400, commons_full=0.4, res=SimpleNamespace(kind="pool")
        ),
    )
    said = _flow_reason(inp, "demand", sel, {"season_factor_min": 0.5, "season_factor_max": 1.4})
    assert said.endswith(
        "; then its odds scaled by how often it and its commons' pools were booked out at the same "
        "time of past years against their usual share (x0.50 to x1.40 over the horizon)"
    )
    flat = {"season_factor_min": 1.0, "season_factor_max": 1.0}
    assert "past years" not in _flow_reason(inp, "demand", sel, flat)
    assert "past years" not in _flow_reason(inp, "demand", sel)


def test_the_season_scales_the_odds_not_the_chance() -> None:
    """A busy time of year triples the odds: a 30% chance becomes 56%, not 90%; a
    chance that is already high cannot be pushed past what the season saw."""
    p = pd.Series([0.0, 0.01, 0.3, 0.5, 1.0])
    got = seasonal_odds(p, np.full(5, 3.0))
    assert got.iloc[0] == 0.0 and got.iloc[-1] == 1.0
    assert got.iloc[1] == pytest.approx(0.03, abs=0.001)  # small chances: about x3
    assert got.iloc[2] == pytest.approx(0.9 / 1.6)
    assert got.iloc[3] == pytest.approx(0.75)
    # A quiet time of year a third of the odds; no past year leaves it exactly as it was.
    assert seasonal_odds(p, np.full(5, 1 / 3)).iloc[3] == pytest.approx(0.25)
    assert seasonal_odds(p, np.ones(5)).equals(p)
