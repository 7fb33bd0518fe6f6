"""Every registered forecaster honours the Forecaster contract."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from steward.errors import ForecastError
from steward.forecast import DEFAULT_QUANTILES, FORECASTERS, make, quantile_column
from steward.forecast.base import Forecaster
from tests.forecast.conftest import intermittent_daily, seasonal_daily

CASES = [
    pytest.param(cls, params, id=f"{cls.name}-{i}")
    for cls in FORECASTERS
    for i, params in enumerate(cls.test_params())
]
H = 10


def _series(cls: type[Forecaster]) -> pd.Series:
    return intermittent_daily() if cls.name in ("croston", "sba", "tsb") else seasonal_daily()


@pytest.mark.parametrize(("cls", "params"), CASES)
def test_contract(cls: type[Forecaster], params: dict[str, Any]) -> None:
    y = _series(cls)
    model = cls(**params)
    for key, value in params.items():
        assert getattr(model, key) is value  # constructor args stored as plain attributes
    with pytest.raises(ForecastError):
        model.predict(H)
    assert model.fit(y) is model
    assert model.y_.equals(y.asfreq("D")) and model.freq_ == y.index.freq

    frame = model.predict(H)
    expected_index = pd.date_range(y.index[-1] + y.index.freq, periods=H, freq="D")
    assert frame.index.equals(expected_index)
    qcols = [quantile_column(q) for q in DEFAULT_QUANTILES]
    assert list(frame.columns) == ["mean", *qcols]
    assert np.isfinite(frame.to_numpy()).all()
    assert (np.diff(frame[qcols].to_numpy(), axis=1) >= -1e-9).all()
    pd.testing.assert_frame_equal(frame, model.predict(H))

    custom = model.predict(3, quantiles=[0.9, 0.1])
    assert list(custom.columns) == ["mean", "q0.1", "q0.9"]

    paths = model.sample_paths(H, 50, np.random.default_rng(3))
    assert paths.shape == (50, H) and np.isfinite(paths).all()
    again = model.sample_paths(H, 50, np.random.default_rng(3))
    np.testing.assert_array_equal(paths, again)

    clone = model.clone()
    assert not hasattr(clone, "y_") and type(clone) is cls


@pytest.mark.parametrize("cls", FORECASTERS, ids=lambda c: c.name)
def test_registry_make(cls: type[Forecaster]) -> None:
    params = cls.test_params()[0]
    assert isinstance(make(cls.name, **params), cls)


def test_make_unknown_name() -> None:
    with pytest.raises(ForecastError, match="unknown forecaster"):
        make("prophet")


@pytest.mark.parametrize("name", ["croston", "sba", "tsb"])
def test_intermittent_paths_never_negative(name: str) -> None:
    model = make(name).fit(intermittent_daily(seed=5))
    assert (model.sample_paths(30, 500, np.random.default_rng(0)) >= 0).all()
    assert (model.predict(30).to_numpy() >= 0).all()


def test_fit_rejects_unusable_input() -> None:
    naive = make("naive")
    with pytest.raises(ForecastError, match="DatetimeIndex"):
        naive.fit(pd.Series([1.0, 2.0, 3.0]))
    with pytest.raises(ForecastError, match="missing or non-finite"):
        naive.fit(pd.Series([1.0, np.nan, 3.0], index=pd.date_range("2024", periods=3)))
    with pytest.raises(ForecastError, match="at least"):
        make("ets").fit(pd.Series([1.0, 2.0], index=pd.date_range("2024", periods=2)))


def test_fit_sets_missing_frequency() -> None:
    y = seasonal_daily(30)
    bare = pd.Series(y.to_numpy(), index=pd.DatetimeIndex(list(y.index)))
    assert bare.index.freq is None
    model = make("naive").fit(bare)
    assert model.freq_ == pd.tseries.frequencies.to_offset("D")


def test_ets_simulation_matches_its_intervals() -> None:
    model = make("ets", error="A", trend="N", seasonal="N").fit(seasonal_daily(200, seed=2))
    frame = model.predict(5, quantiles=[0.1, 0.9])
    paths = model.sample_paths(5, 4000, np.random.default_rng(0))
    sim = np.quantile(paths, [0.1, 0.9], axis=0).T
    np.testing.assert_allclose(sim, frame[["q0.1", "q0.9"]].to_numpy(), rtol=0.05)
