"""Altair charts: history + forecast fan, risk over time, a member's own use."""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd

from steward.queries.forecasts import ForecastView, fan_frame, quantile_columns

HISTORY_COLOR = "#1f4e79"
FORECAST_COLOR = "#e07b00"


#: Series of the fan chart, in legend order, with their colours.
SERIES = {
    "observed": HISTORY_COLOR,
    "forecast median": FORECAST_COLOR,
    "50% of outcomes": "#f0a656",
    "80% of outcomes": "#f4bd7f",
    "90% of outcomes": "#f8d4a8",
    "95% of outcomes": "#fbe3c6",
    "reserve": "#c0392b",
    "capacity": "#7f8c8d",
}
#: Date axes always show the year ("2027" alone must not stand for January).
DATE_AXIS = alt.Axis(format="%-d %b %Y", labelAngle=0, title=None, labelOverlap=True)


def _legend(names: list[str]) -> alt.Color:
    shown = [n for n in SERIES if n in names] + [n for n in names if n not in SERIES]
    return alt.Color(
        "series:N",
        scale=alt.Scale(domain=shown, range=[SERIES.get(n, FORECAST_COLOR) for n in shown]),
        legend=alt.Legend(title=None, orient="top"),
    )


def _band_name(low: float, high: float) -> str:
    """ "90% of outcomes" for the q0.05-q0.95 band (the share of paths inside it)."""
    return f"{round((high - low) * 100)}% of outcomes"


def _today_rule(today: pd.Timestamp) -> alt.LayerChart:
    frame = pd.DataFrame({"date": [today], "label": ["today"]})
    base = alt.Chart(frame)
    return alt.LayerChart(
        layer=[
            base.mark_rule(color="#444", strokeDash=[2, 2]).encode(x="date:T"),
            base.mark_text(align="left", dx=4, dy=-130, color="#444").encode(
                x="date:T", text="label:N"
            ),
        ]
    )


def fan_chart(
    history: pd.DataFrame,
    view: ForecastView | None,
    *,
    kind: str,
    unit: str,
    reserve: float | None,
    capacity: float | None,
    today: pd.Timestamp | None = None,
) -> alt.LayerChart:
    """Observed level (or units on loan), the forecast's median and bands, reserve, capacity, today.

    Dates are the commons' local days. The legend names every series; the
    y axis carries the unit (pools count whole units).
    """
    pool = kind == "pool"
    y_title = "units on loan" if pool else f"level ({unit})"
    y_axis = (
        alt.Axis(title=y_title, format="d", tickMinStep=1)
        if pool
        else alt.Axis(title=y_title, format=",~f")
    )
    layers: list[alt.Chart | alt.LayerChart] = []
    fan = fan_frame(view).reset_index() if view is not None else pd.DataFrame()
    qs = quantile_columns(fan.set_index("date")) if len(fan.columns) else []
    pairs = [(qs[i], qs[-1 - i]) for i in range(len(qs) // 2)]
    centre = "q0.5" if "q0.5" in fan.columns else "mean" if "mean" in fan.columns else None
    names = [
        *(["observed"] if len(history) else []),
        *(_band_name(lo_q, hi_q) for (lo_q, _), (hi_q, _) in pairs),
        *(["forecast median"] if centre else []),
        *(["reserve"] if reserve is not None else []),
        *(["capacity"] if capacity is not None else []),
    ]
    color = _legend(names)
    if len(history):
        past = history.reset_index()[["day", "level"]].rename(columns={"day": "date"})
        past["series"] = "observed"
        layers.append(
            alt.Chart(past)
            .mark_line(interpolate="step-after")
            .encode(
                x=alt.X("date:T", axis=DATE_AXIS),
                y=alt.Y("level:Q", axis=y_axis),
                color=color,
                tooltip=[
                    alt.Tooltip("date:T", format="%-d %b %Y"),
                    alt.Tooltip("level:Q", format=",.0f" if pool else ",.1f", title=y_title),
                ],
            )
        )
    if len(fan.columns):
        for (lo_q, lo), (hi_q, hi) in pairs:
            band = fan[["date", lo, hi]].rename(columns={lo: "low", hi: "high"})
            band["series"] = _band_name(lo_q, hi_q)
            layers.append(
                alt.Chart(band)
                .mark_area(opacity=0.7)
                .encode(
                    x=alt.X("date:T", axis=DATE_AXIS),
                    y=alt.Y("low:Q", axis=y_axis),
                    y2="high:Q",
                    color=color,
                    tooltip=[
                        alt.Tooltip("date:T", format="%-d %b %Y"),
                        alt.Tooltip("series:N", title="band"),
                        alt.Tooltip("low:Q", format=",.0f" if pool else ",.1f"),
                        alt.Tooltip("high:Q", format=",.0f" if pool else ",.1f"),
                    ],
                )
            )
        if centre is not None:
            line = fan[["date", centre]].rename(columns={centre: "forecast"})
            line["series"] = "forecast median"
            layers.append(
                alt.Chart(line)
                .mark_line(strokeDash=[4, 2])
                .encode(
                    x=alt.X("date:T", axis=DATE_AXIS),
                    y=alt.Y("forecast:Q", axis=y_axis),
                    color=color,
                    tooltip=[
                        alt.Tooltip("date:T", format="%-d %b %Y"),
                        alt.Tooltip("forecast:Q", format=",.0f" if pool else ",.1f"),
                    ],
                )
            )
    for value, label in ((reserve, "reserve"), (capacity, "capacity")):
        if value is not None:
            rule = pd.DataFrame({"y": [value], "series": [label]})
            layers.append(
                alt.Chart(rule)
                .mark_rule(strokeDash=[6, 3])
                .encode(
                    y="y:Q",
                    color=color,
                    tooltip=[alt.Tooltip("series:N"), alt.Tooltip("y:Q", format=",.1f")],
                )
            )
    if not layers:
        return alt.LayerChart(
            layer=[alt.Chart(pd.DataFrame({"date": [], "level": []})).mark_line()]
        ).properties(height=320)
    if today is not None:
        layers.append(_today_rule(today))
    return alt.LayerChart(layer=layers).properties(height=320)


def risk_chart(frame: pd.DataFrame, *, x: str, title: str) -> alt.Chart:
    """A probability over time (0-100%), dates with their year."""
    return (
        alt.Chart(frame)
        .mark_line(point=alt.OverlayMarkDef(color="#c0392b", size=20), color="#c0392b")
        .encode(
            x=alt.X(f"{x}:T", axis=DATE_AXIS),
            y=alt.Y(
                "probability:Q",
                title=title,
                scale=alt.Scale(domain=[0, 1]),
                axis=alt.Axis(format="%"),
            ),
            tooltip=[
                alt.Tooltip(f"{x}:T", format="%-d %b %Y %H:%M", title="when"),
                alt.Tooltip("probability:Q", format=".0%"),
            ],
        )
        .properties(height=200)
    )


def use_chart(frame: pd.DataFrame) -> alt.FacetChart:
    """A member's own use per day: one small chart per resource, each with its unit.

    ``frame`` has columns day (local), resource (label with its unit), used.
    """
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("day:T", axis=DATE_AXIS),
            y=alt.Y("used:Q", title="used", axis=alt.Axis(tickMinStep=1, format=",~f")),
            tooltip=[
                alt.Tooltip("day:T", format="%-d %b %Y"),
                alt.Tooltip("resource:N"),
                alt.Tooltip("used:Q", format=",.2~f"),
            ],
        )
        .properties(height=110, width=640)
        .facet(
            row=alt.Row(
                "resource:N", title=None, header=alt.Header(labelAngle=0, labelAlign="left")
            )
        )
        .resolve_scale(y="independent")
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
