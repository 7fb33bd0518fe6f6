"""Conformal calibration moves interval coverage towards nominal."""

from __future__ import annotations

import numpy as np
import pandas as pd

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
