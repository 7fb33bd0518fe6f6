"""MyTurn exports: the real sample ingests completely, and loans, renewals and returns map right."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import func, select

from steward import collectors
from steward.collectors.base import Chunk, RunReport
from steward.collectors.parsing import slugify
from steward.store.models import CapacityChange, Event, Member, QuarantinedRow, Resource

from .support import MakeWorkspace

REPO = Path(__file__).resolve().parents[2]
MYTURN = REPO.parent / "shared" / "data" / "myturn"


def pools_for_inventory(path: Path) -> list[dict[str, Any]]:
    types = pd.read_csv(path, dtype=str, keep_default_na=False)["Item Type"]
    slugs = sorted({slugify(t) for t in types})
    return [{"slug": s, "name": s, "kind": "pool"} for s in slugs]


def per_chunk(ws: Any, name: str) -> tuple[RunReport, list[tuple[int, int, int, int, int]]]:
    deltas: list[tuple[int, int, int, int, int]] = []
    last = [0, 0, 0, 0, 0]

    def on_chunk(_chunk: Chunk, r: RunReport) -> None:
        now = [r.rows_read, r.accepted, r.duplicates, r.quarantined, r.skipped]
        deltas.append(tuple(a - b for a, b in zip(now, last, strict=True)))  # type: ignore[arg-type]
        last[:] = now

    return collectors.run(ws, name, on_chunk=on_chunk), deltas


@pytest.mark.slow
@pytest.mark.skipif(not MYTURN.exists(), reason=f"needs the MyTurn sample in {MYTURN}")
def test_real_myturn_sample_ingests_completely(make_workspace: MakeWorkspace) -> None:
    # Only the money stock is declared: the pools come from the inventory.
    resources = [{"slug": "money", "name": "Money", "kind": "stock", "unit": "USD"}]
    ws = make_workspace(
        [
            {
                "name": "myturn",
                "kind": "myturn",
                "commons": "town",
                "inventory": str(MYTURN / "inventory-snapshot.csv"),
                "loans": str(MYTURN / "loans-*.csv"),
                "transactions": str(MYTURN / "transactions-2019.csv"),
                "money_resource": "money",
            }
        ],
        resources=resources,
        timezone="America/Los_Angeles",
    )
    report, chunks = per_chunk(ws, "myturn")
    assert report.status == "ok", report.error
    members, inventory, loans, transactions = chunks
    # (rows, accepted, duplicates, quarantined, skipped), in file order:
    # 1,590 members appear in loans and transactions, all new.
    assert members == (1590, 1590, 0, 0, 0)
    # inventory-snapshot.csv: 7,294 items, each an acquisition (+ a retirement if Disabled).
    assert inventory == (7294, 7294, 0, 0, 0)
    # loans-2018.csv + loans-2019.csv: 5,376 + 6,718 = 12,094 lines. Every line carries
    # its due date (a renewal's replaces the one before), the first of a loan its
    # checkout and the last its return.
    assert loans == (12094, 12094, 0, 0, 0)
    # transactions-2019.csv: 17,344 lines; 875 payments and refunds; the rest are fee
    # lines, store credit and activity (no money moved).
    assert transactions == (875, 875, 0, 0, 16469)
    assert transactions[0] + transactions[4] == 17344
    with ws.store.read() as conn:
        loan_events = dict(
            conn.execute(
                select(Event.kind, func.count())
                .where(Event.loan_ref.is_not(None))
                .group_by(Event.kind)
            ).all()
        )
        money = dict(
            conn.execute(
                select(Event.kind, func.count())
                .where(Event.loan_ref.is_(None))
                .group_by(Event.kind)
            ).all()
        )
        capacity = conn.execute(
            select(func.coalesce(func.sum(CapacityChange.delta), 0))
        ).scalar_one()
    # 7,011 loans, all returned: a checkout and a return each (58 of them renewals of a
    # loan that began before 2018, so they start at the renewal). 13 renewals begin a
    # minute after the row they renew was checked in: they continue that loan.
    assert loan_events == {"use": 7011, "replenish": 7011}
    # 875 payment lines: 783 payments in, 92 refunds out.
    assert money == {"replenish": 783, "use": 92}
    # 7,294 items acquired, 3,049 of them since disabled.
    assert int(capacity) == 7294 - 3049
    with ws.store.read() as conn:
        pools = set(conn.execute(select(Resource.slug).where(Resource.kind == "pool")).scalars())
    expected = {p["slug"] for p in pools_for_inventory(MYTURN / "inventory-snapshot.csv")}
    assert pools == expected and len(pools) > 500
    replay = collectors.run(ws, "myturn", from_start=True)
    assert (replay.accepted, replay.quarantined) == (0, 0)
    assert replay.duplicates == report.rows_read


H = "Membership ID,Item ID,Item Name,Checked Out,Checked In,Due Date,Late Fees to Date,Renewal\n"
INVENTORY = (
    "Item ID,Item Type,Status(es),Name,Date Created,Date Last Edited,Date Last Updated\n"
    "1,Drills,,Drill A,2018-01-01T10:00:00.000-08:00,2018-01-01T10:00:00.000Z,2019-01-01T10:00:00.000Z\n"
    "2,Drills,Disabled,Drill B,2018-01-01T10:00:00.000-08:00,2019-06-01T10:00:00.000Z,2019-07-01T10:00:00.000Z\n"
    "3,Sanders,,Sander,2018-01-01T10:00:00.000-08:00,2018-01-01T10:00:00.000Z,2019-01-01T10:00:00.000Z\n"
)


#: The drills pool is declared without a capacity: the inventory counts its units.
LIBRARY = [{"slug": "drill", "name": "Drills", "kind": "pool"}]


def small_library(
    make_workspace: MakeWorkspace,
    tmp_path: Path,
    resources: list[dict[str, Any]] | None = None,
    **options: Any,
) -> Any:
    (tmp_path / "myturn").mkdir(exist_ok=True)
    (tmp_path / "myturn" / "inventory.csv").write_text(INVENTORY)
    return make_workspace(
        [
            {
                "name": "lib",
                "kind": "myturn",
                "commons": "town",
                "inventory": "myturn/inventory.csv",
                "loans": "myturn/loans-*.csv",
                "item_types": {"Drills": "drill"},
                **options,
            }
        ],
        resources=LIBRARY if resources is None else resources,
        timezone="America/Los_Angeles",
    )


def loans(ws: Any) -> list[tuple[str, str, str]]:
    with ws.store.read() as conn:
        rows = conn.execute(
            select(Event.kind, Event.loan_ref, Event.occurred_at).order_by(
                Event.occurred_at, Event.id
            )
        ).all()
    return [(k, ref, at.strftime("%Y-%m-%d %H:%M")) for k, ref, at in rows]


def test_renewal_extends_the_loan(make_workspace: MakeWorkspace, tmp_path: Path) -> None:
    ws = small_library(make_workspace, tmp_path)
    (tmp_path / "myturn" / "loans-2019.csv").write_text(
        H
        + "7,1,Drill A,5/1/2019 4:00 PM,5/8/2019 4:00 PM,5/8/2019,$0.00,\n"
        + "7,1,Drill A,5/8/2019 4:00 PM,5/15/2019 4:00 PM,5/15/2019,$0.00,Renewal\n"
        + "7,1,Drill A,5/15/2019 4:00 PM,5/20/2019 9:30 AM,5/22/2019,$0.00,Renewal\n"
    )
    report = collectors.run(ws, "lib")
    assert report.skipped == 0  # the middle renewal carries its due date, no new demand
    # One loan: out 1 May 16:00 PDT, back 20 May 09:30 PDT; no demand for renewals.
    assert loans(ws) == [
        ("use", "1@2019-05-01T23:00:00Z", "2019-05-01 23:00"),
        ("replenish", "1@2019-05-01T23:00:00Z", "2019-05-20 16:30"),
    ]


def test_loan_still_out_returns_in_a_later_export(
    make_workspace: MakeWorkspace, tmp_path: Path
) -> None:
    ws = small_library(make_workspace, tmp_path)
    path = tmp_path / "myturn" / "loans-2019.csv"
    path.write_text(H + "7,1,Drill A,5/1/2019 4:00 PM,,5/8/2019,$0.00,\n")
    first = collectors.run(ws, "lib")
    assert [k for k, _, _ in loans(ws)] == ["use"]
    path.write_text(H + "7,1,Drill A,5/1/2019 4:00 PM,5/3/2019 10:00 AM,5/8/2019,$0.00,\n")
    second = collectors.run(ws, "lib")
    assert [k for k, _, _ in loans(ws)] == ["use", "replenish"]
    assert first.accepted >= 1 and second.accepted == 1  # the row, now with its return


def test_unmapped_item_type_is_quarantined_or_goes_to_other(
    make_workspace: MakeWorkspace, tmp_path: Path
) -> None:
    ws = small_library(make_workspace, tmp_path)
    (tmp_path / "myturn" / "loans-2019.csv").write_text(
        H + "7,3,Sander,5/1/2019 4:00 PM,5/2/2019 4:00 PM,5/8/2019,$0.00,\n"
    )
    report = collectors.run(ws, "lib")
    assert report.quarantined == 2  # the sander's inventory row and its loan
    ws = small_library(make_workspace, tmp_path, other="drill")
    assert collectors.run(ws, "lib", from_start=True).quarantined == 0


def test_disabled_item_leaves_capacity_at_its_last_edit(
    make_workspace: MakeWorkspace, tmp_path: Path
) -> None:
    ws = small_library(make_workspace, tmp_path, other="drill")
    (tmp_path / "myturn" / "loans-2019.csv").write_text(H)
    collectors.run(ws, "lib")
    with ws.store.read() as conn:
        rows = conn.execute(
            select(
                CapacityChange.external_id, CapacityChange.delta, CapacityChange.effective_at
            ).order_by(CapacityChange.id)
        ).all()
        members = conn.execute(select(func.count()).select_from(Member)).scalar_one()
    gone = [r for r in rows if r.external_id == "item:2:disabled"]
    assert len(rows) == 4 and members == 0
    assert gone[0].delta == -1 and gone[0].effective_at.strftime("%Y-%m-%d") == "2019-06-01"


def test_pools_come_from_the_inventory_and_a_declared_capacity_wins(
    make_workspace: MakeWorkspace, tmp_path: Path
) -> None:
    declared = [{"slug": "drills", "name": "Drills", "kind": "pool", "capacity": 4}]
    ws = small_library(make_workspace, tmp_path, resources=declared, item_types="auto")
    (tmp_path / "myturn" / "loans-2019.csv").write_text(
        H + "7,3,Sander,5/1/2019 4:00 PM,5/2/2019 4:00 PM,5/8/2019,$0.00,\n"
    )
    report = collectors.run(ws, "lib")
    # Two drills skipped (the declared 4 count them), the sander's pool created.
    assert (report.quarantined, report.skipped) == (0, 2)
    with ws.store.read() as conn:
        pools = dict(
            conn.execute(select(Resource.slug, Resource.name).where(Resource.kind == "pool")).all()
        )
        deltas = conn.execute(
            select(Resource.slug, func.sum(CapacityChange.delta))
            .join(Resource, Resource.id == CapacityChange.resource_id)
            .group_by(Resource.slug)
        ).all()
    assert pools == {"drills": "Drills", "sanders": "Sanders"}
    assert [(slug, int(d)) for slug, d in deltas] == [("sanders", 1)]


TXN_HEADER = "Transaction ID,Member ID,Date,{method},Payment Amount,Item Type\n"


@pytest.mark.parametrize(
    ("files", "expected", "reason"),
    [
        # Header case differs by year: both files read.
        (
            {
                "2018": TXN_HEADER.format(method="Payment method")
                + "1,7,1/2/2018 9:00 AM,Cash,$5.00,\n",
                "2019": TXN_HEADER.format(method="payment  METHOD")
                + "2,7,1/2/2019 9:00 AM,Cash,$7.50,\n",
            },
            (2, 0, 0, [5.0, 7.5]),
            None,
        ),
        # A cash row with no amount moved no money: skipped, not "not a number".
        (
            {"2019": TXN_HEADER.format(method="Payment Method") + "3,7,1/2/2019 9:00 AM,Cash,,\n"},
            (0, 0, 1, []),
            None,
        ),
        # A file that truly lacks a column: only its rows are refused.
        (
            {
                "2018": "Transaction ID,Member ID,Date,Payment Amount\n4,7,1/2/2018 9:00 AM,$1.00\n",
                "2019": TXN_HEADER.format(method="Payment Method")
                + "5,7,1/2/2019 9:00 AM,Cash,$2.00,\n",
            },
            (1, 1, 0, [2.0]),
            "transactions-2018.csv lacks column(s) ['Payment method']",
        ),
    ],
    ids=["header case", "blank cash amount", "file lacking a column"],
)
def test_transactions_across_years(
    make_workspace: MakeWorkspace,
    tmp_path: Path,
    files: dict[str, str],
    expected: tuple[int, int, int, list[float]],
    reason: str | None,
) -> None:
    resources = [*LIBRARY, {"slug": "money", "name": "Money", "kind": "stock", "unit": "USD"}]
    ws = small_library(
        make_workspace,
        tmp_path,
        resources=resources,
        transactions="myturn/transactions-*.csv",
        money_resource="money",
        other="drill",
    )
    (tmp_path / "myturn" / "loans-2019.csv").write_text(H)
    for year, text in files.items():
        (tmp_path / "myturn" / f"transactions-{year}.csv").write_text(text)
    report = collectors.run(ws, "lib")
    assert report.status == "ok", report.error
    assert report.rows_read == report.accepted + report.duplicates + report.quarantined
    accepted, quarantined, skipped, amounts = expected
    with ws.store.read() as conn:
        got = [
            float(q)
            for q in conn.execute(
                select(Event.quantity).where(Event.loan_ref.is_(None)).order_by(Event.id)
            ).scalars()
        ]
        why = list(conn.execute(select(QuarantinedRow.reason)).scalars())
    # Member 7 and three inventory items come first (all accepted).
    assert (report.accepted - 4, report.quarantined, report.skipped) == (
        accepted,
        quarantined,
        skipped,
    )
    assert got == amounts
    if reason:
        assert len(why) == 1 and why[0].startswith(reason), why
