"""Sensor payloads: nested JSON, local numbers, local and epoch times, retained copies.

Table-driven against the mapping (no broker), and once against Mosquitto with a
retained message: recorded once, and the silent sensor goes stale.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from sqlalchemy import select, update

from steward import collectors
from steward.alerts.options import load_rules
from steward.alerts.rules import collect
from steward.collectors.base import build
from steward.collectors.mqtt_source import MqttCollector, _Message, _State
from steward.ledger import Ledger
from steward.store.models import CollectorState, QuarantinedRow, Reading

from .support import MakeWorkspace
from .test_mqtt_sql import BROKER, broker_up

# (name, options, payload, (value, observed_at UTC) or None, fragment of the reason)
CASES: list[tuple[str, dict[str, Any], str, tuple[float, str] | None, str]] = [
    ("plain number", {}, "412.5", (412.5, ""), ""),
    ("json", {}, '{"value": 412, "at": "2024-05-01T10:00:00Z"}', (412, "2024-05-01 10:00"), ""),
    (
        "tasmota nested, local time (Berlin, summer)",
        {"value_key": "ENERGY.Level", "time_key": "Time", "timezone": "Europe/Berlin"},
        '{"Time": "2024-05-01T10:00:00", "ENERGY": {"Level": 412}}',
        (412, "2024-05-01 08:00"),
        "",
    ),
    (
        "offset-less time in the commons' zone (London)",
        {},
        '{"value": 1, "at": "2024-05-01T10:00:00"}',
        (1, "2024-05-01 09:00"),
        "",
    ),
    ("epoch seconds", {}, '{"value": 1, "at": 1714557600}', (1, "2024-05-01 10:00"), ""),
    ("epoch milliseconds", {}, '{"value": 1, "at": 1714557600000}', (1, "2024-05-01 10:00"), ""),
    ("epoch as text", {}, '{"value": 1, "at": "1714557600"}', (1, "2024-05-01 10:00"), ""),
    (
        "US date with date_format",
        {"date_format": "%m/%d/%Y %H:%M"},
        '{"value": 1, "at": "05/01/2024 11:00"}',
        (1, "2024-05-01 10:00"),
        "",
    ),
    (
        "unreadable time names options mqtt accepts",
        {},
        '{"value": 1, "at": "05/01/2024 11:00"}',
        None,
        "or set date_format",
    ),
    ("decimal comma string", {"decimal": ","}, '{"value": "1.412,5"}', (1412.5, ""), ""),
    ("bare decimal comma", {}, "412,5", (412.5, ""), ""),
    ("ambiguous string", {}, '{"value": "1,234"}', None, "set the source's `decimal` option"),
    ("missing nested key", {"value_key": "ENERGY.Level"}, '{"ENERGY": {}}', None, "value_key"),
    ("not a number", {}, "offline", None, "neither a number nor JSON"),
    ("error value above capacity", {}, "65535", None, "is above the capacity 5000 of tank"),
    ("just above capacity is noise", {}, "5100", (5100, ""), ""),
]


def sensors(**options: Any) -> dict[str, Any]:
    return {
        "name": "sensors",
        "kind": "mqtt",
        "commons": "town",
        "topics": {"garden/#": "tank"},
        **options,
    }


@pytest.mark.parametrize(
    ("name", "options", "payload", "expected", "reason"), CASES, ids=[c[0] for c in CASES]
)
def test_payloads(
    make_workspace: MakeWorkspace,
    name: str,
    options: dict[str, Any],
    payload: str,
    expected: tuple[float, str] | None,
    reason: str,
) -> None:
    ws = make_workspace([sensors(**options)])
    collector = build(ws.config, "sensors")
    assert isinstance(collector, MqttCollector)
    batch = collector._batch([_Message("garden/tank", payload.encode(), 1)])
    with ws.store.write() as conn:
        result = Ledger(conn).record(batch)
        rows = conn.execute(select(Reading.value, Reading.observed_at)).all()
        why = list(conn.execute(select(QuarantinedRow.reason)).scalars())
    assert result.rows_read == result.accepted + result.duplicates + result.quarantined == 1
    if expected is None:
        assert rows == [] and len(why) == 1 and reason in why[0], why
        return
    value, at = expected
    assert [float(r.value) for r in rows] == [value]
    if at:
        assert rows[0].observed_at.strftime("%Y-%m-%d %H:%M") == at


def test_retained_copy_is_the_same_reading(make_workspace: MakeWorkspace) -> None:
    ws = make_workspace([sensors()])
    collector = build(ws.config, "sensors")
    assert isinstance(collector, MqttCollector)
    state = _State()
    level = b'{"value": 4500}'
    first = collector._batch([_Message("garden/tank", level, 1, copy=True)], state)
    again = collector._batch([_Message("garden/tank", level, 1, copy=True)], state)
    live = collector._batch([_Message("garden/tank", level, 2)], state)
    with ws.store.write() as conn:
        results = [Ledger(conn).record(b) for b in (first, again, live)]
    assert [(r.accepted, r.duplicates) for r in results] == [(1, 0), (0, 1), (1, 0)]


def publish_retained(topic: str, payload: str) -> None:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    client.connect(*BROKER)
    client.loop_start()
    client.publish(topic, payload, qos=1, retain=True).wait_for_publish(5)
    client.loop_stop()
    client.disconnect()


@pytest.mark.skipif(not broker_up(), reason="needs the Mosquitto broker on 127.0.0.1:1883")
def test_retained_level_is_recorded_once_and_a_dead_sensor_goes_stale(
    make_workspace: MakeWorkspace,
) -> None:
    topic = f"steward-test/{uuid.uuid4().hex}"
    options = {
        "topics": {f"{topic}/#": "tank"},
        "listen_seconds": 0.7,
        "connect_timeout": 2,
        "client_id": f"steward-test-{uuid.uuid4().hex[:12]}",
    }
    ws = make_workspace([sensors(**options)])
    publish_retained(f"{topic}/tank", json.dumps({"value": 4500}))
    try:
        runs = [collectors.run(ws, "sensors") for _ in range(3)]
        assert [(r.status, r.accepted, r.duplicates) for r in runs] == [
            ("ok", 1, 0),
            ("ok", 0, 1),
            ("ok", 0, 1),
        ]
        with ws.store.read() as conn:
            assert [float(v) for v in conn.execute(select(Reading.value)).scalars()] == [4500]
        # The sensor dies: three hours pass with only the retained copy on the broker.
        with ws.store.write() as conn:
            cursor = json.loads(conn.execute(select(CollectorState.cursor)).scalar_one())
            cursor["fresh_at"] = (datetime.now(UTC) - timedelta(hours=3)).isoformat()
            conn.execute(update(CollectorState).values(cursor=json.dumps(cursor)))
        silent = collectors.run(ws, "sensors")
        assert silent.status == "failed" and "sensor silent" in (silent.error or "")
        assert silent.duplicates == 1  # the retained copy is still recognised
    finally:
        publish_retained(f"{topic}/tank", "")  # clear the retained message
    settings = ws.settings
    rules = load_rules(settings)
    with ws.store.read() as conn:
        last = conn.execute(select(CollectorState.last_success_at)).scalar_one()
    later = datetime.now(UTC) + timedelta(hours=3)
    with ws.store.write() as conn:
        found = collect(conn, settings, rules, later)
    assert "collector_stale:sensors" in found
    assert last is not None and later - last > timedelta(hours=2)
