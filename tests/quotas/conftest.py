"""A small garden commons with quota policies, members and a week of use."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from steward.ledger import Batch, Ledger, NewEvent, NewMember
from steward.workspace import Workspace, open_workspace

GARDEN: dict[str, Any] = {
    "commons": [
        {
            "slug": "garden",
            "name": "Garden",
            "timezone": "Europe/Paris",
            "resources": [
                {
                    "slug": "tank",
                    "name": "Rain tank",
                    "kind": "stock",
                    "unit": "L",
                    "capacity": 1000,
                    "reserve": 100,
                    "initial_level": 800,
                    "quota": {"policy": "weighted", "period": "week"},
                },
                {
                    "slug": "drill",
                    "name": "Drills",
                    "kind": "pool",
                    "capacity": 3,
                    "quota": {"policy": "equal", "period": "week", "utilisation": 0.5},
                },
            ],
        }
    ]
}

MEMBERS = (
    NewMember("garden", "ana", "Ana Alvarez", "ana@example.org", weight=1),
    NewMember("garden", "ben", "Ben Brown", "ben@example.org", weight=3),
)

# Wednesday 2025-03-12, Paris; the week runs Mon 10 to Sun 16 March.
USE = (
    NewEvent("tank", "use", 30, "2025-03-10T08:00:00+01:00", "u1", member="ana"),
    NewEvent("tank", "use", 140, "2025-03-11T09:00:00+01:00", "u2", member="ben"),
    NewEvent("tank", "use", 20, "2025-03-03T09:00:00+01:00", "u0", member="ben"),
    NewEvent("drill", "use", 2, "2025-03-10T12:00:00+01:00", "l1-out", member="ana", loan_ref="l1"),
    NewEvent("drill", "replenish", 2, "2025-03-11T12:00:00+01:00", "l1-in", loan_ref="l1"),
)


@pytest.fixture
def garden(db_url: str, store: Any, settings_factory: Callable[..., Path]) -> Iterator[Workspace]:
    ws = open_workspace(settings_factory(GARDEN, db_url=db_url))
    with ws.store.write() as conn:
        Ledger(conn).record(Batch("seed", events=USE, members=MEMBERS))
    yield ws
    ws.close()
