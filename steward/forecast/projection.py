"""Turn sample paths into resource risks: stock depletion and pool over-booking.

Pure numpy/pandas. A *stock* (water tank, seed bank, fuel) is used and
replenished; a *pool* (tools, bikes) lends units out for a while.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from steward.errors import ForecastError
from steward.forecast.base import quantile_column

FAN_QUANTILES: tuple[float, ...] = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95)


def _fan(paths: np.ndarray, dates: pd.DatetimeIndex) -> pd.DataFrame:
    qs = np.quantile(paths, FAN_QUANTILES, axis=0).T
    frame = pd.DataFrame(qs, index=dates, columns=[quantile_column(q) for q in FAN_QUANTILES])
    frame["mean"] = paths.mean(axis=0)
    return frame


def _first_date(p: pd.Series, threshold: float) -> pd.Timestamp | None:
    hit = np.flatnonzero(p.to_numpy() >= threshold)
    return pd.Timestamp(p.index[hit[0]]) if len(hit) else None


def _as_paths(x: np.ndarray | float, h: int, what: str) -> np.ndarray:
    arr = np.asarray(x, dtype=float)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim == 0:
        arr = np.full((1, h), float(arr))
    if arr.ndim != 2 or arr.shape[1] != h:
        raise ForecastError(f"{what} must have shape (n, {h}), got {arr.shape}")
    if not np.isfinite(arr).all():
        raise ForecastError(f"{what} contains non-finite values")
    return arr


@dataclass(frozen=True)
class StockProjection:
    """Simulated stock levels (end of each day) and what they imply.

    ``p_below_reserve`` is cumulative: P(the level has been below the reserve at
    some point up to and including that date). Without a reserve, "below
    reserve" means empty. ``expected_depletion_date`` is the median date of
    first running empty (None when fewer than half the paths run empty).
    """

    dates: pd.DatetimeIndex
    level_paths: np.ndarray
    p_below_reserve: pd.Series
    p_below_reserve_within_horizon: float
    date_p50: pd.Timestamp | None
    date_p90: pd.Timestamp | None
    level_quantiles: pd.DataFrame
    expected_depletion_date: pd.Timestamp | None
    p_empty: pd.Series
    expected_unmet: pd.Series
    expected_overflow: pd.Series


def project_stock(
    level0: float,
    use_paths: np.ndarray,
    replenish_paths: np.ndarray,
    *,
    dates: pd.DatetimeIndex,
    reserve: float | None,
    capacity: float | None,
    scheduled: pd.Series | None = None,
) -> StockProjection:
    """Simulate ``level = level0 + cumsum(replenish + scheduled - use)`` day by day.

    Each day replenishment and scheduled deliveries arrive, then use is served
    from what is there: use beyond the stock is counted as unmet (use never takes
    the level below zero), and anything above ``capacity`` overflows and is lost.
    A ``level0`` below zero (a ledger that recorded more out than in) is kept, not
    lifted to zero: the paths start there and replenishment fills the gap first.
    Negative use or replenishment paths are treated as zero.
    """
    h = len(dates)
    if h == 0:
        raise ForecastError("project_stock needs at least one date")
    use = np.clip(_as_paths(use_paths, h, "use_paths"), 0, None)
    rep = np.clip(_as_paths(replenish_paths, h, "replenish_paths"), 0, None)
    n = max(use.shape[0], rep.shape[0])
    use, rep = np.broadcast_to(use, (n, h)), np.broadcast_to(rep, (n, h))
    sched = np.zeros(h)
    if scheduled is not None:
        sched = scheduled.groupby(level=0).sum().reindex(dates, fill_value=0.0).to_numpy(float)
    cap = np.inf if capacity is None else float(capacity)
    # A level recorded below zero (a fund that paid out more than its records show
    # coming in) starts where it is: lifting it to 0 would forecast a stock that much
    # fuller than the ledger says. Replenishment pays the deficit off first.
    level = np.full(n, min(float(level0), cap))
    levels, unmet, overflow = np.empty((n, h)), np.empty((n, h)), np.empty((n, h))
    for t in range(h):
        available = np.maximum(level + rep[:, t] + sched[t], np.minimum(level, 0.0))
        served = np.minimum(use[:, t], np.maximum(available, 0.0))
        unmet[:, t] = use[:, t] - served
        after = available - served
        overflow[:, t] = np.maximum(after - cap, 0.0)
        level = np.minimum(after, cap)
        levels[:, t] = level
    empty = np.maximum.accumulate(levels <= 0, axis=1)
    below = np.maximum.accumulate(levels < reserve, axis=1) if reserve and reserve > 0 else empty
    p_below = pd.Series(below.mean(axis=0), index=dates, name="p_below_reserve")
    p_empty = pd.Series(empty.mean(axis=0), index=dates, name="p_empty")
    return StockProjection(
        dates=dates,
        level_paths=levels,
        p_below_reserve=p_below,
        p_below_reserve_within_horizon=float(p_below.iloc[-1]),
        date_p50=_first_date(p_below, 0.5),
        date_p90=_first_date(p_below, 0.9),
        level_quantiles=_fan(levels, dates),
        expected_depletion_date=_first_date(p_empty, 0.5),
        p_empty=p_empty,
        expected_unmet=pd.Series(unmet.mean(axis=0), index=dates, name="expected_unmet"),
        expected_overflow=pd.Series(overflow.mean(axis=0), index=dates, name="expected_overflow"),
    )


@dataclass(frozen=True)
class PoolProjection:
    """Simulated units on loan (demanded, not capped by capacity) per day.

    ``occupancy_paths`` are units demanded: every request held a unit, even
    beyond the capacity. ``p_over_capacity`` is P(demand for units exceeds the
    capacity) at a day's end. ``p_all_units_out`` is P(every unit is out) in a
    second reading of the same requests, where a request finding every unit out
    is turned away (lost, not queued), as a ledger records it: the figure the
    risk backtest scores and the dashboard's track record speaks of.
    """

    dates: pd.DatetimeIndex
    occupancy_paths: np.ndarray
    capacity: pd.Series
    p_over_capacity: pd.Series
    expected_unmet: pd.Series
    max_p_over_capacity: float
    extra_units_needed: int
    occupancy_quantiles: pd.DataFrame
    p_all_units_out: pd.Series


def day_ends_on_loan(out: pd.Series, back: pd.Series, timezone: str) -> np.ndarray:
    """Ends of day each loan stayed out: local calendar days from checkout to return.

    ``out``/``back`` are tz-aware timestamps of the same loans. A loan out at 4 pm
    and back a week later at 5 pm was out at 7 ends of day, not 8 (rounding its
    7.04 days up); one back the same day, at none. This is the unit the ledger's
    end-of-day units on loan, and so the published risk, is measured in.
    Returns an integer array (loans returned before they left are dropped).
    """

    days = day_ends_between(out, back, timezone)
    return days[np.isfinite(days) & (days >= 0)].astype(np.int64)


def day_ends_between(out: pd.Series, back: pd.Series, timezone: str) -> np.ndarray:
    """:func:`day_ends_on_loan` loan by loan, unfiltered: float, NaN where a time is missing."""

    def local_day(t: pd.Series) -> pd.Series:
        # Wall-clock midnights without the zone: across a DST change two local
        # midnights are 23 or 25 hours apart, and ``.days`` of 6 days 23 hours is 6.
        local = pd.to_datetime(t, utc=True).dt.tz_convert(timezone)
        return local.dt.tz_localize(None).dt.normalize()

    return (local_day(back) - local_day(out)).dt.days.to_numpy(dtype=float)


def checkout_batches(uses: pd.DataFrame, timezone: str) -> np.ndarray:
    """Units taken together: per member and local day, the units they checked out.

    ``uses`` has ``occurred_at`` (tz-aware), ``quantity`` and ``member_id`` (a
    checkout without a member is a batch of its own). Forty folding chairs for a
    street party leave on one day, not one a day: demand comes in such batches,
    and a pool is emptied by a batch far more often than by forty independent
    requests on one day. Returns the batch sizes (empty without checkouts).
    """
    if uses.empty:
        return np.array([], dtype=float)
    day = pd.to_datetime(uses["occurred_at"], utc=True).dt.tz_convert(timezone).dt.normalize()
    who = (
        uses["member_id"]
        .astype(object)
        .where(uses["member_id"].notna(), pd.Series(-(np.arange(len(uses)) + 1), index=uses.index))
    )
    sizes = uses["quantity"].astype(float).groupby([who.astype(str), day]).sum().to_numpy()
    return sizes[sizes > 0]


def batched_demand(
    expected: np.ndarray, batches: np.ndarray | None, rng: np.random.Generator
) -> np.ndarray:
    """Units demanded per path and day: Poisson batches of the sizes seen, ``expected`` units.

    ``expected`` (paths x days) is the expected number of units; the number of
    batches is Poisson with mean ``expected / mean batch size`` and each batch
    takes a size drawn from ``batches`` (a compound Poisson with the same mean).
    Without batches, or when every batch is one unit, this is a Poisson draw
    of units, as before batches were read.
    """
    lam = np.clip(np.asarray(expected, dtype=float), 0.0, None)
    if batches is None or len(batches) == 0 or np.all(batches == 1):
        return rng.poisson(lam).astype(float)
    sizes = np.asarray(batches, dtype=float)
    count = rng.poisson(lam / float(sizes.mean()))
    rows, days = np.nonzero(count)
    k = count[rows, days]
    out = np.zeros(lam.shape)
    np.add.at(out, (np.repeat(rows, k), np.repeat(days, k)), rng.choice(sizes, size=int(k.sum())))
    return out


def _residual_days(
    ages: np.ndarray, durations: np.ndarray, rng: np.random.Generator, n: int
) -> np.ndarray | None:
    """Ends of day still ahead (from tomorrow) of loans out for ``ages`` days, per path.

    A loan out since ``a`` days ago and not back today lasts ``D >= a`` ends of
    day: ``D`` is drawn from the observed durations of at least ``a`` (a loan
    out for three weeks is one of the long ones, not a fresh one), and it still
    has ``D - a - 1`` ends of day after today. Returns None for an age past every
    observed duration (the caller draws those as loans of unknown age).
    """
    ordered = np.sort(durations)
    first = np.searchsorted(ordered, ages, side="left")
    if np.any(first >= len(ordered)):
        return None
    # Uniform draw among the durations >= each age.
    pick = first[None, :] + np.floor(
        rng.random((n, len(ages))) * (len(ordered) - first)[None, :]
    ).astype(np.int64)
    return np.maximum(ordered[pick] - ages[None, :] - 1, 0)


def _capacity(capacity: np.ndarray | pd.Series | float, dates: pd.DatetimeIndex) -> np.ndarray:
    if isinstance(capacity, pd.Series):
        cap = capacity.reindex(dates).ffill().bfill().to_numpy(float)
    else:
        cap = np.broadcast_to(np.asarray(capacity, dtype=float), (len(dates),)).copy()
    if not np.isfinite(cap).all():
        raise ForecastError("capacity must be finite for every date")
    return cap


def _served_occupancy(
    remaining: np.ndarray,
    rows: np.ndarray,
    days: np.ndarray,
    lengths: np.ndarray,
    cap: np.ndarray,
) -> np.ndarray:
    """Units on loan at each day's end when a request finding every unit out is turned away.

    ``remaining`` (paths x current loans) holds the day ends each current loan
    still has; ``rows``/``days``/``lengths`` one entry per request (its path, its
    day, its ends of day out). Within a day the day's returns come first, then
    requests are served while a unit is free. A request turned away is lost, not
    queued: a ledger records only the loans that happened, so a backlog of
    demand that can never be lent would keep a simulated pool full far longer
    than a real one (issue #9: the demo's ladders given 90-100% came true 9%).
    Same-day loans (0 ends of day) hold no unit at a day's end and are skipped.
    """
    n, h = remaining.shape[0], len(cap)
    back = np.zeros((n, h + 1), dtype=np.int64)
    np.add.at(back, (np.repeat(np.arange(n), remaining.shape[1]), remaining.ravel()), 1)
    current = np.full(n, remaining.shape[1], dtype=np.int64)
    stays = lengths > 0
    rows, days, lengths = rows[stays], days[stays], lengths[stays]
    order = np.lexsort((rows, days))
    rows, days, lengths = rows[order], days[order], lengths[order]
    bounds = np.searchsorted(days, np.arange(h + 1))
    on_loan = np.empty((n, h))
    for t in range(h):
        current -= back[:, t]
        r, d = rows[bounds[t] : bounds[t + 1]], lengths[bounds[t] : bounds[t + 1]]
        if len(r):
            # Rank of each request among its path's requests that day (rows sorted).
            idx = np.arange(len(r))
            first = np.maximum.accumulate(np.where(np.r_[True, r[1:] != r[:-1]], idx, 0))
            served = (idx - first) < (cap[t] - current)[r]
            r, d = r[served], d[served]
            current += np.bincount(r, minlength=n)
            np.add.at(back, (r, np.minimum(t + d, h)), 1)
        on_loan[:, t] = current
    return on_loan


def project_pool(
    on_loan_now: Sequence[float] | int,
    demand_paths: np.ndarray,
    duration_sampler: np.ndarray,
    capacity: np.ndarray | pd.Series | float,
    *,
    dates: pd.DatetimeIndex,
    rng: np.random.Generator,
    target: float = 0.1,
    ages: np.ndarray | None = None,
    requests_paths: np.ndarray | None = None,
) -> PoolProjection:
    """Simulate occupancy of a lending pool against its (changing) capacity.

    Occupancy is counted at the end of each day, as the ledger's ``level`` of a
    pool is. ``duration_sampler`` holds loan lengths in ends of day a loan stays
    out (:func:`day_ends_on_loan`): a loan of ``d`` starting on day ``t``
    occupies a unit at the ends of days ``t .. t+d-1``, so a loan returned the
    same day (``d = 0``) occupies none. ``on_loan_now`` is either the remaining
    days of each current loan or just a count, whose remaining days are then
    drawn from the equilibrium residual of the duration distribution.
    ``capacity`` per day includes scheduled purchases and repairs.
    ``extra_units_needed`` is the smallest ``k`` with max over days of
    P(occupancy > capacity + k) <= ``target``. ``p_all_units_out`` comes from
    the same requests and loan lengths lent only while a unit is free
    (:func:`_served_occupancy`). ``ages`` (with a count) holds the ends of day
    some of the current loans have already been out: those get the remaining
    days of a loan known to have lasted that long (:func:`_residual_days`), the
    others the equilibrium draw. ``requests_paths`` (paths x days, default
    ``demand_paths``) are the units asked for in that reading: a pool's recorded
    demand is its loans, requests already turned away once, and drawn again as
    requests they lend fewer units than were recorded (see
    ``steward.forecast.runs.requests_per_loan``); ``demand_paths`` still give the
    occupancy and ``p_over_capacity``.
    """
    h = len(dates)
    demand = np.rint(np.clip(_as_paths(demand_paths, h, "demand_paths"), 0, None)).astype(np.int64)
    n = demand.shape[0]
    durations = np.ceil(np.asarray(duration_sampler, dtype=float))
    durations = durations[np.isfinite(durations) & (durations >= 0)].astype(np.int64)
    if len(durations) == 0:
        raise ForecastError("project_pool needs at least one observed loan duration")
    cap = _capacity(capacity, dates)
    diff = np.zeros((n, h + 1), dtype=np.int64)

    if isinstance(on_loan_now, int | np.integer):
        count = int(on_loan_now)
        # A loan seen in progress is more likely a long one (length bias), and one
        # of d ends of day has 0 .. d-1 of them still ahead, each equally likely.
        # Loans back the same day are never seen in progress at a day's end.
        lengths = durations if durations.sum() > 0 else np.ones(1, dtype=np.int64)
        full = rng.choice(lengths, size=(n, count), p=lengths / lengths.sum())
        remaining = np.floor(rng.random((n, count)) * full).astype(np.int64)
        known = np.asarray(ages if ages is not None else [], dtype=np.int64)[:count]
        known = known[known >= 0]
        for i, age in enumerate(known):
            ahead = _residual_days(np.array([age]), durations, rng, n)
            if ahead is not None:
                remaining[:, i] = ahead[:, 0]
    else:
        fixed = np.ceil(np.asarray(on_loan_now, dtype=float)).astype(np.int64)
        remaining = np.broadcast_to(fixed, (n, len(fixed)))
    remaining = np.clip(remaining, 0, h)
    # Every current loan starts counted; one with 0 days left is removed the same day.
    diff[:, 0] += remaining.shape[1]
    np.add.at(diff, (np.repeat(np.arange(n), remaining.shape[1]), remaining.ravel()), -1)

    rows, days = np.nonzero(demand)
    counts = demand[rows, days]
    rows, days = np.repeat(rows, counts), np.repeat(days, counts)
    lengths = rng.choice(durations, size=len(days))
    ends = np.minimum(days + lengths, h)
    np.add.at(diff, (rows, days), 1)
    np.add.at(diff, (rows, ends), -1)
    occupancy = np.cumsum(diff, axis=1)[:, :h].astype(float)
    if requests_paths is not None:
        asked = np.rint(np.clip(_as_paths(requests_paths, h, "requests_paths"), 0, None))
        if asked.shape[0] != n:
            raise ForecastError(f"requests_paths must have {n} paths, got {asked.shape[0]}")
        rows, days = np.nonzero(asked)
        counts = asked[rows, days].astype(np.int64)
        rows, days = np.repeat(rows, counts), np.repeat(days, counts)
        lengths = rng.choice(durations, size=len(days))
    on_loan = _served_occupancy(remaining, rows, days, lengths, cap)

    over = occupancy > cap[None, :]
    p_over = pd.Series(over.mean(axis=0), index=dates, name="p_over_capacity")
    unmet = pd.Series(
        np.maximum(occupancy - cap[None, :], 0).mean(axis=0), index=dates, name="expected_unmet"
    )
    extra = 0
    while (occupancy > cap[None, :] + extra).mean(axis=0).max() > target:
        extra += 1
    return PoolProjection(
        dates=dates,
        occupancy_paths=occupancy,
        capacity=pd.Series(cap, index=dates, name="capacity"),
        p_over_capacity=p_over,
        expected_unmet=unmet,
        max_p_over_capacity=float(p_over.max()),
        extra_units_needed=extra,
        occupancy_quantiles=_fan(occupancy, dates),
        p_all_units_out=pd.Series(
            ((on_loan >= cap[None, :]) & (cap[None, :] > 0)).mean(axis=0),
            index=dates,
            name="p_all_units_out",
        ),
    )
