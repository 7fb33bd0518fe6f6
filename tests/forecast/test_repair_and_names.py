"""Input repair never takes a recurring seasonal peak for an outlier; names and reasons are true."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from steward.forecast import select
from steward.forecast.models import SBA, TSB, Combination, Croston, Naive, SeasonalNaive
from steward.forecast.selection import combination_name, prepare


def _monthly(values: np.ndarray) -> pd.Series:
    return pd.Series(values, index=pd.date_range("2010-01-01", periods=len(values), freq="MS"))


def _december_peak_growing() -> pd.Series:
    # Tourism-like: a December peak that grows faster than the rest of the year.
    rng = np.random.default_rng(1)
    t = np.arange(96)
    base = 1000 + 5 * t + rng.normal(0, 20, 96)
    base[t % 12 == 11] *= 3 + 0.4 * (t[t % 12 == 11] // 12)
    return _monthly(base)


def _summer_peak_quarterly() -> pd.Series:
    rng = np.random.default_rng(2)
    t = np.arange(40)
    values = 200 + rng.normal(0, 5, 40)
    values[t % 4 == 2] += 900 + 30 * (t[t % 4 == 2] // 4)
    return pd.Series(values, index=pd.date_range("2000-01-01", periods=40, freq="QS"))


def _weekly_christmas_closure() -> pd.Series:
    # Weekly loans, with the library closed the last week of every year.
    rng = np.random.default_rng(3)
    idx = pd.date_range("2021-01-03", periods=156, freq="W-SUN")
    values = rng.poisson(40, 156).astype(float)
    values[(idx.month == 12) & (idx.day >= 25)] = 0.0
    return pd.Series(values, index=idx)


def _peak_one_month_late_one_year() -> pd.Series:
    # The peak moves by a month one year (Easter): still the season, not an outlier.
    rng = np.random.default_rng(4)
    values = 500 + rng.normal(0, 10, 72)
    peaks = [p for p in range(3, 72, 12) if p != 27] + [28]
    values[peaks] += 2500
    return _monthly(values)


SEASONAL_PEAKS: list[tuple[str, Callable[[], pd.Series], int]] = [
    ("december-peak-growing", _december_peak_growing, 12),
    ("summer-quarter", _summer_peak_quarterly, 4),
    ("weekly-christmas-closure", _weekly_christmas_closure, 52),
    ("moving-easter-peak", _peak_one_month_late_one_year, 12),
]


@pytest.mark.parametrize(
    ("make", "m"), [c[1:] for c in SEASONAL_PEAKS], ids=[c[0] for c in SEASONAL_PEAKS]
)
def test_a_recurring_seasonal_peak_is_never_repaired(make: Callable[[], pd.Series], m: int) -> None:
    y = make()
    untouched = prepare(y, season_length=m)
    pd.testing.assert_series_equal(untouched.series, y, check_freq=False, check_names=False)
    assert not untouched.notes
    # Even with repair asked for, the peaks (or closures) of the season stay as they were.
    typical = y.median()
    seasonal = (y - typical).abs() > 5 * (y - typical).abs().median()
    assert seasonal.sum() >= 2
    repaired = prepare(y, season_length=m, repair=True).series
    pd.testing.assert_series_equal(repaired[seasonal], y[seasonal], check_freq=False)


def test_a_one_off_spike_is_repaired_only_when_asked() -> None:
    y = _monthly(500 + np.random.default_rng(5).normal(0, 10, 72))
    y.iloc[40] = 9000.0
    assert prepare(y, season_length=12).series.iloc[40] == 9000.0
    repaired = prepare(y, season_length=12, repair=True)
    assert repaired.series.iloc[40] < 1000
    assert "replaced by the local level" in repaired.notes[0]


def test_a_combination_has_one_name_whatever_the_order_of_its_members() -> None:
    y = pd.Series(
        np.random.default_rng(0).poisson(0.5, 80).astype(float),
        index=pd.date_range("2024-01-07", periods=80, freq="W-SUN"),
    )
    orders = [(Croston(), SBA(), TSB()), (TSB(), Croston(), SBA()), (SBA(), TSB(), Croston())]
    labels = {Combination(list(members)).fit(y).label for members in orders}
    assert labels == {"mean(croston+sba+tsb)"}
    assert combination_name(["tsb", "sba", "croston"]) == "combination(croston+sba+tsb)"
    assert Combination([SeasonalNaive(4), Naive()]).fit(y).label == "mean(naive+seasonal_naive(4))"


def test_the_reason_gives_the_true_origin_count_and_never_praises_a_loser() -> None:
    rng = np.random.default_rng(5)
    values = list(rng.uniform(50, 150, 12))
    for t in range(12, 60):
        values.append(values[t - 12] + rng.normal(0, 4))
    y = _monthly(np.asarray(values))
    for origins in (1, 3):
        sel = select(y, 12, origins=origins)
        assert sel.origins == origins
        assert f"over {origins} origin" in sel.reason
        if "(1 origin" in sel.reason or "1 origins" in sel.reason:
            pytest.fail(sel.reason)
        if "chosen by backtest" in sel.reason:
            assert sel.scores[sel.key] <= sel.scores["seasonal_naive"], sel.reason
        else:
            assert "kept although" in sel.reason or sel.key == "seasonal_naive", sel.reason


@pytest.mark.parametrize(
    ("mine", "theirs", "tail"),
    [
        # A seasonal series' tiny in-sample scale: MASE near 20 on both sides; the
        # ratio says what the figures mean.
        (18.7974, 23.558, "over 2 origins: 20% smaller errors than seasonal naive"),
        (0.8814, 1.1189, "over 2 origins: 21% smaller errors than seasonal naive"),
        (0.93, 0.93, "over 2 origins"),  # a tie is no improvement
    ],
)
def test_a_chosen_models_reason_says_how_much_smaller_its_errors_are(
    mine: float, theirs: float, tail: str
) -> None:
    from steward.forecast.selection import _verdict

    scores = {"shrunk_seasonal_mean": mine, "seasonal_naive": theirs}
    said = _verdict("x", "shrunk_seasonal_mean", "seasonal_naive", scores, "MASE", 2, False)
    assert said.endswith(tail), said
