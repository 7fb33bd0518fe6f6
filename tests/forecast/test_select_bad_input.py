"""select() never raises or returns NaN on bad data, and says what it did."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from steward.forecast import select
from tests.forecast.conftest import intermittent_daily, seasonal_daily

H = 14


def _empty() -> pd.Series:
    return pd.Series([], index=pd.DatetimeIndex([], freq="D"), dtype=float)


def _all_nan() -> pd.Series:
    return pd.Series(np.nan, index=pd.date_range("2024-01-01", periods=10, freq="D"))


def _constant() -> pd.Series:
    return pd.Series(7.5, index=pd.date_range("2024-01-01", periods=60, freq="D"))


def _zeros() -> pd.Series:
    return pd.Series(0.0, index=pd.date_range("2024-01-01", periods=60, freq="D"))


def _short() -> pd.Series:
    return pd.Series([3.0, 5.0, 4.0, 6.0, 5.0], index=pd.date_range("2024-01-01", periods=5))


def _single() -> pd.Series:
    return pd.Series([4.0], index=pd.DatetimeIndex(["2024-03-01"]))


def _short_monthly() -> pd.Series:
    return pd.Series(
        [10.0, 12, 11, 13, 12, 14, 15, 13], index=pd.date_range("2024-01", periods=8, freq="MS")
    )


def _gaps() -> pd.Series:
    y = seasonal_daily(90)
    y.iloc[[10, 11, 40]] = np.nan
    return y.drop(y.index[[60, 61, 62]])  # missing dates too


def _level_shift() -> pd.Series:
    y = seasonal_daily(100)
    y.iloc[70:] += 100
    return y


def _outliers() -> pd.Series:
    y = seasonal_daily(100)
    y.iloc[[30, 55]] = [900.0, -700.0]
    return y


def _negatives() -> pd.Series:
    y = seasonal_daily(80) - 45  # dips below zero
    return y


def _unsorted_duplicates() -> pd.Series:
    y = seasonal_daily(60)
    return pd.concat([y.iloc[::-1], y.iloc[:3]])


CASES: list[tuple[str, Callable[[], pd.Series], str]] = [
    ("empty", _empty, "no data yet"),
    ("all-nan", _all_nan, "no usable values"),
    ("constant", _constant, "constant at 7.5"),
    ("all-zero", _zeros, "all 60 values are zero"),
    ("single", _single, "only 1"),
    ("short", _short, "only 5 days"),
    ("shorter-than-season", _short_monthly, "less than one season"),
    ("gaps", _gaps, "filled by interpolation"),
    ("level-shift", _level_shift, "level shift"),
    ("outliers", _outliers, "isolated value(s) far off"),
    ("negatives", _negatives, "negative value(s) set to 0"),
    ("unsorted-duplicates", _unsorted_duplicates, "backtest MASE"),
    ("intermittent", intermittent_daily, "intermittent demand"),
]


@pytest.mark.parametrize(
    ("make_series", "expect"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_select_handles_bad_input(make_series: Callable[[], pd.Series], expect: str) -> None:
    # Repair is opt-in (it did not earn its place out of sample); these cases ask for it.
    sel = select(make_series(), H, nonnegative=True, repair=True)
    assert expect in sel.reason
    frame = sel.forecaster.predict(H)
    assert len(frame) == H and np.isfinite(frame.to_numpy()).all()
    assert (frame.to_numpy() >= 0).all()
    paths = sel.forecaster.sample_paths(H, 20, np.random.default_rng(0))
    assert np.isfinite(paths).all() and (paths >= 0).all()
    assert all(np.isfinite(v) for v in sel.scores.values())


def test_no_data_is_recognisable() -> None:
    sel = select(_empty(), 7)
    assert sel.status == "no_data" and not sel.has_data and sel.method == "none"
    assert (sel.predict(7)["mean"] == 0).all()


def test_level_shift_forecast_follows_new_level() -> None:
    y = _level_shift()
    sel = select(y, 7)
    assert sel.predict(7)["mean"].mean() > y.iloc[70:].mean() - 20


def test_regular_series_reports_scores_and_candidates() -> None:
    sel = select(seasonal_daily(120), 14)
    assert sel.status == "ok"
    assert {"seasonal_naive", "ets", "theta"} <= set(sel.scores)
    assert set(sel.candidates) == set(sel.scores)
    assert "seasonal naive" in sel.reason and sel.method in sel.reason


def test_repair_is_off_by_default() -> None:
    sel = select(_level_shift(), H, nonnegative=True)
    assert "level shift" not in sel.reason
    assert not sel.notes
