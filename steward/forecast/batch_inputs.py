"""A batch's forecast inputs, each computed for all of its resources at once.

Weekly series, weekday profiles, loan lengths, ages of loans still out and
checkout batches used to take a handful of pandas calls per resource, whose fixed
cost (about 15 ms a pool) made the main process the slow end of a cold run. Here
each is one grouped operation over the batch with the resource as the first key.
The figures are bit for bit the per-resource ones: a grouped sum adds a group's
rows in the order they come, with the same compensated sum, whatever other groups
there are, and every group is ordered as the per-resource operation ordered it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import pandas as pd

from steward.flows_many import local_days
from steward.forecast.projection import day_ends_between
from steward.store.catalog import ResourceInfo


def weekly_many(
    frames: Mapping[int, pd.DataFrame],
    columns: Mapping[int, tuple[str, ...]],
    last_day: Mapping[int, pd.Timestamp],
    max_days: int,
) -> dict[int, dict[str, pd.Series]]:
    """Complete Monday-Sunday weekly totals of each resource's daily ``columns``
    (negative days counted as 0), over its last ``max_days`` days up to ``last_day``.

    The same series, index (week ends, freq ``W-SUN``) and values as resampling each
    history (``runs._weekly``); a week not complete by the history's last day is left
    out. Resources are summed together when they want the same columns: a grouped sum
    over other columns too (a stock's empty demand) can differ in the last bit.
    """
    out: dict[int, dict[str, pd.Series]] = {}
    for names in sorted(set(columns.values())):
        wanted = {rid: f for rid, f in frames.items() if columns[rid] == names}
        out |= _weekly_of(wanted, list(names), last_day, max_days)
    return out


def _weekly_of(
    frames: Mapping[int, pd.DataFrame],
    names: list[str],
    last_day: Mapping[int, pd.Timestamp],
    max_days: int,
) -> dict[int, dict[str, pd.Series]]:
    """:func:`weekly_many` for resources that all want ``names``."""
    parts_rid: list[np.ndarray] = []
    parts_day: list[np.ndarray] = []
    parts_val: list[np.ndarray] = []
    spans: dict[int, pd.DatetimeIndex] = {}
    for rid, frame in frames.items():
        index = frame.index
        stop = int(index.searchsorted(last_day[rid], side="right"))
        start = max(0, stop - max_days)
        spans[rid] = index[start:stop]
        if stop > start:
            parts_rid.append(np.full(stop - start, rid))
            parts_day.append(index[start:stop].to_numpy())
            parts_val.append(frame[names].to_numpy()[start:stop])
    out: dict[int, dict[str, pd.Series]] = {}
    if parts_rid:
        day = np.concatenate(parts_day)
        code = day.astype("datetime64[D]").astype(np.int64)
        # 1970-01-01 was a Thursday: weekday (Monday 0) is (code + 3) % 7.
        week_end = (code + 6 - (code + 3) % 7).astype("datetime64[D]").astype(day.dtype)
        values = pd.DataFrame(np.concatenate(parts_val), columns=names).clip(lower=0.0)
        sums = values.groupby([np.concatenate(parts_rid), week_end]).sum()
        rids = sums.index.get_level_values(0).to_numpy()
        bounds = np.flatnonzero(np.r_[True, rids[1:] != rids[:-1], True])
        ends = sums.index.get_level_values(1)
        table = sums.to_numpy()
        for a, b in pairwise(bounds.tolist()):
            rid = int(rids[a])
            stop = b - 1 if ends[b - 1] > spans[rid][-1] else b  # the current week is not complete
            index = pd.DatetimeIndex(ends[a:stop], freq="W-SUN", name=frames[rid].index.name)
            out[rid] = {
                c: pd.Series(table[a:stop, i], index=index, name=c) for i, c in enumerate(names)
            }
    for rid, frame in frames.items():
        if rid not in out:
            index = pd.DatetimeIndex([], dtype=frame.index.dtype, freq="W-SUN", name="day")
            out[rid] = {c: pd.Series([], index=index, name=c, dtype="float64") for c in names}
    return out


def weekday_profiles(frames: Mapping[int, pd.DataFrame]) -> dict[int, np.ndarray]:
    """Each pool's share of demand by weekday (Monday first), as ``runs.weekday_profile``
    gives it for the frame's ``demand`` (missing days 0); a flat 1/7 without demand."""
    if not frames:
        return {}
    rid = np.concatenate([np.full(len(f), r) for r, f in frames.items()])
    demand = pd.Series(np.concatenate([f["demand"].to_numpy() for f in frames.values()]))
    dow = np.concatenate([f.index.day_of_week.to_numpy() for f in frames.values()])
    sums = demand.fillna(0.0).clip(lower=0.0).groupby([rid, dow]).sum()
    grid = np.full((len(frames), 7), np.nan)
    row = {r: i for i, r in enumerate(frames)}
    at = pd.Series(sums.index.get_level_values(0)).map(row).to_numpy()
    grid[at, sums.index.get_level_values(1).to_numpy()] = sums.to_numpy()
    return {r: profile_of(pd.Series(grid[row[r]])) for r in frames}


def profile_of(by_day: pd.Series) -> np.ndarray:
    """Shares of seven weekday totals (NaN: none that weekday); flat when there is no total."""
    total = float(by_day.sum())
    if not np.isfinite(total) or total <= 0:
        return np.full(7, 1 / 7)
    return (by_day.fillna(0.0) / total).to_numpy()


@dataclass(frozen=True)
class LoanFacts:
    """A pool's loans as its projection needs them (see ``runs._Inputs``)."""

    #: Ends of day each returned loan was out, float, in loan reference order.
    durations: np.ndarray
    #: Ends of day each loan still out has been out, sorted.
    ages: np.ndarray
    #: Units a member took on a day (``projection.checkout_batches``), in its order.
    batches: np.ndarray


def loan_facts(
    events: pd.DataFrame, pools: Sequence[ResourceInfo], now: pd.Timestamp
) -> dict[int, LoanFacts]:
    """Durations, ages and checkout batches of each pool from its events recorded by ``now``.

    ``events`` as ``flows.LedgerBatch.events`` (with ``resource_id``, sorted by time).
    A loan is a ``loan_ref``'s first checkout and last return (reversals left out).
    """
    zones = pd.Series({r.id: r.timezone for r in pools}, dtype=object)
    ev = events.loc[events["resource_id"].isin(zones.index) & (events["occurred_at"] <= now)]
    ev = ev.loc[ev["sign"] > 0]
    loans = ev.loc[ev["loan_ref"].notna()]
    key = [loans["resource_id"].to_numpy(), loans["loan_ref"].to_numpy()]
    is_out = (loans["kind"] == "use").to_numpy()
    is_back = (loans["kind"] == "replenish").to_numpy()
    out = loans["occurred_at"].loc[is_out].groupby([k[is_out] for k in key]).min().rename("out")
    back = loans["occurred_at"].loc[is_back].groupby([k[is_back] for k in key]).max()
    spans = out.to_frame().join(back.rename("back"), how="left")
    span_rid = spans.index.get_level_values(0).to_numpy()
    tz_of = pd.Series(span_rid).map(zones)
    returned = spans["back"].notna().to_numpy()
    durations = np.full(len(spans), np.nan)
    ages = np.full(len(spans), np.nan)
    for tz in pd.unique(tz_of):
        m = (tz_of == tz).to_numpy()
        both = m & returned
        durations[both] = day_ends_between(spans["out"][both], spans["back"][both], tz)
        still = m & ~returned
        at_now = pd.Series(now, index=spans.index[still])
        ages[still] = day_ends_between(spans["out"][still], at_now, tz)
    uses = ev.loc[ev["kind"] == "use"]
    batches = _batches(uses, zones)
    facts = {}
    for res in pools:
        mine = span_rid == res.id
        d, a = durations[mine], ages[mine]
        d = d[np.isfinite(d) & (d >= 0)].astype(np.int64).astype(float)
        a = np.sort(a[np.isfinite(a) & (a >= 0)].astype(np.int64))
        facts[res.id] = LoanFacts(d, a, batches.get(res.id, np.array([], dtype=float)))
    return facts


def _batches(uses: pd.DataFrame, zones: pd.Series) -> dict[int, np.ndarray]:
    """``projection.checkout_batches`` of each pool's checkouts, in one grouped sum.

    A checkout without a member is its own batch, named by its position among the
    pool's checkouts as the per-pool function names it, so groups sort alike.
    """
    if uses.empty:
        return {}
    rid = uses["resource_id"]
    position = rid.groupby(rid.to_numpy()).cumcount().to_numpy()
    member = uses["member_id"]
    who = member.astype(object).where(member.notna(), pd.Series(-(position + 1), index=uses.index))
    day = local_days(uses["occurred_at"], rid.map(zones))
    sums = (
        uses["quantity"]
        .astype(float)
        .groupby([rid.to_numpy(), who.astype(str).to_numpy(), day.to_numpy()])
        .sum()
    )
    sizes = sums.to_numpy()
    rids = sums.index.get_level_values(0).to_numpy()
    out = {}
    for r in pd.unique(rids):
        s = sizes[rids == r]
        out[int(r)] = s[s > 0]
    return out
