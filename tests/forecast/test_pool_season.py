"""A pool's seasonal demand is projected in phase with its season (issue #9).

Over a 240-day horizon a forecast that carried the season backwards, or shifted
it by weeks, would put the summer's loans in the wrong months and the overbooking
risk with them. The weekly series is built the way a run builds it (complete
Monday-Sunday weeks) and spread over the days as a run spreads it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from steward.forecast import select
from steward.forecast.runs import _daily_from_weekly, weeks_for

HORIZON = 240


def _summer_demand(weeks: int, last_sunday: str) -> pd.Series:
    """Weekly loans peaking in mid-July, about 4 in winter and 16 in summer."""
    index = pd.date_range(end=last_sunday, periods=weeks, freq="W-SUN")
    day_of_year = index.day_of_year.to_numpy()
    season = np.cos(2 * np.pi * (day_of_year - 196) / 365.25)
    noise = np.random.default_rng(9).normal(0, 0.8, weeks)
    return pd.Series(np.clip(10 + 6 * season + noise, 0, None), index=index)


def test_a_seasonal_pools_expected_demand_peaks_in_its_summer() -> None:
    y = _summer_demand(130, "2026-03-29")
    sel = select(y, weeks_for(HORIZON), nonnegative=True)
    # Today is Monday 30 March: the horizon runs from Tuesday to late November.
    dates = pd.date_range("2026-03-31", periods=HORIZON, freq="D")
    daily = _daily_from_weekly(
        sel, y, dates, 10, np.random.default_rng(0), np.full(7, 1 / 7), point_only=True
    )[0]
    expected = pd.Series(daily, index=dates)
    weekly = expected.resample("W-SUN").sum()
    peak = weekly.idxmax()
    assert abs((peak - pd.Timestamp("2026-07-15")).days) <= 21, (sel.method, peak)
    july, april = weekly.loc["2026-07"].mean(), weekly.loc["2026-04"].mean()
    november = weekly.loc["2026-11"].mean()
    assert july > 1.3 * april and july > 1.3 * november, (sel.method, april, july, november)


def test_the_weekly_paths_start_on_the_monday_after_the_last_complete_week() -> None:
    # A forecast made on a Thursday: its first days are the Friday to Sunday of the
    # current week, i.e. days 4..6 of the forecast's first week, not days 0..2.
    y = _summer_demand(130, "2026-03-29")
    sel = select(y, weeks_for(HORIZON), nonnegative=True)
    monday = pd.date_range("2026-03-31", periods=HORIZON, freq="D") - pd.Timedelta(days=1)
    friday = pd.date_range("2026-04-03", periods=HORIZON, freq="D")
    rng = np.random.default_rng(0)
    profile = np.arange(1, 8) / 28.0  # each weekday its own share: the offset shows
    from_monday = _daily_from_weekly(sel, y, monday, 10, rng, profile, point_only=True)[0]
    from_friday = _daily_from_weekly(sel, y, friday, 10, rng, profile, point_only=True)[0]
    assert np.allclose(from_friday[: HORIZON - 4], from_monday[4:])
