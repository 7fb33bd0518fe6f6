"""Collectors bring sources (files, HTTP, MyTurn, Open Collective, MQTT, SQL) into the ledger.

``base`` owns the run loop (cursor, retries, one transaction per chunk, health);
each other module reads one kind of source and maps its rows.
"""

from steward.collectors.base import Chunk, Collector, RunReport, build, run

__all__ = ["Chunk", "Collector", "RunReport", "build", "run"]
