"""Sensor readings over MQTT (e.g. a tank's level in litres), via paho-mqtt.

Each run connects with a persistent session (fixed client id, clean_session off)
and QoS 1, listens for ``listen_seconds``, and acknowledges the messages only
after the chunk holding them is committed: while Steward is down or the run
fails, the broker keeps them, so no reading is lost and none is counted twice.
Payloads are a number (``12.5``) or JSON (``{"value": 12.5, "at": "...", "id": ...}``).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as mqtt
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from steward.collectors import parsing
from steward.collectors.base import Chunk, Collector
from steward.errors import TransientSourceError
from steward.ledger import Batch, NewReading, Rejected


class MqttOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    #: Topic -> resource slug (a reading of that stock).
    topics: dict[str, str] = Field(min_length=1)
    username: str | None = None
    password: str | None = None
    #: JSON payload keys: the value, an optional timestamp and an optional message id.
    value_key: str = "value"
    time_key: str = "at"
    id_key: str = "id"
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
            if taken:
                yield Chunk(
                    self._batch([(m.topic, bytes(m.payload), m.mid) for m in taken]), cursor
                )
                # Committed: now the broker may forget them.
                for message in taken:
                    client.ack(message.mid, message.qos)
        finally:
            client.loop_stop()
            client.disconnect()

    def _batch(self, received: list[tuple[str, bytes, int]]) -> Batch:
        now = datetime.now(UTC)
        readings: list[NewReading] = []
        rejected: list[Rejected] = []
        for topic, payload, mid in received:
            text = payload.decode("utf-8", errors="replace").strip()
            key = f"{topic}#{mid}@{now.isoformat()}"
            raw = {"topic": topic, "payload": text}
            value, at, ident, why = self._parse(text)
            resource = self._resource(topic)
            if resource is None:
                why = f"topic {topic!r} is not mapped to a resource under topics"
            if why or resource is None:
                rejected.append(Rejected(key, raw, why or "unmapped topic"))
                continue
            stamp = at or now
            readings.append(
                NewReading(
                    resource=resource,
                    value=value,
                    observed_at=stamp,
                    external_id=ident or f"{topic}@{stamp.isoformat()}",
                    row=key,
                    raw=raw,
                )
            )
        return Batch(self.name, readings=readings, rejected=rejected)

    def remap(self, raws: Any) -> Batch | None:
        return self._batch([(r["topic"], str(r["payload"]).encode(), 0) for _, r in raws])

    def _resource(self, topic: str) -> str | None:
        for pattern, resource in self.options.topics.items():
            if mqtt.topic_matches_sub(pattern, topic):
                return resource
        return None

    def _parse(self, text: str) -> tuple[str, datetime | None, str | None, str]:
        """(value, timestamp, id, reason) of a payload."""
        try:
            body = json.loads(text)
        except ValueError:
            return "", None, None, f"payload {text[:80]!r} is neither a number nor JSON"
        if isinstance(body, int | float) and not isinstance(body, bool):
            return str(body), None, None, ""
        if not isinstance(body, dict) or self.options.value_key not in body:
            return "", None, None, f"JSON payload has no {self.options.value_key!r} key"
        value = parsing.money(pd.Series([body[self.options.value_key]], dtype="string"))[0]
        if pd.isna(value):
            return (
                "",
                None,
                None,
                f"{self.options.value_key} {body[self.options.value_key]!r} is not a number",
            )
        at = None
        if self.options.time_key in body:
            stamps, why = parsing.timestamps(pd.Series([str(body[self.options.time_key])]), "UTC")
            if why[0]:
                return "", None, None, why[0]
            at = stamps[0].to_pydatetime()
        ident = body.get(self.options.id_key)
        return str(value), at, None if ident is None else str(ident), ""
