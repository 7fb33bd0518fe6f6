"""Exports as stewards, treasurers and sensors really write them, from files in tests/data/exports.

One table row per kind of file: the collector options, the exact ledger values it
must produce and the exact reasons of the rows it must refuse. Whatever the kind,
rows read = accepted + duplicates + quarantined.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from steward import collectors
from steward.queries import loans as loan_query
from steward.store.models import Event, Member, QuarantinedRow, Reading, Resource

from .support import MakeWorkspace

DATA = Path(__file__).resolve().parents[1] / "data" / "exports"
FUND = {"slug": "fund", "name": "Fund", "kind": "stock", "unit": "EUR"}
TANK = {"slug": "tank", "name": "Tank", "kind": "stock", "unit": "L", "capacity": 5000}


def csv_source(file: str, **options: Any) -> dict[str, Any]:
    return {"name": "src", "kind": "csv", "commons": "town", "path": f"exports/{file}", **options}


def events(conn: Any) -> list[tuple[str, str, float]]:
    rows = conn.execute(select(Event.external_id, Event.kind, Event.quantity).order_by(Event.id))
    return [(e, str(k), float(q)) for e, k, q in rows]


def readings(conn: Any) -> list[tuple[str, float]]:
    rows = conn.execute(select(Reading.external_id, Reading.value).order_by(Reading.id))
    return [(e, float(v)) for e, v in rows]


def weights(conn: Any) -> list[tuple[str, float]]:
    rows = conn.execute(select(Member.code, Member.weight).order_by(Member.code))
    return [(c, float(w)) for c, w in rows]


AMBIGUOUS = (
    "; set the source's `decimal` option ('.' or ',') in {where} to say how it writes numbers"
)
WHERE = "steward.yaml: collectors[0] (src)"

# (kind, collector, read the ledger, exact values, exact quarantine reasons)
KINDS: list[tuple[str, dict[str, Any], Any, list[Any], list[str]]] = [
    (
        "1. decimal commas, declared; 5a/5b preamble and money in/out",
        csv_source(
            "bank-de.csv",
            columns={
                "external_id": "Reference",
                "occurred_at": "Date",
                "quantity_in": "Money in",
                "quantity_out": "Money out",
            },
            defaults={"resource": "fund"},
            decimal=",",
            date_format="%d.%m.%Y",
        ),
        events,
        [
            ("r1", "replenish", 272.06),
            ("r2", "use", 50.0),
            ("r3", "use", 12.5),
            ("r4", "replenish", 1000.0),
        ],
        ["both 'Money in' / 'Money out' have an amount: which one moved?"],
    ),
    (
        # '12.00' and '12,50' each read one way only, but not the same way: the rows
        # need both decimal marks, so one is written wrong and neither is guessed.
        "1. numbers undeclared: two readings refused, and a point beside a comma refused",
        csv_source("fund-undeclared.csv"),
        events,
        [],
        [
            "quantity '1,234' reads as 1234 with decimal '.' and as 1.234 with decimal ','"
            + AMBIGUOUS.format(where=WHERE),
            *(
                f"quantity '{v}': these rows write some numbers with a decimal point "
                "('$1,204.50') and others with a decimal comma ('12,50'), so one of the two "
                f"is written wrong; set the source's `decimal` option ('.' or ',') in {WHERE} "
                "to say which"
                for v in ("$1,204.50", "12.00", "12,50")
            ),
        ],
    ),
    (
        "1. member weights with a decimal comma; 3d readings outside [0, capacity]",
        csv_source("tank-levels.csv", record="readings", decimal=","),
        readings,
        [("t1", 4412.5)],
        [
            "value -3.0 is negative; a level cannot be below zero",
            "value 65535 is above the capacity 5000 of tank (by more than 5%): a sensor's "
            "error value? fix the sensor, or the resource's capacity if it grew",
        ],
    ),
    (
        "1. member weights, undeclared",
        csv_source("members-weights.csv", record="members"),
        weights,
        [("m1", 1.5), ("m2", 2.0)],
        [
            "weight '1.234' reads as 1.234 with decimal '.' and as 1234 with decimal ','"
            + AMBIGUOUS.format(where=WHERE)
        ],
    ),
]


@pytest.mark.parametrize(
    ("kind", "collector", "read", "values", "reasons"), KINDS, ids=[k[0] for k in KINDS]
)
def test_export_kind(
    make_workspace: MakeWorkspace,
    tmp_path: Path,
    kind: str,
    collector: dict[str, Any],
    read: Any,
    values: list[Any],
    reasons: list[str],
) -> None:
    shutil.copytree(DATA, tmp_path / "exports")
    ws = make_workspace([collector], resources=[FUND, TANK])
    report = collectors.run(ws, "src")
    assert report.status == "ok", report.error
    assert report.rows_read == report.accepted + report.duplicates + report.quarantined
    assert (report.accepted, report.quarantined) == (len(values), len(reasons))
    with ws.store.read() as conn:
        assert read(conn) == values
        got = conn.execute(select(QuarantinedRow.reason)).scalars()
        assert sorted(r.replace(f"{tmp_path}/", "") for r in got) == sorted(reasons)


def test_myturn_across_years(make_workspace: MakeWorkspace, tmp_path: Path) -> None:
    """4 a-f: header case by year, blank cash amounts, a renewal a minute late, an open
    renewal in two files, a loan left open by an old export, pools from the inventory."""
    shutil.copytree(DATA, tmp_path / "exports")
    money = {"slug": "money", "name": "Money", "kind": "stock", "unit": "USD"}
    ws = make_workspace(
        [
            {
                "name": "lib",
                "kind": "myturn",
                "commons": "town",
                "inventory": "exports/myturn/inventory.csv",
                "loans": "exports/myturn/loans-*.csv",
                "transactions": "exports/myturn/transactions-*.csv",
                "money_resource": "money",
            }
        ],
        resources=[money],
        timezone="America/Los_Angeles",
    )
    report = collectors.run(ws, "lib")
    assert report.status == "ok", report.error
    assert report.rows_read == report.accepted + report.duplicates + report.quarantined
    # 2 members, 3 items, 5 loan rows (one a copy), 2 payments (a blank one skipped).
    assert (report.rows_read, report.accepted, report.duplicates, report.quarantined) == (
        12,
        11,
        1,
        0,
    )
    assert report.skipped == 1
    with ws.store.read() as conn:
        pools = sorted(conn.execute(select(Resource.slug).where(Resource.kind == "pool")).scalars())
        assert pools == ["drills", "ladders"]
        assert sorted(events(conn)) == [
            ("loan:1@2018-12-21T00:00:00Z", "use", 1.0),
            ("loan:3@2018-12-01T18:00:00Z", "use", 1.0),
            ("loan:3@2018-12-01T18:00:00Z:return", "replenish", 1.0),
            ("txn:1:Cash:1", "replenish", 5.0),
            ("txn:3:Cash:1", "replenish", 7.5),
        ]
        out = loan_query.open_loans(conn, as_of=datetime(2019, 1, 20, 8, tzinfo=UTC))
        assert out[["resource", "member", "loan_ref"]].values.tolist() == [
            ["drills", "7", "1@2018-12-21T00:00:00Z"]
        ]
        # Due 10 January (the renewal's date), by the end of that day in Los Angeles.
        assert out["due_at"].tolist() == [datetime(2019, 1, 11, 8, tzinfo=UTC)]
        assert out["days_overdue"].tolist() == [9.0]
    replay = collectors.run(ws, "lib", from_start=True)
    assert (replay.accepted, replay.quarantined) == (0, 0)
