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
