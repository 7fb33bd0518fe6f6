"""The mqtt collector against the real Mosquitto broker, and the sql collector."""

from __future__ import annotations

import json
import socket
import uuid
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from sqlalchemy import create_engine, func, select, text

from steward import collectors
from steward.store.models import CollectorState, Reading
from steward.workspace import Workspace

from .support import MakeWorkspace

BROKER = ("127.0.0.1", 1883)


def broker_up() -> bool:
    try:
        with socket.create_connection(BROKER, timeout=1):
            return True
    except OSError:
        return False


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def publish(topic: str, payloads: list[str]) -> None:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    client.connect(*BROKER)
    client.loop_start()
    for payload in payloads:
        client.publish(topic, payload, qos=1).wait_for_publish(5)
    client.loop_stop()
    client.disconnect()


def readings(ws: Workspace) -> list[tuple[str, float]]:
    with ws.store.read() as conn:
        rows = conn.execute(select(Reading.external_id, Reading.value).order_by(Reading.id)).all()
    return [(r.external_id, float(r.value)) for r in rows]


def mqtt_collector(topic: str, client_id: str, port: int = BROKER[1]) -> dict[str, Any]:
    return {
        "name": "sensors",
        "kind": "mqtt",
        "port": port,
        "topics": {f"{topic}/#": "tank"},
        "listen_seconds": 0.7,
        "connect_timeout": 2,
        "client_id": client_id,
    }


@pytest.mark.skipif(not broker_up(), reason="needs the Mosquitto broker on 127.0.0.1:1883")
def test_broker_down_and_back_loses_nothing(make_workspace: MakeWorkspace) -> None:
    topic = f"steward-test/{uuid.uuid4().hex}"
    client_id = f"steward-test-{uuid.uuid4().hex[:12]}"
    ws = make_workspace([mqtt_collector(topic, client_id)])
    # The first run opens the persistent session the broker keeps messages for.
    assert collectors.run(ws, "sensors").status == "ok"
    down = make_workspace([mqtt_collector(topic, client_id, port=closed_port())])
    publish(
        f"{topic}/tank",
        ['{"value": 1200, "at": "2024-05-01T08:00:00Z", "id": "m1"}', "1180.5", "not a number"],
    )
    failed = collectors.run(down, "sensors", retries=1, sleep=lambda _s: None)
    assert failed.status == "failed" and "broker unreachable" in (failed.error or "")
    ws = make_workspace([mqtt_collector(topic, client_id)])
    back = collectors.run(ws, "sensors")
    assert (back.status, back.accepted, back.quarantined) == ("ok", 2, 1)
    got = readings(ws)
    assert got[0] == ("m1", 1200.0) and got[1][1] == 1180.5
    # Acknowledged after the commit: the broker does not send them again.
    assert collectors.run(ws, "sensors").rows_read == 0
    with ws.store.read() as conn:
        assert conn.execute(select(CollectorState.consecutive_failures)).scalar_one() == 0


@pytest.fixture
def source_db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'source.db'}"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE meter (id INTEGER, tank TEXT, litres TEXT, at TEXT)"))
        rows = [(i, "tank", f"{1000 - i}", f"2024-05-01T{i // 4:02d}:00:00Z") for i in range(10)]
        conn.execute(
            text("INSERT INTO meter VALUES (:i, :t, :v, :a)"),
            [{"i": i, "t": t, "v": v, "a": a} for i, t, v, a in rows],
        )
    engine.dispose()
    return url


def sql_collector(url: str, **options: Any) -> dict[str, Any]:
    return {
        "name": "meter",
        "kind": "sql",
        "commons": "town",
        "url": url,
        "query": "SELECT 'm' || id AS external_id, tank AS resource, litres AS value, at AS observed_at, at FROM meter",
        "cursor_column": "at",
        "record": "readings",
        **options,
    }


def test_sql_incremental_with_ties_at_chunk_edges(
    make_workspace: MakeWorkspace, source_db: str
) -> None:
    ws = make_workspace([sql_collector(source_db, chunk_rows=3)])
    first = collectors.run(ws, "meter")
    assert (first.rows_read, first.accepted) == (10, 10)  # ties on `at` never skip a row
    engine = create_engine(source_db)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO meter VALUES (10, 'tank', 'n/a', '2024-05-01T05:00:00Z')"))
        conn.execute(text("INSERT INTO meter VALUES (11, 'tank', '990', '2024-05-01T05:00:00Z')"))
    engine.dispose()
    second = collectors.run(ws, "meter")
    assert (second.rows_read, second.accepted, second.quarantined) == (2, 1, 1)
    for _ in range(10):
        assert collectors.run(ws, "meter", from_start=True).accepted == 0
    with ws.store.read() as conn:
        assert conn.execute(select(func.count()).select_from(Reading)).scalar_one() == 11


def test_sql_unreachable_database_is_a_failed_run(make_workspace: MakeWorkspace) -> None:
    url = f"postgresql+psycopg://nobody:hunter2@127.0.0.1:{closed_port()}/none"
    ws = make_workspace([sql_collector(url)])
    report = collectors.run(ws, "meter", retries=1, sleep=lambda _s: None)
    assert report.status == "failed" and report.attempts == 2
    assert "hunter2" not in (report.error or "")
    assert json.dumps(report.error)  # a plain message, no traceback


def test_sql_numeric_columns_are_numbers(make_workspace: MakeWorkspace, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'meter.db'}"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE m (id TEXT, litres REAL, at TEXT)"))
        conn.execute(text("INSERT INTO m VALUES ('a', 1.234, '2024-05-01T08:00:00Z')"))
    engine.dispose()
    query = (
        "SELECT id AS external_id, 'tank' AS resource, litres AS value, at AS observed_at FROM m"
    )
    ws = make_workspace([sql_collector(url, query=query, cursor_column="observed_at")])
    report = collectors.run(ws, "meter")
    # 1.234 stored as a number is 1.234, never "1.234 or 1234?".
    assert (report.accepted, report.quarantined) == (1, 0)
    assert [v for _, v in readings(ws)] == [1.234]
