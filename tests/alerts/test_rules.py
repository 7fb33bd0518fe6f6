"""Rules over forecast runs, collectors and the current level."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import insert, select

from steward.alerts.options import load_rules
from steward.alerts.rules import collect
from steward.config import CollectorConfig
from steward.ledger import Batch, Ledger, NewEvent
from steward.store.models import CollectorState
from tests.alerts.support import T0, insert_forecast


@pytest.mark.parametrize(
    ("slug", "risk", "rules", "expected"),
    [
        (
            "tank",
            {"p_below_reserve": 0.62, "date_p50": "2025-05-01"},
            {},
            {"depletion:tank": "critical"},
        ),
        ("tank", {"p_below_reserve": 0.4}, {}, {}),
        (
            "tank",
            {"p_below_reserve": 0.4},
            {"depletion": {"resources": {"tank": {"p": 0.3}}}},
            {"depletion:tank": "critical"},
        ),
        (
            "drill",
            {"max_p_over_capacity": 0.35, "extra_units_needed": 1},
            {},
            {"overbooking:drill": "warning"},
        ),
        ("drill", {"max_p_over_capacity": 0.35}, {"overbooking": {"enabled": False}}, {}),
        ("drill", {"max_p_over_capacity": 0.2}, {}, {}),
    ],
)
def test_forecast_rules(make_garden, slug, risk, rules, expected) -> None:
    ws = make_garden([], {"drift": {"enabled": False}, **rules})
    with ws.store.write() as conn:
        insert_forecast(conn, slug, risk)
        found = collect(conn, ws.settings, load_rules(ws.settings), T0)
    assert {k: c.severity for k, c in found.items() if not k.startswith("quota")} == expected


def test_depletion_summary_is_readable(make_garden) -> None:
    ws = make_garden([], {"drift": {"enabled": False}})
    with ws.store.write() as conn:
        insert_forecast(conn, "tank", {"p_below_reserve": 0.62, "date_p50": "2025-05-01"})
        found = collect(conn, ws.settings, load_rules(ws.settings), T0)
    assert found["depletion:tank"].summary == (
        "62% chance Rain tank falls below its reserve of 100 L by 10 June 2025, "
        "over 50% by 1 May 2025"
    )


@pytest.mark.parametrize(
    ("low", "high", "fires"),
    # Far outside: by more than half the band's width (610 L is 10 L under 620-700: not far).
    [(500, 700, False), (620, 700, False), (650, 700, True), (100, 200, True)],
)
def test_anomaly_against_todays_band(make_garden, low, high, fires) -> None:
    ws = make_garden([], {"drift": {"enabled": False}, "anomaly": {"enabled": True}})
    # Level now: 800 - 190 = 610 L.
    paths = {
        "dates": ["2025-03-11", "2025-03-12"],
        "mean": [0, 0],
        "q0.05": [0, low],
        "q0.95": [0, high],
    }
    with ws.store.write() as conn:
        insert_forecast(conn, "tank", {}, paths, at=T0 - timedelta(days=1))
        found = collect(conn, ws.settings, load_rules(ws.settings), T0)
    assert ("anomaly:tank" in found) is fires
    if fires:
        # Runs store the 5% and 95% quantiles: the range is named for what it holds.
        assert "the forecast's 90% range for today" in found["anomaly:tank"].summary


def test_anomaly_is_off_unless_turned_on(make_garden) -> None:
    """Off by default: its daily bands miss lumpy days (bench_anomaly_rate: MyTurn pools
    23% of days, demo stocks 13%), so it would be an alarm nobody could trust."""
    ws = make_garden([], {"drift": {"enabled": False}})
    paths = {"dates": ["2025-03-12"], "mean": [0], "q0.05": [100], "q0.95": [200]}
    with ws.store.write() as conn:
        insert_forecast(conn, "tank", {}, paths, at=T0 - timedelta(days=1))
        found = collect(conn, ws.settings, load_rules(ws.settings), T0)
    assert "anomaly:tank" not in found  # 610 L against 100-200 L: far, but the rule is off


@pytest.mark.parametrize(("out", "fires"), [(1, False), (2, True)])
def test_a_pool_is_anomalous_only_more_than_one_unit_outside(make_garden, out, fires) -> None:
    """A band of 0 to 0 drills is missed by one loan on ordinary days; two is far."""
    ws = make_garden([], {"drift": {"enabled": False}, "anomaly": {"enabled": True}})
    paths = {"dates": ["2025-03-12"], "mean": [0], "q0.025": [0], "q0.975": [0]}
    events = [
        NewEvent("drill", "use", 1, "2025-03-12T09:00:00+01:00", f"out{i}", member="ana")
        for i in range(out)
    ]
    with ws.store.write() as conn:
        Ledger(conn).record(Batch("loans", events=events))
        insert_forecast(conn, "drill", {}, paths, at=T0 - timedelta(days=1))
        found = collect(conn, ws.settings, load_rules(ws.settings), T0)
    assert ("anomaly:drill" in found) is fires
    if fires:
        assert found["anomaly:drill"].summary.startswith(
            "Drills is at 2 units, 2 units above the forecast's 95% range for today"
        )


def test_collector_failing_and_stale(make_garden) -> None:
    ws = make_garden(
        [], {"drift": {"enabled": False}, "collector_stale": {"after": "2h", "failures": 3}}
    )
    settings = ws.settings.model_copy(
        update={"collectors": [CollectorConfig(name="tanksensor", kind="mqtt")]}
    )
    with ws.store.write() as conn:
        conn.execute(
            insert(CollectorState),
            {
                "source": "tanksensor",
                "last_success_at": T0 - timedelta(hours=3),
                "consecutive_failures": 4,
                "last_error": "broker unreachable",
            },
        )
        found = collect(conn, settings, load_rules(settings), T0)
        assert conn.execute(select(CollectorState.source)).scalar_one() == "tanksensor"
    assert {"collector_failing:tanksensor", "collector_stale:tanksensor"} <= set(found)
    assert "broker unreachable" in found["collector_failing:tanksensor"].summary


def test_overbooking_looks_only_within_its_lead_time(make_garden) -> None:
    ws = make_garden([], {"drift": {"enabled": False}})
    dates = [(T0 + timedelta(days=d)).date().isoformat() for d in range(1, 61)]
    late = [0.0] * 40 + [0.9] * 20  # a peak 41-60 days out
    paths = {"dates": dates, "q0.9": [1.0] * 40 + [6.0] * 20, "capacity": [3.0] * 60}
    risk = {"max_p_over_capacity": 0.9, "p_over_capacity_dates": late}
    with ws.store.write() as conn:
        insert_forecast(conn, "drill", risk, paths)
        assert "overbooking:drill" not in collect(conn, ws.settings, load_rules(ws.settings), T0)
    rules = {"drift": {"enabled": False}, "overbooking": {"within": "9 weeks"}}
    ws = make_garden([], rules)
    with ws.store.read() as conn:
        found = collect(conn, ws.settings, load_rules(ws.settings), T0)
    assert found["overbooking:drill"].summary.endswith(
        "3 more units would bring overbooking under 10%"
    )
