"""Every collector kind, listed in one place (the ``kind:`` a config names)."""

from __future__ import annotations

from steward.collectors.base import Collector
from steward.collectors.csv_files import CsvCollector
from steward.collectors.http_source import HttpCollector
from steward.collectors.mqtt_source import MqttCollector
from steward.collectors.myturn import MyTurnCollector
from steward.collectors.opencollective import OpenCollectiveCollector
from steward.collectors.sql_source import SqlCollector

COLLECTORS: tuple[type[Collector], ...] = (
    CsvCollector,
    HttpCollector,
    MyTurnCollector,
    OpenCollectiveCollector,
    MqttCollector,
    SqlCollector,
)


def by_kind() -> dict[str, type[Collector]]:
    return {cls.kind: cls for cls in COLLECTORS}
