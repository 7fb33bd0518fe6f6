"""One status line per resource: where it stands, which way it moves, what the forecast says."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Row, func, select

from steward import availability, flows
from steward.display import change, counted, json_safe, local_time
from steward.headlines import headline
from steward.reserve import breach, exact
from steward.store.catalog import ResourceInfo, resources
from steward.store.models import Alert, Event, ForecastRun, Reading

TREND_DAYS = 7
#: How :meth:`ResourceStatus.attention` orders resources, in words (the CLI prints it).
ATTENTION_ORDER = (
    "most urgent first: below reserve now, then firing alerts (critical first), "
    "then the highest forecast risk; then by name"
)
SEVERITY_RANK = {"critical": 3, "warning": 2, "info": 1}


@dataclass
class ResourceStatus:
    slug: str
    name: str
    commons: str
    kind: str
    unit: str
    has_data: bool
    level: float | None = None
    on_loan: float | None = None
    capacity: float | None = None
    #: Pool: why ``capacity`` (units available) differs from the recorded capacity,
    #: e.g. "6 units recorded, 1 counted lost: on loan 64 days past due, since 28 Sep
    #: 2026"; "" when it does not (:mod:`steward.availability`).
    capacity_note: str = ""
    reserve: float | None = None
    trend: float | None = None
    trend_text: str = ""
    risk: dict[str, Any] = field(default_factory=dict)
    forecast_method: str | None = None
    forecast_at: str | None = None
    #: Events and readings recorded after the forecast ran: the outlook does not count
    #: them yet. ``newer_records`` is their sum.
    newer_records: int = 0
    newer_events: int = 0
    newer_readings: int = 0
    headline: str = ""
    #: A stock below its reserve (or zero) now, as recorded: ``level``, ``reserve``,
    #: ``shortfall`` (strings, exact), ``since`` and ``negative_since`` (ISO UTC or
    #: None: since the first record), ``negative``. None when it is not.
    below_reserve: dict[str, Any] | None = None
    #: Severities of the steward alerts firing about this resource and not silenced
    #: (``"critical"``, ``"warning"``, ...), most severe first.
    firing: list[str] = field(default_factory=list)
    #: A pool whose ledger had more units out than units (:class:`flows.Overbooked`):
    #: ``checkouts`` (int), ``first``/``last`` (ISO UTC), ``worst`` and ``now``
    #: (excess units, exact strings), ``fix`` (what to record). None when it never had.
    overbooked: dict[str, Any] | None = None

    @property
    def probability(self) -> float | None:
        """The headline chance (below reserve for a stock, demand over capacity for a pool)."""
        value = self.risk.get("p_below_reserve" if self.kind == "stock" else "max_p_over_capacity")
        return float(value) if isinstance(value, int | float) else None

    def attention(self) -> tuple[int, int, float, str, str]:
        """Sort key, most urgent first: see :data:`ATTENTION_ORDER`."""
        return (
            0 if self.below_reserve is not None else 1,
            -max((SEVERITY_RANK.get(s, 0) for s in self.firing), default=0),
            -(self.probability if self.probability is not None else -1.0),
            self.name.casefold(),
            self.slug,
        )

    def as_dict(self) -> dict[str, Any]:
        """The status as plain JSON-ready values, floats without binary noise."""
        return dict(json_safe(asdict(self)))


def _num(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _has_data(conn: Connection, res: ResourceInfo) -> bool:
    ev = conn.execute(select(Event.id).where(Event.resource_id == res.id).limit(1)).first()
    rd = conn.execute(select(Reading.id).where(Reading.resource_id == res.id).limit(1)).first()
    return ev is not None or rd is not None


def latest_forecast(conn: Connection, resource_id: int) -> Row[Any] | None:
    """The newest forecast run's method, time and risk figures."""
    return conn.execute(
        select(ForecastRun.id, ForecastRun.method, ForecastRun.created_at, ForecastRun.risk)
        .where(ForecastRun.resource_id == resource_id)
        .order_by(ForecastRun.created_at.desc(), ForecastRun.id.desc())
        .limit(1)
    ).first()


def resource_status(
    conn: Connection,
    res: ResourceInfo,
    now: datetime | None = None,
    lost: dict[int, tuple[datetime, ...]] | None = None,
    overbooked: Mapping[int, flows.Overbooked] | None = None,
) -> ResourceStatus:
    """Where ``res`` stands at ``now`` (default: the current time).

    ``lost``: :func:`steward.availability.lost_loans` of the pools at ``now``, read
    once for many (absent: read here when the resource is a pool). ``overbooked``:
    :func:`flows.overbooked_many` of the pools, likewise.
    """
    now = now or datetime.now(UTC)
    status = ResourceStatus(
        slug=res.slug,
        name=res.name,
        commons=res.commons_slug,
        kind=str(res.kind),
        unit=res.unit,
        has_data=_has_data(conn, res),
        reserve=_num(res.reserve),
    )
    before = now - timedelta(days=TREND_DAYS)
    if res.kind == "stock":
        level_now = flows.level(conn, res, now)
        status.level = _num(level_now)
        status.capacity = _num(res.capacity)
        if status.has_data:
            # Exact (Decimal) difference: two floats subtracted print as -326.55999999999995.
            status.trend = float(Decimal(level_now) - Decimal(flows.level(conn, res, before)))
            status.trend_text = f"{change(status.trend, res.unit)} in {TREND_DAYS} days"
    else:
        # The units the forecast and the quota budget count: a loan long past due is
        # lost capacity, not a unit on loan (steward.availability).
        if status.has_data:
            units = availability.units(
                conn, res, now, None if lost is None else lost.get(res.id, ())
            )
            status.on_loan = float(units.lending)
            status.capacity = _num(units.available)
            status.capacity_note = units.reason(res.timezone, now)
        else:
            status.on_loan = _num(flows.on_loan(conn, res, now))
            status.capacity = _num(flows.capacity(conn, res, now))
        if overbooked is None:
            overbooked = flows.overbooked_many(conn, [res], now)
        over = overbooked.get(res.id)
        if over is not None:
            status.overbooked = overbooked_finding(over)
        if status.has_data:
            recent = _checkouts(conn, res, before, now)
            earlier = _checkouts(conn, res, before - timedelta(days=TREND_DAYS), before)
            status.trend = recent - earlier
            noun = "checkout" if recent == 1 else "checkouts"
            than = "the week before" if TREND_DAYS == 7 else f"the {TREND_DAYS} days before"
            versus = (
                f"as many as {than}"
                if recent == earlier
                else f"{abs(status.trend):g} {'more' if recent > earlier else 'fewer'} than {than}"
            )
            status.trend_text = f"{recent:g} {noun} in {TREND_DAYS} days ({versus})"
    found = breach(conn, res, now) if res.kind == "stock" and status.has_data else None
    if found is not None:
        status.below_reserve = {
            "level": exact(found.level),
            "reserve": None if found.reserve is None else exact(found.reserve),
            "shortfall": exact(found.shortfall),
            "since": found.since.isoformat() if found.since else None,
            "negative": found.negative,
            "negative_since": found.negative_since.isoformat() if found.negative_since else None,
        }
    run = latest_forecast(conn, res.id)
    if run is not None:
        status.risk = dict(run.risk or {})
        status.forecast_method = run.method
        status.forecast_at = run.created_at.isoformat()
        status.headline = headline(res, status.risk, breach=found)
        status.newer_events, status.newer_readings = (
            int(
                conn.execute(
                    select(func.count())
                    .select_from(table)
                    .where(table.resource_id == res.id, table.ingested_at > run.created_at)
                ).scalar_one()
            )
            for table in (Event, Reading)
        )
        status.newer_records = status.newer_events + status.newer_readings
        if status.newer_records and found is None:
            # The level beside it is live; the outlook is the forecast's: a 5,276 USD fund
            # stood beside "93% chance below its reserve" worked out from 2,882 USD. Events
            # and readings are named as such: a sensor tank's new readings went uncounted
            # while its waterings were called "records".
            newer = " and ".join(
                counted(n, noun)
                for n, noun in (
                    (status.newer_events, "newer event"),
                    (status.newer_readings, "newer reading"),
                )
                if n
            )
            status.headline += (
                f" (forecast of {local_time(run.created_at, res.timezone)}, before "
                f"{newer}: `steward forecast` updates it)"
            )
    elif found is not None:
        status.headline = headline(res, None, breach=found)
    if not status.has_data:
        status.headline = "no data yet: no events or readings recorded"
    elif run is None and found is None:
        status.headline = status.headline or "no forecast yet: run `steward forecast`"
    return status


def overbooked_finding(over: flows.Overbooked) -> dict[str, Any]:
    """A pool's :class:`flows.Overbooked` as ``steward status`` and pages show it.

    The loans are real (lending records do key a checkout before the unit it took),
    so the fix is the missing capacity change, not the loans.
    """
    return {
        "checkouts": over.checkouts,
        "first": over.first.isoformat() if over.first else None,
        "last": over.last.isoformat() if over.last else None,
        "worst": exact(over.worst),
        "now": exact(over.now),
        "fix": (
            "record the capacity change that let them out (a unit bought, entered late "
            "or back from repair) at the date it happened: steward import capacity FILE; "
            "or, if a checkout was keyed wrong (a 3 for a 1, the wrong item), reverse it "
            "instead: adding units for it would invent them"
            if over.now
            # A later change covers them now (the MyTurn sample: items entered seconds
            # after their first checkout): adding a unit would count it twice.
            else "none is out beyond the units now: the units were entered after the "
            "checkouts that took them, so nothing needs fixing unless the history must "
            "be exact (then record each unit from its first loan and its opposite when "
            "it was entered)"
        ),
    }


def _checkouts(conn: Connection, res: ResourceInfo, start: datetime, end: datetime) -> float:
    total = conn.execute(
        select(func.count()).where(
            Event.resource_id == res.id,
            Event.kind == "use",
            Event.reverses_id.is_(None),
            Event.scheduled.is_(False),
            Event.occurred_at > start,
            Event.occurred_at <= end,
        )
    ).scalar_one()
    return float(total)


def firing_alerts(conn: Connection, now: datetime) -> dict[int, list[str]]:
    """Severities of the steward alerts firing per resource id, most severe first.

    Member alerts (a member's own quota) are about the member, and a silenced alert
    is one a steward has said to leave for now: neither counts.
    """
    rows = conn.execute(
        select(Alert.resource_id, Alert.severity, Alert.silenced_until).where(
            Alert.state == "firing",
            Alert.audience == "stewards",
            Alert.resource_id.is_not(None),
        )
    ).all()
    out: dict[int, list[str]] = {}
    for rid, severity, until in rows:
        if until is not None and (until if until.tzinfo else until.replace(tzinfo=UTC)) > now:
            continue
        if rid is not None:  # filtered in SQL; the check narrows the type
            out.setdefault(int(rid), []).append(str(severity))
    for severities in out.values():
        severities.sort(key=lambda s: -SEVERITY_RANK.get(s, 0))
    return out


def all_statuses(conn: Connection, now: datetime | None = None) -> list[ResourceStatus]:
    """Every resource's status, in slug order (scripts read ``--format json`` in it)."""
    now = now or datetime.now(UTC)
    firing = firing_alerts(conn, now)
    found = resources(conn)
    pools = [r.id for r in found if r.kind == "pool"]
    # One read of the loans long past due for every pool, not one per pool.
    lost = availability.lost_loans(conn, pools, now) if pools else {}
    out = []
    # One pass for every pool: a query pair per pool cost 2 CPU-s on 612 MyTurn pools.
    overbooked = flows.overbooked_many(conn, found, now)
    for res in found:
        status = resource_status(conn, res, now, lost, overbooked)
        status.firing = firing.get(res.id, [])
        out.append(status)
    return out
