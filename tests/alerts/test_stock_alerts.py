"""Observed reserve breaches, levels below zero, hysteresis, and what notifications say.

Every test reads the notifications a real local webhook receiver got, as a
steward would, not only the alert rows.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select, update

from steward.alerts import evaluate
from steward.alerts.delivery import deliver_pending
from steward.headlines import headline
from steward.ledger import Batch, Ledger, NewEvent, NewReading
from steward.reserve import breach, crossed_at
from steward.status import resource_status
from steward.store import catalog
from steward.store.models import Alert, AlertHistory
from tests.alerts.support import T0, insert_forecast

NO_DRIFT = {"drift": {"enabled": False}, "anomaly": {"enabled": False}}


def record(ws, *events: NewEvent, readings: tuple[NewReading, ...] = ()) -> None:
    with ws.store.write() as conn:
        Ledger(conn).record(Batch("books", events=events, readings=readings))


def forecast(ws, slug: str, risk: dict, paths: dict | None = None, at: datetime = T0) -> None:
    with ws.store.write() as conn:
        insert_forecast(conn, slug, risk, paths, at)


def run(ws, now: datetime, config: bool = True) -> None:
    with ws.store.write() as conn:
        evaluate(conn, ws.settings, now, config_path=ws.config.path if config else None)
    deliver_pending(ws.store, ws.settings, now)


def states(ws) -> dict[str, str]:
    with ws.store.read() as conn:
        return dict(conn.execute(select(Alert.fingerprint, Alert.state).order_by(Alert.id)).all())


def texts(receiver) -> list[str]:
    return [f"{b['title']}\n{b['message']}" for b in receiver.bodies]


# The garden's tank: reserve 100 L, 800 L at first, 190 L used by T0: 610 L.
BIG_USE = NewEvent("tank", "use", 560, "2025-03-12T10:30:00+01:00", "big")  # -> 50 L


def test_observed_breach_is_one_alert_that_says_what_when_how_much_and_what_to_do(
    make_garden, http_receiver
) -> None:
    http_receiver.start()
    ws = make_garden([{"name": "stewards", "urls": [http_receiver.url]}], NO_DRIFT)
    forecast(ws, "tank", {"p_below_reserve": 0.97, "date_p50": "2025-03-14"})
    record(ws, BIG_USE)

    run(ws, T0)

    # The forecast's depletion alert is superseded by the observed breach: one alert.
    assert {fp: s for fp, s in states(ws).items() if not fp.startswith("quota")} == {
        "below_reserve:tank": "firing"
    }
    (text,) = [t for t in texts(http_receiver) if "below_reserve" in t]
    assert (
        "Rain tank is below its reserve of 100 L now: 50 L recorded, 50 L short, "
        "since 12 Mar 2025, 10:30 CET" in text
    )
    assert "How sure: recorded, not forecast" in text
    assert "What to do: hold watering that can wait and seek 50 L of rain and refills" in text
    assert f"--config {Path(ws.config.path).resolve()} quotas --resource tank" in text
    assert "chance" not in text


def test_a_firing_depletion_alert_gives_way_to_the_breach_without_a_resolved_message(
    make_garden, http_receiver
) -> None:
    http_receiver.start()
    ws = make_garden([{"name": "stewards", "urls": [http_receiver.url]}], NO_DRIFT)
    forecast(
        ws, "tank", {"p_below_reserve": 0.8, "date_p50": "2025-03-20"}, at=T0 - timedelta(hours=2)
    )
    run(ws, T0 - timedelta(hours=1))
    assert states(ws)["depletion:tank"] == "firing"

    record(ws, BIG_USE)
    run(ws, T0)
    assert states(ws)["depletion:tank"] == "resolved"
    assert states(ws)["below_reserve:tank"] == "firing"
    assert not [t for t in texts(http_receiver) if "RESOLVED" in t]
    with ws.store.read() as conn:
        notes = conn.execute(
            select(AlertHistory.note).where(AlertHistory.action == "inhibited")
        ).scalars()
        assert list(notes) == ["held back while below_reserve:tank stands"]

    # A refill brings it back above the reserve: RESOLVED says where it is now.
    record(ws, NewEvent("tank", "replenish", 400, "2025-03-12T13:00:00+01:00", "refill"))
    forecast(ws, "tank", {"p_below_reserve": 0.1}, at=T0 + timedelta(hours=2))
    run(ws, T0 + timedelta(hours=3))
    assert states(ws)["below_reserve:tank"] == "resolved"
    (resolved,) = [t for t in texts(http_receiver) if "RESOLVED" in t]
    assert "Now: Rain tank is back at 450 L, at or above its reserve of 100 L." in resolved
    assert "Until now it said: Rain tank is below its reserve of 100 L now: 50 L" in resolved


def test_a_level_back_and_forth_across_the_reserve_is_one_alert(make_garden, http_receiver) -> None:
    """Back at 102 L against a 100 L reserve is not yet clear of it (5% margin: 105 L)."""
    http_receiver.start()
    ws = make_garden([{"name": "stewards", "urls": [http_receiver.url]}], NO_DRIFT)
    record(ws, BIG_USE)
    run(ws, T0)
    record(ws, NewEvent("tank", "replenish", 52, "2025-03-12T12:30:00+01:00", "drizzle"))
    run(ws, T0 + timedelta(hours=1))
    assert states(ws)["below_reserve:tank"] == "firing"
    with ws.store.read() as conn:
        summary = conn.scalar(select(Alert.summary).where(Alert.rule == "below_reserve"))
    assert summary == (
        "Rain tank is back at 102 L, just above its reserve of 100 L: this alert stays open "
        "until it reaches 105 L (5% over the reserve), so a level going back and forth "
        "across the line is one alert"
    )
    record(ws, NewEvent("tank", "use", 10, "2025-03-12T13:30:00+01:00", "again"))
    run(ws, T0 + timedelta(hours=2))
    record(ws, NewEvent("tank", "replenish", 20, "2025-03-12T14:30:00+01:00", "shower"))
    run(ws, T0 + timedelta(hours=3))
    assert states(ws)["below_reserve:tank"] == "resolved"
    with ws.store.read() as conn:
        assert conn.scalar(select(func.count()).where(Alert.rule == "below_reserve")) == 1
    assert len([t for t in texts(http_receiver) if "RESOLVED" in t]) == 1


def test_a_level_below_zero_is_its_own_alert_and_holds_back_the_rest(
    make_garden, http_receiver
) -> None:
    http_receiver.start()
    ws = make_garden(
        [{"name": "stewards", "urls": [http_receiver.url]}], {"drift": {"enabled": False}}
    )
    forecast(ws, "tank", {"p_below_reserve": 1.0, "date_p50": "2025-03-13"})
    record(ws, NewEvent("tank", "use", 640, "2025-03-12T09:00:00+01:00", "too-much"))  # -> -30 L

    run(ws, T0)

    fired = {fp: s for fp, s in states(ws).items() if not fp.startswith("quota")}
    assert fired == {"negative_level:tank": "firing"}
    (text,) = texts(http_receiver)
    assert "Rain tank's recorded level is -30 L, below zero since 12 Mar 2025, 09:00 CET" in text
    assert "more was drawn than the records show was there. A data or accounting problem." in text
    assert "It is also 130 L below its reserve of 100 L, if the records are right." in text
    assert "quarantine list shows rows a source could not record" in text
    assert "[CRITICAL] negative_level:" in text


def test_a_fund_paying_out_more_than_came_in_says_so(make_garden) -> None:
    ws = make_garden([], NO_DRIFT)
    record(ws, NewEvent("tank", "use", 3265.92, "2025-03-12T09:00:00+01:00", "grant"))
    with ws.store.read() as conn:
        res = catalog.resource(conn, "tank")
        money = replace(res, unit="USD", name="Mutual-aid fund")
        found = breach(conn, money, T0)
    assert found is not None and found.negative
    assert found.level == Decimal("-2655.92")
    assert found.shortfall == Decimal("2755.92")
    text = headline(money, {"p_below_reserve": 1.0, "horizon_end": "2025-06-10"}, breach=found)
    assert text.startswith("Recorded level below zero: -2,655.92 USD since 12 March")
    assert "more was paid out than the records show coming in" in text
    assert "chance" not in text


def test_since_walks_back_through_readings_and_events(make_garden) -> None:
    ws = make_garden([], NO_DRIFT)
    t1 = datetime(2025, 3, 12, 8, 0, tzinfo=UTC)
    record(
        ws,
        NewEvent("tank", "use", 20, "2025-03-12T12:00:00+01:00", "e1"),  # 90 -> 70 L
        readings=(NewReading("tank", 90, t1, "r1"),),  # 610 -> 90: below from the reading
    )
    with ws.store.read() as conn:
        res = catalog.resource(conn, "tank")
        found = breach(conn, res, T0 + timedelta(hours=1))
        assert found is not None and found.level == Decimal(70)
        assert found.since == t1
        # A later refill to 120 L, then a use back to 95 L: below since that use.
    record(
        ws,
        NewEvent("tank", "replenish", 50, "2025-03-12T14:00:00+01:00", "e2"),
        NewEvent("tank", "use", 25, "2025-03-12T15:00:00+01:00", "e3"),
    )
    with ws.store.read() as conn:
        found = breach(conn, res, T0 + timedelta(hours=5))
        assert found is not None and found.level == Decimal(95)
        assert found.since == datetime(2025, 3, 12, 14, 0, tzinfo=UTC)
        assert crossed_at(conn, res, T0 + timedelta(hours=5), Decimal(95), Decimal(1000)) is None


def test_status_line_says_below_now_not_a_chance(make_garden) -> None:
    ws = make_garden([], NO_DRIFT)
    forecast(ws, "tank", {"p_below_reserve": 1.0, "horizon_end": "2025-06-10"})
    record(ws, BIG_USE)
    with ws.store.read() as conn:
        res = catalog.resource(conn, "tank")
        status = resource_status(conn, res, T0)
    assert status.headline == (
        "Below its reserve now: 50 L, 50 L short of 100 L, since 12 March 2025: "
        "hold watering that can wait and seek rain and refills"
    )
    assert status.below_reserve is not None and status.below_reserve["shortfall"] == "50"


def pool_risk(p_first: float, p_peak: float) -> tuple[dict, dict]:
    days = [f"2025-03-{d:02d}" for d in range(13, 20)]
    per_day = [0.1, p_first, 0.15, p_peak, 0.12, 0.1, 0.1]
    risk = {
        "max_p_over_capacity": max(per_day),
        "peak_date": days[per_day.index(max(per_day))],
        "p_over_capacity_dates": per_day,
        "horizon_end": days[-1],
    }
    return risk, {"dates": days}


def test_pool_alert_and_headline_give_the_same_day_and_chance(make_garden) -> None:
    ws = make_garden([], {**NO_DRIFT, "overbooking": {"p": 0.3, "within": "28d"}})
    risk, paths = pool_risk(0.35, 0.62)
    forecast(ws, "drill", risk, paths)
    run(ws, T0)
    with ws.store.read() as conn:
        summary = conn.execute(
            select(Alert.summary).where(Alert.fingerprint == "overbooking:drill")
        ).scalar_one()
        res = catalog.resource(conn, "drill")
    line = headline(res, risk)
    # The likeliest day, 16 March, and its chance, in both: not the first day over 30%.
    assert summary.startswith(
        "62% chance demand for Drills exceeds the units available on Sun 16 March 2025, "
        "its highest chance of any day within the next 28 days"
    )
    assert line.startswith(
        "62% chance demand for Drills exceeds the units available on Sun 16 March"
    )
    assert "its highest chance of any day by 19 March" in line


def test_stock_alert_and_headline_give_the_same_date(make_garden) -> None:
    ws = make_garden([], NO_DRIFT)
    risk = {"p_below_reserve": 0.62, "date_p50": "2025-05-01", "horizon_end": "2025-06-10"}
    forecast(ws, "tank", risk)
    run(ws, T0)
    with ws.store.read() as conn:
        summary = conn.execute(
            select(Alert.summary).where(Alert.fingerprint == "depletion:tank")
        ).scalar_one()
        res = catalog.resource(conn, "tank")
    assert summary == (
        "62% chance Rain tank falls below its reserve of 100 L by 10 June 2025, "
        "over 50% by 1 May 2025"
    )
    assert headline(res, risk).endswith(", over 50% by 1 May 2025")


def test_hysteresis_holds_a_pool_alert_open_and_resolved_states_the_current_chance(
    make_garden, http_receiver
) -> None:
    http_receiver.start()
    ws = make_garden(
        [{"name": "stewards", "urls": [http_receiver.url]}],
        {**NO_DRIFT, "overbooking": {"p": 0.5}},
    )
    risk, paths = pool_risk(0.2, 0.51)
    forecast(ws, "drill", risk, paths)
    run(ws, T0)
    assert states(ws)["overbooking:drill"] == "firing"

    # Ten minutes later the simulation says 47%: under 50%, not under 40%: still open.
    risk, paths = pool_risk(0.2, 0.47)
    forecast(ws, "drill", risk, paths, at=T0 + timedelta(minutes=9))
    run(ws, T0 + timedelta(minutes=10))
    assert states(ws)["overbooking:drill"] == "firing"
    assert len(http_receiver.bodies) == 1
    with ws.store.read() as conn:
        summary = conn.execute(select(Alert.summary)).scalar_one()
    assert summary.startswith("47% chance") and "held open until it falls below 40%" in summary

    # Then 32%: under 40%, resolved, and the message says 32%, not 51%.
    risk, paths = pool_risk(0.2, 0.32)
    forecast(ws, "drill", risk, paths, at=T0 + timedelta(minutes=19))
    run(ws, T0 + timedelta(minutes=20))
    assert states(ws)["overbooking:drill"] == "resolved"
    title, body = http_receiver.bodies[-1]["title"], http_receiver.bodies[-1]["message"]
    assert title.startswith("[RESOLVED WARNING] overbooking: 32% chance demand for Drills")
    assert body.startswith("Now: 32% chance demand for Drills exceeds the units available on")
    assert "under the 40% at which the alert resolves (it fires at 50%)" in body
    assert "Until now it said: 47% chance" in body
    assert "51%" not in title


def test_clear_margin_must_leave_room_to_resolve(make_garden) -> None:
    import pytest

    from steward.alerts.options import load_rules
    from steward.errors import ConfigError

    ws = make_garden([], {"overbooking": {"p": 0.1, "clear_margin": 0.2}})
    with pytest.raises(ConfigError, match=r"clear_margin \(0.2\) must be below p \(0.1\)"):
        load_rules(ws.settings)
    ws = make_garden([], {"overbooking": {"p": 0.1}})
    assert abs(load_rules(ws.settings).overbooking.clears_below() - 0.05) < 1e-9


def test_commands_in_messages_run_as_printed(make_garden, http_receiver) -> None:
    http_receiver.start()
    ws = make_garden([{"name": "stewards", "urls": [http_receiver.url]}], NO_DRIFT)
    record(ws, BIG_USE)
    run(ws, T0)
    (text,) = [t for t in texts(http_receiver) if "below_reserve" in t]
    assert "PATH" not in text
    config = str(Path(ws.config.path).resolve())
    assert f"--config {config} alerts ack 1 (or: " in text
    assert f"--config {config} alerts silence 1 --for 1d --reason 'why')" in text


def test_without_the_config_path_a_placeholder_is_named_and_explained(
    make_garden, http_receiver
) -> None:
    http_receiver.start()
    ws = make_garden([{"name": "stewards", "urls": [http_receiver.url]}], NO_DRIFT)
    record(ws, BIG_USE)
    run(ws, T0, config=False)
    (text,) = [t for t in texts(http_receiver) if "below_reserve" in t]
    assert "steward --config <your steward.yaml> alerts ack 1" in text
    assert "(<your steward.yaml> stands for the configuration file the monitor runs with" in text
    assert "PATH" not in text


def test_pages_say_below_now_with_figures_for_stewards_only(make_garden) -> None:
    from steward.access import Scope
    from steward.queries import health
    from steward.store.models import Commons

    ws = make_garden([], NO_DRIFT)
    forecast(ws, "tank", {"p_below_reserve": 1.0, "horizon_end": "2025-06-10"})
    record(ws, BIG_USE)
    with ws.store.read() as conn:
        garden = conn.execute(select(Commons.id).where(Commons.slug == "garden")).scalar_one()
        steward = {t.slug: t for t in health.tiles(Scope.steward(garden, "sam"), conn, T0)}
        public = {t.slug: t for t in health.tiles(Scope.public(), conn, T0)}
    tank = steward["tank"]
    assert tank.headline.startswith(
        "Below its reserve now: 50 L, 50 L short of 100 L, since 12 March"
    )
    assert tank.status == "danger" and tank.below is not None
    # Signed out: that it is below and since when, no exact level or shortfall.
    assert public["tank"].headline == "Below its reserve now, since 12 March 2025"
    assert public["tank"].below is None


def test_overview_what_to_do_names_the_shortfall() -> None:
    from dashboards.advice import what_to_do
    from steward.queries.health import Tile
    from steward.reserve import Breach

    below = Breach(
        level=Decimal("1842.1"),
        reserve=Decimal(2500),
        threshold=Decimal(2500),
        shortfall=Decimal("657.9"),
        since=T0,
        negative=False,
        negative_since=None,
    )
    tile = Tile(
        slug="fund",
        name="Fund",
        kind="stock",
        unit="USD",
        commons_slug="fund",
        level=1842.1,
        capacity=None,
        reserve=2500.0,
        trend=None,
        headline="",
        has_forecast=True,
        status="danger",
        below=below,
    )
    assert what_to_do(tile) == (
        "Below its reserve now: hold grants that can wait and seek $657.90 of donations"
    )
    negative = replace(below, level=Decimal("-2655.92"), negative=True, negative_since=T0)
    assert what_to_do(replace(tile, below=negative)).startswith(
        "Check the records: a level below zero means more was paid out than the records show"
    )


def test_guidance_names_the_alerts_own_collector_and_member(tmp_path) -> None:
    from steward.alerts.messages import command_prefix, message
    from steward.store.models import Alert as AlertRow

    def row(**values) -> AlertRow:
        base = {
            "id": 9,
            "severity": "warning",
            "state": "firing",
            "first_seen_at": T0,
            "acknowledged_at": None,
            "silenced_until": None,
            "silenced_at": None,
            "silence_reason": None,
            "silenced_by": None,
            "commons_id": 1,
            "audience": "stewards",
            "details": {},
            "summary": "s",
        }
        return AlertRow(**(base | values))

    config = tmp_path / "my config" / "steward.yaml"
    command = command_prefix(config)
    assert command.endswith(f"--config '{config.resolve()}'")  # quoted: the path has a space
    _, body = message(row(rule="collector_stale", source="garden-water"), "firing", command=command)
    assert f"{command} collect garden-water" in body and "NAME" not in body
    _, body = message(
        row(rule="quota", details={"member": "F0042", "resource": "fund"}),
        "firing",
        command=command,
    )
    assert f"{command} quotas --member F0042 --explain" in body and "CODE" not in body


def test_a_resolved_group_never_lists_an_old_figure_as_current() -> None:
    from steward.alerts.messages import group_message
    from steward.store.models import Alert as AlertRow

    alerts = [
        AlertRow(id=i, severity="warning", rule="quota", summary=f"old {i}", details={})
        for i in (1, 2)
    ]
    for a in alerts:
        a.silenced_until = a.acknowledged_at = a.silence_reason = a.silenced_by = None
    _, body = group_message(alerts, "resolved", now_texts={1: "used 3 of 10 L"})
    assert "- #1 now: used 3 of 10 L" in body
    assert "- #2 no longer holds (it said: old 2)" in body


def test_one_fall_below_the_reserve_is_one_alert_not_a_breach_and_an_anomaly() -> None:
    from steward.alerts.lifecycle import inhibit
    from steward.alerts.rules import Candidate

    def candidate(rule: str, resource_id: int) -> Candidate:
        return Candidate(
            f"{rule}:{resource_id}",
            rule,
            "critical",
            rule,
            timedelta(0),
            timedelta(days=1),
            resource_id=resource_id,
        )

    found = [candidate(r, 1) for r in ("below_reserve", "anomaly", "deficit")]
    found.append(candidate("anomaly", 2))  # another resource's anomaly stands
    held = inhibit({c.fingerprint: c for c in found})
    assert held == {"anomaly:1": "below_reserve:1", "deficit:1": "below_reserve:1"}


def _entry(output: str, alert_id: int) -> str:
    """Alert ``alert_id``'s entry in ``steward alerts list``, its lines joined: the
    console's width (fixed when the CLI module is first imported) may wrap it."""
    lines = output.splitlines()
    (start,) = [i for i, x in enumerate(lines) if x.startswith(f"#{alert_id} ")]
    block = []
    for x in lines[start:]:
        if not x.strip():
            break
        block.append(x)
    return " ".join(" ".join(block).split())


def test_a_held_back_alert_reads_held_back_not_resolved(make_garden, http_receiver) -> None:
    """A depletion alert held back by a reserve breach is closed in the store, but
    ``alerts list --all`` names what holds it and never calls it resolved; once the
    holder closes, it says held back until then. Alerts held back before the holder
    was kept on the alert are read from their history."""
    from typer.testing import CliRunner

    from steward.cli import app

    http_receiver.start()
    ws = make_garden([{"name": "stewards", "urls": [http_receiver.url]}], NO_DRIFT)
    forecast(
        ws, "tank", {"p_below_reserve": 0.8, "date_p50": "2025-03-20"}, at=T0 - timedelta(hours=2)
    )
    run(ws, T0 - timedelta(hours=1))
    record(ws, BIG_USE)
    run(ws, T0)
    with ws.store.read() as conn:
        ids = dict(conn.execute(select(Alert.fingerprint, Alert.id)).all())
        details = conn.execute(
            select(Alert.details).where(Alert.fingerprint == "depletion:tank")
        ).scalar_one()
    held, holder = ids["depletion:tank"], ids["below_reserve:tank"]
    assert details["held_back_by"] == {"fingerprint": "below_reserve:tank", "alert_id": holder}

    runner = CliRunner()
    cfg = ["--config", str(ws.config.path)]
    out = runner.invoke(app, [*cfg, "alerts", "list", "--all"], env={"COLUMNS": "200"})
    assert out.exit_code == 0, out.output
    line = _entry(out.output, held)
    assert (
        f"held back by below_reserve #{holder} (the resource is below its reserve; "
        "this alert's condition may still hold) depletion" in line
    )
    assert "resolved" not in line

    # An alert closed before the holder was kept on it: its history names the holder.
    with ws.store.write() as conn:
        conn.execute(update(Alert).where(Alert.id == held).values(details={}))
    out = runner.invoke(app, [*cfg, "alerts", "list", "--all"], env={"COLUMNS": "200"})
    line = _entry(out.output, held)
    assert "held back by below_reserve:tank (this alert's condition may still hold)" in line
    assert "resolved" not in line
    with ws.store.write() as conn:
        conn.execute(update(Alert).where(Alert.id == held).values(details=details))

    # The refill closes the holder: the held-back alert no longer says it may hold.
    record(ws, NewEvent("tank", "replenish", 400, "2025-03-12T13:00:00+01:00", "refill"))
    forecast(ws, "tank", {"p_below_reserve": 0.1}, at=T0 + timedelta(hours=2))
    run(ws, T0 + timedelta(hours=3))
    out = runner.invoke(app, [*cfg, "alerts", "list", "--all"], env={"COLUMNS": "200"})
    line = _entry(out.output, held)
    assert f"held back by below_reserve #{holder} until that closed" in line
    (line,) = [x for x in out.output.splitlines() if x.startswith(f"#{holder} ")]
    assert "resolved  below_reserve" in line


def test_status_says_when_its_outlook_predates_newer_records(make_garden) -> None:
    """The level is live, the outlook is the forecast's: a figure recorded since it
    ran is not in the outlook, and the line says so rather than mixing the two."""
    ws = make_garden([], NO_DRIFT)
    forecast(ws, "tank", {"p_below_reserve": 0.2}, at=T0)  # before the waterings were recorded
    with ws.store.read() as conn:
        status = resource_status(conn, catalog.resource(conn, "tank"), T0)
    assert status.newer_records == 3  # the garden's three waterings
    assert "(forecast of " in status.headline
    assert status.headline.endswith("before 3 newer events: `steward forecast` updates it)")
    # A sensor's readings are counted as readings (they went uncounted, and the
    # waterings were called "records").
    record(ws, readings=(NewReading("tank", 500, T0 + timedelta(hours=1), "r-late"),))
    with ws.store.read() as conn:
        status = resource_status(conn, catalog.resource(conn, "tank"), T0)
    assert (status.newer_events, status.newer_readings, status.newer_records) == (3, 1, 4)
    assert status.headline.endswith(
        "before 3 newer events and 1 newer reading: `steward forecast` updates it)"
    )
    forecast(ws, "tank", {"p_below_reserve": 0.2}, at=datetime.now(UTC) + timedelta(minutes=1))
    with ws.store.read() as conn:
        status = resource_status(conn, catalog.resource(conn, "tank"), T0)
    assert status.newer_records == 0 and "(forecast of " not in status.headline
