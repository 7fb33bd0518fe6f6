"""Altair charts: history + forecast fan, risk over time, a member's own use."""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd

from steward.queries.forecasts import ForecastView, fan_frame, quantile_columns

HISTORY_COLOR = "#1f4e79"
FORECAST_COLOR = "#e07b00"


def fan_chart(
    history: pd.DataFrame,
    view: ForecastView | None,
    *,
    kind: str,
    unit: str,
    reserve: float | None,
    capacity: float | None,
) -> alt.LayerChart:
    """Observed level (or units on loan) then the forecast's quantile bands, with reserve and capacity lines."""
    y_title = f"level ({unit})" if kind == "stock" else "units on loan"
    layers: list[alt.Chart] = []
    if len(history):
        past = history.reset_index()[["day", "level"]].rename(columns={"day": "date"})
        layers.append(
            alt.Chart(past)
            .mark_line(color=HISTORY_COLOR, interpolate="step-after")
            .encode(
                x=alt.X("date:T", title=None),
                y=alt.Y("level:Q", title=y_title),
                tooltip=[alt.Tooltip("date:T"), alt.Tooltip("level:Q", format=",.2f")],
            )
        )
    if view is not None:
        fan = fan_frame(view).reset_index()
        qs = quantile_columns(fan.set_index("date"))
        # Pair outer quantiles with inner ones: widest band first, lightest.
        pairs = [(qs[i], qs[-1 - i]) for i in range(len(qs) // 2)]
        for depth, ((lo_q, lo), (hi_q, hi)) in enumerate(pairs):
            band = fan[["date", lo, hi]].rename(columns={lo: "low", hi: "high"})
            band["band"] = f"{lo_q:.0%}-{hi_q:.0%}"
            layers.append(
                alt.Chart(band)
                .mark_area(color=FORECAST_COLOR, opacity=0.15 + 0.15 * depth)
                .encode(
                    x="date:T",
                    y=alt.Y("low:Q", title=y_title),
                    y2="high:Q",
                    tooltip=[
                        alt.Tooltip("date:T"),
                        alt.Tooltip("band:N", title="band"),
                        alt.Tooltip("low:Q", format=",.2f"),
                        alt.Tooltip("high:Q", format=",.2f"),
                    ],
                )
            )
        centre = "q0.5" if "q0.5" in fan.columns else "mean" if "mean" in fan.columns else None
        if centre is not None:
            line = fan[["date", centre]].rename(columns={centre: "forecast"})
            layers.append(
                alt.Chart(line)
                .mark_line(color=FORECAST_COLOR, strokeDash=[4, 2])
                .encode(x="date:T", y="forecast:Q", tooltip=["date:T", "forecast:Q"])
            )
    for value, label, color in ((reserve, "reserve", "#c0392b"), (capacity, "capacity", "#7f8c8d")):
        if value is not None:
            rule = pd.DataFrame({"y": [value], "label": [label]})
            layers.append(
                alt.Chart(rule)
                .mark_rule(color=color, strokeDash=[6, 3])
                .encode(y="y:Q", tooltip=["label:N", alt.Tooltip("y:Q", format=",.2f")])
            )
    if not layers:
        layers.append(alt.Chart(pd.DataFrame({"date": [], "level": []})).mark_line())
    return alt.LayerChart(layer=layers).properties(height=320)


def risk_chart(frame: pd.DataFrame, *, x: str, title: str) -> alt.Chart:
    return (
        alt.Chart(frame)
        .mark_line(point=True, color="#c0392b")
        .encode(
            x=alt.X(f"{x}:T", title=None),
            y=alt.Y(
                "probability:Q",
                title=title,
                scale=alt.Scale(domain=[0, 1]),
                axis=alt.Axis(format="%"),
            ),
            tooltip=[alt.Tooltip(f"{x}:T"), alt.Tooltip("probability:Q", format=".0%")],
        )
        .properties(height=200)
    )


def use_chart(frame: pd.DataFrame) -> alt.Chart:
    """A member's own use per day, one colour per resource (units differ: see the tooltip)."""
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("day:T", title=None),
            y=alt.Y("used:Q", title="used"),
            color=alt.Color("resource:N", title=None),
            tooltip=[
                alt.Tooltip("day:T"),
                alt.Tooltip("resource:N"),
                alt.Tooltip("used:Q", format=",.2f"),
            ],
        )
        .properties(height=220)
    )


def daily_risk(paths: dict[str, Any], kind: str) -> pd.DataFrame:
    """The latest forecast's probability per day (below reserve, or over capacity)."""
    key = "p_below_reserve" if kind == "stock" else "p_over_capacity"
    dates, values = paths.get("dates") or [], paths.get(key) or []
    if not dates or len(values) != len(dates):
        return pd.DataFrame(columns=["date", "probability"])
    frame = pd.DataFrame({"date": pd.to_datetime(dates), "probability": values})
    return frame.dropna()


def score_table(scores: dict[str, Any]) -> pd.DataFrame:
    """Backtest scores as rows: flow, method, MASE (best first within each flow)."""
    rows = []
    for flow, by_method in scores.items():
        if isinstance(by_method, dict):
            for method, mase in by_method.items():
                if mase is not None:
                    rows.append({"flow": flow, "method": method, "MASE": float(mase)})
        elif by_method is not None:
            rows.append({"flow": "", "method": flow, "MASE": float(by_method)})
    if not rows:
        return pd.DataFrame(columns=["flow", "method", "MASE"])
    return pd.DataFrame(rows).sort_values(["flow", "MASE"]).reset_index(drop=True)
