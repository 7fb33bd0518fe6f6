"""Conformal calibration moves interval coverage towards nominal."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from steward.forecast import Calibrated
from steward.forecast.models import Naive

H = 8


def _coverage(model_factory: type | object, series: list[tuple[pd.Series, np.ndarray]]) -> float:
    hits = []
    for y, future in series:
        model = model_factory() if callable(model_factory) else model_factory
        frame = model.fit(y).predict(H, quantiles=[0.1, 0.9])
        hits.append((future >= frame["q0.1"].to_numpy()) & (future <= frame["q0.9"].to_numpy()))
    return float(np.mean(hits))


def test_calibrated_coverage_is_closer_to_nominal() -> None:
    rng = np.random.default_rng(11)
    series = []
    for _ in range(40):
        n = 60 + H
        # A drifting series: naive ignores the drift, so its intervals are too narrow.
        values = np.cumsum(1.5 + rng.normal(0, 1.0, n)) + 100
        index = pd.date_range("2020-01-01", periods=n, freq="D")
        series.append((pd.Series(values[:-H], index=index[:-H]), values[-H:]))
    raw = _coverage(Naive, series)
    calibrated = _coverage(lambda: Calibrated(Naive(), h=H, origins=8), series)
    assert abs(calibrated - 0.8) < abs(raw - 0.8)
    assert 0.65 <= calibrated <= 0.95


def test_calibrated_paths_match_calibrated_quantiles() -> None:
    rng = np.random.default_rng(3)
    values = np.cumsum(1.0 + rng.normal(0, 1.0, 80)) + 50
    y = pd.Series(values, index=pd.date_range("2020-01-01", periods=80, freq="D"))
    model = Calibrated(Naive(), h=6, origins=6).fit(y)
    frame = model.predict(6, quantiles=[0.1, 0.9])
    paths = model.sample_paths(6, 4000, np.random.default_rng(0))
    sim = np.quantile(paths, [0.1, 0.9], axis=0).T
    width = (frame["q0.9"] - frame["q0.1"]).to_numpy()
    assert np.all(np.abs(sim - frame[["q0.1", "q0.9"]].to_numpy()) <= 0.15 * width[:, None] + 0.1)


def test_wide_intervals_keep_a_heavy_tail_over_the_anchor() -> None:
    from steward.forecast.calibration import ANCHOR_LEVEL, TAIL_DF, tail_ratio

    assert tail_ratio(0.5) == tail_ratio(ANCHOR_LEVEL) == 1.0
    # A Student-t's 95% interval is relatively wider than a Gaussian's (about 14% at 4 df).
    assert 1.1 < tail_ratio(0.95) < 1.2
    assert tail_ratio(0.95, df=2) > tail_ratio(0.95) > tail_ratio(0.95, df=TAIL_DF * 10) > 1.0


def _backtest_with_errors(errors: np.ndarray) -> object:
    """One origin whose intervals are those of a standard normal around 0."""
    from scipy import stats

    from steward.forecast.selection import BacktestResult

    levels = (0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.975)
    h = len(errors)
    quantiles = np.tile(stats.norm.ppf(levels), (1, h, 1))
    return BacktestResult(
        method="n(0,1)",
        h=h,
        origins=(pd.Timestamp("2020-01-01"),),
        actuals=errors[None, :],
        means=np.zeros((1, h)),
        quantile_levels=levels,
        quantiles=quantiles,
        scales=np.ones(1),
    )


def test_the_conformal_finite_sample_correction_is_applied_once() -> None:
    from steward.forecast.calibration import LEVELS, interval_scales

    # Stretch factors 0.1 .. 1.9 (positive errors over a unit-free z of 1.2816).
    z80 = 1.2815515655446004
    r = np.arange(1, 20) / 10
    scales = interval_scales(_backtest_with_errors(r * z80))  # type: ignore[arg-type]
    # The 80% scale is the order statistic of rank 0.8 (n + 1) = 16: 1.6. Raising
    # the level to 0.8 (n + 1) / n as well read rank 16.84 (1.684).
    assert scales[LEVELS.index(0.8)] == pytest.approx(1.6)


def test_exchangeable_errors_get_nominal_coverage() -> None:
    from steward.forecast.calibration import LEVELS, interval_scales

    rng = np.random.default_rng(5)
    z80 = 1.2815515655446004
    hits = []
    for _ in range(2000):
        # Errors three times as wide as the model thinks; 20 to calibrate, one to test.
        e = 3.0 * rng.standard_normal(21)
        s80 = interval_scales(_backtest_with_errors(e[:20]))[LEVELS.index(0.8)]  # type: ignore[arg-type]
        hits.append(abs(e[20]) <= s80 * z80)
    # Conformal gives 0.8 for exchangeable errors; the doubled correction gave 0.84.
    assert 0.78 <= float(np.mean(hits)) <= 0.82


def test_weighted_quantile_with_equal_weights_is_the_split_conformal_one() -> None:
    from steward.forecast.calibration import weighted_conformal_quantile

    r = np.random.default_rng(2).gamma(2.0, size=37)
    for level in (0.5, 0.8, 0.9, 0.95):
        expected = float(np.quantile(r, level, method="weibull"))
        got = weighted_conformal_quantile(r, np.ones_like(r), level)
        assert got == pytest.approx(expected)


def test_recent_origins_weigh_more_in_the_interval_scale() -> None:
    from scipy import stats

    from steward.forecast.calibration import LEVELS, RECENCY, interval_scales
    from steward.forecast.selection import BacktestResult

    # Four origins of 10 steps: the oldest erred 4 sd, the later three 1 sd.
    levels = (0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.975)
    z = np.linspace(-1.5, 1.5, 10)
    actuals = np.vstack([4 * z, z, z, z])
    bt = BacktestResult(
        method="n(0,1)",
        h=10,
        origins=tuple(pd.date_range("2020-01-01", periods=4, freq="MS")),
        actuals=actuals,
        means=np.zeros((4, 10)),
        quantile_levels=levels,
        quantiles=np.tile(stats.norm.ppf(levels), (4, 10, 1)),
        scales=np.ones(4),
    )
    s80 = interval_scales(bt)[LEVELS.index(0.8)]
    z80 = stats.norm.ppf(0.9)
    r = np.abs(actuals).ravel() / z80
    exchangeable = float(np.quantile(r, 0.8, method="weibull"))
    assert RECENCY < 1
    # The old window's wide misses count for RECENCY**3 of a recent one's.
    # Exchangeable, the old window's 4 sd misses would reach into the 80% scale (1.48);
    # weighted, the scale is what the three recent windows needed (1.5 sd / z80 = 1.17).
    assert exchangeable == pytest.approx(1.4826, abs=1e-3)
    assert s80 == pytest.approx(1.5 / z80)
