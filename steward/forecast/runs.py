"""Forecast runs against the store: flows in, risk figures and fan charts out.

For each resource the daily flows are read from the ledger, each flow gets a
forecaster chosen by backtest (fanned out over processes or a Dask cluster),
simulated paths become a level (stock) or occupancy (pool) projection, and the
run is stored with its method, scores, risk figures and quantile paths. Earlier
runs are scored against what actually happened since.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, delete, insert, select, update

from steward import flows
from steward.forecast import (
    PoolProjection,
    Selection,
    StockProjection,
    forecast_many,
    project_pool,
    project_stock,
)
from steward.store import catalog
from steward.store.catalog import ResourceInfo
from steward.store.models import CapacityChange, DailyFlow, Event, ForecastRun
from steward.workspace import Workspace

#: Shortest history (days) worth a model; shorter series still get a baseline.
MIN_HISTORY_DAYS = 14
#: Fit on at most this much recent history. Long enough for several yearly seasons:
#: the seasonal mean of weekly flows learns from every past year it is given, and
#: the backtest that chooses among methods gets more origins.
MAX_HISTORY_DAYS = 10 * 366


@dataclass
class ForecastSummary:
    runs: int = 0
    no_data: list[str] = field(default_factory=list)
    scored: int = 0
    methods: dict[str, str] = field(default_factory=dict)


@dataclass
class _Inputs:
    res: ResourceInfo
    flows: pd.DataFrame
    series: dict[str, pd.Series]
    durations: np.ndarray
    level_now: float
    on_loan_now: int
    capacity_now: float | None
    scheduled: pd.Series
    capacity_plan: pd.Series


def _local_today(res: ResourceInfo, now: datetime) -> pd.Timestamp:
    return pd.Timestamp(now).tz_convert(res.timezone).normalize().tz_localize(None)


def _future_days(res: ResourceInfo, now: datetime, h: int) -> pd.DatetimeIndex:
    return pd.date_range(_local_today(res, now) + pd.Timedelta(days=1), periods=h, freq="D")


def _by_local_day(times: pd.Series, values: pd.Series, tz: str) -> pd.Series:
    days = pd.to_datetime(times, utc=True).dt.tz_convert(tz).dt.normalize().dt.tz_localize(None)
    return values.groupby(days.to_numpy()).sum()


def _inputs(conn: Connection, res: ResourceInfo, now: datetime) -> _Inputs:
    daily = flows.daily_flows(conn, res, until=now)
    today = _local_today(res, now)
    # Today is not over yet: fit on complete days only.
    history = daily.loc[: today - pd.Timedelta(days=1)].tail(MAX_HISTORY_DAYS)
    future = pd.DataFrame(
        conn.execute(
            select(Event.occurred_at, Event.kind, Event.quantity).where(
                Event.resource_id == res.id, Event.scheduled.is_(True), Event.occurred_at > now
            )
        ).all(),
        columns=["occurred_at", "kind", "quantity"],
    )
    scheduled = pd.Series(dtype=float)
    if len(future):
        signed = future["quantity"].astype(float) * np.where(future["kind"] == "use", -1.0, 1.0)
        scheduled = _by_local_day(future["occurred_at"], signed, res.timezone)
    planned = pd.DataFrame(
        conn.execute(
            select(CapacityChange.effective_at, CapacityChange.delta).where(
                CapacityChange.resource_id == res.id,
                CapacityChange.scheduled.is_(True),
                CapacityChange.effective_at > now,
            )
        ).all(),
        columns=["effective_at", "delta"],
    )
    capacity_plan = (
        _by_local_day(planned["effective_at"], planned["delta"].astype(float), res.timezone)
        if len(planned)
        else pd.Series(dtype=float)
    )
    if res.kind == "stock":
        weekly = _weekly(history[["used", "replenished"]])
        series = {"use": weekly["used"], "replenish": weekly["replenished"]}
        return _Inputs(
            res,
            daily,
            series,
            np.array([]),
            float(flows.level(conn, res, now)),
            0,
            None if res.capacity is None else float(res.capacity),
            scheduled,
            capacity_plan,
        )
    ev = flows.events_frame(conn, res)
    loans = ev.loc[ev["loan_ref"].notna() & (ev["sign"] > 0)]
    out = loans.loc[loans["kind"] == "use"].groupby("loan_ref")["occurred_at"].min()
    back = loans.loc[loans["kind"] == "replenish"].groupby("loan_ref")["occurred_at"].max()
    both = pd.concat([out.rename("out"), back.rename("back")], axis=1).dropna()
    days = ((both["back"] - both["out"]).dt.total_seconds() / 86400).to_numpy()
    durations = np.ceil(days[days > 0]) if len(days) else np.array([7.0])
    capacity_now = flows.capacity(conn, res, now)
    return _Inputs(
        res,
        daily,
        {"demand": _weekly(history[["demand"]])["demand"]},
        durations if len(durations) else np.array([7.0]),
        0.0,
        int(flows.on_loan(conn, res, now)),
        None if capacity_now is None else float(capacity_now),
        scheduled,
        capacity_plan,
    )


def _weekly(frame: pd.DataFrame) -> pd.DataFrame:
    """Complete Monday-Sunday weeks of daily flows.

    Flows are lumpy (dues on the 1st, a storm, a busy Saturday): weekly totals
    forecast far better than days that are mostly zero with rare spikes, and a
    yearly season is 52 points instead of 365.
    """
    weekly = frame.clip(lower=0.0).resample("W-SUN").sum()
    if len(frame) and len(weekly) and weekly.index[-1] > frame.index[-1]:
        weekly = weekly.iloc[:-1]  # the current week is not complete
    return weekly


def weekday_profile(daily: pd.Series) -> np.ndarray:
    """Share of a week's demand that falls on each weekday (Monday first)."""
    by_day = daily.clip(lower=0.0).groupby(daily.index.day_of_week).sum().reindex(range(7))
    total = float(by_day.sum())
    if not math.isfinite(total) or total <= 0:
        return np.full(7, 1 / 7)
    return (by_day.fillna(0.0) / total).to_numpy()


def _iso(value: pd.Timestamp | None) -> str | None:
    return None if value is None or pd.isna(value) else value.date().isoformat()


def _clean(values: Sequence[float] | np.ndarray) -> list[float | None]:
    return [None if not math.isfinite(float(v)) else round(float(v), 4) for v in values]


def _paths_json(fan: pd.DataFrame, extra: dict[str, pd.Series]) -> dict[str, Any]:
    out: dict[str, Any] = {"dates": [d.date().isoformat() for d in fan.index]}
    for column in fan.columns:
        out[str(column)] = _clean(fan[column].to_numpy())
    for name, values in extra.items():
        out[name] = _clean(values.reindex(fan.index).to_numpy())
    return out


def weeks_for(days: int) -> int:
    """Weeks to forecast so that ``days`` days after any weekday are covered."""
    return math.ceil(days / 7) + 2


def _daily_from_weekly(
    sel: Selection,
    weekly: pd.Series,
    dates: pd.DatetimeIndex,
    n: int,
    rng: np.random.Generator,
    profile: np.ndarray | None = None,
    *,
    point_only: bool = False,
) -> np.ndarray:
    """Weekly sample paths (or the point forecast) spread over their days.

    Days get an even share of their week, or a weekday ``profile``'s share.
    """
    h = len(dates)
    weeks = weeks_for(h)
    if point_only:
        paths = np.broadcast_to(_expected_weekly(sel, weeks), (n, weeks))
    else:
        paths = np.clip(sel.forecaster.sample_paths(weeks, n, rng), 0.0, None)
    shares = np.full(7, 1 / 7) if profile is None else profile
    daily = (paths[:, :, None] * shares[None, None, :]).reshape(n, -1)
    # Paths start the Monday after the last complete week.
    first_day = weekly.index[-1] + pd.Timedelta(days=1) if len(weekly) else dates[0]
    offset = max((dates[0] - first_day).days, 0)
    return daily[:, offset : offset + h]


def _expected_weekly(sel: Selection, weeks: int) -> np.ndarray:
    """Expected demand per week: the model's own point forecast, at least zero.

    Neither the mean of paths clipped at zero (lifted by the clipped-off noise a
    quiet winter week would not have) nor their median (which drifts up with the
    noise of a random walk around zero: a tool borrowed once in 44 weeks came out
    at two loans a quarter). For intermittent demand the point is the rate.
    """
    return np.clip(sel.forecaster.point(weeks), 0.0, None)


def _stock_run(
    inp: _Inputs,
    sel: dict[str, Selection],
    dates: pd.DatetimeIndex,
    n: int,
    rng: np.random.Generator,
) -> tuple[dict[str, Any], dict[str, Any], StockProjection]:
    use = _daily_from_weekly(sel["use"], inp.series["use"], dates, n, rng)
    rep = _daily_from_weekly(sel["replenish"], inp.series["replenish"], dates, n, rng)
    res = inp.res
    proj = project_stock(
        inp.level_now,
        use,
        rep,
        dates=dates,
        reserve=None if res.reserve is None else float(res.reserve),
        capacity=inp.capacity_now,
        scheduled=inp.scheduled if len(inp.scheduled) else None,
    )
    risk = {
        "level_now": round(inp.level_now, 4),
        "reserve": None if res.reserve is None else float(res.reserve),
        "p_below_reserve": round(proj.p_below_reserve_within_horizon, 4),
        "date_p50": _iso(proj.date_p50),
        "date_p90": _iso(proj.date_p90),
        "expected_depletion_date": _iso(proj.expected_depletion_date),
        "horizon_end": dates[-1].date().isoformat(),
        "expected_unmet": round(float(proj.expected_unmet.sum()), 4),
    }
    paths = _paths_json(proj.level_quantiles, {"p_below_reserve": proj.p_below_reserve})
    return risk, paths, proj


def _pool_run(
    inp: _Inputs,
    sel: dict[str, Selection],
    dates: pd.DatetimeIndex,
    n: int,
    rng: np.random.Generator,
    target: float,
) -> tuple[dict[str, Any], dict[str, Any], PoolProjection]:
    profile = weekday_profile(inp.flows["demand"].fillna(0.0))
    # Checkouts arrive one by one: Poisson around the expected count of each day. The
    # point path is used because additive noise on a near-zero winter week, clipped
    # at zero, would invent demand that no season shows.
    expected = _daily_from_weekly(
        sel["demand"], inp.series["demand"], dates, n, rng, profile, point_only=True
    )
    demand = rng.poisson(expected).astype(float)
    base = inp.capacity_now or 0.0
    plan = (
        inp.capacity_plan.reindex(dates, fill_value=0.0).cumsum() if len(inp.capacity_plan) else 0.0
    )
    capacity = pd.Series(base, index=dates) + plan
    proj = project_pool(
        inp.on_loan_now, demand, inp.durations, capacity, dates=dates, rng=rng, target=target
    )
    peak = proj.p_over_capacity.idxmax() if len(proj.p_over_capacity) else None
    risk = {
        "on_loan_now": inp.on_loan_now,
        "capacity": base,
        "max_p_over_capacity": round(proj.max_p_over_capacity, 4),
        "peak_date": _iso(peak),
        "p_over_capacity_dates": _clean(proj.p_over_capacity.to_numpy()),
        "expected_unmet": round(float(proj.expected_unmet.sum()), 4),
        "extra_units_needed": int(proj.extra_units_needed),
        "horizon_end": dates[-1].date().isoformat(),
    }
    paths = _paths_json(
        proj.occupancy_quantiles,
        {"capacity": proj.capacity, "p_over_capacity": proj.p_over_capacity},
    )
    return risk, paths, proj


def refresh_daily_flows(conn: Connection, res: ResourceInfo, frame: pd.DataFrame) -> None:
    """Replace the resource's precomputed daily aggregates (the dashboard reads these)."""
    conn.execute(delete(DailyFlow).where(DailyFlow.resource_id == res.id))
    if frame.empty:
        return
    rows = [
        {
            "resource_id": res.id,
            "day": day.date(),
            "used": round(float(r.used), 6),
            "replenished": round(float(r.replenished), 6),
            "adjusted": round(float(r.adjusted), 6),
            "level": round(float(r.level), 6),
            "demand": None if pd.isna(r.demand) else round(float(r.demand), 6),
            "capacity": None if pd.isna(r.capacity) else round(float(r.capacity), 6),
        }
        for day, r in frame.iterrows()
    ]
    conn.execute(insert(DailyFlow), rows)


def score_past_runs(
    conn: Connection, res: ResourceInfo, actual: pd.DataFrame, now: datetime
) -> int:
    """Compare earlier runs' paths with the levels that actually followed."""
    runs = conn.execute(
        select(ForecastRun.id, ForecastRun.paths, ForecastRun.created_at).where(
            ForecastRun.resource_id == res.id, ForecastRun.created_at <= now - timedelta(days=1)
        )
    ).all()
    scored = 0
    for run_id, paths, _created in runs:
        dates = pd.to_datetime(paths.get("dates") or [])
        if len(dates) == 0 or "mean" not in paths:
            continue
        seen = actual["level"].reindex(dates).dropna()
        if seen.empty:
            continue
        fc = pd.Series(paths["mean"], index=dates).reindex(seen.index).astype(float)
        lo = pd.Series(paths.get("q0.1") or paths["mean"], index=dates).reindex(seen.index)
        hi = pd.Series(paths.get("q0.9") or paths["mean"], index=dates).reindex(seen.index)
        err = (fc - seen).abs()
        accuracy = {
            "days": len(seen),
            "mae": round(float(err.mean()), 4),
            "mean_actual": round(float(seen.abs().mean()), 4),
            "coverage_80": round(float(((seen >= lo) & (seen <= hi)).mean()), 4),
            "scored_at": now.isoformat(),
        }
        conn.execute(update(ForecastRun).where(ForecastRun.id == run_id).values(accuracy=accuracy))
        scored += 1
    return scored


def run_forecasts(
    ws: Workspace,
    slugs: Sequence[str] | None = None,
    *,
    now: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
    seed: int = 0,
) -> ForecastSummary:
    now = now or datetime.now(UTC)
    cfg = ws.settings.forecast
    h, n = cfg.horizon_days, cfg.paths
    summary = ForecastSummary()
    with ws.store.read() as conn:
        infos = catalog.resources(conn, list(slugs) if slugs else None)
        inputs = {res.slug: _inputs(conn, res, now) for res in infos}

    # Every flow is forecast per week (see _weekly) and spread back over the days.
    series = {
        f"{slug}:{name}": y
        for slug, inp in inputs.items()
        for name, y in inp.series.items()
        if y.notna().sum() > 0
    }
    selections = forecast_many(
        series,
        weeks_for(h),
        executor=cfg.executor or ("serial" if len(series) <= 2 else None),
        workers=cfg.workers,
        progress=progress,
        nonnegative=True,
    )
    rng = np.random.default_rng(seed)
    with ws.store.write() as conn:
        for slug, inp in inputs.items():
            res = inp.res
            refresh_daily_flows(conn, res, inp.flows)
            summary.scored += score_past_runs(conn, res, inp.flows, now)
            chosen: dict[str, Selection] = {}
            for name in inp.series:
                got = selections.get(f"{slug}:{name}")
                if isinstance(got, Selection):
                    chosen[name] = got
            if not chosen or not any(s.has_data for s in chosen.values()):
                summary.no_data.append(slug)
                continue
            dates = _future_days(res, now, h)
            if res.kind == "stock":
                if set(chosen) != {"use", "replenish"}:
                    summary.no_data.append(slug)
                    continue
                risk, paths, _ = _stock_run(inp, chosen, dates, n, rng)
            else:
                if inp.capacity_now is None:
                    summary.no_data.append(slug)
                    continue
                risk, paths, _ = _pool_run(inp, chosen, dates, n, rng, target=0.1)
            method = " + ".join(f"{k}: {s.method}" for k, s in chosen.items())
            reason = " | ".join(f"{k}: {s.reason}" for k, s in chosen.items())
            scores = {k: {m: _finite(v) for m, v in s.scores.items()} for k, s in chosen.items()}
            last_day = inp.flows.index[-1] if len(inp.flows) else None
            conn.execute(
                insert(ForecastRun),
                {
                    "resource_id": res.id,
                    "created_at": now,
                    "data_cutoff": now if last_day is not None else None,
                    "horizon_days": h,
                    "method": method[:128],
                    "reason": reason,
                    "scores": scores,
                    "risk": risk,
                    "paths": paths,
                    "accuracy": None,
                },
            )
            summary.runs += 1
            summary.methods[slug] = method
    return summary


def _finite(value: float) -> float | None:
    return round(float(value), 4) if math.isfinite(float(value)) else None
