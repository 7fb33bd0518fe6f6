"""Did the risk figures we publish come true? A rolling-origin backtest against the store.

At each origin (every ``every_days`` days over a past period) every resource is
forecast exactly as ``steward forecast`` would have done then, from the ledger
as it stood (flows up to the origin, units on loan and capacity at the origin),
and its risk figures are set beside what followed:

- pools: per day of the horizon, the predicted chance that all units are out
  (simulated occupancy at or above capacity) against whether the units on loan
  at the end of that day reached the capacity. Demand beyond the units cannot
  be recorded (nobody can borrow a unit that is out), so "all units out" is the
  observable side of "demand exceeds capacity";
- stocks: the predicted chance of falling below the reserve (empty without one)
  within the horizon against whether the level did.

Each case also gets its climatology, the reference its Brier score is set
against: how often the event happened to that resource before the origin (the
share of its past days with all units out; for a stock, of its past windows of
the horizon's length that went below the reserve). Only the past: the base rate
of the period being scored would know what the forecasts are asked to tell.

The result per resource is a reliability table with Brier scores
(:mod:`steward.forecast.reliability`), stored in ``risk_calibration`` so the
dashboard can say how often such figures came true. Nothing after an origin
reaches its forecast: loan durations come from the loans returned by then
(steward.forecast.runs), as a live run's do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, delete, insert

from steward import flows
from steward.errors import ForecastError
from steward.forecast.parallel import forecast_many
from steward.forecast.reliability import Reliability, reliability
from steward.forecast.runs import (
    _future_days,
    _inputs,
    _pool_run,
    _stock_run,
    commons_prior,
    weeks_for,
)
from steward.forecast.selection import Selection
from steward.store import catalog
from steward.store.catalog import ResourceInfo
from steward.store.models import RiskCalibration
from steward.workspace import Workspace

POOL_EVENT = "all_units_out"
STOCK_EVENT = "below_reserve"
#: An origin needs this much history before it: a forecast from two weeks of data
#: is not what the backtest is meant to judge.
MIN_HISTORY_DAYS = 56


@dataclass
class Cases:
    """Predicted probabilities and outcomes of one resource's event."""

    event: str
    predicted: list[float] = field(default_factory=list)
    observed: list[float] = field(default_factory=list)
    origins: int = 0
    #: Per case, the event's frequency before its origin (empty: the cases' own base rate).
    climatology: list[float] = field(default_factory=list)

    def assess(self) -> Reliability:
        """Reliability of these cases, against their climatology when every case has one."""
        ref = self.climatology if len(self.climatology) == len(self.predicted) else None
        return reliability(
            np.array(self.predicted),
            np.array(self.observed),
            None if ref is None else np.array(ref),
        )


@dataclass
class RiskBacktest:
    """Cases per resource slug, and the period and origins they came from."""

    start: datetime
    end: datetime
    origins: list[datetime]
    cases: dict[str, Cases]

    def pooled(self, event: str) -> Reliability | None:
        """Reliability of every resource's cases of ``event`` together (None if none)."""
        mine = [c for c in self.cases.values() if c.event == event and c.predicted]
        if not mine:
            return None
        whole = Cases(event)
        for c in mine:
            whole.predicted.extend(c.predicted)
            whole.observed.extend(c.observed)
            if len(c.climatology) == len(c.predicted):
                whole.climatology.extend(c.climatology)
        return whole.assess()


def origins_between(
    start: datetime, end: datetime, horizon_days: int, every_days: int
) -> list[datetime]:
    """Origins from ``start`` every ``every_days`` days whose horizon ends by ``end``."""
    if every_days < 1:
        raise ForecastError(f"origins must be at least a day apart, got every {every_days} days")
    out, t = [], start
    while t + timedelta(days=horizon_days) <= end:
        out.append(t)
        t += timedelta(days=every_days)
    return out


def kinds_due(
    start: datetime, end: datetime, horizon_days: int, every_days: int, stock_every_days: int
) -> dict[datetime, set[str]]:
    """Origins (pools every ``every_days``, stocks every ``stock_every_days``) and the kinds due."""
    due: dict[datetime, set[str]] = {}
    for kind, every in (("pool", every_days), ("stock", stock_every_days)):
        for origin in origins_between(start, end, horizon_days, every):
            due.setdefault(origin, set()).add(kind)
    return due


def _observed_pool(actual: pd.DataFrame, dates: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray]:
    """Whether all units were out at the end of each date; mask of dates with data."""
    seen = actual.reindex(dates)
    known = seen["level"].notna().to_numpy() & seen["capacity"].notna().to_numpy()
    full = (seen["level"] >= seen["capacity"]) & (seen["capacity"] > 0)
    return full.fillna(False).to_numpy(dtype=float), known


def _past_pool_rate(actual: pd.DataFrame, today: pd.Timestamp) -> float:
    """Share of the pool's complete days before ``today`` that ended with all units out."""
    past = actual.loc[: today - pd.Timedelta(days=1)]
    known = past["level"].notna() & past["capacity"].notna()
    past = past.loc[known]
    if past.empty:
        return 0.0
    return float(((past["level"] >= past["capacity"]) & (past["capacity"] > 0)).mean())


def _past_stock_rate(res: ResourceInfo, actual: pd.DataFrame, today: pd.Timestamp, h: int) -> float:
    """Share of the stock's past windows of ``h`` days, all before ``today``, that went
    below its reserve (empty without one); with no such window yet, the share of past
    days below it."""
    level = actual["level"].loc[: today - pd.Timedelta(days=1)].dropna()
    if level.empty:
        return 0.0
    reserve = float(res.reserve) if res.reserve is not None and res.reserve > 0 else None
    below = (level < reserve) if reserve is not None else (level <= 0)
    flags = below.to_numpy(dtype=float)
    if len(flags) <= h:
        return float(flags.mean())
    # Window starting after day i: did any of days i+1 .. i+h go below?
    hit = pd.Series(flags).rolling(h).max().to_numpy()[h:]
    return float(np.mean(hit))


def _observed_stock(
    res: ResourceInfo, actual: pd.DataFrame, dates: pd.DatetimeIndex
) -> float | None:
    seen = actual["level"].reindex(dates).dropna()
    if len(seen) < len(dates):
        return None  # the horizon runs past the data
    reserve = float(res.reserve) if res.reserve is not None and res.reserve > 0 else None
    below = seen < reserve if reserve is not None else seen <= 0
    return float(below.any())


@dataclass
class Projected:
    """One resource forecast at a backtest origin, as ``steward forecast`` would have
    made it then: its inputs, the horizon's dates and the run's (risk, paths, projection)."""

    inp: Any
    dates: pd.DatetimeIndex
    risk: dict[str, Any]
    paths: dict[str, Any]
    projection: Any


def project_at(
    ws: Workspace,
    infos: Sequence[ResourceInfo],
    origin: datetime,
    ledgers: dict[str, flows.LedgerFrames],
    rng: np.random.Generator,
) -> Iterator[tuple[str, Projected]]:
    """(slug, :class:`Projected`) for each resource with enough history at ``origin``.

    Only the ledger up to ``origin`` reaches the forecast. Stocks need both flows
    forecast; pools need a capacity. Shared by the risk backtest and benchmarks that
    score other parts of the same runs (tests/benchmarks/bench_anomaly_rate.py).
    """
    cfg = ws.settings.forecast
    h, n = cfg.horizon_days, cfg.paths
    with ws.store.read() as conn:
        inputs = {res.slug: _inputs(conn, res, origin, ledgers[res.slug]) for res in infos}
    ready = {
        slug: inp
        for slug, inp in inputs.items()
        if len(inp.flows) and (inp.flows.index[-1] - inp.flows.index[0]).days >= MIN_HISTORY_DAYS
    }
    # Each resource's inputs were read on their own: the commons' prior is set here,
    # over the pools forecast at this origin.
    commons_prior(ready.values())
    series = {
        f"{slug}:{name}": y
        for slug, inp in ready.items()
        for name, y in inp.series.items()
        if y.notna().sum() > 0
    }
    selections = forecast_many(
        series,
        weeks_for(h),
        executor=cfg.executor or "serial",
        workers=cfg.workers,
        nonnegative=True,
    )
    for slug, inp in ready.items():
        chosen: dict[str, Selection] = {}
        for name in inp.series:
            sel = selections.get(f"{slug}:{name}")
            if isinstance(sel, Selection):
                chosen[name] = sel
        if not chosen or not any(s.has_data for s in chosen.values()):
            continue
        res = inp.res
        dates = _future_days(res, origin, h)
        if res.kind == "stock":
            if set(chosen) != {"use", "replenish"}:
                continue
            yield slug, Projected(inp, dates, *_stock_run(inp, chosen, dates, n, rng))
        else:
            if inp.capacity_now is None:
                continue
            yield slug, Projected(inp, dates, *_pool_run(inp, chosen, dates, n, rng, target=0.1))


def _one_origin(
    ws: Workspace,
    infos: Sequence[ResourceInfo],
    origin: datetime,
    actual: dict[str, pd.DataFrame],
    ledgers: dict[str, flows.LedgerFrames],
    cases: dict[str, Cases],
    rng: np.random.Generator,
) -> None:
    h = ws.settings.forecast.horizon_days
    for slug, got in project_at(ws, infos, origin, ledgers, rng):
        res, dates = got.inp.res, got.dates
        if res.kind == "stock":
            happened = _observed_stock(res, actual[slug], dates)
            if happened is None:
                continue
            kept = cases.setdefault(slug, Cases(STOCK_EVENT))
            kept.predicted.append(got.projection.p_below_reserve_within_horizon)
            kept.observed.append(happened)
            today = dates[0] - pd.Timedelta(days=1)
            kept.climatology.append(_past_stock_rate(res, actual[slug], today, h))
        else:
            p_full = got.projection.p_all_units_out.to_numpy()
            full, known = _observed_pool(actual[slug], dates)
            kept = cases.setdefault(slug, Cases(POOL_EVENT))
            kept.predicted.extend(p_full[known].tolist())
            kept.observed.extend(full[known].tolist())
            # The origin's own day is not over: its past ends the day before.
            past = _past_pool_rate(actual[slug], dates[0] - pd.Timedelta(days=1))
            kept.climatology.extend([past] * int(known.sum()))
        kept.origins += 1


def backtest_risks(
    ws: Workspace,
    *,
    start: datetime,
    end: datetime,
    every_days: int = 28,
    stock_every_days: int = 7,
    slugs: Sequence[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
    seed: int = 0,
) -> RiskBacktest:
    """Forecast every resource at each origin in ``[start, end - horizon]`` and collect cases.

    Pools are forecast every ``every_days`` days (each origin gives a case per
    pool-day), stocks every ``stock_every_days`` (each origin gives one case:
    monthly origins over a year leave a dozen per stock, too few for a Brier
    score; cases from overlapping horizons are not independent, so a stock's
    figures stay a rough guide). ``start``/``end`` are tz-aware datetimes.
    Raises ForecastError when the period holds no origin (it must be longer
    than the forecast horizon).
    """
    h = ws.settings.forecast.horizon_days
    due = kinds_due(start, end, h, every_days, stock_every_days)
    origins = sorted(due)
    if not origins:
        raise ForecastError(
            f"no backtest origin between {start.date()} and {end.date()}",
            hint=f"the period must be longer than the forecast horizon ({h} days)",
        )
    with ws.store.read() as conn:
        infos = catalog.resources(conn, list(slugs) if slugs else None)
        # Each resource's ledger is read once; every origin sees only its past.
        ledgers = {res.slug: flows.read_ledger(conn, res) for res in infos}
        actual = {
            res.slug: flows.daily_flows(conn, res, until=end, ledger=ledgers[res.slug])
            for res in infos
        }
    rng = np.random.default_rng(seed)
    cases: dict[str, Cases] = {}
    for i, origin in enumerate(origins):
        now_due = [res for res in infos if res.kind in due[origin]]
        if now_due:
            _one_origin(ws, now_due, origin, actual, ledgers, cases, rng)
        if progress is not None:
            progress(i + 1, len(origins))
    return RiskBacktest(start, end, origins, cases)


def store_calibration(
    conn: Connection, result: RiskBacktest, *, now: datetime | None = None
) -> int:
    """Replace each backtested resource's stored calibration; returns rows written."""
    now = now or datetime.now(UTC)
    ids = {r.slug: r.id for r in catalog.resources(conn, list(result.cases))}
    written = 0
    for slug, got in result.cases.items():
        if not got.predicted:
            continue
        rel = got.assess()
        conn.execute(
            delete(RiskCalibration).where(
                RiskCalibration.resource_id == ids[slug], RiskCalibration.event == got.event
            )
        )
        conn.execute(
            insert(RiskCalibration),
            {
                "resource_id": ids[slug],
                "event": got.event,
                "computed_at": now,
                "period_start": result.start,
                "period_end": result.end,
                "origins": got.origins,
                "figures": rel.to_json(),
            },
        )
        written += 1
    return written
