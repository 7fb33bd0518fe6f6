"""The charts' Vega-Lite specs: honest (units, legend, dates with years) and light (data once)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pandas as pd

from dashboards import charts
from steward.queries.forecasts import ForecastView

DAYS = 30


def _view() -> ForecastView:
    dates = [d.strftime("%Y-%m-%d") for d in pd.date_range("2027-01-01", periods=DAYS)]
    paths = {"dates": dates, "mean": [5.0] * DAYS}
    for q, v in (("0.05", 1.0), ("0.25", 3.0), ("0.5", 5.0), ("0.75", 7.0), ("0.95", 9.0)):
        paths[f"q{q}"] = [v] * DAYS
    return ForecastView(
        method="ets",
        reason="",
        created_at=datetime(2026, 12, 31, tzinfo=UTC),
        horizon_days=DAYS,
        horizon_end=date(2027, 1, 30),
        scores={},
        risk={},
        accuracy=None,
        paths=paths,
        headline="",
    )


def _history() -> pd.DataFrame:
    days = pd.DatetimeIndex(pd.date_range("2026-12-01", periods=31), name="day")
    return pd.DataFrame({"level": [100.0] * 31}, index=days)


def test_the_fan_names_every_series_and_carries_the_unit_and_the_year() -> None:
    spec = charts.fan_chart(
        _history(), _view(), kind="stock", unit="L", reserve=20.0, capacity=None
    )
    layers = spec["layer"]
    domain = layers[0]["encoding"]["color"]["scale"]["domain"]
    assert domain == [
        "observed",
        "forecast median",
        "50% of outcomes",
        "90% of outcomes",
        "reserve",
    ]
    assert layers[0]["encoding"]["y"]["axis"]["title"] == "level (L)"
    assert all("%Y" in layer["encoding"]["x"]["axis"]["format"] for layer in layers[:4])


def test_the_fans_bands_share_one_row_per_forecast_day() -> None:
    spec = charts.fan_chart(
        _history(),
        _view(),
        kind="pool",
        unit="drills",
        reserve=None,
        capacity=6.0,
        today=pd.Timestamp("2026-12-31"),
    )
    datasets = spec.pop("datasets")
    assert len(datasets["forecast"]) == DAYS
    assert len(datasets["history"]) == 31
    bands = [layer for layer in spec["layer"] if layer.get("mark", {}).get("type") == "area"]
    assert len(bands) == 2
    assert {b["data"]["name"] for b in bands} == {"forecast"}
    # What is left once Streamlit takes the datasets out is plain JSON.
    json.dumps(spec)


def test_a_name_with_a_quote_stays_a_string_in_the_legend_expression() -> None:
    assert charts._quoted("it's") == "'it\\'s'"


def test_a_pools_chart_says_on_loan_then_demand_against_the_units_available() -> None:
    """Its history is units on loan (never above the units), its forecast units demanded."""
    history = _history().assign(level=2.0, capacity=[3.0] * 20 + [4.0] * 11)
    view = _view()
    view.paths["capacity"] = [4.0] * DAYS
    spec = charts.fan_chart(history, view, kind="pool", unit="units", reserve=None, capacity=4.0)
    layers = spec["layer"]
    domain = layers[0]["encoding"]["color"]["scale"]["domain"]
    assert domain == [
        "on loan (observed)",
        "demand: middle outcome",
        "demand: 50% of outcomes",
        "demand: 90% of outcomes",
        "units available",
    ]
    titles = {
        layer["encoding"]["y"]["axis"]["title"]
        for layer in layers
        if "axis" in layer["encoding"]["y"]
    }
    assert titles == {"units: on loan (past), demanded (forecast)"}
    assert "units on loan" not in json.dumps(spec.get("layer"))
    # The units available are drawn day by day: recorded, then planned.
    capacity = spec["datasets"]["capacity"]
    assert len(capacity) == 31 + DAYS
    assert capacity["capacity"].iloc[0] == 3.0 and capacity["capacity"].iloc[-1] == 4.0
    assert not [layer for layer in layers if layer.get("mark", {}).get("type") == "rule"]
    assert all("%Y" in layer["encoding"]["x"]["axis"]["format"] for layer in layers)


def test_a_pool_without_daily_capacity_keeps_a_units_available_line() -> None:
    spec = charts.fan_chart(
        _history(), _view(), kind="pool", unit="units", reserve=None, capacity=6.0
    )
    rules = [layer for layer in spec["layer"] if layer.get("mark", {}).get("type") == "rule"]
    assert [r["data"]["values"][0]["series"] for r in rules] == ["units available"]


def test_forecast_runs_within_a_few_days_are_told_apart_by_their_hour() -> None:
    """Twenty runs on one day had twenty x labels all reading '30 Nov 2026'."""
    runs = pd.DataFrame(
        {
            "forecast_at": pd.date_range("2026-11-30 01:00", periods=20, freq="h"),
            "probability": 0.3,
        }
    )
    spec = charts.risk_chart(runs, x="forecast_at", title="chance")
    assert spec["encoding"]["x"]["axis"]["format"] == "%-d %b %Y %H:%M"
    months = pd.DataFrame(
        {"date": pd.date_range("2026-12-01", periods=90, freq="D"), "probability": 0.3}
    )
    daily = charts.risk_chart(months, x="date", title="chance", points=False)
    assert daily["encoding"]["x"]["axis"]["format"] == charts.DAY_FORMAT
