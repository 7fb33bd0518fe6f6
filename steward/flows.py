"""Balances and flows read from the ledger.

Exact answers (a level, units on loan) are computed in SQL and returned as
Decimal. Daily flows are analytic frames for charts and forecasts: they are
float64, indexed by the commons' local calendar day.

Signs: ``use`` lowers a stock, ``replenish`` raises it, ``adjust`` is signed. A
reversal cancels its original, so it counts with the opposite sign. Scheduled
events are plans, not history: they enter projections, never balances.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Connection, case, func, select, type_coerce
from sqlalchemy.orm import InstrumentedAttribute

from steward.store.catalog import ResourceInfo
from steward.store.models import CapacityChange, Event, Reading
from steward.store.types import Quantity

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

# numpy and pandas are imported inside the functions that build frames: the
# balance queries above them serve `steward status`, which must start fast.


def _signed_effect() -> ColumnElement[Any]:
    direction = case((Event.kind == "use", -1), else_=1)
    undo = case((Event.reverses_id.is_(None), 1), else_=-1)
    return Event.quantity * direction * undo


def _sum(expr: ColumnElement[Any] | InstrumentedAttribute[Any]) -> ColumnElement[Any]:
    return type_coerce(func.coalesce(func.sum(expr), 0), Quantity())


def level(conn: Connection, res: ResourceInfo, at: datetime | None = None) -> Decimal:
    """A stock's level at ``at``: the latest reading before it, plus the net flow since."""
    at = at or datetime.now(UTC)
    anchor = conn.execute(
        select(Reading.observed_at, Reading.value)
        .where(Reading.resource_id == res.id, Reading.observed_at <= at)
        .order_by(Reading.observed_at.desc(), Reading.id.desc())
        .limit(1)
    ).first()
    if anchor is None:
        return level_between(conn, res, Decimal(res.initial_level), None, at)
    return level_between(conn, res, Decimal(anchor.value), anchor.observed_at, at)


def overflow(level: Decimal, capacity: Decimal | None) -> Decimal:
    """What a stock holds after a change took it to ``level``: above ``capacity`` it
    overflows and the rest is lost (a full tank in the rain), as the forecast's
    projection models it (:func:`steward.forecast.projection.project_stock`)."""
    return level if capacity is None else min(level, capacity)


def overflow_path(running: np.ndarray, segment: np.ndarray, capacity: float | None) -> np.ndarray:
    """:func:`overflow` after each change of a sequence, as :func:`level_between` has it.

    ``running``: the unclipped running level after each change, in time order;
    ``segment``: for each, which anchor it runs from (a reading restarts the
    level: the anchor's own row comes first in its segment, holding the anchor's
    value). Returns the level after each change, clipped as the stock overflows:
    the running level less all that rose above ``capacity`` in its segment so far
    (the closed form :func:`level_between` computes in SQL). Same shape as
    ``running``; without a capacity it is ``running`` unchanged.
    """
    import numpy as np
    import pandas as pd

    if capacity is None:
        return running
    peak = pd.Series(running).groupby(segment).cummax().to_numpy()
    return running - np.maximum(peak - capacity, 0.0)


def level_between(
    conn: Connection, res: ResourceInfo, start: Decimal, after: datetime | None, upto: datetime
) -> Decimal:
    """A stock's level at ``upto``: ``start`` (its level at ``after``; None: before any
    event) plus the recorded events in (``after``, ``upto``].

    A stock with a capacity overflows (:func:`overflow`): the level is clipped after
    each event in time order, so rain recorded on a full tank does not imply more
    than it can hold. That walk has a closed form, one SQL query however long the
    history: with ``S`` the unclipped running level from ``min(start, capacity)``,
    the clipped level at the end is ``S_end - max(0, max(S) - capacity)`` (all that
    ever rose above the capacity spilled; what came after counts in full).
    Without a capacity it is one SQL sum.
    """
    when = [Event.resource_id == res.id, Event.occurred_at <= upto, Event.scheduled.is_(False)]
    if after is not None:
        when.append(Event.occurred_at > after)
    if res.capacity is None or str(res.kind) != "stock":
        return start + Decimal(
            conn.execute(select(_sum(_signed_effect())).where(*when)).scalar_one()
        )
    capacity = Decimal(res.capacity)
    level = overflow(start, capacity)
    running = (
        select(
            func.sum(_signed_effect()).over(order_by=(Event.occurred_at, Event.id)).label("running")
        )
        .where(*when)
        .subquery()
    )
    # Summed in the store's own representation (SQLite: millionths), then decoded.
    total, peak = conn.execute(
        select(
            type_coerce(func.coalesce(func.sum(_signed_effect()), 0), Quantity()),
            select(type_coerce(func.max(running.c.running), Quantity())).scalar_subquery(),
        ).where(*when)
    ).one()
    spilled = max(level + Decimal(peak) - capacity, Decimal(0)) if peak is not None else 0
    return level + Decimal(total) - spilled


def ledger_level(conn: Connection, res: ResourceInfo, at: datetime | None = None) -> Decimal:
    """A stock's level from the initial level and events alone, ignoring readings."""
    at = at or datetime.now(UTC)
    net = conn.execute(
        select(_sum(_signed_effect())).where(
            Event.resource_id == res.id, Event.occurred_at <= at, Event.scheduled.is_(False)
        )
    ).scalar_one()
    return res.initial_level + Decimal(net)


def on_loan(conn: Connection, res: ResourceInfo, at: datetime | None = None) -> Decimal:
    """Units of a pool out on loan at ``at``: checkouts minus returns."""
    at = at or datetime.now(UTC)
    undo = case((Event.reverses_id.is_(None), 1), else_=-1)
    direction = case((Event.kind == "use", 1), (Event.kind == "replenish", -1), else_=0)
    out = conn.execute(
        select(_sum(Event.quantity * direction * undo)).where(
            Event.resource_id == res.id, Event.occurred_at <= at, Event.scheduled.is_(False)
        )
    ).scalar_one()
    return Decimal(out)


def capacity(conn: Connection, res: ResourceInfo, at: datetime | None = None) -> Decimal | None:
    """Capacity at ``at``: the configured base plus every change effective by then."""
    at = at or datetime.now(UTC)
    delta = conn.execute(
        select(_sum(CapacityChange.delta)).where(
            CapacityChange.resource_id == res.id,
            CapacityChange.effective_at <= at,
            CapacityChange.scheduled.is_(False),
        )
    ).scalar_one()
    return capacity_with(res, delta)


def _grouped_sums(
    conn: Connection,
    resource_ids: Sequence[int],
    value: ColumnElement[Any] | InstrumentedAttribute[Any],
    rid: InstrumentedAttribute[Any],
    *where: ColumnElement[bool],
) -> dict[int, Decimal]:
    """``sum(value)`` per resource over rows matching ``where``, one query per id chunk."""
    ids = list(resource_ids)
    out: dict[int, Decimal] = {}
    for i in range(0, len(ids), _ID_CHUNK):
        rows = conn.execute(
            select(rid, _sum(value)).where(rid.in_(ids[i : i + _ID_CHUNK]), *where).group_by(rid)
        ).all()
        out |= {int(r): Decimal(total) for r, total in rows}
    return out


def on_loan_many(
    conn: Connection, resource_ids: Sequence[int], at: datetime | None = None
) -> dict[int, Decimal]:
    """:func:`on_loan` of each listed pool in one grouped query (absent ids: nothing out)."""
    at = at or datetime.now(UTC)
    undo = case((Event.reverses_id.is_(None), 1), else_=-1)
    direction = case((Event.kind == "use", 1), (Event.kind == "replenish", -1), else_=0)
    return _grouped_sums(
        conn,
        resource_ids,
        Event.quantity * direction * undo,
        Event.resource_id,
        Event.occurred_at <= at,
        Event.scheduled.is_(False),
    )


def capacity_deltas(
    conn: Connection, resource_ids: Sequence[int], at: datetime | None = None
) -> dict[int, Decimal]:
    """Per resource, the sum of its capacity changes effective by ``at`` (absent: none)."""
    at = at or datetime.now(UTC)
    return _grouped_sums(
        conn,
        resource_ids,
        CapacityChange.delta,
        CapacityChange.resource_id,
        CapacityChange.effective_at <= at,
        CapacityChange.scheduled.is_(False),
    )


@dataclass(frozen=True)
class Overbooked:
    """A pool whose ledger has more units out than it has units, at some moment.

    Real lending records do this (a checkout keyed a minute before the item was
    entered, a unit back from repair never recorded), so such checkouts are
    recorded, not refused, and shown as a finding with its fix: record the capacity
    change that made them possible, at its date. ``checkouts``: checkouts that found
    every unit already out; ``first``/``last``: the first and last of them (UTC);
    ``worst``: the most units out beyond the capacity at any moment; ``now``: units
    out beyond the capacity now (0 when the excess has since gone).
    """

    checkouts: int
    first: datetime | None
    last: datetime | None
    worst: Decimal
    now: Decimal


def overbooked_many(
    conn: Connection, pools: Sequence[ResourceInfo], at: datetime | None = None
) -> dict[int, Overbooked]:
    """Pools (by id) whose units out exceeded their capacity by ``at``; the rest are absent.

    Units out and capacity count as :func:`on_loan` and :func:`capacity` do (plans
    left out, reversals cancelling), replayed in time order; at one moment capacity
    changes come first, then returns, then checkouts, so a unit entered in the same
    second as its first checkout is counted in time. A pool with neither a configured
    capacity nor any change is skipped (its units are unknown). Two queries per chunk
    of pools; pure Python (``steward status`` loads no pandas).
    """
    at = at or datetime.now(UTC)
    by_id = {p.id: p for p in pools if str(p.kind) == "pool"}
    moves: dict[int, list[tuple[datetime, int, Decimal]]] = {rid: [] for rid in by_id}
    ids = list(by_id)
    for i in range(0, len(ids), _ID_CHUNK):
        chunk = ids[i : i + _ID_CHUNK]
        for rid, when, delta in conn.execute(
            select(
                CapacityChange.resource_id, CapacityChange.effective_at, CapacityChange.delta
            ).where(
                CapacityChange.resource_id.in_(chunk),
                CapacityChange.effective_at <= at,
                CapacityChange.scheduled.is_(False),
            )
        ):
            moves[int(rid)].append((_aware(when), 0, Decimal(delta)))
        for rid, when, kind, undone, qty in conn.execute(
            select(
                Event.resource_id,
                Event.occurred_at,
                Event.kind,
                Event.reverses_id.is_not(None),
                Event.quantity,
            ).where(
                Event.resource_id.in_(chunk),
                Event.kind.in_(("use", "replenish")),
                Event.occurred_at <= at,
                Event.scheduled.is_(False),
            )
        ):
            out = (str(kind) == "use") != bool(undone)  # a reversed return puts a unit out
            # Order 2 marks a checkout (a use, not a reversal) for counting.
            order = 2 if str(kind) == "use" and not undone else 1
            moves[int(rid)].append((_aware(when), order, Decimal(qty) if out else -Decimal(qty)))
    found: dict[int, Overbooked] = {}
    for rid, rows in moves.items():
        res = by_id[rid]
        if res.capacity is None and not any(order == 0 for _, order, _ in rows):
            continue
        capacity = res.capacity or Decimal(0)
        units_out = Decimal(0)
        count, first, last, worst = 0, None, None, Decimal(0)
        for when, order, amount in sorted(rows, key=lambda m: (m[0], m[1])):
            if order == 0:
                capacity += amount
            else:
                units_out += amount
            excess = units_out - capacity
            if excess > 0:
                worst = max(worst, excess)
                if order == 2:
                    count += 1
                    first = first or when
                    last = when
        now = max(units_out - capacity, Decimal(0))
        if count or now:
            found[rid] = Overbooked(count, first, last, worst, now)
    return found


def _aware(at: datetime) -> datetime:
    """A stored moment as aware UTC (SQLite gives it back naive, in UTC)."""
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def capacity_with(res: ResourceInfo, delta: Decimal) -> Decimal | None:
    """:func:`capacity` from the sum of changes already read (see :func:`capacity_deltas`)."""
    if res.capacity is None and not delta:
        return None
    return (res.capacity or Decimal(0)) + Decimal(delta)


def _event_frame(rows: Sequence[Any]) -> pd.DataFrame:
    import numpy as np
    import pandas as pd

    frame = pd.DataFrame(list(rows), columns=list(EVENT_COLUMNS))
    frame["occurred_at"] = pd.to_datetime(frame["occurred_at"], utc=True)
    frame["kind"] = frame["kind"].astype(str)
    frame["quantity"] = frame["quantity"].astype("float64")
    frame["sign"] = np.where(frame["reverses_id"].isna(), 1.0, -1.0)
    return frame.sort_values("occurred_at", kind="stable").reset_index(drop=True)


EVENT_COLUMNS = ("id", "occurred_at", "kind", "quantity", "reverses_id", "member_id", "loan_ref")


def events_frame(conn: Connection, res: ResourceInfo, *, scheduled: bool = False) -> pd.DataFrame:
    """The resource's events with their signed effect, as float64 for analysis.

    Columns: ``id``, ``occurred_at`` (UTC), ``kind``, ``quantity``, ``reverses_id``,
    ``member_id``, ``loan_ref``, ``sign`` (-1 for a reversal), sorted by time.
    """
    rows = conn.execute(
        select(*(getattr(Event, c) for c in EVENT_COLUMNS)).where(
            Event.resource_id == res.id, Event.scheduled.is_(scheduled)
        )
    ).all()
    return _event_frame(rows)


@dataclass(frozen=True)
class LedgerFrames:
    """One resource's recorded (not scheduled) ledger rows, read once per run.

    ``events`` as :func:`events_frame`; ``readings`` (``id``, ``observed_at``,
    ``value``) by time; ``changes`` (``id``, ``effective_at``, ``delta``).
    """

    events: pd.DataFrame
    readings: pd.DataFrame
    changes: pd.DataFrame


#: SQLite allows 999 bound parameters per statement in older builds.
_ID_CHUNK = 900


def read_ledgers(conn: Connection, resource_ids: Sequence[int]) -> dict[int, LedgerFrames]:
    """Every listed resource's ledger in one query per table (not one per resource).

    Returns a :class:`LedgerFrames` for each id, empty frames where nothing is recorded.
    """
    return read_ledger_batch(conn, resource_ids).ledgers


@dataclass(frozen=True)
class LedgerBatch:
    """Many resources' ledgers read together: ``events`` holds all their recorded
    events (:func:`events_frame` columns plus ``resource_id``, sorted by time, each
    resource's rows in the order of its own frame), ``ledgers`` each one's frames."""

    events: pd.DataFrame
    ledgers: dict[int, LedgerFrames]


def read_ledger_batch(conn: Connection, resource_ids: Sequence[int]) -> LedgerBatch:
    """:func:`read_ledgers`, keeping the events of all the resources in one frame too."""
    ids = list(resource_ids)
    ev_rows: list[Any] = []
    rd_rows: list[Any] = []
    ch_rows: list[Any] = []
    for i in range(0, len(ids), _ID_CHUNK):
        chunk = ids[i : i + _ID_CHUNK]
        ev_rows += conn.execute(
            select(Event.resource_id, *(getattr(Event, c) for c in EVENT_COLUMNS)).where(
                Event.resource_id.in_(chunk), Event.scheduled.is_(False)
            )
        ).all()
        rd_rows += conn.execute(
            select(Reading.resource_id, Reading.id, Reading.observed_at, Reading.value).where(
                Reading.resource_id.in_(chunk)
            )
        ).all()
        ch_rows += conn.execute(
            select(
                CapacityChange.resource_id,
                CapacityChange.id,
                CapacityChange.effective_at,
                CapacityChange.delta,
            ).where(CapacityChange.resource_id.in_(chunk), CapacityChange.scheduled.is_(False))
        ).all()
    frame = _batch_event_frame(ev_rows)
    events = _event_frames(frame)
    readings = _split(rd_rows, ("resource_id", "id", "observed_at", "value"))
    changes = _split(ch_rows, ("resource_id", "id", "effective_at", "delta"))
    out = {}
    for rid in ids:
        ev = events.get(rid)
        rd = readings.get(rid)
        ch = changes.get(rid)
        out[rid] = LedgerFrames(
            _event_frame([]) if ev is None else ev,
            _reading_frame(rd),
            _change_frame(ch),
        )
    return LedgerBatch(frame, out)


def _batch_event_frame(rows: list[Any]) -> pd.DataFrame:
    """Rows of (resource_id, *EVENT_COLUMNS) as one frame sorted by time (stable).

    Timestamps and quantities are converted for all resources at once (per resource
    the conversions' fixed cost was most of a library's read).
    """
    import numpy as np
    import pandas as pd

    if not rows:
        frame = _event_frame([])
        frame.insert(0, "resource_id", pd.Series([], dtype="int64"))
        return frame
    frame = pd.DataFrame(rows, columns=["resource_id", *EVENT_COLUMNS])
    frame["occurred_at"] = pd.to_datetime(frame["occurred_at"], utc=True)
    frame["kind"] = frame["kind"].astype(str)
    frame["quantity"] = frame["quantity"].astype("float64")
    frame["sign"] = np.where(frame["reverses_id"].isna(), 1.0, -1.0)
    return frame.sort_values("occurred_at", kind="stable").reset_index(drop=True)


def _event_frames(frame: pd.DataFrame) -> dict[int, pd.DataFrame]:
    """The batch frame split into :func:`_event_frame` frames per resource; the stable
    sort by time before the split keeps each resource's rows in the order its own
    sort gives."""
    if frame.empty:
        return {}
    return {
        int(rid): part.drop(columns="resource_id").reset_index(drop=True)
        for rid, part in frame.groupby("resource_id", sort=False)
    }


def _split(rows: list[Any], columns: Sequence[str]) -> dict[int, pd.DataFrame]:
    import pandas as pd

    if not rows:
        return {}
    frame = pd.DataFrame(rows, columns=list(columns))
    return {int(rid): part for rid, part in frame.groupby("resource_id", sort=False)}


def _reading_frame(part: pd.DataFrame | None) -> pd.DataFrame:
    import pandas as pd

    if part is None:
        return pd.DataFrame(columns=["id", "observed_at", "value"])
    return (
        part[["id", "observed_at", "value"]]
        .sort_values(["observed_at", "id"])
        .reset_index(drop=True)
    )


def _change_frame(part: pd.DataFrame | None) -> pd.DataFrame:
    import pandas as pd

    if part is None:
        return pd.DataFrame(columns=["id", "effective_at", "delta"])
    return part[["id", "effective_at", "delta"]].reset_index(drop=True)


def read_ledger(conn: Connection, res: ResourceInfo) -> LedgerFrames:
    """One resource's ledger (see :func:`read_ledgers`)."""
    return read_ledgers(conn, [res.id])[res.id]


def daily_flows(
    conn: Connection,
    res: ResourceInfo,
    *,
    until: datetime | None = None,
    ledger: LedgerFrames | None = None,
) -> pd.DataFrame:
    """One row per local day from the first event to ``until`` (default today).

    ``ledger`` is the resource's ledger already read (:func:`read_ledgers`);
    without it the ledger is read here.

    Columns: ``used``, ``replenished``, ``adjusted``, ``level`` (stock: end-of-day
    level; pool: units on loan at day end) and, for pools, ``demand`` (units
    checked out that day) and ``capacity``.
    """
    from steward.flows_many import daily_flows_many

    ledger = ledger or read_ledger(conn, res)
    events = ledger.events.assign(resource_id=res.id)
    return daily_flows_many(events, {res.id: ledger}, [res], until or datetime.now(UTC))[res.id]
