"""Reconciliation drift on a stock with a capacity: a full tank overflows, a leak does not."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from steward import flows
from steward.alerts import evaluate
from steward.alerts.drift import latest_drift
from steward.alerts.messages import advice
from steward.alerts.records import entities
from steward.ledger import Batch, Ledger, NewEvent, NewReading
from steward.status import resource_status
from steward.store import catalog
from steward.store.models import Alert
from tests.alerts.support import T0

# The garden's tank holds 1,000 L (5% drift tolerance: 50 L).
FULL = NewReading("tank", 990, T0 - timedelta(days=1), "full")
STORM = NewEvent("tank", "replenish", 400, T0 - timedelta(hours=12), "storm")


def _record(ws, *events: NewEvent, readings: tuple[NewReading, ...] = ()) -> None:
    with ws.store.write() as conn:
        Ledger(conn).record(Batch("sensor", events=events, readings=readings))


def _drift_alerts(ws) -> list[str]:
    with ws.store.write() as conn:
        evaluate(conn, ws.settings, T0)
        return list(conn.execute(select(Alert.summary).where(Alert.rule == "drift")).scalars())


def test_rain_on_a_full_tank_overflows_and_is_no_drift(make_garden) -> None:
    ws = make_garden([])
    _record(ws, STORM, readings=(FULL, NewReading("tank", 1000, T0 - timedelta(hours=1), "r2")))
    with ws.store.read() as conn:
        res = catalog.resource(conn, "tank")
        found = latest_drift(conn, res, T0)
        # 990 + 400 L of rain would be 1,390 L in a 1,000 L tank: 390 L spilled over.
        assert found is not None and found.implied == Decimal(1000)
        # The level the status shows between readings spills the same way.
        assert flows.level(conn, res, T0 - timedelta(hours=2)) == Decimal(1000)
        assert resource_status(conn, res, T0 - timedelta(hours=2)).level == 1000.0
    assert _drift_alerts(ws) == []


def test_a_leak_after_the_tank_overflowed_still_fires(make_garden) -> None:
    ws = make_garden([])
    use = NewEvent("tank", "use", 100, T0 - timedelta(hours=6), "u-after-storm")
    _record(ws, STORM, use, readings=(FULL, NewReading("tank", 600, T0 - timedelta(hours=1), "r2")))
    with ws.store.read() as conn:
        found = latest_drift(conn, catalog.resource(conn, "tank"), T0)
    # Full (1,000 L) less 100 L used: 900 L; the tank reads 600 L, so 300 L left unrecorded.
    assert found is not None and (found.implied, found.gap) == (Decimal(900), Decimal(-300))
    [summary] = _drift_alerts(ws)
    assert "300 L less than the ledger implies (900 L)" in summary


def test_the_implied_level_spills_as_a_walk_event_by_event_would(make_garden) -> None:
    """The closed form (one query) against the plain walk: clip after each event."""
    ws = make_garden([])
    # From 610 L (800 L less the 190 L used by T0): rain and use around the 1,000 L top.
    steps = [300, 250, -120, 400, -500, 80, 600, -50, -900, 200]
    events = [
        NewEvent(
            "tank",
            "replenish" if q > 0 else "use",
            abs(q),
            T0 + timedelta(hours=i + 1),
            f"walk-{i}",
        )
        for i, q in enumerate(steps)
    ]
    _record(ws, *events)
    walked = Decimal(610)
    with ws.store.read() as conn:
        res = catalog.resource(conn, "tank")
        for i, q in enumerate(steps):
            walked = min(walked + q, Decimal(1000))
            at = T0 + timedelta(hours=i + 1)
            assert flows.level(conn, res, at) == walked, (i, walked)
    assert walked == Decimal(250)


def _drift_messages(ws) -> list[tuple[str, str]]:
    with ws.store.write() as conn:
        evaluate(conn, ws.settings, T0)
        alerts = entities(conn, select(Alert).where(Alert.rule == "drift"))
    return [(a.summary, " ".join(advice(a.rule, a.details or {}, a.source))) for a in alerts]


def test_a_reading_above_the_ledger_is_missing_rain_or_a_sensor_fault_not_a_leak(
    make_garden,
) -> None:
    ws = make_garden([])
    use = NewEvent("tank", "use", 100, T0 - timedelta(hours=6), "u-before-gain")
    low = NewReading("tank", 500, T0 - timedelta(days=1), "r1")
    _record(ws, use, readings=(low, NewReading("tank", 700, T0 - timedelta(hours=1), "r2")))
    # 500 L less 100 L used: the ledger implies 400 L; the tank reads 700 L.
    [(summary, todo)] = _drift_messages(ws)
    assert "300 L more than the ledger implies (400 L)" in summary
    assert "leak" not in summary and "leak" not in todo
    # The tank's own words (litres are water): its replenishment is rain and refills.
    assert "unrecorded rain and refills or a sensor fault" in summary
    assert "record the rain and refills the ledger is missing" in todo
    assert "sensor" in todo


def test_a_reading_below_the_ledger_still_says_leak(make_garden) -> None:
    ws = make_garden([])
    use = NewEvent("tank", "use", 100, T0 - timedelta(hours=6), "u-after-storm")
    _record(ws, STORM, use, readings=(FULL, NewReading("tank", 600, T0 - timedelta(hours=1), "r2")))
    [(summary, todo)] = _drift_messages(ws)
    assert summary.endswith("a leak, unrecorded use or a sensor fault")
    assert "check the resource for a leak" in todo
