"""Forecast runs against the store: flows in, risk figures and fan charts out.

For each resource the daily flows are read from the ledger, each flow gets a
forecaster chosen by backtest (fanned out over processes or a Dask cluster),
simulated paths become a level (stock) or occupancy (pool) projection, and the
run is stored with its method, scores, risk figures and quantile paths. Earlier
runs are scored against what actually happened since.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Row, insert, select, update

from steward import flow_refresh, flows, flows_many
from steward.availability import LOST_AFTER_DAYS, lost_loans
from steward.forecast import batch_inputs
from steward.forecast.projection import batched_demand
from steward.store import catalog
from steward.store.catalog import ResourceInfo
from steward.store.models import CapacityChange, Event, ForecastRun
from steward.workspace import Workspace

if TYPE_CHECKING:
    # The engine (statsmodels, scipy.stats: seconds to import) is imported where
    # a series is fitted, so a run that has nothing to forecast never loads it.
    from steward.forecast import PoolProjection, Selection, StockProjection

#: Shortest history (days) worth a model; shorter series still get a baseline.
MIN_HISTORY_DAYS = 14
#: Fit on at most this much recent history. Long enough for several yearly seasons:
#: the seasonal mean of weekly flows learns from every past year it is given, and
#: the backtest that chooses among methods gets more origins.
MAX_HISTORY_DAYS = 10 * 366
#: Weight of the simulated chance of all units out in the published one; the rest is
#: the pool's past share of days with every unit out (the climatology the risk backtest
#: scores it against). Chosen on the demo's rolling-origin backtest (design seed), where
#: the simulation alone was too sure at both ends; checked on two other demo seeds and
#: the MyTurn sample (tests/benchmarks/bench_risk_calibration.py).
SIMULATED_WEIGHT = 0.9
#: Days of history at which a pool's own published chance of every unit out and the
#: commons' share of booked-out days weigh the same: the chance is shrunk toward that
#: share by ``PRIOR_DAYS / (history days + PRIOR_DAYS)``. A pool with a season or two of
#: history knows little of the next (the demo's first origins: 90 winter days, then
#: pools booked out 45% of spring days given 4%). Chosen on the demo's rolling-origin
#: backtest (design seed: 180 scored better than 90); checked on two other demo seeds
#: and the MyTurn sample (tests/benchmarks/bench_risk_calibration.py). Alerts read the
#: simulation's chance of demand beyond the units, which this leaves as it was.
PRIOR_DAYS = 180
#: Days either side of a date that count as the same time of a past year: a pool's
#: published chance of every unit out has its odds scaled by how often it (and its
#: commons' pools) were booked out then, against their usual share (see
#: season_factor). Set before measuring, not tuned: a month-wide window, wide enough
#: to hold a few booked-out days of a pool that is full one day in ten.
SEASON_WINDOW_DAYS = 15
#: Booked-out days the commons' season is shrunk toward no season by (a Poisson-gamma
#: prior on the ratio of booked-out days seen to expected, as in Clayton and Kaldor
#: 1987): one pool's busy month is not yet its commons' season.
SEASON_COMMONS_PRIOR = 10.0
#: Booked-out days a pool's own season is shrunk toward its commons' by.
SEASON_POOL_PRIOR = 10.0
#: The season never scales the odds by more than this (nor by less than its inverse).
SEASON_MAX_FACTOR = 3.0
# The three season constants were chosen on the demo's rolling-origin backtest (design
# seed only; its first origins gave pools ~20% on 90 winter days, then 45% of the
# spring days were booked out, and later origins carried the autumn's level into the
# next summer); then checked on two other demo seeds and the MyTurn sample
# (tests/benchmarks/bench_risk_calibration.py). 10/10 scored best on the design seed
# among 1-100 for each; no cap and 5 scored as 3.
#: A pool's requests are taken to be at most this many times its loans (see
#: requests_per_loan): a guard for a pool booked out on nearly every past day, not a
#: fitted figure.
MAX_REQUESTS_PER_LOAN = 10.0
# SIMULATED_WEIGHT, PRIOR_DAYS and the season constants were chosen while the
# simulation drew the loans forecast as requests (see requests_per_loan), and not
# chosen again since; the season then scaled the chance, now its odds (seasonal_odds).
#: Resources read, fitted and stored together: enough to keep the workers busy,
#: few enough that a batch's frames and paths stay well under the memory target.
BATCH_RESOURCES = 100


@dataclass
class ForecastSummary:
    """What a forecast run did.

    ``skipped`` maps a resource slug to why it was not forecast again (its data
    have not changed since a stored run that is younger than
    ``forecast.max_age_hours``); ``flow_days`` counts daily-flow rows written.
    """

    runs: int = 0
    no_data: list[str] = field(default_factory=list)
    scored: int = 0
    methods: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    flow_days: int = 0


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
    #: Pool: loans out more than LOST_AFTER_DAYS past due, counted as lost capacity.
    lost_overdue: int = 0
    #: Pool: ends of day each loan still out has been out (the oldest, lost ones left out).
    ages: np.ndarray = field(default_factory=lambda: np.array([], dtype=np.int64))
    #: Pool: units each member took on a day (see projection.checkout_batches).
    batches: np.ndarray = field(default_factory=lambda: np.array([], dtype=float))
    #: Pool: share of its demand by weekday, Monday first (see weekday_profile).
    profile: np.ndarray = field(default_factory=lambda: np.full(7, 1 / 7))
    #: Pool: share of its complete past days that ended with every unit out.
    past_full: float = 0.0
    #: Pool: its complete past days (the weight of its own figures against the prior).
    past_days: int = 0
    #: Pool: mean ``past_full`` of its commons' pools forecast with it (see commons_prior).
    commons_full: float = 0.0
    #: Pool: its complete past days at its latest capacity (see _full_days), with
    #: ``full`` (1 if the day ended with every unit out) and ``expected`` (past_full).
    own_days: pd.DataFrame = field(default_factory=lambda: _no_days())
    #: Pool: ``own_days`` summed by day over its commons' pools (see commons_prior).
    commons_days: pd.DataFrame = field(default_factory=lambda: _no_days())


def _no_days() -> pd.DataFrame:
    return pd.DataFrame({"full": [], "expected": []}, index=pd.DatetimeIndex([]), dtype=float)


def _local_today(res: ResourceInfo, now: datetime) -> pd.Timestamp:
    return pd.Timestamp(now).tz_convert(res.timezone).normalize().tz_localize(None)


def _future_days(res: ResourceInfo, now: datetime, h: int) -> pd.DatetimeIndex:
    return pd.date_range(_local_today(res, now) + pd.Timedelta(days=1), periods=h, freq="D")


def _by_local_day(times: pd.Series, values: pd.Series, tz: str) -> pd.Series:
    days = pd.to_datetime(times, utc=True).dt.tz_convert(tz).dt.normalize().dt.tz_localize(None)
    return values.groupby(days.to_numpy()).sum()


@dataclass
class _Facts:
    """A batch's figures read by one grouped query each rather than one per resource:
    units on loan and capacity changes so far by pool, plans (scheduled events and
    capacity changes after ``now``) by resource. Absent ids have none."""

    on_loan: dict[int, Decimal]
    capacity_delta: dict[int, Decimal]
    scheduled: dict[int, list[Any]]
    planned: dict[int, list[Any]]


def _facts(conn: Connection, infos: Sequence[ResourceInfo], now: datetime) -> _Facts:
    ids = [r.id for r in infos]
    pools = [r.id for r in infos if r.kind == "pool"]
    scheduled: dict[int, list[Any]] = {}
    planned: dict[int, list[Any]] = {}
    for i in range(0, len(ids), 900):  # within old SQLite builds' 999 parameters
        chunk = ids[i : i + 900]
        for rid, *row in conn.execute(
            select(Event.resource_id, Event.occurred_at, Event.kind, Event.quantity).where(
                Event.resource_id.in_(chunk), Event.scheduled.is_(True), Event.occurred_at > now
            )
        ):
            scheduled.setdefault(rid, []).append(row)
        for rid, *row in conn.execute(
            select(
                CapacityChange.resource_id, CapacityChange.effective_at, CapacityChange.delta
            ).where(
                CapacityChange.resource_id.in_(chunk),
                CapacityChange.scheduled.is_(True),
                CapacityChange.effective_at > now,
            )
        ):
            planned.setdefault(rid, []).append(row)
    return _Facts(
        flows.on_loan_many(conn, pools, now),
        flows.capacity_deltas(conn, pools, now),
        scheduled,
        planned,
    )


def _inputs(
    conn: Connection,
    res: ResourceInfo,
    now: datetime,
    ledger: flows.LedgerFrames | None = None,
    lost: int | None = None,
    facts: _Facts | None = None,
) -> _Inputs:
    """One resource's forecast inputs as of ``now`` (see :func:`_inputs_many`)."""
    ledger = ledger or flows.read_ledger(conn, res)
    batch = flows.LedgerBatch(ledger.events.assign(resource_id=res.id), {res.id: ledger})
    if lost is None and res.kind == "pool":
        lost = _lost_overdue(conn, [res.id], now).get(res.id, 0)
    return _inputs_many(conn, [res], now, batch, {res.id: lost or 0}, facts)[res.slug]


def _inputs_many(
    conn: Connection,
    infos: Sequence[ResourceInfo],
    now: datetime,
    batch: flows.LedgerBatch,
    lost: dict[int, int],
    facts: _Facts | None = None,
) -> dict[str, _Inputs]:
    """Forecast inputs of each resource as of ``now``, by slug, from its ledger in ``batch``.

    ``lost`` holds each pool's loans counted as lost (:func:`_lost_overdue`, absent: 0).
    Daily flows, weekly series, weekday profiles and loans are computed for all the
    resources at once (:mod:`steward.flows_many`, :mod:`steward.forecast.batch_inputs`).
    """
    facts = facts or _facts(conn, infos, now)
    daily = flows_many.daily_flows_many(batch.events, batch.ledgers, infos, now)
    # Today is not over yet: fit on complete days only.
    weekly = batch_inputs.weekly_many(
        daily,
        {r.id: ("used", "replenished") if r.kind == "stock" else ("demand",) for r in infos},
        {r.id: _local_today(r, now) - pd.Timedelta(days=1) for r in infos},
        MAX_HISTORY_DAYS,
    )
    pools = [r for r in infos if r.kind == "pool"]
    profiles = batch_inputs.weekday_profiles({r.id: daily[r.id] for r in pools})
    # Only what was recorded by ``now``: a backtest reads the whole ledger once, and a
    # loan's later return must not tell a past forecast how long it would stay out.
    loans = batch_inputs.loan_facts(batch.events, pools, pd.Timestamp(now))
    out = {}
    for res in infos:
        scheduled, capacity_plan = _plans(res, facts)
        if res.kind == "stock":
            series = {"use": weekly[res.id]["used"], "replenish": weekly[res.id]["replenished"]}
            out[res.slug] = _Inputs(
                res,
                daily[res.id],
                series,
                np.array([]),
                float(flows.level(conn, res, now)),
                0,
                None if res.capacity is None else float(res.capacity),
                scheduled,
                capacity_plan,
            )
            continue
        mine = loans[res.id]
        capacity_now = flows.capacity_with(res, facts.capacity_delta.get(res.id, Decimal(0)))
        # Loans far past due are not coming back at the usual pace: rather than let
        # the simulation return them soon, count them as units the pool has lost.
        gone = lost.get(res.id, 0)
        if capacity_now is not None:
            # No more units lost than the pool has (steward.availability.units).
            gone = min(gone, max(int(capacity_now), 0))
        out[res.slug] = _Inputs(
            res,
            daily[res.id],
            {"demand": weekly[res.id]["demand"]},
            mine.durations if len(mine.durations) else np.array([7.0]),
            0.0,
            int(facts.on_loan.get(res.id, Decimal(0))) - gone,
            None if capacity_now is None else float(capacity_now) - gone,
            scheduled,
            capacity_plan,
            gone,
            # The lost loans are taken to be the oldest ones.
            mine.ages[: max(len(mine.ages) - gone, 0)],
            mine.batches,
            profiles[res.id],
            _past_full_share(daily[res.id], _local_today(res, now)),
            _past_days(daily[res.id], _local_today(res, now)),
        )
        full = _full_days(daily[res.id], _local_today(res, now))
        out[res.slug].own_days = pd.DataFrame(
            {"full": full, "expected": out[res.slug].past_full}, index=full.index, dtype=float
        )
    commons_prior(out.values())
    return out


def commons_prior(inputs: Iterable[_Inputs]) -> None:
    """Set each pool's ``commons_full``: the mean share of booked-out past days over
    the pools of its commons among ``inputs`` (itself included; stocks are skipped),
    and its ``commons_days``: their ``own_days`` summed by day (the season's pool-days).

    The prior a pool with little history is shrunk toward (see PRIOR_DAYS): what a
    pool of this commons usually looks like, where the pool's own past says little. A
    run sets it over the pools read together (a batch of BATCH_RESOURCES, or those
    named), the risk backtest over every pool forecast at an origin. Modifies the
    inputs in place; returns nothing.
    """
    pools = [inp for inp in inputs if inp.res.kind == "pool"]
    by_commons: dict[str, list[float]] = {}
    for inp in pools:
        by_commons.setdefault(inp.res.commons_slug, []).append(inp.past_full)
    days: dict[str, list[pd.DataFrame]] = {}
    for inp in pools:
        days.setdefault(inp.res.commons_slug, []).append(inp.own_days)
    summed = {
        slug: pd.concat(frames).groupby(level=0).sum().sort_index() for slug, frames in days.items()
    }
    for inp in pools:
        shares = by_commons[inp.res.commons_slug]
        inp.commons_full = float(np.mean(shares))
        inp.commons_days = summed[inp.res.commons_slug]


def _past_days(frame: pd.DataFrame, today: pd.Timestamp) -> int:
    """A pool's complete days before ``today`` with units on loan and capacity known."""
    return len(frame.loc[frame.index < today, ["level", "capacity"]].dropna())


def shrink_to_prior(p: pd.Series, prior: float, past_days: int) -> pd.Series:
    """A pool's chance of every unit out shrunk toward its commons' share of booked-out days.

    ``p``: the pool's published chance per day (0-1); ``prior``: its commons'
    share of booked-out past days (:func:`commons_prior`); ``past_days``: the pool's
    complete days of history. Returns ``a * p + (1 - a) * prior`` with ``a =
    past_days / (past_days + PRIOR_DAYS)``: the usual shrinkage of a per-unit estimate
    toward its group's mean by the amount of its own data (empirical Bayes, as in
    Efron and Morris 1975). Returns a series of the same index. Raises ValueError
    for a negative ``past_days``.
    """
    if past_days < 0:
        raise ValueError(f"past_days must be >= 0, got {past_days}")
    a = past_days / (past_days + PRIOR_DAYS) if PRIOR_DAYS > 0 else 1.0
    return a * p + (1.0 - a) * prior


def requests_per_loan(past_full: float) -> float:
    """Requests a pool was asked for per loan it recorded: ``1 / (1 - past_full)``.

    A pool records only the loans it made: a member who found every unit out left
    no trace, so its demand series (and the forecast of it) counts loans, requests
    already turned away once. Drawn as requests in the simulation, which turns away
    those that find every unit out, they lent fewer units than were recorded and
    gave the pool less often booked out than it was (the demo's design seed: half
    its requests turned away; over its backtest the simulation alone gave 24% where
    38% of days ended with every unit out). A request arriving at a random moment
    finds every unit out with the share of time the pool is booked out (Poisson
    arrivals see time averages, Wolff 1982), estimated by ``past_full``, the share of
    its past days at its present units that ended so; so each loan stands for
    ``1 / (1 - past_full)`` requests, at most MAX_REQUESTS_PER_LOAN. Raises
    ValueError for a share outside 0-1.
    """
    if not 0.0 <= past_full <= 1.0:
        raise ValueError(f"past_full must be a share between 0 and 1, got {past_full}")
    return min(1.0 / max(1.0 - past_full, 1e-12), MAX_REQUESTS_PER_LOAN)


def seasonal_odds(p: pd.Series, factor: np.ndarray) -> pd.Series:
    """``p`` (chances per day, 0-1) with their odds scaled by ``factor`` (see
    season_factor): ``p * f / (1 - p + p * f)``.

    A ratio of booked-out days seen to expected scales the odds, not the chance:
    x3 on a 30% chance gives 56%, not 90%. The two agree for small chances. A chance
    of 0 or 1 stays so. Returns a series of the same index.
    """
    f = np.asarray(factor, dtype=float)
    q = p.to_numpy(dtype=float)
    # Where the factor is 1 (no past year), the chance is left exactly as it was.
    scaled = np.where(f == 1.0, q, q * f / (1.0 - q + q * f))
    return pd.Series(scaled, index=p.index, name=p.name)


def same_time_of_year(
    days: pd.DataFrame, dates: pd.DatetimeIndex, window: int = SEASON_WINDOW_DAYS
) -> np.ndarray:
    """Sums of ``days``' columns over the same time of every past year, per date.

    ``days``: past days (sorted local days, any numeric columns); ``dates``: the
    horizon's days. For a date ``d`` the days within ``window`` days (inclusive) of
    ``d`` one, two, ... years earlier are summed: a pool's booked-out days around 15
    June of the past years, say. Returns an array of shape (len(dates), columns),
    zero where no past year reaches. Raises ValueError for a negative ``window``.
    """
    if window < 0:
        raise ValueError(f"window must be >= 0 days, got {window}")
    values = days.to_numpy(dtype=float)
    out = np.zeros((len(dates), values.shape[1]))
    if not len(days) or not len(dates):
        return out
    index = pd.DatetimeIndex(days.index)
    cum = np.vstack([np.zeros(values.shape[1]), np.cumsum(values, axis=0)])
    span = pd.Timedelta(days=window)
    years = (dates.max() - index[0]).days // 365 + 1
    for k in range(1, years + 1):
        centre = dates - pd.DateOffset(years=k)
        lo = index.searchsorted(centre - span, side="left")
        hi = index.searchsorted(centre + span, side="right")
        out += cum[hi] - cum[lo]
    return out


def season_factor(own: np.ndarray, commons: np.ndarray) -> np.ndarray:
    """Per horizon day, how much busier than usual a pool was at that time of past years.

    ``own``/``commons``: (days, 2) arrays of booked-out days seen and expected at
    the pool's usual share (:func:`same_time_of_year` of ``own_days`` and
    ``commons_days``). The commons' ratio of seen to expected is shrunk toward 1 by
    SEASON_COMMONS_PRIOR expected days, the pool's own toward the commons' by
    SEASON_POOL_PRIOR (Poisson-gamma shrinkage of a standardized ratio, Clayton and
    Kaldor 1987), and bounded by SEASON_MAX_FACTOR. A ratio, not a difference: a
    pool never booked out stays so however busy its commons' summers are. Returns
    1 where no past year covers the day. Raises ValueError on mismatched shapes.
    """
    own, commons = np.asarray(own, dtype=float), np.asarray(commons, dtype=float)
    if own.shape != commons.shape or own.ndim != 2 or own.shape[1] != 2:
        raise ValueError(f"expected two (days, 2) arrays, got {own.shape} and {commons.shape}")
    rc = (commons[:, 0] + SEASON_COMMONS_PRIOR) / (commons[:, 1] + SEASON_COMMONS_PRIOR)
    rp = (own[:, 0] + SEASON_POOL_PRIOR * rc) / (own[:, 1] + SEASON_POOL_PRIOR)
    return np.clip(rp, 1.0 / SEASON_MAX_FACTOR, SEASON_MAX_FACTOR)


def _full_days(frame: pd.DataFrame, today: pd.Timestamp) -> pd.Series:
    """1.0 for each of a pool's complete days before ``today`` at its latest capacity
    that ended with every unit out, else 0.0 (see :func:`_past_full_share`)."""
    past = frame.loc[frame.index < today, ["level", "capacity"]].dropna()
    if past.empty:
        return pd.Series(dtype=float, index=pd.DatetimeIndex([]))
    cap = past["capacity"]
    past = past.loc[cap == cap.iloc[-1]]
    cap = past["capacity"]
    return ((past["level"] >= cap) & (cap > 0)).astype(float)


def _past_full_share(frame: pd.DataFrame, today: pd.Timestamp) -> float:
    """Share of a pool's complete days before ``today`` at its latest capacity that
    ended with every unit out (0 without any).

    ``frame``: the pool's daily flows (``level``: units on loan at the day's end,
    ``capacity``: its units that day), indexed by local day. Only days at the last
    complete day's capacity count: a pool just given more units was full more often
    at its old size, and that share would overstate the new one's (2 drills out of 2
    is not 2 of 3). It is the climatology of the risk backtest, restricted to the pool
    as it now is.
    """
    full = _full_days(frame, today)
    return float(full.mean()) if len(full) else 0.0


def _plans(res: ResourceInfo, facts: _Facts) -> tuple[pd.Series, pd.Series]:
    """The resource's scheduled net flow and capacity changes by local day (empty: none)."""
    scheduled = pd.Series(dtype=float)
    if res.id in facts.scheduled:
        future = pd.DataFrame(facts.scheduled[res.id], columns=["occurred_at", "kind", "quantity"])
        signed = future["quantity"].astype(float) * np.where(future["kind"] == "use", -1.0, 1.0)
        scheduled = _by_local_day(future["occurred_at"], signed, res.timezone)
    capacity_plan = pd.Series(dtype=float)
    if res.id in facts.planned:
        planned = pd.DataFrame(facts.planned[res.id], columns=["effective_at", "delta"])
        capacity_plan = _by_local_day(
            planned["effective_at"], planned["delta"].astype(float), res.timezone
        )
    return scheduled, capacity_plan


def _lost_overdue(conn: Connection, pool_ids: Sequence[int], now: datetime) -> dict[int, int]:
    """Per pool, its loans counted lost (:func:`steward.availability.lost_loans`): the
    units status, the quota budget and the resource page also leave out."""
    return {rid: len(due) for rid, due in lost_loans(conn, pool_ids, now).items()}


def _weekly(frame: pd.DataFrame) -> pd.DataFrame:
    """Complete Monday-Sunday weeks of daily flows.

    Flows are lumpy (dues on the 1st, a storm, a busy Saturday): weekly totals
    forecast far better than days that are mostly zero with rare spikes, and a
    yearly season is 52 points instead of 365. A run builds a batch's series with
    :func:`batch_inputs.weekly_many`; this one resource's form is its reference (a
    test holds them equal) and the library benchmark's.
    """
    weekly = frame.clip(lower=0.0).resample("W-SUN").sum()
    if len(frame) and len(weekly) and weekly.index[-1] > frame.index[-1]:
        weekly = weekly.iloc[:-1]  # the current week is not complete
    return weekly


def weekday_profile(daily: pd.Series) -> np.ndarray:
    """Share of a week's demand that falls on each weekday (Monday first).

    One resource's form of :func:`batch_inputs.weekday_profiles`, which a run uses.
    """
    by_day = daily.clip(lower=0.0).groupby(daily.index.day_of_week).sum().reindex(range(7))
    return batch_inputs.profile_of(by_day)


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
    from steward.forecast import project_stock

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
    profile = inp.profile
    # Checkouts arrive in batches (a member's units of a day): Poisson batches around
    # the expected count of each day. The
    # point path is used because additive noise on a near-zero winter week, clipped
    # at zero, would invent demand that no season shows.
    expected = _daily_from_weekly(
        sel["demand"], inp.series["demand"], dates, n, rng, profile, point_only=True
    )
    demand = batched_demand(expected, inp.batches, rng)
    base = inp.capacity_now or 0.0
    plan = (
        inp.capacity_plan.reindex(dates, fill_value=0.0).cumsum() if len(inp.capacity_plan) else 0.0
    )
    capacity = pd.Series(base, index=dates) + plan
    from steward.forecast import project_pool

    proj = project_pool(
        inp.on_loan_now,
        demand,
        inp.durations,
        capacity,
        dates=dates,
        rng=rng,
        target=target,
        ages=inp.ages,
        # The demand forecast counts loans; the simulation that turns requests away
        # needs the requests behind them (see requests_per_loan).
        requests_paths=batched_demand(
            expected * requests_per_loan(inp.past_full), inp.batches, rng
        ),
    )
    if SIMULATED_WEIGHT < 1.0:
        # The published chance of all units out (the one the backtest scores, the
        # dashboard shows and an alert's track record quotes) leans on how often this
        # pool was booked out before: the simulation alone was too sure.
        blended = SIMULATED_WEIGHT * proj.p_all_units_out + (1 - SIMULATED_WEIGHT) * inp.past_full
        proj = replace(proj, p_all_units_out=blended.rename("p_all_units_out"))
    if PRIOR_DAYS > 0:
        # A pool with little history is shrunk toward what its commons' pools usually
        # show: alone, its first season's figures were sure of a quiet spring.
        shrunk = shrink_to_prior(proj.p_all_units_out, inp.commons_full, inp.past_days)
        proj = replace(proj, p_all_units_out=shrunk.rename("p_all_units_out"))
    # Demand has a season the simulation's recent level does not carry 240 days ahead
    # (the demo's autumn origins gave the next summer less than the winter): scale the
    # odds by how booked out the pool and its commons were at the same time of past
    # years.
    factor = season_factor(
        same_time_of_year(inp.own_days[["full", "expected"]], dates),
        same_time_of_year(inp.commons_days[["full", "expected"]], dates),
    )
    seasonal = seasonal_odds(proj.p_all_units_out, factor).clip(0.0, 1.0)
    proj = replace(proj, p_all_units_out=seasonal.rename("p_all_units_out"))
    peak = proj.p_over_capacity.idxmax() if len(proj.p_over_capacity) else None
    risk = {
        "on_loan_now": inp.on_loan_now,
        "capacity": base,
        "lost_overdue": inp.lost_overdue,
        "lost_after_days": LOST_AFTER_DAYS,
        "max_p_over_capacity": round(proj.max_p_over_capacity, 4),
        "peak_date": _iso(peak),
        "p_over_capacity_dates": _clean(proj.p_over_capacity.to_numpy()),
        # The calibrated figure (steward calibrate): the dashboard's track record uses it.
        "max_p_all_units_out": round(float(proj.p_all_units_out.max()), 4),
        "expected_unmet": round(float(proj.expected_unmet.sum()), 4),
        "extra_units_needed": int(proj.extra_units_needed),
        "horizon_end": dates[-1].date().isoformat(),
        # What the published chance of all units out blends (see SIMULATED_WEIGHT).
        "past_full_share": round(inp.past_full, 4),
        # ... which also says how many requests each loan forecast stood for.
        "requests_per_loan": round(requests_per_loan(inp.past_full), 4),
        "simulated_weight": SIMULATED_WEIGHT,
        # ... and the commons' share it is shrunk toward, by the pool's days of history.
        "commons_full_share": round(inp.commons_full, 4),
        "past_days": inp.past_days,
        "prior_days": PRIOR_DAYS,
        # ... and the season it is scaled by, day by day (1: no past year to read).
        "season_factor_min": round(float(factor.min()), 4),
        "season_factor_max": round(float(factor.max()), 4),
    }
    paths = _paths_json(
        proj.occupancy_quantiles,
        {
            "capacity": proj.capacity,
            "p_over_capacity": proj.p_over_capacity,
            # The event the risk backtest scores (steward calibrate): an alert quoting a
            # track record needs that event's chance on its own day.
            "p_all_units_out": proj.p_all_units_out,
        },
    )
    return risk, paths, proj


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


@dataclass
class _Plan:
    """Per resource: its ledger mark, stored watermark, where its flows go stale, and
    whether it is forecast again (else the reason it is skipped)."""

    res: ResourceInfo
    mark: flow_refresh.LedgerMark
    state: Row[Any] | None
    inputs_key: str
    skip_reason: str | None


def _forecast_inputs_key(
    res: ResourceInfo, mark: flow_refresh.LedgerMark, now: datetime, h: int, n: int
) -> str:
    """What a forecast depends on: the ledger, the last complete week, horizon and paths."""
    week = (_local_today(res, now) - pd.Timedelta(days=1)).to_period("W-SUN").start_time
    return f"{mark.key()}|w{week.date().isoformat()}|h{h}|n{n}"


def _plan_runs(
    conn: Connection,
    infos: Sequence[ResourceInfo],
    now: datetime,
    h: int,
    n: int,
    max_age: timedelta,
) -> list[_Plan]:
    """Which resources need their flows refreshed or a new forecast, read in three scans."""
    ids = [res.id for res in infos]
    marks = flow_refresh.ledger_marks(conn, ids)
    states = flow_refresh.flow_states(conn, ids)
    plans = []
    for res in infos:
        mark, state = marks[res.id], states.get(res.id)
        key = _forecast_inputs_key(res, mark, now, h, n)
        reason = None
        if state is not None and state.forecast_inputs == key and state.forecast_at is not None:
            age = now - state.forecast_at
            if timedelta(0) <= age < max_age:
                reason = (
                    f"data unchanged since its forecast at {state.forecast_at:%Y-%m-%d %H:%M} UTC"
                )
        plans.append(_Plan(res, mark, state, key, reason))
    return plans


def _flows_current(plan: _Plan, now: datetime) -> bool:
    state = plan.state
    return (
        state is not None
        and state.flows_through is not None
        and flow_refresh.mark_of(state) == plan.mark.flows_part()
        and state.flows_through >= _local_today(plan.res, now).date()
    )


def run_forecasts(
    ws: Workspace,
    slugs: Sequence[str] | None = None,
    *,
    now: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
    seed: int = 0,
) -> ForecastSummary:
    """Refresh daily flows and forecast every resource whose inputs changed.

    Inputs are read once per run, a batch of BATCH_RESOURCES resources at a time
    (one query per ledger table per batch); worker processes (``forecast.workers``,
    default one fewer than the cores) fit a batch while this process reads the next
    and stores the previous. A resource whose ledger, last complete week, horizon and
    path count are those of its last stored run, younger than
    ``forecast.max_age_hours``, is skipped and listed in the summary with why.
    Each resource is written in its own short transaction (flows, watermark,
    forecast run): a crash leaves every resource either updated or as it was.
    """
    now = now or datetime.now(UTC)
    cfg = ws.settings.forecast
    h, n = cfg.horizon_days, cfg.paths
    summary = ForecastSummary()
    with ws.store.read() as conn:
        infos = catalog.resources(conn, list(slugs) if slugs else None)
        plans = _plan_runs(conn, infos, now, h, n, timedelta(hours=cfg.max_age_hours))
    for p in plans:
        if p.skip_reason is not None:
            summary.skipped[p.res.slug] = p.skip_reason
    todo = [p for p in plans if p.skip_reason is None or not _flows_current(p, now)]
    # Resources go through in batches: at most two batches' ledgers, frames and
    # paths are held at once, so memory stays flat however many resources there
    # are; the worker processes stay up from one batch to the next.
    expected = sum(1 if p.res.kind == "pool" else 2 for p in todo if p.skip_reason is None)
    executor = cfg.executor or ("serial" if expected <= 2 else None)

    def batch_progress(offset: int) -> Callable[[int, int], None]:
        def report(k: int, _total: int) -> None:
            if progress is not None:
                progress(offset + k, max(expected, offset + k))

        return report

    # While the workers fit one batch, this process reads the next and stores the
    # previous: it has about as much to do as the fitting, so on a small machine one
    # worker fewer than the cores keeps them all busy, and one process less holds
    # the engine's imports in memory.
    workers = cfg.workers or max(1, (os.cpu_count() or 1) - 1)
    submitted = 0
    pending: tuple[_Batch, Future[dict[str, Any]]] | None = None
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="steward-fit") as fitter:
        for first in range(0, len(todo), BATCH_RESOURCES):
            batch = _read_batch(ws, todo[first : first + BATCH_RESOURCES], now)
            report = batch_progress(submitted)
            submitted += len(batch.series)
            fits = fitter.submit(_fit_batch, batch, h, executor, workers, report)
            if pending is not None:
                _store_batch(ws, *pending, now, seed, summary)
            pending = (batch, fits)
        if pending is not None:
            _store_batch(ws, *pending, now, seed, summary)
    return summary


@dataclass
class _Batch:
    """One batch's plans and what was read for them: ledgers, forecast inputs (the
    resources to forecast), daily flows of the skipped ones, and the weekly series."""

    todo: Sequence[_Plan]
    ledgers: dict[int, flows.LedgerFrames]
    inputs: dict[str, _Inputs]
    frames: dict[str, pd.DataFrame]
    series: dict[str, pd.Series]


def _read_batch(ws: Workspace, todo: Sequence[_Plan], now: datetime) -> _Batch:
    """Read one batch's ledgers and build its inputs (one query per ledger table).

    A plan's ledger mark was read before its ledger: rows recorded in between make
    the stored mark older than the flows, so the next run redoes them, never skips them.
    """
    with ws.store.read() as conn:
        batch = flows.read_ledger_batch(conn, [p.res.id for p in todo])
        ledgers = batch.ledgers
        fit = [p.res for p in todo if p.skip_reason is None]
        lost = _lost_overdue(conn, [r.id for r in fit if r.kind == "pool"], now)
        inputs = _inputs_many(conn, fit, now, batch, lost, _facts(conn, fit, now))
        kept = [p.res for p in todo if p.skip_reason is not None]
        daily = flows_many.daily_flows_many(batch.events, ledgers, kept, now)
        frames = {res.slug: daily[res.id] for res in kept}
    # Every flow is forecast per week (see _weekly) and spread back over the days.
    series = {
        f"{slug}:{name}": y
        for slug, inp in inputs.items()
        for name, y in inp.series.items()
        if y.notna().sum() > 0
    }
    return _Batch(todo, ledgers, inputs, frames, series)


def _fit_batch(
    batch: _Batch,
    h: int,
    executor: str | None,
    workers: int,
    progress: Callable[[int, int], None],
) -> dict[str, Any]:
    """Selections for the batch's series by key (runs beside the reading and storing)."""
    if not batch.series:
        return {}
    from steward.forecast import forecast_many

    return forecast_many(
        batch.series,
        weeks_for(h),
        executor=executor,
        workers=workers,
        progress=progress,
        nonnegative=True,
    )


def _store_batch(
    ws: Workspace,
    batch: _Batch,
    fits: Future[dict[str, Any]],
    now: datetime,
    seed: int,
    summary: ForecastSummary,
) -> int:
    """Store one batch's flows, watermarks and forecasts once its fits are back;
    returns the number of series fitted. Each resource is its own transaction."""
    cfg = ws.settings.forecast
    h, n = cfg.horizon_days, cfg.paths
    selections = fits.result()
    todo, ledgers, inputs, frames = batch.todo, batch.ledgers, batch.inputs, batch.frames
    for p in todo:
        res = p.res
        frame = inputs[res.slug].flows if res.slug in inputs else frames[res.slug]
        start = flow_refresh.rewrite_from(res, p.state, p.mark, ledgers[res.id])
        with ws.store.write() as conn:
            summary.flow_days += flow_refresh.write_flows(conn, res, frame, start)
            through = flow_refresh.last_day(frame)
            if res.slug not in inputs:
                assert p.state is not None
                flow_refresh.save_state(
                    conn,
                    res,
                    p.mark,
                    through,
                    forecast_inputs=p.state.forecast_inputs,
                    forecast_at=p.state.forecast_at,
                )
                continue
            # Per resource, so its paths do not depend on which others ran.
            rng = np.random.default_rng([seed, res.id])
            stored = _store_forecast(conn, inputs[res.slug], selections, now, h, n, rng, summary)
            flow_refresh.save_state(
                conn,
                res,
                p.mark,
                through,
                forecast_inputs=p.inputs_key if stored else None,
                forecast_at=now if stored else None,
            )
    return len(batch.series)


def _store_forecast(
    conn: Connection,
    inp: _Inputs,
    selections: dict[str, Any],
    now: datetime,
    h: int,
    n: int,
    rng: np.random.Generator,
    summary: ForecastSummary,
) -> bool:
    """Score the resource's earlier runs and store a new one; False when it has no data."""
    res = inp.res
    slug = res.slug
    summary.scored += score_past_runs(conn, res, inp.flows, now)
    from steward.forecast import Selection

    chosen: dict[str, Selection] = {}
    for name in inp.series:
        got = selections.get(f"{slug}:{name}")
        if isinstance(got, Selection):
            chosen[name] = got
    if not chosen or not any(s.has_data for s in chosen.values()):
        summary.no_data.append(slug)
        return False
    dates = _future_days(res, now, h)
    if res.kind == "stock":
        if set(chosen) != {"use", "replenish"}:
            summary.no_data.append(slug)
            return False
        risk, paths, _ = _stock_run(inp, chosen, dates, n, rng)
    else:
        if inp.capacity_now is None:
            summary.no_data.append(slug)
            return False
        risk, paths, _ = _pool_run(inp, chosen, dates, n, rng, target=0.1)
    method = " + ".join(f"{k}: {s.method}" for k, s in chosen.items())
    reason = " | ".join(f"{k}: {_flow_reason(inp, k, s, risk)}" for k, s in chosen.items())
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
    return True


def _flow_reason(
    inp: _Inputs, flow: str, sel: Selection, risk: dict[str, Any] | None = None
) -> str:
    """The flow's reason as a steward reads it; a pool's demand also says how its
    published chance of every unit being out was made (see SIMULATED_WEIGHT), and
    with the run's ``risk`` the season it was scaled by (see season_factor)."""
    if flow != "demand" or inp.res.kind != "pool" or SIMULATED_WEIGHT >= 1.0:
        return sel.reason
    return (
        f"{sel.reason.rstrip('.')}. The chance of every unit being out is "
        f"{SIMULATED_WEIGHT:.0%} the simulation's and {1 - SIMULATED_WEIGHT:.0%} how often "
        f"the pool was booked out before ({inp.past_full:.0%} of its past days with "
        "as many units): the simulation alone proved too sure when checked against "
        "past forecasts"
        f"{_prior_words(inp)}"
        f"{_season_words(risk)}"
    )


def _season_words(risk: dict[str, Any] | None) -> str:
    """The reason's words for the season (see season_factor); none without one."""
    if not risk or "season_factor_min" not in risk:
        return ""
    lo, hi = risk["season_factor_min"], risk["season_factor_max"]
    if lo == hi == 1.0:
        return ""
    span = f"x{lo:.2f}" if lo == hi else f"x{lo:.2f} to x{hi:.2f}"
    return (
        f"; then its odds scaled by how often it and its commons' pools were booked out at the "
        f"same time of past years against their usual share ({span} over the horizon)"
    )


def _prior_words(inp: _Inputs) -> str:
    """The reason's words for the shrinkage toward the commons (see PRIOR_DAYS)."""
    if PRIOR_DAYS <= 0:
        return ""
    lean = PRIOR_DAYS / (inp.past_days + PRIOR_DAYS)
    return (
        f"; with {inp.past_days} days of history it leans {lean:.0%} on how often the "
        f"commons' pools were booked out ({inp.commons_full:.0%} of their days)"
    )


def _finite(value: float) -> float | None:
    return round(float(value), 4) if math.isfinite(float(value)) else None
