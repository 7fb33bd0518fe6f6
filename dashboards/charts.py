"""Charts as Vega-Lite specs: history + forecast fan, risk over time, a member's own use.

Each function returns a Vega-Lite spec (a dict, for ``st.vega_lite_chart``)
whose data sit in named ``datasets`` as DataFrames, which Streamlit sends to the
browser as Arrow. Written as plain dicts rather than Altair objects: building
and validating the resource page's Altair charts took about 110 ms of the
page's 160 ms of server CPU, and the fan's bands now share one dataset (one
row per forecast day) instead of one copy of the days per band, so the browser
parses about a third of the rows it did.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from steward.queries.forecasts import ForecastView, fan_frame, quantile_columns

HISTORY_COLOR = "#1f4e79"
FORECAST_COLOR = "#e07b00"
RISK_COLOR = "#c0392b"
SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"

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
DAY_FORMAT = "%-d %b %Y"
DATE_AXIS: dict[str, Any] = {
    "format": DAY_FORMAT,
    "labelAngle": 0,
    "title": None,
    "labelOverlap": True,
}

Spec = dict[str, Any]


def _legend(names: list[str]) -> Spec:
    shown = [n for n in SERIES if n in names] + [n for n in names if n not in SERIES]
    return {
        "field": "series",
        "type": "nominal",
        "scale": {"domain": shown, "range": [SERIES.get(n, FORECAST_COLOR) for n in shown]},
        "legend": {"title": None, "orient": "top"},
    }


def _series(name: str) -> list[Spec]:
    """A transform naming a layer's series, so every layer shares the one colour legend."""
    return [{"calculate": _quoted(name), "as": "series"}]


def _quoted(text: str) -> str:
    """``text`` as a Vega expression string literal (names here are our own words)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _band_name(low: float, high: float) -> str:
    """ "90% of outcomes" for the q0.05-q0.95 band (the share of paths inside it)."""
    return f"{round((high - low) * 100)}% of outcomes"


def _date(field: str = "date") -> Spec:
    return {"field": field, "type": "temporal", "axis": DATE_AXIS}


def _day_tooltip(field: str = "date") -> Spec:
    return {"field": field, "type": "temporal", "format": DAY_FORMAT}


def _number_tooltip(field: str, fmt: str, title: str | None = None) -> Spec:
    out: Spec = {"field": field, "type": "quantitative", "format": fmt}
    if title is not None:
        out["title"] = title
    return out


def fan_chart(
    history: pd.DataFrame,
    view: ForecastView | None,
    *,
    kind: str,
    unit: str,
    reserve: float | None,
    capacity: float | None,
    today: pd.Timestamp | None = None,
) -> Spec:
    """Observed level (or units on loan), the forecast's median and bands, reserve, capacity, today.

    ``history`` is indexed by local day with a ``level`` column; the forecast's
    quantiles come from ``view.paths``. Dates are the commons' local days. The
    legend names every series; the y axis carries the unit (pools count whole
    units). Returns a Vega-Lite layer spec with datasets ``history`` (one row a
    day) and ``forecast`` (one row a forecast day, every quantile a column).
    """
    pool = kind == "pool"
    y_title = "units on loan" if pool else f"level ({unit})"
    y_axis: Spec = (
        {"title": y_title, "format": "d", "tickMinStep": 1}
        if pool
        else {"title": y_title, "format": ",~f"}
    )
    fmt = ",.0f" if pool else ",.1f"
    layers: list[Spec] = []
    datasets: dict[str, pd.DataFrame] = {}
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
        datasets["history"] = (
            history.reset_index()[["day", "level"]]
            .rename(columns={"day": "date"})
            .astype({"level": "float64"})
        )
        layers.append(
            {
                "data": {"name": "history"},
                "transform": _series("observed"),
                "mark": {"type": "line", "interpolate": "step-after"},
                "encoding": {
                    "x": _date(),
                    "y": {"field": "level", "type": "quantitative", "axis": y_axis},
                    "color": color,
                    "tooltip": [_day_tooltip(), _number_tooltip("level", fmt, y_title)],
                },
            }
        )
    if len(fan.columns) and (pairs or centre):
        # One row per forecast day, each quantile a column ("q0.05" -> "q0_05": Vega
        # reads a dot in a field name as a nested field).
        keep = ["date", *{c for pair in pairs for _, c in pair}, *([centre] if centre else [])]
        datasets["forecast"] = fan[list(dict.fromkeys(keep))].rename(columns=_field_name)
        for (lo_q, lo), (hi_q, hi) in pairs:
            band = _band_name(lo_q, hi_q)
            low, high = _field_name(lo), _field_name(hi)
            layers.append(
                {
                    "data": {"name": "forecast"},
                    "transform": _series(band),
                    "mark": {"type": "area", "opacity": 0.7},
                    "encoding": {
                        "x": _date(),
                        "y": {"field": low, "type": "quantitative", "axis": y_axis},
                        "y2": {"field": high},
                        "color": color,
                        "tooltip": [
                            _day_tooltip(),
                            {"field": "series", "type": "nominal", "title": "band"},
                            _number_tooltip(low, fmt, "low"),
                            _number_tooltip(high, fmt, "high"),
                        ],
                    },
                }
            )
        if centre is not None:
            middle = _field_name(centre)
            layers.append(
                {
                    "data": {"name": "forecast"},
                    "transform": _series("forecast median"),
                    "mark": {"type": "line", "strokeDash": [4, 2]},
                    "encoding": {
                        "x": _date(),
                        "y": {"field": middle, "type": "quantitative", "axis": y_axis},
                        "color": color,
                        "tooltip": [_day_tooltip(), _number_tooltip(middle, fmt, "forecast")],
                    },
                }
            )
    for value, label in ((reserve, "reserve"), (capacity, "capacity")):
        if value is not None:
            layers.append(
                {
                    "data": {"values": [{"y": float(value), "series": label}]},
                    "mark": {"type": "rule", "strokeDash": [6, 3]},
                    "encoding": {
                        "y": {"field": "y", "type": "quantitative"},
                        "color": color,
                        "tooltip": [
                            {"field": "series", "type": "nominal"},
                            _number_tooltip("y", ",.1f", label),
                        ],
                    },
                }
            )
    if not layers:
        return {"$schema": SCHEMA, "height": 320, "data": {"values": []}, "mark": "line"}
    if today is not None:
        # A dataset like the others (not a date string), so the browser reads all
        # three dates the same way.
        datasets["today"] = pd.DataFrame({"date": [today], "label": ["today"]})
        layers.append(
            {
                "data": {"name": "today"},
                "layer": [
                    {
                        "mark": {"type": "rule", "color": "#444", "strokeDash": [2, 2]},
                        "encoding": {"x": {"field": "date", "type": "temporal"}},
                    },
                    {
                        "mark": {"type": "text", "align": "left", "dx": 4, "dy": -130},
                        "encoding": {
                            "x": {"field": "date", "type": "temporal"},
                            "text": {"field": "label", "type": "nominal"},
                            "color": {"value": "#444"},
                        },
                    },
                ],
            }
        )
    return {"$schema": SCHEMA, "height": 320, "datasets": datasets, "layer": layers}


def _field_name(column: str) -> str:
    return column.replace(".", "_")


def risk_chart(frame: pd.DataFrame, *, x: str, title: str, points: bool = True) -> Spec:
    """A probability over time (0-100%), dates with their year.

    ``frame`` has columns ``x`` (datetimes) and ``probability`` (0-1). ``points``
    marks each value: one per forecast run reads well, one per forecast day
    (hundreds) is only ink for the browser to draw.
    """
    mark: Spec = {"type": "line", "color": RISK_COLOR}
    if points:
        mark["point"] = {"color": RISK_COLOR, "size": 20}
    return {
        "$schema": SCHEMA,
        "height": 200,
        "data": {"values": frame[[x, "probability"]]},
        "mark": mark,
        "encoding": {
            "x": _date(x),
            "y": {
                "field": "probability",
                "type": "quantitative",
                "title": title,
                "scale": {"domain": [0, 1]},
                "axis": {"format": "%"},
            },
            "tooltip": [
                {"field": x, "type": "temporal", "format": "%-d %b %Y %H:%M", "title": "when"},
                {"field": "probability", "type": "quantitative", "format": ".0%"},
            ],
        },
    }


def use_chart(frame: pd.DataFrame) -> Spec:
    """A member's own use per day: one small chart per resource, each with its unit.

    ``frame`` has columns day (local), resource (label with its unit), used.
    """
    return {
        "$schema": SCHEMA,
        "data": {"values": frame[["day", "resource", "used"]]},
        "facet": {
            "row": {
                "field": "resource",
                "type": "nominal",
                "title": None,
                "header": {"labelAngle": 0, "labelAlign": "left"},
            }
        },
        "spec": {
            "height": 110,
            "width": 640,
            "mark": "bar",
            "encoding": {
                "x": _date("day"),
                "y": {
                    "field": "used",
                    "type": "quantitative",
                    "title": "used",
                    "axis": {"tickMinStep": 1, "format": ",~f"},
                },
                "tooltip": [
                    _day_tooltip("day"),
                    {"field": "resource", "type": "nominal"},
                    _number_tooltip("used", ",.2~f"),
                ],
            },
        },
        "resolve": {"scale": {"y": "independent"}},
    }


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
