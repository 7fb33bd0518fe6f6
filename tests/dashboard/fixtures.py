"""A small federation with two members whose data must never cross, for dashboard tests.

Markers are distinctive strings and quantities: a test looks for them in what a
page shows to tell whose data leaked where.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import insert, select

from steward import access
from steward.ledger import Batch, Ledger, NewEvent, NewMember
from steward.store.engine import Store
from steward.store.models import (
    Alert,
    CollectorRun,
    CollectorState,
    Commons,
    ForecastRun,
    Member,
    QuarantinedRow,
    Quota,
    Resource,
)
from steward.store.schema import upgrade
from steward.workspace import open_workspace

XSS_NAME = "<img src=x onerror=alert(1)>"
PASSWORDS = {
    "sam": "steward-pass-1",
    "alice": "alice-pass-1",
    "bob": "bob-pass-12",
    "olga": "olga-pass-1",
    "oscar": "oscar-pass-1",
}

#: Strings only the named viewer may ever see.
ALICE_MARKERS = ("Alice Aardvark", "ALICE-QUOTA-NOTE", "37.25")
BOB_MARKERS = ("Bob Bramble", "BOB-QUOTA-NOTE", "58.5")
STEWARD_MARKERS = ("Fund alert FIRING-MARK", "QUARANTINE-REASON-MARK")
ORCHARD_MARKERS = ("Cider press",)
#: The orchard's steward (olga) and member (oscar): never shown to the toolshed.
ORCHARD_STEWARD_MARKERS = ("Cider press overbooked", "ORCHARD-QUARANTINE-MARK")
OSCAR_MARKERS = ("Oscar Otter", "OSCAR-QUOTA-NOTE")
#: Collector alerts (no resource, no member): each belongs to its collector's commons.
LOANS_COLLECTOR_MARK = "LOANS-COLLECTOR-MARK"
ORCHARD_COLLECTOR_MARK = "ORCHARD-COLLECTOR-MARK"

CONFIG: dict[str, Any] = {
    "commons": [
        {
            "slug": "toolshed",
            "name": "Toolshed",
            "timezone": "Europe/Paris",
            "currency": "EUR",
            "resources": [
                {"slug": "drill", "name": "Cordless drills", "kind": "pool", "capacity": 3},
                {
                    "slug": "fund",
                    "name": "Repair fund",
                    "kind": "stock",
                    "unit": "EUR",
                    "reserve": 100,
                    "initial_level": 500,
                },
                {
                    "slug": "odd",
                    "name": XSS_NAME,
                    "kind": "stock",
                    "unit": "L",
                    "initial_level": 10,
                },
            ],
        },
        {
            "slug": "orchard",
            "name": "Orchard",
            "timezone": "UTC",
            "resources": [
                {"slug": "cider", "name": "Cider press", "kind": "pool", "capacity": 1},
            ],
        },
    ],
    "collectors": [
        {"name": "loans", "kind": "csv", "commons": "toolshed", "schedule": {"every": "15m"}},
        {"name": "orchard-feed", "kind": "csv", "commons": "orchard", "schedule": {"every": "1h"}},
    ],
    "dashboard": {"refresh_seconds": 30},
}


@dataclass(frozen=True)
class Federation:
    config: Path
    db_url: str


def write_config(directory: Path, db_url: str) -> Path:
    body = dict(CONFIG, database={"url": db_url})
    path = directory / "steward.yaml"
    path.write_text(yaml.safe_dump(body, sort_keys=False), encoding="utf-8")
    return path


def build(directory: Path, db_url: str, *, now: datetime | None = None) -> Federation:
    """Write the config, create the schema and fill the store."""
    now = now or datetime.now(UTC)
    path = write_config(directory, db_url)
    store = Store(db_url, check_schema=False)
    upgrade(store.engine)
    store.dispose()
    ws = open_workspace(path)
    try:
        with ws.store.write() as conn:
            _fill(conn, now)
    finally:
        ws.close()
    return Federation(path, db_url)


def _at(now: datetime, days: float) -> str:
    return (now - timedelta(days=days)).isoformat()


def _fill(conn: Any, now: datetime) -> None:
    members = [
        NewMember("toolshed", "alice", "Alice Aardvark", "alice@example.org"),
        NewMember("toolshed", "bob", "Bob Bramble", "bob@example.org"),
        NewMember("orchard", "olga", "Olga Orchard"),
        NewMember("orchard", "oscar", "Oscar Otter", "oscar@example.org"),
    ]
    events = [
        NewEvent("fund", "use", "37.25", _at(now, 3), "e1", member="alice"),
        NewEvent("fund", "use", "58.5", _at(now, 2), "e2", member="bob"),
        NewEvent("fund", "replenish", "20", _at(now, 9), "e3"),
        NewEvent("drill", "use", 1, _at(now, 5), "e4", member="alice", loan_ref="L1"),
        NewEvent("drill", "replenish", 1, _at(now, 4), "e5", member="alice", loan_ref="L1"),
        NewEvent("drill", "use", 1, _at(now, 1), "e6", member="bob", loan_ref="L2"),
        NewEvent("odd", "use", "2", _at(now, 1), "e7", member="bob"),
        NewEvent("cider", "use", 1, _at(now, 2), "e8", member="olga", loan_ref="C1"),
        NewEvent("cider", "use", 1, _at(now, 6), "e9", member="oscar", loan_ref="C2"),
        NewEvent("cider", "replenish", 1, _at(now, 5), "e10", member="oscar", loan_ref="C2"),
    ]
    result = Ledger(conn).record(Batch(source="test", events=events, members=members))
    assert result.quarantined == 0, result.reasons
    ids = {slug: rid for slug, rid in conn.execute(select(Resource.slug, Resource.id)).all()}
    member = {code: mid for code, mid in conn.execute(select(Member.code, Member.id)).all()}
    dates = [(now + timedelta(days=d)).date().isoformat() for d in range(1, 31)]
    conn.execute(
        insert(ForecastRun),
        [
            {
                "resource_id": ids["fund"],
                "created_at": now - timedelta(days=d),
                "data_cutoff": now - timedelta(days=d),
                "horizon_days": 30,
                "method": "ets",
                "reason": "lowest backtest MASE",
                "scores": {"ets": 0.82, "theta": 0.91},
                "risk": {"p_below_reserve": p, "horizon_end": dates[-1]},
                "paths": {
                    "dates": dates,
                    "mean": [420 - 8 * i for i in range(30)],
                    "q0.05": [380 - 12 * i for i in range(30)],
                    "q0.5": [420 - 8 * i for i in range(30)],
                    "q0.95": [460 - 4 * i for i in range(30)],
                },
                "accuracy": None,
            }
            for d, p in ((2, 0.41), (1, 0.55), (0, 0.62))
        ],
    )
    period = {"period_start": now - timedelta(days=10), "period_end": now + timedelta(days=20)}
    conn.execute(
        insert(Quota),
        [
            {
                "member_id": member["alice"],
                "resource_id": ids["fund"],
                **period,
                "allocation": Decimal(120),
                "used": Decimal("37.25"),
                "projected": Decimal(110),
                "policy": "equal",
                "explanation": "ALICE-QUOTA-NOTE: an equal share of what the fund can sustain",
                "status": "nudged",
                "computed_at": now,
            },
            {
                "member_id": member["bob"],
                "resource_id": ids["fund"],
                **period,
                "allocation": Decimal(120),
                "used": Decimal("58.5"),
                "projected": Decimal(175),
                "policy": "equal",
                "explanation": "BOB-QUOTA-NOTE: at this pace the quota runs out early",
                "status": "warned",
                "computed_at": now,
            },
            {
                "member_id": member["oscar"],
                "resource_id": ids["cider"],
                **period,
                "allocation": Decimal(8),
                "used": Decimal(1),
                "projected": Decimal(2),
                "policy": "equal",
                "explanation": "OSCAR-QUOTA-NOTE: an equal share of press days",
                "status": "ok",
                "computed_at": now,
            },
        ],
    )
    commons = {slug: cid for slug, cid in conn.execute(select(Commons.slug, Commons.id)).all()}
    toolshed, orchard = commons["toolshed"], commons["orchard"]
    alert = {
        "audience": "stewards",
        "details": {},
        "first_seen_at": now - timedelta(hours=5),
        "last_evaluated_at": now,
        "resource_id": None,
        "member_id": None,
        "fired_at": None,
        "resolved_at": None,
    }
    conn.execute(
        insert(Alert),
        [
            {
                **alert,
                "fingerprint": "f1",
                "rule": "depletion",
                "severity": "critical",
                "resource_id": ids["fund"],
                "state": "firing",
                "summary": "Fund alert FIRING-MARK: 62% chance below reserve",
                "fired_at": now - timedelta(hours=4),
                "commons_id": toolshed,
            },
            {
                **alert,
                "fingerprint": "f2",
                "rule": "over_quota",
                "severity": "warning",
                "member_id": member["bob"],
                "state": "pending",
                "summary": "Bob Bramble may overrun the fund quota",
                "commons_id": toolshed,
            },
            {
                **alert,
                "fingerprint": "f3",
                "rule": "overbooking",
                "severity": "warning",
                "resource_id": ids["drill"],
                "state": "resolved",
                "summary": "Drills were overbooked",
                "resolved_at": now - timedelta(hours=1),
                "commons_id": toolshed,
            },
            {
                **alert,
                "fingerprint": "f4",
                "rule": "overbooking",
                "severity": "critical",
                "resource_id": ids["cider"],
                "state": "firing",
                "summary": "Cider press overbooked",
                "commons_id": orchard,
            },
            {
                **alert,
                "fingerprint": "f5",
                "rule": "collector_stale",
                "severity": "warning",
                "source": "loans",
                "state": "firing",
                "summary": f"Collector loans failed 3 times {LOANS_COLLECTOR_MARK}",
                "commons_id": toolshed,
                # Evaluated before the fund alert, so the fund alert stays first in lists.
                "last_evaluated_at": now - timedelta(hours=1),
            },
            {
                **alert,
                "fingerprint": "f6",
                "rule": "collector_stale",
                "severity": "warning",
                "source": "orchard-feed",
                "state": "firing",
                "summary": f"Collector orchard-feed is stale {ORCHARD_COLLECTOR_MARK}",
                "commons_id": orchard,
            },
            {
                **alert,
                "fingerprint": "f7",
                "rule": "quota",
                "severity": "warning",
                "audience": "stewards",
                "member_id": member["oscar"],
                "resource_id": ids["cider"],
                "state": "firing",
                "summary": "Oscar Otter is near the cider press quota",
                "commons_id": orchard,
            },
        ],
    )
    run_id = conn.execute(
        insert(CollectorRun).returning(CollectorRun.id),
        {
            "source": "loans",
            "started_at": now - timedelta(minutes=20),
            "finished_at": now - timedelta(minutes=19),
            "status": "ok",
            "rows_read": 10,
            "accepted": 9,
            "duplicates": 0,
            "quarantined": 1,
        },
    ).scalar_one()
    conn.execute(
        insert(CollectorState),
        {
            "source": "loans",
            "last_success_at": now - timedelta(minutes=19),
            "consecutive_failures": 0,
            "rows_read": 10,
            "accepted": 9,
            "duplicates": 0,
            "quarantined": 1,
        },
    )
    conn.execute(
        insert(QuarantinedRow),
        [
            {
                "source": "loans",
                "run_id": run_id,
                "location": "loans.csv:7",
                "fingerprint": "q1",
                "reason": "QUARANTINE-REASON-MARK: quantity 'abc' is not a number",
                "raw": {"member": "Bob Bramble", "qty": "abc"},
                "created_at": now - timedelta(minutes=19),
            },
            {
                "source": "orchard-feed",
                "run_id": None,
                "location": "feed:1",
                "fingerprint": "q2",
                "reason": "ORCHARD-QUARANTINE-MARK: Cider press row unreadable",
                "raw": {"member": "Olga Orchard"},
                "created_at": now - timedelta(minutes=5),
            },
        ],
    )
    for username, role, commons, code in (
        ("sam", "steward", "toolshed", None),
        ("alice", "member", "toolshed", "alice"),
        ("bob", "member", "toolshed", "bob"),
        ("olga", "steward", "orchard", None),
        ("oscar", "member", "orchard", "oscar"),
    ):
        access.create_account(
            conn,
            username=username,
            password=PASSWORDS[username],
            role=role,
            commons=commons,
            member=code,
        )
