"""Resource tiles: level or occupancy, trend, headline risk and a status colour.

Signed-out visitors get :func:`public_tile` figures: rounded to
:data:`PUBLIC_DIGITS` significant digits, and withheld (level, trend and fill
all None) when the changes of the last :data:`PUBLIC_WINDOW` came from fewer
than ``min_members`` distinct members: on a sparse fund one change would be one
member's grant (k-anonymity, k = ``dashboard.public_min_members``, default 5).

Batched for a federation of a thousand resources: the latest precomputed
DailyFlow row per resource plus the events since its day give the current
level, so a page load never sums a resource's whole history. Resources with no
precomputed flows (a new workspace) are read exactly from the ledger.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, and_, case, func, select, type_coerce

from steward import availability, flows
from steward.access import Scope
from steward.headlines import public_breach_headline
from steward.queries.forecasts import headline, latest_risks
from steward.queries.resources import visible
from steward.reserve import Breach, breaches
from steward.store.catalog import ResourceInfo
from steward.store.models import Alert, CapacityChange, DailyFlow, Event, FlowState, Reading
from steward.store.types import Quantity

TREND_DAYS = 7
Status = Literal["ok", "watch", "danger", "unknown"]
#: Probability thresholds for the status colour (watch, danger).
WATCH, DANGER = 0.2, 0.5
SEVERITY_RANK = {"ok": 0, "unknown": 0, "watch": 1, "danger": 2}
#: Public figures keep this many significant digits.
PUBLIC_DIGITS = 2
#: Changes in this window must come from at least k members for a public figure.
PUBLIC_WINDOW = timedelta(days=30)
#: Default k (``dashboard.public_min_members``).
PUBLIC_MIN_MEMBERS = 5


@dataclass(frozen=True)
class Tile:
    slug: str
    name: str
    kind: str
    unit: str
    commons_slug: str
    #: Stock: current level. Pool: units on loan now.
    level: float | None
    #: Stock: its capacity. Pool: the units it can lend (recorded less those
    #: counted lost, :mod:`steward.availability`).
    capacity: float | None
    reserve: float | None
    #: Change of ``level`` over the last TREND_DAYS days.
    trend: float | None
    headline: str
    has_forecast: bool
    status: Status
    #: Summaries of firing alerts about this resource (stewards only; empty otherwise).
    firing: tuple[str, ...] = ()
    #: The headline probability (below reserve, or demand above capacity), 0-1.
    probability: float | None = None
    #: When the forecast behind ``headline`` ran (UTC).
    forecast_at: datetime | None = None
    #: The commons' timezone and currency (for labels and money formatting).
    timezone: str = "UTC"
    currency: str = ""
    #: Stock: the first day the chance of having been below the reserve passes 50%.
    #: Pool: the day demand is most likely to exceed the units available.
    #: The dates of the headline (:mod:`steward.headlines`) and the forecast alerts.
    risk_date: date | None = None
    #: Stock below its reserve (or zero) now, as recorded (None otherwise).
    below: Breach | None = None
    #: How ``level`` and ``trend`` are shown: "exact"; "rounded" to PUBLIC_DIGITS
    #: significant digits; or "withheld" (None) because too few members changed them.
    shown: Literal["exact", "rounded", "withheld"] = "exact"
    #: Pool: why ``capacity`` differs from the recorded capacity ("6 units recorded,
    #: 1 counted lost: on loan 64 days past due, since 28 Sep 2026"); "" when it does not.
    capacity_note: str = ""
    #: The same without the due date, for the public page (a date can point at a member).
    public_capacity_note: str = ""
    #: The capacity as recorded (configuration and capacity changes), before any loss.
    recorded_capacity: float | None = None

    @property
    def fill(self) -> float | None:
        """Level or occupancy as a share of capacity, when there is one."""
        if self.level is None or not self.capacity:
            return None
        return self.level / self.capacity


def tiles(
    scope: Scope,
    conn: Connection,
    now: datetime | None = None,
    *,
    min_members: int = PUBLIC_MIN_MEMBERS,
) -> list[Tile]:
    """One tile per resource the scope may see, most worrying first.

    Ranked by status (danger, watch, ok), then by the headline probability.
    Levels are live (ledger at read time, see :func:`_levels`); risk figures
    are the latest forecast's. For the public scope every tile goes through :func:`public_tile` with the
    count of distinct members behind the resource's changes in PUBLIC_WINDOW.
    """
    now = now or datetime.now(UTC)
    found = visible(scope, conn)
    if not found:
        return []
    ids = [r.id for r in found]
    levels, before = _levels(conn, found, now)
    caps = _capacities(conn, found, now)
    recorded = dict(caps)
    # A pool counts its units as status, the forecast and the budget do: a loan long
    # past due is a unit lost, not one on loan (steward.availability).
    notes = _lost_units(conn, found, now, levels, before, caps)
    risks = latest_risks(conn, ids)
    # Below the reserve now, from the ledger: says so (since when, by how much) in place
    # of a forecast's chance. Only the stocks whose live level is below cost a query.
    below = breaches(conn, found, levels, now)
    firing = _firing(conn, ids) if scope.is_steward else {}
    out = []
    # The public status of a tile whose figures are withheld: from the forecast alone,
    # since "watch" for a pool with every unit out would tell what the level hides.
    blind: dict[str, Status] = {}
    for res in found:
        run = risks.get(res.id)
        level = levels.get(res.id)
        trend = None if level is None or res.id not in before else level - before[res.id]
        cap = caps.get(res.id)
        alerts = firing.get(res.id, [])
        status = _status(res, level, cap, run["risk"] if run else None, alerts)
        blind[res.slug] = _status(res, None, None, run["risk"] if run else None, [])
        out.append(
            Tile(
                slug=res.slug,
                name=res.name,
                kind=str(res.kind),
                unit=res.unit,
                commons_slug=res.commons_slug,
                level=level,
                capacity=cap,
                recorded_capacity=recorded.get(res.id),
                # The due date could point at the member who holds the loan: stewards only.
                capacity_note=notes.get(res.id, ("", ""))[0 if scope.is_steward else 1],
                public_capacity_note=notes.get(res.id, ("", ""))[1],
                reserve=None if res.reserve is None else float(res.reserve),
                trend=trend,
                headline=headline(
                    res,
                    run["risk"] if run else None,
                    run["horizon_end"] if run else None,
                    breach=below.get(res.id),
                ),
                has_forecast=run is not None,
                status=status,
                firing=tuple(summary for _, summary in alerts),
                probability=_probability(res, run["risk"] if run else None),
                forecast_at=run["created_at"] if run else None,
                timezone=res.timezone,
                currency=res.currency,
                risk_date=_risk_date(res, run["risk"] if run else None),
                below=below.get(res.id),
            )
        )
    if scope.role == "public":
        counts = _recent_members(conn, ids, now)
        ids_by_slug = {r.slug: r.id for r in found}
        out = [
            public_tile(t, counts.get(ids_by_slug[t.slug], 0), min_members, blind[t.slug])
            for t in out
        ]
    out.sort(
        key=lambda t: (
            -SEVERITY_RANK[t.status],
            -(t.probability if t.probability is not None else -1.0),
            t.commons_slug,
            t.name,
        )
    )
    return out


def _round(value: float | None) -> float | None:
    return None if value is None else float(f"{value:.{PUBLIC_DIGITS}g}")


def public_tile(
    tile: Tile, members: int, min_members: int, blind_status: Status | None = None
) -> Tile:
    """The tile a signed-out visitor sees: rounded, or withheld when too few members changed it.

    ``members`` is the number of distinct members behind the resource's changes in
    PUBLIC_WINDOW; 0 means no personal change (sensor readings, unattributed
    events), which is shown. Capacity and reserve are configuration, not personal.
    ``blind_status``: the tile's status from its forecast alone, shown in place of
    ``tile.status`` when the figures are withheld (a pool "watch" because every unit
    is out would tell the hidden level); None keeps ``tile.status``.
    """
    withheld = 0 < members < min_members
    # A below-reserve headline carries exact figures (level, shortfall): the public one
    # says only that it is below, and since when.
    public_headline = (
        public_breach_headline(tile.below, tile.timezone)
        if tile.below is not None
        else tile.headline
    )
    # A pool's lost units come from members' loans: withheld, the recorded capacity
    # stands (it is configuration); shown, the count stands without its due date.
    return replace(
        tile,
        capacity=tile.recorded_capacity if withheld else tile.capacity,
        capacity_note="" if withheld else tile.public_capacity_note,
        public_capacity_note="" if withheld else tile.public_capacity_note,
        level=None if withheld else _round(tile.level),
        trend=None if withheld else _round(tile.trend),
        firing=(),
        headline=public_headline,
        below=None,
        shown="withheld" if withheld else "rounded",
        status=blind_status if withheld and blind_status is not None else tile.status,
    )


def _recent_members(conn: Connection, ids: list[int], now: datetime) -> dict[int, int]:
    rows = conn.execute(
        select(Event.resource_id, func.count(func.distinct(Event.member_id)))
        .where(
            Event.resource_id.in_(ids),
            Event.member_id.is_not(None),
            Event.occurred_at > now - PUBLIC_WINDOW,
            Event.occurred_at <= now,
            Event.scheduled.is_(False),
        )
        .group_by(Event.resource_id)
    ).all()
    return {rid: int(n) for rid, n in rows}


def _probability(res: ResourceInfo, risk: dict[str, Any] | None) -> float | None:
    key = "p_below_reserve" if res.kind == "stock" else "max_p_over_capacity"
    value = (risk or {}).get(key)
    return float(value) if isinstance(value, int | float) else None


def _risk_date(res: ResourceInfo, risk: dict[str, Any] | None) -> date | None:
    value = (risk or {}).get("date_p50" if res.kind == "stock" else "peak_date")
    if not value:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _status(
    res: ResourceInfo,
    level: float | None,
    capacity: float | None,
    risk: dict[str, Any] | None,
    alerts: list[tuple[str, str]],
) -> Status:
    rank = 0
    severities = {sev for sev, _ in alerts}
    if "critical" in severities:
        rank = 2
    elif severities:
        rank = 1
    risk = risk or {}
    if res.kind == "stock":
        p = risk.get("p_below_reserve")
        if level is not None and res.reserve is not None and level < float(res.reserve):
            rank = 2
    else:
        p = risk.get("max_p_over_capacity")
        if level is not None and capacity and level >= capacity:
            rank = max(rank, 1)
    if isinstance(p, int | float):
        rank = max(rank, 2 if p >= DANGER else 1 if p >= WATCH else 0)
    if rank == 0 and level is None and not risk:
        return "unknown"
    return ("ok", "watch", "danger")[rank]


def _day_end_utc(day: date, tz: str) -> datetime:
    return datetime.combine(day + timedelta(days=1), time.min, ZoneInfo(tz)).astimezone(UTC)


def _levels(
    conn: Connection, found: list[ResourceInfo], now: datetime
) -> tuple[dict[int, float], dict[int, float]]:
    """Current level (stock) or units on loan (pool), and the same TREND_DAYS ago."""
    by_id = {r.id: r for r in found}
    ids = list(by_id)
    last_day = dict(
        conn.execute(
            select(DailyFlow.resource_id, func.max(DailyFlow.day))
            .where(DailyFlow.resource_id.in_(ids))
            .group_by(DailyFlow.resource_id)
        ).all()
    )
    now_levels: dict[int, float] = {}
    then_levels: dict[int, float] = {}
    # The last precomputed day is partial (it was computed during that day), so
    # the level is read from the day before it plus every event since that day
    # ended: figures move with each new event, not with each forecast run.
    base_day = {rid: _as_date(day) - timedelta(days=1) for rid, day in last_day.items()}
    base = _flow_levels(conn, base_day)
    exact = [r for r in found if r.id not in base]
    if base:
        # Events after each resource's base day, grouped by that cutoff.
        cutoffs: dict[datetime, list[int]] = defaultdict(list)
        for rid in base:
            cutoffs[_day_end_utc(base_day[rid], by_id[rid].timezone)].append(rid)
        since = {}
        late_readings: set[int] = set()
        for cut, rids in cutoffs.items():
            since.update(_net_since(conn, rids, cut, now, by_id))
            late_readings |= set(
                conn.execute(
                    select(Reading.resource_id)
                    .where(Reading.resource_id.in_(rids), Reading.observed_at >= cut)
                    .distinct()
                ).scalars()
            )
            late_readings |= _backdated(conn, rids, cut)
        for rid in base:
            if rid in late_readings:
                exact.append(by_id[rid])
                continue
            res = by_id[rid]
            if rid in since and res.kind == "stock" and res.capacity is not None:
                # A full tank overflows between the stored day and now too, as
                # flows.level_between clips it (one query per such stock that moved).
                cut = _day_end_utc(base_day[rid], res.timezone) - timedelta(microseconds=1)
                now_levels[rid] = float(
                    flows.level_between(conn, res, Decimal(repr(base[rid])), cut, now)
                )
                continue
            now_levels[rid] = base[rid] + since.get(rid, 0.0)
        trend_days = {rid: day - timedelta(days=TREND_DAYS) for rid, day in base_day.items()}
        then_levels.update(_flow_levels(conn, trend_days, at_or_before=True))
    for res in exact:
        then = now - timedelta(days=TREND_DAYS)
        if res.kind == "stock":
            now_levels[res.id] = float(flows.level(conn, res, now))
            then_levels[res.id] = float(flows.level(conn, res, then))
        else:
            now_levels[res.id] = float(flows.on_loan(conn, res, now))
            then_levels[res.id] = float(flows.on_loan(conn, res, then))
    return now_levels, then_levels


def _backdated(conn: Connection, rids: list[int], cut: datetime) -> set[int]:
    """Resources with rows recorded after their flows were stored but dated before ``cut``.

    A backdated import (last month's bank statement) changes days the stored
    flows already cover, so base + "events since" would miss it: those resources
    are read exactly instead. The watermark is each resource's ``flow_state``
    (highest event and reading ids its flows saw); ids are a primary-key range scan.
    """
    events = (
        select(Event.resource_id)
        .join(FlowState, FlowState.resource_id == Event.resource_id)
        .where(
            Event.resource_id.in_(rids), Event.id > FlowState.event_max_id, Event.occurred_at < cut
        )
    )
    readings = (
        select(Reading.resource_id)
        .join(FlowState, FlowState.resource_id == Reading.resource_id)
        .where(
            Reading.resource_id.in_(rids),
            Reading.id > FlowState.reading_max_id,
            Reading.observed_at < cut,
        )
    )
    return set(conn.execute(events.union(readings)).scalars())


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _flow_levels(
    conn: Connection, days: dict[int, date], *, at_or_before: bool = False
) -> dict[int, float]:
    """DailyFlow level per resource on the given day (or the latest before it)."""
    if not days:
        return {}
    out: dict[int, float] = {}
    if not at_or_before:
        rows = conn.execute(
            select(DailyFlow.resource_id, DailyFlow.day, DailyFlow.level).where(
                DailyFlow.resource_id.in_(list(days)), DailyFlow.day.in_(set(days.values()))
            )
        ).all()
        for rid, day, level in rows:
            if _as_date(day) == days[rid]:
                out[rid] = float(level)
        return out
    by_day: dict[date, list[int]] = defaultdict(list)
    for rid, day in days.items():
        by_day[day].append(rid)
    for day, rids in by_day.items():
        latest = (
            select(DailyFlow.resource_id, func.max(DailyFlow.day).label("day"))
            .where(DailyFlow.resource_id.in_(rids), DailyFlow.day <= day)
            .group_by(DailyFlow.resource_id)
            .subquery()
        )
        found = conn.execute(
            select(DailyFlow.resource_id, DailyFlow.level).join(
                latest,
                and_(DailyFlow.resource_id == latest.c.resource_id, DailyFlow.day == latest.c.day),
            )
        ).all()
        out.update({rid: float(level) for rid, level in found})
    return out


def _net_since(
    conn: Connection, rids: list[int], cut: datetime, now: datetime, by_id: dict[int, ResourceInfo]
) -> dict[int, float]:
    undo = case((Event.reverses_id.is_(None), 1), else_=-1)
    stock = case((Event.kind == "use", -1), else_=1)
    pool = case((Event.kind == "use", 1), (Event.kind == "replenish", -1), else_=0)
    rows = conn.execute(
        select(
            Event.resource_id,
            type_coerce(func.coalesce(func.sum(Event.quantity * stock * undo), 0), Quantity()),
            type_coerce(func.coalesce(func.sum(Event.quantity * pool * undo), 0), Quantity()),
        )
        .where(
            Event.resource_id.in_(rids),
            Event.occurred_at >= cut,
            Event.occurred_at <= now,
            Event.scheduled.is_(False),
        )
        .group_by(Event.resource_id)
    ).all()
    return {rid: float(s if by_id[rid].kind == "stock" else p) for rid, s, p in rows}


def _capacities(conn: Connection, found: list[ResourceInfo], now: datetime) -> dict[int, float]:
    deltas: dict[int, Decimal] = dict(
        conn.execute(
            select(
                CapacityChange.resource_id,
                type_coerce(func.sum(CapacityChange.delta), Quantity()),
            )
            .where(
                CapacityChange.resource_id.in_([r.id for r in found]),
                CapacityChange.effective_at <= now,
                CapacityChange.scheduled.is_(False),
            )
            .group_by(CapacityChange.resource_id)
        ).all()
    )
    out = {}
    for res in found:
        delta = deltas.get(res.id)
        if res.capacity is None and not delta:
            continue
        out[res.id] = float((res.capacity or Decimal(0)) + (delta or Decimal(0)))
    return out


def _lost_units(
    conn: Connection,
    found: list[ResourceInfo],
    now: datetime,
    levels: dict[int, float],
    before: dict[int, float],
    caps: dict[int, float],
) -> dict[int, tuple[str, str]]:
    """Count each pool's loans long past due as lost units, in place.

    ``levels``/``before`` (units on loan now and TREND_DAYS ago) become the units on
    loan expected back, and ``caps`` the units available, as
    :class:`steward.availability.Units` has them; the trend compares those then and
    now (lost counted at ``now - TREND_DAYS``). Returns, per pool with lost units,
    the reason for stewards and the same without the due date for the public.
    One read of the loan book for all pools at each moment.
    """
    pools = [r for r in found if r.kind == "pool"]
    if not pools:
        return {}
    ids = [r.id for r in pools]
    lost_now = availability.lost_loans(conn, ids, now)
    then = now - timedelta(days=TREND_DAYS)
    lost_then = availability.lost_loans(conn, ids, then) if before else {}
    notes: dict[int, tuple[str, str]] = {}
    for res in pools:
        if res.id in before:
            before[res.id] -= len(lost_then.get(res.id, ()))
        due = lost_now.get(res.id, ())
        if not due or res.id not in levels:
            continue
        cap = caps.get(res.id)
        units = availability.Units(
            None if cap is None else Decimal(repr(cap)),
            Decimal(repr(levels[res.id])),
            len(due),
            due,
        )
        levels[res.id] = float(units.lending)
        if units.available is not None:
            caps[res.id] = float(units.available)
        notes[res.id] = (
            units.reason(res.timezone, now),
            units.reason(res.timezone, now, dated=False),
        )
    return notes


def _firing(conn: Connection, ids: list[int]) -> dict[int, list[tuple[str, str]]]:
    out: dict[int, list[tuple[str, str]]] = defaultdict(list)
    rows = conn.execute(
        select(Alert.resource_id, Alert.severity, Alert.summary)
        .where(Alert.resource_id.in_(ids), Alert.state == "firing")
        .order_by(Alert.fired_at.desc())
    ).all()
    for rid, severity, summary in rows:
        if rid is not None:
            out[rid].append((severity, summary))
    return out


@dataclass(frozen=True)
class MonthlyFlows:
    """A stock's use and replenishment per local calendar month, to ``through``.

    ``months`` holds ``(first day of the month, replenished, used)``, oldest first,
    in the resource's unit; the last month is partial (it runs to ``through``, the
    moment read, UTC). A reversal counts against the kind it reverses. For the public
    scope a side is None where that month's events of its kind came from fewer than
    ``min_members`` distinct members (k-anonymity, as :func:`public_tile`).
    """

    months: list[tuple[date, float | None, float | None]]
    through: datetime


def monthly_flows(
    scope: Scope,
    conn: Connection,
    slug: str,
    months: int = 6,
    now: datetime | None = None,
    *,
    min_members: int = PUBLIC_MIN_MEMBERS,
) -> MonthlyFlows:
    """Replenished and used per local month for the last ``months`` months, this one included.

    Live, as the tiles' levels are (:func:`_levels`): the precomputed daily flows
    (written by each forecast run) up to the day before their last one, which was
    partial when written, plus every event recorded since that day ended. When a
    row was recorded after those flows but dated inside them (a backdated bank
    statement) they no longer hold, and the window is read from the ledger
    instead. For the public scope, a month's money in (or out) is None when fewer
    than ``min_members`` members made it: a month whose grants were one member's
    would show that member's grant, whatever the last 30 days' count says.
    InputError/AccessDenied as :func:`~steward.queries.resources.one`.
    """
    from steward.queries.resources import one

    res = one(scope, conn, slug)
    now = now or datetime.now(UTC)
    zone = ZoneInfo(res.timezone)
    today = now.astimezone(zone).date()
    year, month = divmod(today.year * 12 + today.month - 1 - (months - 1), 12)
    first = date(year, month + 1, 1)
    totals: dict[date, list[float]] = {}
    cut = datetime.combine(first, time.min, zone).astimezone(UTC)
    last_day = conn.execute(
        select(func.max(DailyFlow.day)).where(DailyFlow.resource_id == res.id)
    ).scalar()
    if last_day is not None:
        base = _as_date(last_day) - timedelta(days=1)
        base_end = _day_end_utc(base, res.timezone)
        if base >= first and not _backdated(conn, [res.id], base_end):
            stored = conn.execute(
                select(DailyFlow.day, DailyFlow.replenished, DailyFlow.used).where(
                    DailyFlow.resource_id == res.id, DailyFlow.day >= first, DailyFlow.day <= base
                )
            ).all()
            for day, replenished, used in stored:
                month_total = totals.setdefault(_as_date(day).replace(day=1), [0.0, 0.0])
                month_total[0] += float(replenished or 0)
                month_total[1] += float(used or 0)
            cut = base_end
    undo = case((Event.reverses_id.is_(None), 1), else_=-1)
    events = conn.execute(
        select(Event.occurred_at, Event.kind, type_coerce(Event.quantity * undo, Quantity())).where(
            Event.resource_id == res.id,
            Event.kind.in_(["use", "replenish"]),
            Event.occurred_at >= cut,
            Event.occurred_at <= now,
            Event.scheduled.is_(False),
        )
    ).all()
    for at, kind, quantity in events:
        at = at if at.tzinfo else at.replace(tzinfo=UTC)
        month_total = totals.setdefault(at.astimezone(zone).date().replace(day=1), [0.0, 0.0])
        month_total[0 if kind == "replenish" else 1] += float(quantity)
    began = conn.execute(
        select(func.min(Event.occurred_at)).where(
            Event.resource_id == res.id, Event.scheduled.is_(False)
        )
    ).scalar()
    few = _few_members(conn, res.id, zone, cut_first=first, now=now, k=min_members)
    public = scope.role == "public"
    out: list[tuple[date, float | None, float | None]] = []
    if began is not None:
        began = began if began.tzinfo else began.replace(tzinfo=UTC)
        # Months before the first record are left out, not shown as zero.
        since = max(first, began.astimezone(zone).date().replace(day=1))
        for i in range(months):
            y, m = divmod(first.year * 12 + first.month - 1 + i, 12)
            start = date(y, m + 1, 1)
            if start < since:
                continue
            money_in, money_out = totals.get(start, [0.0, 0.0])
            out.append(
                (
                    start,
                    None if public and (start, "replenish") in few else round(money_in, 6),
                    None if public and (start, "use") in few else round(money_out, 6),
                )
            )
    return MonthlyFlows(out, now)


def _few_members(
    conn: Connection, resource_id: int, zone: ZoneInfo, *, cut_first: date, now: datetime, k: int
) -> set[tuple[date, str]]:
    """(month, kind) pairs whose events from ``cut_first`` came from 1 to k-1 members.

    Events without a member (dues batches, sensor-free bookkeeping) identify nobody
    and do not count; a month with none by members is not "few".
    """
    start = datetime.combine(cut_first, time.min, zone).astimezone(UTC)
    rows = conn.execute(
        select(Event.occurred_at, Event.kind, Event.member_id).where(
            Event.resource_id == resource_id,
            Event.kind.in_(["use", "replenish"]),
            Event.member_id.is_not(None),
            Event.occurred_at >= start,
            Event.occurred_at <= now,
            Event.scheduled.is_(False),
        )
    ).all()
    members: dict[tuple[date, str], set[int]] = defaultdict(set)
    for at, kind, member_id in rows:
        at = at if at.tzinfo else at.replace(tzinfo=UTC)
        members[(at.astimezone(zone).date().replace(day=1), str(kind))].add(int(member_id or 0))
    return {key for key, who in members.items() if len(who) < k}
