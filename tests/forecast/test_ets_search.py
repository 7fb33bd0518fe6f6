"""ETS form search: the cheaper search keeps the fit it would have found."""

from __future__ import annotations

import numpy as np
import pandas as pd
from statsmodels.tsa.exponential_smoothing.ets import ETSModel

from steward.forecast.models import ETS
from steward.forecast.models import ets as ets_module
from steward.forecast.selection import ets_for


def _quarterly(seed: int = 3, n: int = 40) -> pd.Series:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    season = np.array([1.1, 0.9, 1.2, 0.8])[t % 4]
    values = (100 + 1.5 * t) * season * np.exp(rng.normal(0, 0.03, n))
    return pd.Series(values, index=pd.date_range("2000-01-01", periods=n, freq="QS"))


def test_lean_results_forecast_as_statsmodels_does() -> None:
    y = _quarterly()
    kwargs = {"error": "add", "trend": "add", "seasonal": "add", "seasonal_periods": 4}
    plain = ETSModel(y.to_numpy(), **kwargs).fit(disp=False)
    lean = ets_module._LeanETSModel(y.to_numpy(), **kwargs).fit(disp=False)
    np.testing.assert_allclose(lean.forecast(8), plain.forecast(8))
    assert lean.aicc == plain.aicc
    # The covariance of the parameters is what it skips.
    assert np.isnan(lean.cov_params_approx).all()


def test_the_loose_search_ends_on_a_refined_fit(monkeypatch) -> None:
    y = _quarterly()
    fast = ETS(season_length=4, positive_error="M").fit(y)
    monkeypatch.setattr(ets_module, "SEARCH_TOLERANCE", {})
    strict = ETS(season_length=4, positive_error="M").fit(y)
    assert fast.form_ == strict.form_
    np.testing.assert_allclose(fast.predict(8)["mean"], strict.predict(8)["mean"], rtol=1e-3)


def test_quarterly_ets_refits_its_backtest_origins_warm() -> None:
    y = _quarterly()
    model = ets_for(4, calendar=True).fit(y)
    refit = model.frozen()
    assert isinstance(refit, ETS)
    assert refit.start is not None and refit.trend is not None
    # Series without a calendar season (M3's "other") keep cold refits.
    assert ets_for(1).fit(y).frozen().start is None
