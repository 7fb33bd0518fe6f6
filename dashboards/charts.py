"""Charts as Vega-Lite specs: history + forecast fan, risk over time, a member's own history.

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

BAND_COLORS = {50: "#f0a656", 80: "#f4bd7f", 90: "#f8d4a8", 95: "#fbe3c6"}
#: Series of the fan chart, in legend order, with their colours. A pool's history
#: is units on loan (never more than it has) and its forecast units demanded
#: (which may be more: that is the risk), so its series say which is which.
SERIES = {
    "observed": HISTORY_COLOR,
    "on loan (observed)": HISTORY_COLOR,
    "forecast median": FORECAST_COLOR,
    "demand: middle outcome": FORECAST_COLOR,
    **{f"{p}% of outcomes": c for p, c in BAND_COLORS.items()},
    **{f"demand: {p}% of outcomes": c for p, c in BAND_COLORS.items()},
    "reserve": "#c0392b",
    "capacity": "#7f8c8d",
    "units available": "#7f8c8d",
}
#: A pool's y axis: what the two halves of the chart count.
POOL_AXIS = "units: on loan (past), demanded (forecast)"
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
        # Four to a row: on one row a pool's seven series ran past the chart's edge.
        "legend": {"title": None, "orient": "top", "columns": 4},
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

    ``history`` is indexed by local day with a ``level`` column (and, for a
    pool, ``capacity``); the forecast's quantiles come from ``view.paths``.
    Dates are the commons' local days. The legend names every series; the y
    axis carries the unit (pools count whole units). A pool's past is its units
    on loan, which never exceed its units, and its forecast the units demanded,
    which may (that is the risk the headline gives): the axis and the legend say
    so, and its units available are drawn day by day ("units available") from
    ``history["capacity"]`` and ``view.paths["capacity"]``, or as a line at
    ``capacity`` when neither has them. Returns a Vega-Lite layer spec with
    datasets ``history`` (one row a day), ``forecast`` (one row a forecast day,
    every quantile a column) and, for a pool, ``capacity``.
    """
    pool = kind == "pool"
    y_title = POOL_AXIS if pool else f"level ({unit})"
    observed = "on loan (observed)" if pool else "observed"
    median = "demand: middle outcome" if pool else "forecast median"
    band_prefix = "demand: " if pool else ""
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
    available = _capacity_days(history, view) if pool else pd.DataFrame()
    names = [
        *([observed] if len(history) else []),
        *(band_prefix + _band_name(lo_q, hi_q) for (lo_q, _), (hi_q, _) in pairs),
        *([median] if centre else []),
        *(["reserve"] if reserve is not None else []),
        *(
            ["units available" if pool else "capacity"]
            if capacity is not None or len(available)
            else []
        ),
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
                "transform": _series(observed),
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
            band = band_prefix + _band_name(lo_q, hi_q)
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
                    "transform": _series(median),
                    "mark": {"type": "line", "strokeDash": [4, 2]},
                    "encoding": {
                        "x": _date(),
                        "y": {"field": middle, "type": "quantitative", "axis": y_axis},
                        "color": color,
                        "tooltip": [_day_tooltip(), _number_tooltip(middle, fmt, median)],
                    },
                }
            )
    if len(available):
        datasets["capacity"] = available
        layers.append(
            {
                "data": {"name": "capacity"},
                "transform": _series("units available"),
                "mark": {"type": "line", "interpolate": "step-after", "strokeDash": [6, 3]},
                "encoding": {
                    "x": _date(),
                    "y": {"field": "capacity", "type": "quantitative", "axis": y_axis},
                    "color": color,
                    "tooltip": [
                        _day_tooltip(),
                        _number_tooltip("capacity", fmt, "units available"),
                    ],
                },
            }
        )
    rules = [(reserve, "reserve")]
    if not len(available):
        rules.append((capacity, "units available" if pool else "capacity"))
    for value, label in rules:
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


def _capacity_days(history: pd.DataFrame, view: ForecastView | None) -> pd.DataFrame:
    """A pool's units available per day: recorded (``history``) then planned (the forecast's).

    Columns ``date`` and ``capacity`` (float); days without a figure are left out.
    Empty when neither holds one.
    """
    parts = []
    if len(history) and "capacity" in history.columns:
        past = history.reset_index()[["day", "capacity"]].rename(columns={"day": "date"})
        parts.append(past)
    dates = (view.paths.get("dates") or []) if view is not None else []
    planned = (view.paths.get("capacity") or []) if view is not None else []
    if dates and len(planned) == len(dates):
        parts.append(pd.DataFrame({"date": pd.to_datetime(dates), "capacity": planned}))
    if not parts:
        return pd.DataFrame(columns=["date", "capacity"])
    both = pd.concat(parts, ignore_index=True)
    both["capacity"] = pd.to_numeric(both["capacity"], errors="coerce")
    both["date"] = pd.to_datetime(both["date"])
    return both.dropna().astype({"capacity": "float64"}).reset_index(drop=True)


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
    x_axis = _date(x)
    times = pd.to_datetime(frame[x]) if len(frame) else pd.Series(dtype="datetime64[ns]")
    if len(times) > 1 and times.max() - times.min() < pd.Timedelta(days=3):
        # Runs within a few days: by day alone, twenty ticks all read "30 Nov 2026".
        x_axis["axis"] = {**DATE_AXIS, "format": "%-d %b %Y %H:%M", "title": "forecast run"}
    return {
        "$schema": SCHEMA,
        "height": 200,
        "data": {"values": frame[[x, "probability"]]},
        "mark": mark,
        "encoding": {
            "x": x_axis,
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


#: The colour and legend entry of each kind in a member's history.
HISTORY_SERIES = {"pool": ("units on loan", HISTORY_COLOR), "stock": ("used", FORECAST_COLOR)}


def history_axis(kind: str, unit: str) -> str:
    """The y axis of a member's history: what a bar counts, in its unit.

    A pool counts "units on loan" (whole units held that day); a stock the
    quantity used per day in the resource's unit ("L used per day").
    """
    if kind == "pool":
        return "units on loan"
    return f"{unit} used per day" if unit else "used per day"


def history_chart(frame: pd.DataFrame, today: pd.Timestamp | None = None) -> Spec:
    """A member's own history: one chart per resource, stacked, one bar per local day.

    ``frame`` is :func:`steward.queries.usage.my_history`'s (columns day, resource,
    kind, unit, value). A pool's bars are the units the member had on loan each
    day, so a loan from 3 to 10 March fills those eight days; a stock's the
    quantity used that day. Each chart is titled with the resource, its y axis
    says what it counts and in which unit (:func:`history_axis`), the x axes
    (shared, so the charts line up) show dates with their year, and one legend
    names the series. ``today`` (a naive local day) ends every x axis, so a
    stock last used in October does not read as used until the axis ends.
    Returns a Vega-Lite ``vconcat`` spec; an empty frame gives an empty chart.
    """
    if frame.empty:
        return {"$schema": SCHEMA, "data": {"values": []}, "mark": "bar"}
    kinds = [k for k in HISTORY_SERIES if k in set(frame["kind"])]
    color: Spec = {
        "field": "series",
        "type": "nominal",
        "scale": {
            "domain": [HISTORY_SERIES[k][0] for k in kinds],
            "range": [HISTORY_SERIES[k][1] for k in kinds],
        },
        "legend": {"title": None, "orient": "top"},
    }
    datasets: dict[str, pd.DataFrame] = {}
    charts: list[Spec] = []
    for i, (name, part) in enumerate(frame.groupby("resource", sort=True)):
        kind = "pool" if str(part["kind"].iloc[0]) == "pool" else "stock"
        unit = str(part["unit"].iloc[0] or "")
        axis = history_axis(kind, unit)
        key = f"resource_{i}"
        days = pd.to_datetime(part["day"])
        values = part["value"].astype("float64")
        if today is not None and days.max() < today:
            # Nothing drawn (zero): the axis runs to today, as the loans' days do.
            days = pd.concat([days, pd.Series([pd.Timestamp(today)])], ignore_index=True)
            values = pd.concat([values, pd.Series([0.0])], ignore_index=True)
        datasets[key] = pd.DataFrame(
            {
                "day": days.to_numpy(),
                # Each bar spans its whole day, so a loan's days join into one block.
                "next": (days + pd.Timedelta(days=1)).to_numpy(),
                "value": values.to_numpy(),
                "series": HISTORY_SERIES[kind][0],
            }
        )
        y_axis: Spec = (
            {"title": axis, "format": "d", "tickMinStep": 1}
            if kind == "pool"
            else {"title": axis, "format": ",~f"}
        )
        charts.append(
            {
                "title": {"text": str(name), "anchor": "start", "fontSize": 13},
                "height": 110,
                "width": 640,
                "data": {"name": key},
                "mark": {"type": "bar", "opacity": 0.9},
                "encoding": {
                    "x": _date("day"),
                    "x2": {"field": "next"},
                    "y": {"field": "value", "type": "quantitative", "axis": y_axis},
                    "y2": {"datum": 0},
                    "color": color,
                    "tooltip": [
                        _day_tooltip("day"),
                        _number_tooltip("value", ",.0f" if kind == "pool" else ",.2~f", axis),
                    ],
                },
            }
        )
    return {
        "$schema": SCHEMA,
        "datasets": datasets,
        "vconcat": charts,
        "resolve": {"scale": {"x": "shared", "y": "independent", "color": "shared"}},
    }


def daily_risk(paths: dict[str, Any], kind: str) -> pd.DataFrame:
    """The latest forecast's probability per day (below reserve, or over capacity)."""
    key = "p_below_reserve" if kind == "stock" else "p_over_capacity"
    dates, values = paths.get("dates") or [], paths.get(key) or []
    if not dates or len(values) != len(dates):
        return pd.DataFrame(columns=["date", "probability"])
    frame = pd.DataFrame({"date": pd.to_datetime(dates), "probability": values})
    return frame.dropna()
