"""Theta on numpy agrees with statsmodels' ThetaModel; the two seasonality tests differ as documented."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.tsa.forecasting.theta import ThetaModel

from steward.forecast.models import ETS, Theta
from steward.forecast.models.seasonality import is_seasonal, seasonal_indices


@pytest.mark.parametrize("n", [12, 40, 144])
def test_theta_matches_statsmodels_point_forecasts(n: int) -> None:
    rng = np.random.default_rng(n)
    y = pd.Series(
        100 + np.cumsum(rng.normal(0.5, 3, n)), index=pd.date_range("2000", periods=n, freq="YS")
    )
    expected = ThetaModel(y, period=1, deseasonalize=False).fit().forecast(8).to_numpy()
    ours = Theta(deseasonalize=False).fit(y).predict(8)["mean"].to_numpy()
    np.testing.assert_allclose(ours, expected, rtol=1e-4)


def _quarterly(n: int, amplitude: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    season = np.tile([1 + amplitude, 1.0, 1 - amplitude, 1.0], n)
    return 100 * season[:n] * (1 + rng.normal(0, 0.03, n))


def test_season_tests() -> None:
    strong = _quarterly(20, 0.3)
    assert is_seasonal(strong, 4, "m4") and is_seasonal(strong, 4, "theta")
    flat = 100 + np.random.default_rng(1).normal(0, 1, 20)
    assert not is_seasonal(flat, 4, "m4") and not is_seasonal(flat, 4, "theta")
    # The M4 rule needs three seasons and a larger autocorrelation; three seasons
    # are enough for the Theta rule here.
    assert not is_seasonal(strong[:12], 4, "m4") and is_seasonal(strong[:12], 4, "theta")
    idx = seasonal_indices(strong, 4, "theta")
    assert idx is not None and idx[0] > 1 > idx[2]


def test_ets_on_adjusted_data_restores_the_season() -> None:
    y = pd.Series(_quarterly(40, 0.3, seed=2), index=pd.date_range("2000", periods=40, freq="QS"))
    model = ETS(season_length=4, deseasonalize=True).fit(y)
    assert model.form_[2] == "N" and "seasonally adjusted" in model.label
    mean = model.predict(8)["mean"].to_numpy()
    # The first quarter high and the third low, as in the history.
    assert mean[0] > mean[1] > mean[2] < mean[3] and mean[4] > mean[6]


def test_recent_indices_follow_a_drifting_season() -> None:
    # The first quarter's peak fades from +40% to +10% over 16 years: the whole
    # history averages it, the last seasons see what it has become.
    n = 64
    amplitude = np.linspace(0.4, 0.1, n)
    y = 100 * (1 + amplitude * (np.arange(n) % 4 == 0))
    y = y * (1 + np.random.default_rng(3).normal(0, 0.01, n))
    whole = seasonal_indices(y, 4, "theta")
    recent = seasonal_indices(y, 4, "theta", recent=3)
    assert whole is not None and recent is not None
    peak_now = y[-4] / np.mean(y[-3:])
    assert abs(recent[0] / np.mean(recent[1:]) - peak_now) < 0.05
    assert whole[0] > recent[0] + 0.05
    # Short histories keep the whole-history indices.
    np.testing.assert_allclose(
        seasonal_indices(y[:12], 4, "theta", recent=3), seasonal_indices(y[:12], 4, "theta")
    )


def test_ets_on_logs_back_transforms_quantiles_exactly() -> None:
    rng = np.random.default_rng(4)
    n = 96
    season = 1 + 0.4 * np.sin(2 * np.pi * np.arange(n) / 12)
    y = pd.Series(
        50 * np.exp(0.01 * np.arange(n)) * season * np.exp(rng.normal(0, 0.05, n)),
        index=pd.date_range("2000", periods=n, freq="MS"),
    )
    model = ETS(season_length=12, trend="Ad", log=True).fit(y)
    assert model.label.startswith("ets(A,Ad,") and "of logs" in model.label
    frame = model.predict(12, (0.1, 0.5, 0.9))
    # The point is the back-transformed log forecast: the median, inside the interval.
    np.testing.assert_allclose(frame["mean"], frame["q0.5"], rtol=1e-9)
    assert (frame["q0.1"] > 0).all() and (frame["q0.1"] < frame["q0.5"]).all()
    # Multiplicative: the upper half of the interval is wider than the lower.
    assert ((frame["q0.9"] - frame["q0.5"]) > (frame["q0.5"] - frame["q0.1"])).all()
    # The season comes back: its peak (April) above its trough (October).
    assert frame["mean"].iloc[3] > frame["mean"].iloc[9]
    # A series with a zero cannot be logged: the same call models it as it is.
    z = y.copy()
    z.iloc[5] = 0.0
    assert "of logs" not in ETS(season_length=12, trend="Ad", log=True).fit(z).label
