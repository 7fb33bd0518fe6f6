"""The default combination and when a baseline may replace it."""

from __future__ import annotations

import numpy as np
import pandas as pd

from steward.forecast import select
from steward.forecast.calibration import Widened
from steward.forecast.models import Combination, Drift
from steward.forecast.selection import RIVAL_LIMIT, SEASONAL_ONLY


def _quarterly(values: np.ndarray) -> pd.Series:
    return pd.Series(values, index=pd.date_range("2000-01-01", periods=len(values), freq="QS"))


def test_a_trending_series_gets_the_mean_of_ets_and_theta() -> None:
    rng = np.random.default_rng(5)
    y = _quarterly(100 + 2.0 * np.arange(40) + rng.normal(0, 3, 40))
    sel = select(y, 8)
    assert sel.method.startswith("mean(ets(") and "theta" in sel.method
    assert isinstance(sel.forecaster.inner_, Combination)  # type: ignore[attr-defined]
    assert {"ets", "theta", "seasonal_naive"} <= set(sel.scores)


def test_a_yearly_series_gets_the_median_of_drift_ets_and_theta() -> None:
    rng = np.random.default_rng(5)
    values = 100 + 3.0 * np.arange(30) + rng.normal(0, 4, 30)
    y = pd.Series(values, index=pd.date_range("1990-01-01", periods=30, freq="YS"))
    sel = select(y, 6)
    assert sel.key == "median(drift+ets+theta)"
    assert sel.method == "median(drift+ets(A,Ad,N)+theta)"
    combo = sel.forecaster.inner_  # type: ignore[attr-defined]
    assert isinstance(combo, Combination) and combo.method == "median"
    members = np.stack([m.point(6) for m in combo.members_])
    np.testing.assert_allclose(combo.point(6), np.median(members, axis=0))
    # Other frequencies keep the mean of ETS and Theta, without the drift.
    assert "drift" not in select(_quarterly(values), 8).scores


def test_drift_extends_the_line_from_first_to_last_value() -> None:
    y = pd.Series([10.0, 30.0, 15.0, 40.0], index=pd.date_range("2000", periods=4, freq="YS"))
    model = Drift().fit(y)
    np.testing.assert_allclose(model.point(3), [50.0, 60.0, 70.0])
    frame = model.predict(3, (0.1, 0.5, 0.9))
    widths = (frame["q0.9"] - frame["q0.1"]).to_numpy()
    assert (np.diff(widths) > 0).all()  # uncertainty grows with the horizon


def test_a_baseline_that_is_far_better_replaces_it_with_widened_intervals() -> None:
    # A seasonal random walk: each month is last year's plus noise. The seasonal
    # naive forecast is the right model; smoothing a fixed season cannot follow it.
    rng = np.random.default_rng(5)
    values = list(rng.uniform(50, 150, 12))
    for t in range(12, 72):
        values.append(values[t - 12] + rng.normal(0, 4))
    y = pd.Series(values, index=pd.date_range("2000-01-01", periods=72, freq="MS"))
    sel = select(y, 12)
    assert sel.method.startswith("seasonal_naive")
    assert isinstance(sel.forecaster, Widened)
    frame = sel.predict(12, (0.1, 0.5, 0.9))
    rival = sel.forecaster.rival_.predict(12, (0.1, 0.5, 0.9))
    own = sel.forecaster.inner_.predict(12, (0.1, 0.5, 0.9))
    # The point is the baseline's; the interval covers the baseline's and the rival's.
    np.testing.assert_allclose(frame["mean"], own["mean"])
    assert (frame["q0.1"] <= np.minimum(own["q0.1"], rival["q0.1"]) + 1e-9).all()
    assert (frame["q0.9"] >= np.maximum(own["q0.9"], rival["q0.9"]) - 1e-9).all()
    # Sample paths have the widened margins too (projections use paths).
    paths = sel.forecaster.sample_paths(12, 4000, np.random.default_rng(0))
    spread = (frame["q0.9"] - frame["q0.1"]).to_numpy()
    for q in (0.1, 0.9):
        drawn = np.quantile(paths, q, axis=0)
        assert np.all(np.abs(drawn - frame[f"q{q}"].to_numpy()) <= 0.05 * spread)


def test_a_far_worse_combination_does_not_widen_the_baseline() -> None:
    # Weekly takings of a fund whose dues arrive on the 1st of each month: the
    # seasonal naive forecast finds the dues weeks, the smooth models cannot, and
    # their wide intervals would only inflate the fund's projected income.
    rng = np.random.default_rng(7)
    days = pd.date_range("2024-11-04", periods=728, freq="D")
    daily = pd.Series(rng.choice([0.0, 20.0, 40.0], size=len(days), p=[0.85, 0.1, 0.05]), days)
    daily[days.day == 1] += 1000.0
    weekly = daily.resample("W-SUN").sum()
    sel = select(weekly, 36, nonnegative=True)
    assert sel.method.startswith("seasonal_naive")
    # The default for weekly flows is the shrunk seasonal mean; it is far worse here.
    default = sel.scores["shrunk_seasonal_mean"]
    assert default > RIVAL_LIMIT * sel.scores["seasonal_naive"]
    assert not isinstance(sel.forecaster.inner_, Widened)  # type: ignore[attr-defined]
    # Its forecast income stays at the level of the history.
    paths = sel.forecaster.sample_paths(36, 2000, np.random.default_rng(0))
    assert paths.mean() < 1.25 * weekly.tail(52).mean()


def _weekly(values: np.ndarray, start: str = "2023-01-01") -> pd.Series:
    return pd.Series(values, index=pd.date_range(start, periods=len(values), freq="W-SUN"))


def test_the_weekly_default_keeps_a_real_season_and_drops_a_noisy_one() -> None:
    # Two years of weekly loans: a summer peak of +6 a week on a base of 10, or none.
    rng = np.random.default_rng(3)
    weeks = np.arange(104)
    summer = 10 + 6 * np.clip(np.sin(2 * np.pi * (weeks % 52 - 13) / 52), 0, None)
    seasonal = select(_weekly(rng.poisson(summer).astype(float)), 52, nonnegative=True)
    flat = select(_weekly(rng.poisson(np.full(104, 2.0)).astype(float)), 52, nonnegative=True)
    assert seasonal.key == flat.key == "shrunk_seasonal_mean"
    peak = seasonal.forecaster.point(52)
    # The summer shows in the projection: its weeks above the winter's.
    assert peak[20:32].mean() > peak[40:52].mean() + 4
    # Poisson noise around a flat rate is not a season: the forecast stays near the mean.
    level = flat.forecaster.point(52)
    assert np.ptp(level) < 0.5 and abs(level.mean() - 2.0) < 0.5


def test_one_year_of_weeks_cannot_crown_a_seasonal_model() -> None:
    # With 52 weeks no backtest origin holds a season: seasonal naive is scored as the
    # plain naive it falls back to there, then would forecast last year repeated.
    rng = np.random.default_rng(1)
    rate = np.exp(np.cumsum(rng.normal(0, 0.15, 52))) * 4
    sel = select(_weekly(rng.poisson(rate).astype(float)), 52, nonnegative=True)
    assert sel.scores["seasonal_naive"] == min(sel.scores.values())
    assert sel.key not in SEASONAL_ONLY
