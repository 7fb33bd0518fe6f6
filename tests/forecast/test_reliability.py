"""Reliability tables and Brier scores, stored per resource and read back as a sentence."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pytest

from steward.access import Scope
from steward.errors import AccessDenied, ForecastError
from steward.forecast.reliability import reliability
from steward.forecast.risk_backtest import (
    POOL_EVENT,
    Cases,
    RiskBacktest,
    kinds_due,
    origins_between,
    store_calibration,
)
from steward.queries.forecasts import calibration, latest_calibrations, track_record
from steward.store import catalog
from steward.workspace import Workspace


def test_a_calibrated_forecaster_has_small_gaps_and_positive_skill() -> None:
    rng = np.random.default_rng(0)
    p = rng.uniform(0, 1, 20_000)
    o = (rng.uniform(0, 1, 20_000) < p).astype(float)
    rel = reliability(p, o)
    assert rel.cases == 20_000
    assert rel.worst_gap() < 0.03
    assert rel.brier_skill > 0.2
    assert sum(b.cases for b in rel.bins) == 20_000


def test_a_forecaster_that_always_says_sixty_percent_for_rare_events_is_caught() -> None:
    o = np.zeros(1000)
    o[:20] = 1.0
    rel = reliability(np.full(1000, 0.6), o)
    assert rel.bin_for(0.6).observed == pytest.approx(0.02)
    assert rel.worst_gap() == pytest.approx(0.58)
    assert rel.brier_skill < 0


@pytest.mark.parametrize(
    ("p", "o", "message"),
    [
        ([0.2], [1.0, 0.0], "1 predictions but 2 outcomes"),
        ([], [], "no cases"),
        ([1.2], [1.0], "in [0, 1]"),
        ([0.2], [0.5], "0 or 1"),
    ],
)
def test_bad_cases_are_refused_with_the_reason(p: list, o: list, message: str) -> None:
    with pytest.raises(ForecastError, match=message.replace("[", r"\[").replace("]", r"\]")):
        reliability(np.array(p), np.array(o))


def test_origins_must_leave_room_for_the_horizon() -> None:
    start, end = datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 6, 1, tzinfo=UTC)
    assert len(origins_between(start, end, 90, 28)) == 3
    assert origins_between(start, end, 200, 28) == []


def test_stocks_get_weekly_origins_beside_the_pools_monthly_ones() -> None:
    start, end = datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 6, 1, tzinfo=UTC)
    due = kinds_due(start, end, 90, 28, 7)
    assert sum("stock" in k for k in due.values()) == len(origins_between(start, end, 90, 7)) == 9
    assert sorted(o for o, k in due.items() if "pool" in k) == origins_between(start, end, 90, 28)
    assert due[start] == {"pool", "stock"} and due[datetime(2024, 1, 8, tzinfo=UTC)] == {"stock"}


def test_the_stored_calibration_reads_back_as_a_sentence(workspace: Workspace) -> None:
    rng = np.random.default_rng(1)
    p = np.concatenate([np.full(200, 0.35), rng.uniform(0, 0.1, 300)])
    o = np.concatenate([(np.arange(200) < 68).astype(float), np.zeros(300)])
    result = RiskBacktest(
        start=datetime(2025, 1, 1, tzinfo=UTC),
        end=datetime(2025, 12, 31, tzinfo=UTC),
        origins=[datetime(2025, 1, 1, tzinfo=UTC)],
        cases={"drill": Cases(POOL_EVENT, p.tolist(), o.tolist(), origins=5)},
    )
    with workspace.store.write() as conn:
        assert store_calibration(conn, result) == 1
        assert store_calibration(conn, result) == 1  # replaced, not doubled
    with workspace.store.read() as conn:
        drill = catalog.resource(conn, "drill")
        assert drill is not None
        view = calibration(Scope.steward(drill.commons_id), conn, "drill")
        assert view is not None and view.origins == 5
        assert calibration(Scope.steward(drill.commons_id), conn, "fund") is None
        with pytest.raises(AccessDenied):
            calibration(Scope.steward(drill.commons_id + 1), conn, "drill")
        # The alert evaluator reads every resource's record at once, unscoped.
        every = latest_calibrations(conn)
        assert list(every) == [drill.id] and every[drill.id].computed_at == view.computed_at
        assert track_record(every[drill.id], 0.31) == track_record(view, 0.31)
    said = track_record(view, 0.31)
    assert (
        said == "Of the 200 days we gave a 30%-40% chance of all units out, 34% had all units out."
    )
    # Too few cases in a bin: nothing said rather than a figure from three days.
    assert track_record(view, 0.75) is None


def test_skill_is_measured_against_the_climatology_known_before_each_origin() -> None:
    # The event happened on 10% of past days but on half of the days scored: a
    # forecaster saying 50% beats the past's 10%, yet only ties the base rate of
    # the scored days themselves, which knew the answer's frequency in advance.
    o = np.tile([1.0, 0.0], 500)
    p = np.full(1000, 0.5)
    hindsight = reliability(p, o)
    honest = reliability(p, o, np.full(1000, 0.1))
    assert hindsight.brier_skill == pytest.approx(0.0)
    assert honest.brier_climatology == pytest.approx(0.5 * 0.81 + 0.5 * 0.01)
    assert honest.brier_skill == pytest.approx(1 - 0.25 / 0.41)
    with pytest.raises(ForecastError, match="climatology"):
        reliability(p, o, np.full(999, 0.1))


def test_a_track_record_worse_than_the_past_says_so_whatever_the_bin() -> None:
    """Drills' chances scored below climatology (skill -0.47): today's 64% sits in a bin
    with too few days for its own sentence, yet a steward must hear the caution."""
    from steward.forecast.reliability import Reliability, ReliabilityBin
    from steward.queries.forecasts import CalibrationView

    at = datetime(2026, 11, 30, tzinfo=UTC)
    bins = (
        ReliabilityBin(0.2, 0.3, 885, 0.25, 0.616),
        ReliabilityBin(0.6, 0.7, 12, 0.64, 0.5),
    )
    view = CalibrationView(
        "all_units_out", at, at, at, 24, Reliability(bins, 897, 0.6, 0.36, 0.245)
    )
    assert track_record(view, 0.64) == (
        "Caution: over 897 days of backtest these chances did worse than quoting how often "
        "all units out happened before (Brier skill -0.47), so read this one as rough."
    )
    said = track_record(view, 0.25)
    assert said is not None and said.startswith(
        "Of the 885 days we gave a 20%-30% chance of all units out, 62% had all units out. Caution:"
    )


def test_an_overbooking_alert_quotes_the_track_record_of_its_days_all_units_out_chance() -> None:
    """The backtest scored "all units out"; the alert's headline is "more demand than
    units". The bin is the peak day's all-units-out chance, named in the sentence."""
    from types import SimpleNamespace

    from steward.alerts.rules import _pool_track_record
    from steward.forecast.reliability import Reliability, ReliabilityBin
    from steward.queries.forecasts import CalibrationView

    at = datetime(2026, 11, 30, tzinfo=UTC)
    bins = (
        ReliabilityBin(0.3, 0.4, 200, 0.35, 0.34),
        ReliabilityBin(0.7, 0.8, 120, 0.75, 0.72),
    )
    view = CalibrationView("all_units_out", at, at, at, 8, Reliability(bins, 320, 0.1, 0.2, 0.5))
    run = SimpleNamespace(
        paths={"dates": ["2026-12-01", "2026-12-02"], "p_all_units_out": [0.2, 0.74]}
    )
    said = _pool_track_record(view, run, date(2026, 12, 2))["track_record"]  # type: ignore[arg-type]
    # Demand beyond the units may be 35% that day; all units out is 74%: its bin, 70-80%.
    assert said == (
        "That day the forecast gives all units out a 74% chance. Of the 120 days we gave a "
        "70%-80% chance of all units out, 72% had all units out."
    )
    # An older run without the per-day figure: no bin sentence from the wrong figure.
    assert _pool_track_record(view, SimpleNamespace(paths={}), date(2026, 12, 2)) == {}  # type: ignore[arg-type]
