"""Daily flows of many resources at once (see :func:`steward.flows.daily_flows`).

A forecast run builds the daily flows of a batch of resources; per resource the
pandas calls' fixed cost (a groupby per kind, a reindex, a frame) was most of
the work. Here the events of all of them are converted to local days and summed
by (resource, kind, day) in one grouped sum, and each resource's days are laid
out with numpy. The numbers are bit for bit those of the per-resource frames:
pandas sums each group in the order its rows come, with the same compensated
sum, whatever other groups there are, and cumulative sums run per resource.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from steward.flows import LedgerFrames, overflow_path
from steward.store.catalog import ResourceInfo

COLUMNS = ("used", "replenished", "adjusted", "level", "demand", "capacity")
_KINDS = ("use", "replenish", "adjust")


def local_days(times: pd.Series, zones: pd.Series) -> pd.Series:
    """Naive local midnights of tz-aware ``times``, each in its row's timezone ``zones``.

    One conversion per distinct timezone (a run usually has one). Same index as ``times``.
    """
    distinct = pd.unique(zones)
    if len(distinct) == 1:
        return times.dt.tz_convert(distinct[0]).dt.normalize().dt.tz_localize(None)
    out = pd.Series(pd.NaT, index=times.index, dtype=f"datetime64[{times.dt.unit}]")
    for tz in distinct:
        mask = (zones == tz).to_numpy()
        out.loc[mask] = times.loc[mask].dt.tz_convert(tz).dt.normalize().dt.tz_localize(None)
    return out


@dataclass(frozen=True)
class _Layout:
    """Where each resource's days sit in the flat day arrays: ``first[rid]`` (a
    ``datetime64`` day), ``offset[rid]`` and ``length[rid]`` (rows)."""

    first: dict[int, pd.Timestamp]
    offset: dict[int, int]
    length: dict[int, int]
    total: int


def daily_flows_many(
    events: pd.DataFrame,
    ledgers: Mapping[int, LedgerFrames],
    infos: Sequence[ResourceInfo],
    until: datetime,
) -> dict[int, pd.DataFrame]:
    """:func:`steward.flows.daily_flows` of every resource in ``infos``, by resource id.

    ``events`` holds the resources' recorded events as :func:`steward.flows.read_ledgers`
    reads them, with a ``resource_id`` column, sorted by time; ``ledgers`` their
    readings and capacity changes (and, for a stock with readings, its events).
    """
    zones = pd.Series({r.id: r.timezone for r in infos}, dtype=object)
    ev = events.loc[events["resource_id"].isin(zones.index)]
    rid = ev["resource_id"]
    day = local_days(ev["occurred_at"], rid.map(zones))
    signed = ev["quantity"] * ev["sign"]
    sums = signed.groupby([rid.to_numpy(), ev["kind"].to_numpy(), day.to_numpy()]).sum()
    first_event = day.groupby(rid.to_numpy()).min()
    layout = _layout(infos, first_event, ledgers, until)
    flat = np.zeros((len(_KINDS), layout.total))
    if len(sums):
        s_rid = sums.index.get_level_values(0).to_numpy()
        s_kind = sums.index.get_level_values(1).to_numpy()
        s_day = pd.DatetimeIndex(sums.index.get_level_values(2))
        first = pd.DatetimeIndex(pd.Series(s_rid).map(layout.first).to_numpy())
        at = (s_day - first).days.to_numpy()
        offset = pd.Series(s_rid).map(layout.offset).to_numpy()
        length = pd.Series(s_rid).map(layout.length).to_numpy()
        keep = (at >= 0) & (at < length)  # days after ``until`` are not in the frame
        row = pd.Series(s_kind).map({k: i for i, k in enumerate(_KINDS)}).to_numpy()
        flat[row[keep], (offset + at)[keep]] = sums.to_numpy()[keep]
    out = {}
    for res in infos:
        n = layout.length.get(res.id, 0)
        if n == 0:
            out[res.id] = _empty()
            continue
        o = layout.offset[res.id]
        days = pd.date_range(layout.first[res.id], periods=n, freq="D", name="day")
        used, replenished, adjusted = (flat[k, o : o + n] for k in range(len(_KINDS)))
        out[res.id] = _frame(res, days, used, replenished, adjusted, ledgers[res.id])
    return out


def _empty() -> pd.DataFrame:
    return pd.DataFrame(
        columns=list(COLUMNS),
        index=pd.DatetimeIndex([], name="day", freq="D"),
        dtype="float64",
    )


def _layout(
    infos: Sequence[ResourceInfo],
    first_event: pd.Series,
    ledgers: Mapping[int, LedgerFrames],
    until: datetime,
) -> _Layout:
    """Each resource's days: from its first event or reading to ``until``'s local day."""
    first: dict[int, pd.Timestamp] = {}
    offset: dict[int, int] = {}
    length: dict[int, int] = {}
    total = 0
    ends: dict[str, pd.Timestamp] = {}
    for res in infos:
        tz = res.timezone
        if tz not in ends:
            ends[tz] = pd.Timestamp(until).tz_convert(tz).normalize().tz_localize(None)
        end = ends[tz]
        starts = []
        if res.id in first_event.index:
            starts.append(pd.Timestamp(first_event[res.id]))
        readings = ledgers[res.id].readings
        if len(readings):
            seen = pd.to_datetime(readings["observed_at"], utc=True).min()
            starts.append(seen.tz_convert(tz).normalize().tz_localize(None))
        if not starts:
            continue
        start = min(min(starts), end)
        n = (end - start).days + 1
        first[res.id], offset[res.id], length[res.id] = start, total, n
        total += n
    return _Layout(first, offset, length, total)


def _frame(
    res: ResourceInfo,
    days: pd.DatetimeIndex,
    used: np.ndarray,
    replenished: np.ndarray,
    adjusted: np.ndarray,
    ledger: LedgerFrames,
) -> pd.DataFrame:
    """One resource's frame from its summed flows, as daily_flows lays it out."""
    tz = res.timezone
    cap = float(res.capacity) if res.capacity is not None else np.nan
    if res.kind == "pool":
        level = np.cumsum(used - replenished)
        demand = used
        capacity: np.ndarray | float = cap
        changes = ledger.changes
        if len(changes):
            cday = (
                pd.to_datetime(changes["effective_at"], utc=True)
                .dt.tz_convert(tz)
                .dt.normalize()
                .dt.tz_localize(None)
            )
            delta = changes["delta"].astype("float64").groupby(cday).sum()
            before = float(delta[delta.index < days[0]].sum())
            base = float(res.capacity or 0)
            capacity = (base + before + delta.reindex(days, fill_value=0.0).cumsum()).to_numpy()
    else:
        net = replenished - used + adjusted
        level = float(res.initial_level) + np.cumsum(net)
        if res.capacity is not None:
            # A full tank overflows: each day ends at the level status, drift and the
            # budget read (flows.level_between), not above the capacity.
            level = _overflowed_levels(res, days, ledger)
        elif len(ledger.readings):
            level = level + _reading_anchor(res, days, ledger)
        demand = np.full(len(days), np.nan)
        capacity = cap
    return pd.DataFrame(
        {
            "used": used,
            "replenished": replenished,
            "adjusted": adjusted,
            "level": level,
            "demand": demand,
            "capacity": capacity,
        },
        index=days,
    )


def _reading_anchor(res: ResourceInfo, days: pd.DatetimeIndex, ledger: LedgerFrames) -> np.ndarray:
    """A stock's re-anchoring on the last reading of each day: reading minus the flow
    before it, carried forward (0 before the first reading)."""
    ev, readings = ledger.events, ledger.readings
    signed = ev["quantity"] * ev["sign"]
    obs = pd.to_datetime(readings["observed_at"], utc=True)
    cum = (signed * np.where(ev["kind"] == "use", -1.0, 1.0)).cumsum()
    times = ev["occurred_at"].astype("int64").to_numpy()
    pos = np.searchsorted(times, obs.astype("int64").to_numpy(), side="right")
    net_before = np.concatenate([[0.0], cum.to_numpy()])[pos]
    offset = readings["value"].astype("float64").to_numpy() - float(res.initial_level) - net_before
    rday = obs.dt.tz_convert(res.timezone).dt.normalize().dt.tz_localize(None)
    anchor = pd.Series(offset, index=rday).groupby(level=0).last()
    return anchor.reindex(days).ffill().fillna(0.0).to_numpy()


def _overflowed_levels(
    res: ResourceInfo, days: pd.DatetimeIndex, ledger: LedgerFrames
) -> np.ndarray:
    """A stock with a capacity: its level at the end of each of ``days``, clipped at
    the capacity after each event as :func:`steward.flows.level_between` clips it.

    The initial level and each reading start a segment (a reading at the moment of
    an event comes after it, as ``level_between`` takes events after its anchor);
    within one the level runs on from the anchor's value by each event's effect,
    and :func:`steward.flows.overflow_path` clips it.
    """
    ev, readings = ledger.events, ledger.readings
    effect = ev["quantity"] * ev["sign"] * np.where(ev["kind"] == "use", -1.0, 1.0)
    points = pd.concat(
        [
            pd.DataFrame(
                {"at": ev["occurred_at"], "order": 0, "delta": effect.to_numpy(), "anchor": np.nan}
            ),
            pd.DataFrame(
                {
                    "at": pd.to_datetime(readings["observed_at"], utc=True),
                    "order": 1,
                    "delta": 0.0,
                    "anchor": readings["value"].astype("float64").to_numpy(),
                }
            ),
        ],
        ignore_index=True,
    ).sort_values(["at", "order"], kind="stable")
    day = points["at"].dt.tz_convert(res.timezone).dt.normalize().dt.tz_localize(None)
    # The initial level anchors the first segment, ahead of every row.
    delta = np.concatenate([[0.0], points["delta"].to_numpy()])
    anchor = np.concatenate([[float(res.initial_level)], points["anchor"].to_numpy()])
    is_anchor = ~np.isnan(anchor)
    segment = np.cumsum(is_anchor)
    total = np.cumsum(delta)
    since = total - pd.Series(np.where(is_anchor, total, np.nan)).ffill().to_numpy()
    running = pd.Series(anchor).ffill().to_numpy() + since
    clipped = overflow_path(running, segment, float(res.capacity))  # type: ignore[arg-type]
    at_day_end = pd.Series(clipped[1:], index=day.to_numpy()).groupby(level=0).last()
    return at_day_end.reindex(days).ffill().to_numpy()
