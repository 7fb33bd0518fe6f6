"""Alert routes serve one commons: a steward route never carries another commons' alerts."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select

from steward.alerts import evaluate
from steward.alerts.delivery import deliver_pending
from steward.config import parse
from steward.errors import ConfigError
from steward.ledger import Batch, Ledger, NewReading
from steward.store.models import Alert, CollectorState, Commons, OutboxMessage
from steward.workspace import open_workspace

from .conftest import HttpReceiver, free_port

T0 = datetime(2025, 3, 12, 11, 0, tzinfo=UTC)


def _commons(slug: str, **extra: Any) -> dict[str, Any]:
    tank = {
        "slug": f"{slug}-tank",
        "name": f"{slug.title()} tank",
        "kind": "stock",
        "unit": "L",
        "capacity": 1000,
        "reserve": 100,
        "initial_level": 800,
    }
    return {"slug": slug, "name": slug.title(), "resources": [tank], **extra}


def test_each_commons_alerts_reach_only_its_own_routes(
    db_url: str, store: Any, settings_factory: Any
) -> None:
    garden, orchard = HttpReceiver(free_port()), HttpReceiver(free_port())
    garden.start()
    orchard.start()
    try:
        config = {
            "commons": [
                _commons("garden"),
                # Declared in the commons entry: serves that commons.
                _commons("orchard", routes=[{"name": "orchard-stewards", "urls": [orchard.url]}]),
            ],
            "collectors": [
                {"name": "garden-feed", "kind": "csv", "commons": "garden", "path": "g.csv"},
                {"name": "orchard-feed", "kind": "csv", "commons": "orchard", "path": "o.csv"},
            ],
            "alerts": {
                "routes": [{"name": "garden-stewards", "commons": "garden", "urls": [garden.url]}]
            },
        }
        ws = open_workspace(settings_factory(config, db_url=db_url))
        try:
            with ws.store.write() as conn:
                # A garden drift alert, and an orchard collector alert (no resource, no member).
                Ledger(conn).record(
                    Batch("sensor", readings=[NewReading("garden-tank", 450, T0, "r1")])
                )
                conn.execute(
                    insert(CollectorState),
                    {"source": "orchard-feed", "consecutive_failures": 5, "last_error": "down"},
                )
                evaluate(conn, ws.settings, T0)
                commons = {i: slug for i, slug in conn.execute(select(Commons.id, Commons.slug))}
                owned = {
                    (rule, commons[cid])
                    for rule, cid in conn.execute(select(Alert.rule, Alert.commons_id)).all()
                }
                queued = {
                    (route, commons[cid])
                    for route, cid in conn.execute(
                        select(OutboxMessage.route, OutboxMessage.commons_id)
                    ).all()
                }
            assert ("drift", "garden") in owned
            assert ("collector_stale", "orchard") in owned
            assert {c for _, c in owned} == {"garden", "orchard"}
            assert queued == {("garden-stewards#0", "garden"), ("orchard-stewards#0", "orchard")}
            deliver_pending(ws.store, ws.settings, T0)
        finally:
            ws.close()
        garden_text = " ".join(b["message"] for b in garden.bodies)
        orchard_text = " ".join(b["message"] for b in orchard.bodies)
        assert "Garden tank" in garden_text and "orchard-feed" not in garden_text
        assert "orchard-feed" in orchard_text and "Garden tank" not in orchard_text
    finally:
        garden.stop()
        orchard.stop()


ROUTE = {"name": "stewards", "urls": ["json://127.0.0.1:9/"]}


def test_a_single_commons_route_serves_that_commons() -> None:
    settings = parse(
        {"commons": [_commons("garden")], "alerts": {"routes": [ROUTE]}},
        file=Path("s.yaml"),
        env={},
    )
    assert settings.alerts.routes[0].commons == "garden"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"commons": [_commons("a"), _commons("b")], "alerts": {"routes": [ROUTE]}},
            r"alerts\.routes\[0\] \(stewards\): this workspace has several commons \(a, b\); set `commons:`",
        ),
        (
            {
                "commons": [_commons("a"), _commons("b")],
                "collectors": [{"name": "feed", "kind": "csv"}],
            },
            r"collectors\[0\] \(feed\): this workspace has several commons \(a, b\)",
        ),
        (
            {"commons": [_commons("a", routes=[{**ROUTE, "commons": "b"}]), _commons("b")]},
            r"commons\[0\]\.routes\[0\]: a route declared in commons 'a' cannot serve commons 'b'",
        ),
        (
            {"commons": [_commons("a")], "alerts": {"routes": [{**ROUTE, "commons": "zz"}]}},
            r"commons 'zz' is not defined",
        ),
        (
            {"commons": [_commons("a", routes=[ROUTE])], "alerts": {"routes": [ROUTE]}},
            r"alert route 'stewards' is defined twice",
        ),
    ],
)
def test_unscoped_or_misscoped_routes_and_collectors_are_refused(data: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse(data, file=Path("s.yaml"), env={})
