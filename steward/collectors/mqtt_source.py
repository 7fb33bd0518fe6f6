"""Sensor readings over MQTT (e.g. a tank's level in litres), via paho-mqtt.

Each run connects with a persistent session (fixed client id, clean_session off)
and QoS 1, listens for ``listen_seconds``, and acknowledges the messages only
after the chunk holding them is committed: while Steward is down or the run
fails, the broker keeps them, so no reading is lost and none is counted twice.
Payloads are a number (``12.5``) or JSON (``{"value": 12.5, "at": "...", "id": ...}``);
``value_key``, ``time_key`` and ``id_key`` may be dotted paths into nested JSON
(Tasmota's ``{"Time": ..., "ENERGY": {"Level": 412}}``: ``ENERGY.Level``).

A broker sends a topic's *retained* message again on every subscription, and
QoS 1 may deliver a message twice. Such a copy of the reading last recorded for
its topic is that same reading (a duplicate), never a fresh one: the cursor
keeps, per topic, the payload digest, time and id last recorded, and the time a
fresh message last arrived. A run that hears nothing fresh for longer than
``stale_after_minutes`` fails ("sensor silent"), so a dead sensor whose level
stays retained goes stale and the ``collector_stale`` alert fires.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import paho.mqtt.client as mqtt
import pandas as pd
from pydantic import Field

from steward import numbers
from steward.collectors import parsing
from steward.collectors.base import Chunk, Collector
from steward.collectors.source_formats import SourceFormats
from steward.errors import InputError, SourceError, TransientSourceError
from steward.ledger import Batch, NewReading, Rejected

#: Epoch numbers above this are milliseconds (1e11 s is the year 5138).
EPOCH_MS_ABOVE = 1e11


class MqttOptions(SourceFormats):
    """Broker, topics and payload keys of an MQTT sensor source (plus its formats)."""

    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    #: Topic -> resource slug (a reading of that stock).
    topics: dict[str, str] = Field(min_length=1)
    username: str | None = None
    password: str | None = None
    #: JSON payload keys (dotted paths into nested JSON): the value, an optional
    #: timestamp and an optional message id.
    value_key: str = "value"
    time_key: str = "at"
    id_key: str = "id"
    #: A run that hears no fresh message for longer than this fails; None: never.
    stale_after_minutes: float | None = Field(default=120, gt=0)
    listen_seconds: float = Field(default=5.0, gt=0, le=600)
    connect_timeout: float = Field(default=5.0, gt=0)
    client_id: str | None = None


class MqttCollector(Collector):
    kind = "mqtt"
    Options = MqttOptions
    options: MqttOptions

    def read(self, cursor: str | None) -> Iterator[Chunk]:
        opts = self.options
        client_id = opts.client_id or f"steward-{self.name}"
        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=False,
            manual_ack=True,
        )
        if opts.username:
            client.username_pw_set(opts.username, opts.password)
        messages: list[mqtt.MQTTMessage] = []
        lock = threading.Lock()
        subscribed = threading.Event()

        def on_connect(c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
            if not reason.is_failure:
                c.subscribe([(topic, 1) for topic in opts.topics])

        def on_subscribe(*_args: Any) -> None:
            subscribed.set()

        def on_message(_c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
            with lock:
                messages.append(message)

        client.on_connect = on_connect
        client.on_subscribe = on_subscribe
        client.on_message = on_message
        where = f"{self.context.where}: mqtt://{opts.host}:{opts.port}"
        try:
            client.connect(opts.host, opts.port, keepalive=30)
        except (OSError, mqtt.WebsocketConnectionError) as exc:
            raise TransientSourceError(f"{where}: broker unreachable ({exc})") from None
        client.loop_start()
        try:
            if not subscribed.wait(opts.connect_timeout):
                raise TransientSourceError(
                    f"{where}: no subscription within {opts.connect_timeout}s"
                )
            time.sleep(opts.listen_seconds)
            with lock:
                taken = list(messages)
            state = _State.load(cursor)
            if taken:
                received = [
                    _Message(m.topic, bytes(m.payload), m.mid, bool(m.retain or m.dup))
                    for m in taken
                ]
                batch = self._batch(received, state)
                yield Chunk(batch, state.dump())
                # Committed: now the broker may forget them.
                for message in taken:
                    client.ack(message.mid, message.qos)
            self._check_fresh(state)
        finally:
            client.loop_stop()
            client.disconnect()

    def _check_fresh(self, state: _State) -> None:
        limit = self.options.stale_after_minutes
        if limit is None or state.fresh_at is None:
            return
        silent = datetime.now(UTC) - state.fresh_at
        if silent > timedelta(minutes=limit):
            raise SourceError(
                f"{self.context.where}: sensor silent: no fresh message on "
                f"{', '.join(self.options.topics)} since {state.fresh_at:%Y-%m-%d %H:%M} UTC "
                "(only retained or repeated copies, or nothing)",
                hint="check the sensor and its network; stale_after_minutes sets how long "
                "silence is normal",
            )

    def _batch(self, received: list[_Message], state: _State | None = None) -> Batch:
        state = state or _State()
        now = datetime.now(UTC)
        readings: list[NewReading] = []
        rejected: list[Rejected] = []
        for msg in received:
            text = msg.payload.decode("utf-8", errors="replace").strip()
            key = f"{msg.topic}#{msg.mid}@{now.isoformat()}"
            raw = {"topic": msg.topic, "payload": text}
            digest = hashlib.blake2b(msg.payload, digest_size=8).hexdigest()
            last = state.last.get(msg.topic)
            if msg.copy and last is not None and last["digest"] == digest:
                # The retained (or redelivered) copy of what was recorded: the same reading.
                readings.append(
                    NewReading(
                        resource=last["resource"],
                        value=last["value"],
                        observed_at=last["at"],
                        external_id=last["id"],
                        row=key,
                        raw=raw,
                    )
                )
                continue
            value, at, ident, why = self._parse(text)
            resource = self._resource(msg.topic)
            if resource is None:
                why = f"topic {msg.topic!r} is not mapped to a resource under topics"
            if why or resource is None:
                rejected.append(Rejected(key, raw, why or "unmapped topic"))
                continue
            stamp = at or now
            external_id = ident or f"{msg.topic}@{stamp.isoformat()}"
            readings.append(
                NewReading(
                    resource=resource,
                    value=value,
                    observed_at=stamp,
                    external_id=external_id,
                    row=key,
                    raw=raw,
                )
            )
            state.last[msg.topic] = {
                "digest": digest,
                "resource": resource,
                "value": value,
                "at": stamp.isoformat(),
                "id": external_id,
            }
            if not msg.copy or last is None:
                # A retained message first heard counts as fresh as its own time says.
                heard = at if msg.copy and at is not None else now
                state.fresh_at = max(state.fresh_at or heard, heard)
        return Batch(self.name, readings=readings, rejected=rejected)

    def remap(self, raws: Any) -> Batch | None:
        return self._batch([_Message(r["topic"], str(r["payload"]).encode(), 0) for _, r in raws])

    def _resource(self, topic: str) -> str | None:
        for pattern, resource in self.options.topics.items():
            if mqtt.topic_matches_sub(pattern, topic):
                return resource
        return None

    def _parse(self, text: str) -> tuple[str, datetime | None, str | None, str]:
        """(value, timestamp, id, reason) of a payload."""
        opts = self.options
        fmt = opts.number_format
        try:
            body = json.loads(text)
        except ValueError:
            body = text  # a bare number in a local format, e.g. "12,5"
        if isinstance(body, str | int | float) and not isinstance(body, bool):
            try:
                return str(numbers.parse_one(body, fmt, field="payload")), None, None, ""
            except InputError as exc:
                if any(c.isdigit() for c in text):
                    return "", None, None, exc.message
                return "", None, None, f"payload {text[:80]!r} is neither a number nor JSON"
        if not isinstance(body, dict):
            return "", None, None, f"payload {text[:80]!r} is neither a number nor a JSON object"
        found, raw_value = _lookup(body, opts.value_key)
        if not found:
            return "", None, None, f"JSON payload has no {opts.value_key!r} (value_key)"
        try:
            value = numbers.parse_one(raw_value, fmt, field=opts.value_key)
        except InputError as exc:
            return "", None, None, exc.message
        at = None
        found, raw_time = _lookup(body, opts.time_key)
        if found:
            at, why = self._time(raw_time)
            if why:
                return "", None, None, why
        found, ident = _lookup(body, opts.id_key)
        return str(value), at, str(ident) if found and ident is not None else None, ""

    def _time(self, value: Any) -> tuple[datetime | None, str]:
        """A payload timestamp: ISO 8601, ``date_format``, or epoch seconds / milliseconds."""
        if isinstance(value, int | float) and not isinstance(value, bool):
            seconds = value / 1000 if value > EPOCH_MS_ABOVE else value
            try:
                return datetime.fromtimestamp(seconds, UTC), ""
            except (OverflowError, OSError, ValueError):
                return None, f"{self.options.time_key} {value!r} is not an epoch time"
        if isinstance(value, str) and value.strip().isdigit():
            return self._time(int(value.strip()))
        commons = self.context.commons
        zone = self.options.timezone or (commons.timezone if commons else "UTC")
        stamps, why = parsing.timestamps(
            pd.Series([str(value)]), zone, date_format=self.options.date_format
        )
        if why[0]:
            return None, f"{self.options.time_key}: {why[0]}"
        return stamps[0].to_pydatetime(), ""


class _Message:
    """What a run needs of a received message; ``copy``: retained or a redelivery."""

    __slots__ = ("copy", "mid", "payload", "topic")

    def __init__(self, topic: str, payload: bytes, mid: int, copy: bool = False) -> None:
        self.topic, self.payload, self.mid, self.copy = topic, payload, mid, copy


class _State:
    """The cursor: per topic the reading last recorded, and when a fresh one came."""

    def __init__(self) -> None:
        self.last: dict[str, dict[str, Any]] = {}
        self.fresh_at: datetime | None = None

    @classmethod
    def load(cls, cursor: str | None) -> _State:
        state = cls()
        if cursor:
            data = json.loads(cursor)
            state.last = data.get("last", {})
            fresh = data.get("fresh_at")
            state.fresh_at = datetime.fromisoformat(fresh) if fresh else None
        return state

    def dump(self) -> str:
        fresh = self.fresh_at.isoformat() if self.fresh_at else None
        return json.dumps({"last": self.last, "fresh_at": fresh}, sort_keys=True)


def _lookup(body: dict[str, Any], path: str) -> tuple[bool, Any]:
    """``body[path]``, or the value at a dotted path into nested objects."""
    if path in body:
        return True, body[path]
    node: Any = body
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return False, None
        node = node[part]
    return True, node
