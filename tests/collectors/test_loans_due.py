"""Due dates and overdue loans: the loans query against pandas straight from the exports."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import select

from steward import collectors
from steward.queries import loans as loan_query
from steward.store.models import Event, LoanTerm, Member, QuarantinedRow, Resource

from .support import MakeWorkspace, csv_collector
from .test_myturn import MYTURN, H, pools_for_inventory, small_library

ZONE = "America/Los_Angeles"


def expected_open(files: list[Path], as_of: pd.Timestamp) -> pd.DataFrame:
    """Loan rows out at ``as_of`` and their due dates, from the export files alone.

    A row is out from its checkout until its check-in; the row out is the loan's
    latest renewal, so its Due Date is the loan's. Due by the end of that day.
    """
    rows = pd.concat([pd.read_csv(f, dtype=str, keep_default_na=False) for f in files])
    fmt = "%m/%d/%Y %I:%M %p"
    out = pd.to_datetime(rows["Checked Out"], format=fmt).dt.tz_localize(ZONE)
    back = pd.to_datetime(rows["Checked In"].replace("", None), format=fmt).dt.tz_localize(ZONE)
    due_day = pd.to_datetime(rows["Due Date"], format="%m/%d/%Y")
    due = (due_day + pd.Timedelta(days=1)).dt.tz_localize(ZONE)
    is_out = (out <= as_of) & (back.isna() | (back > as_of))
    late = (as_of - due[is_out]) / pd.Timedelta(days=1)
    return pd.DataFrame(
        {"member": rows["Membership ID"][is_out].str.strip(), "days_overdue": late.where(late >= 0)}
    )


@pytest.mark.slow
@pytest.mark.skipif(not MYTURN.exists(), reason=f"needs the MyTurn sample in {MYTURN}")
def test_overdue_counts_match_the_real_exports(make_workspace: MakeWorkspace) -> None:
    ws = make_workspace(
        [
            {
                "name": "myturn",
                "kind": "myturn",
                "commons": "town",
                "inventory": str(MYTURN / "inventory-snapshot.csv"),
                "loans": str(MYTURN / "loans-*.csv"),
            }
        ],
        resources=pools_for_inventory(MYTURN / "inventory-snapshot.csv"),
        timezone=ZONE,
    )
    assert collectors.run(ws, "myturn").status == "ok"
    files = sorted(MYTURN.glob("loans-*.csv"))
    # Noon on the 1st of each month over both years, and a few odd moments.
    moments = [
        *pd.date_range("2018-02-01 12:00", "2019-12-01 12:00", freq="MS", tz=ZONE),
        pd.Timestamp("2018-12-31 23:30", tz=ZONE),
        pd.Timestamp("2019-07-04 09:15", tz=ZONE),
    ]
    total_overdue = 0
    with ws.store.read() as conn:
        for as_of in moments:
            want = expected_open(files, as_of)
            when = as_of.tz_convert("UTC").to_pydatetime()
            got = loan_query.open_loans(conn, as_of=when)
            assert len(got) == len(want), as_of
            counts = loan_query.overdue_counts(conn, as_of=when)
            assert counts.to_dict() == loan_query.bucket_counts(want["days_overdue"]).to_dict()
            total_overdue += int(counts.sum())
        # Narrowed to one borrower with loans out on a busy day, and to one pool.
        as_of = pd.Timestamp("2019-06-01 12:00", tz=ZONE)
        want = expected_open(files, as_of)
        code = want["member"].value_counts().index[0]
        member_id = conn.execute(select(Member.id).where(Member.code == code)).scalar_one()
        mine = loan_query.open_loans(conn, member_id=member_id, as_of=as_of.to_pydatetime())
        assert len(mine) == (want["member"] == code).sum() and set(mine["member"]) == {code}
        pool = mine["resource_id"].iloc[0]
        only = loan_query.open_loans(conn, resource_ids=[pool], as_of=as_of.to_pydatetime())
        assert set(only["resource_id"]) == {pool}
        assert loan_query.open_loans(conn, resource_ids=[], as_of=as_of.to_pydatetime()).empty
    assert total_overdue > 100  # the check compares real overdue loans, not zeros


def terms(ws: Any) -> list[tuple[str, str, str]]:
    with ws.store.read() as conn:
        rows = conn.execute(
            select(LoanTerm.loan_ref, LoanTerm.starts_at, LoanTerm.due_at).order_by(LoanTerm.id)
        ).all()
    return [(ref, s.strftime("%m-%d %H:%M"), d.strftime("%m-%d %H:%M")) for ref, s, d in rows]


def test_a_renewal_due_date_replaces_the_earlier_one(
    make_workspace: MakeWorkspace, tmp_path: Path
) -> None:
    ws = small_library(make_workspace, tmp_path)
    (tmp_path / "myturn" / "loans-2019.csv").write_text(
        H
        + "7,1,Drill A,5/1/2019 4:00 PM,5/8/2019 4:00 PM,5/8/2019,$0.00,\n"
        + "7,1,Drill A,5/8/2019 4:00 PM,,5/15/2019,$0.00,Renewal\n"
    )
    assert collectors.run(ws, "lib").status == "ok"
    ref = "1@2019-05-01T23:00:00Z"
    # Due by the end of the day in Los Angeles: 07:00 UTC the next morning.
    assert terms(ws) == [
        (ref, "05-01 23:00", "05-09 07:00"),
        (ref, "05-08 23:00", "05-16 07:00"),
    ]

    def at(text: str) -> datetime:
        return datetime.fromisoformat(text).astimezone(UTC)

    with ws.store.read() as conn:
        pool = conn.execute(select(Resource.id).where(Resource.slug == "drill")).scalar_one()
        before = loan_query.open_loans(conn, [pool], as_of=at("2019-05-05T12:00:00+00:00"))
        assert before["due_at"].dt.strftime("%m-%d %H:%M").tolist() == ["05-09 07:00"]
        assert before["days_overdue"].isna().all()
        late = loan_query.open_loans(conn, as_of=at("2019-05-26T07:00:00+00:00"))
        assert late[["loan_ref", "member"]].values.tolist() == [[ref, "7"]]
        assert late["days_overdue"].tolist() == [10.0]
        counts = loan_query.overdue_counts(conn, as_of=at("2019-05-26T07:00:00+00:00"))
        assert counts.to_dict() == {"<7": 0, "7-14": 1, "14-30": 0, "30-60": 0, "60+": 0}
        with pytest.raises(ValueError, match="no timezone"):
            loan_query.open_loans(conn, as_of=datetime(2019, 5, 26))


@pytest.mark.parametrize(
    ("days", "bucket"),
    [(0.0, "<7"), (6.99, "<7"), (7.0, "7-14"), (14.0, "14-30"), (30.0, "30-60"), (60.0, "60+")],
)
def test_overdue_buckets_are_half_open(days: float, bucket: str) -> None:
    counts = loan_query.bucket_counts(pd.Series([days, float("nan")]))
    assert counts[bucket] == 1 and counts.sum() == 1


def loan_kinds(ws: Any) -> list[tuple[str, str]]:
    with ws.store.read() as conn:
        rows = conn.execute(select(Event.kind, Event.loan_ref).order_by(Event.id)).all()
    return sorted((str(k), ref) for k, ref in rows)


A = "7,1,Drill A,5/1/2019 4:00 PM,5/8/2019 4:00 PM,5/8/2019,$0.00,\n"
A_OPEN = "7,1,Drill A,5/1/2019 4:00 PM,,5/8/2019,$0.00,\n"
B_OPEN = "7,1,Drill A,5/8/2019 4:00 PM,,5/15/2019,$0.00,Renewal\n"
B_LATE = "7,1,Drill A,5/8/2019 4:05 PM,5/15/2019 9:00 AM,5/15/2019,$0.00,Renewal\n"
B_BACK = "7,1,Drill A,5/8/2019 4:00 PM,5/15/2019 9:00 AM,5/15/2019,$0.00,Renewal\n"
REF = "1@2019-05-01T23:00:00Z"
ONE_LOAN_OUT = [("use", REF)]
ONE_LOAN_BACK = [("replenish", REF), ("use", REF)]

# (name, {file: rows}, options, loan events, (rows read, accepted, duplicates, skipped))
LOAN_CASES: list[
    tuple[str, dict[str, str], dict[str, Any], list[tuple[str, str]], tuple[int, int, int, int]]
] = [
    ("renewal a few minutes late", {"2019": A + B_LATE}, {}, ONE_LOAN_BACK, (2, 2, 0, 0)),
    (
        "renewal later than the tolerance is a new loan",
        {"2019": A + B_LATE},
        {"renewal_gap_minutes": 2},
        [
            ("replenish", REF),
            ("replenish", "1@2019-05-08T23:05:00Z"),
            ("use", REF),
            ("use", "1@2019-05-08T23:05:00Z"),
        ],
        (2, 2, 0, 0),
    ),
    (
        "open renewal in the year's file and in loans-checked-out",
        {"2019": A + B_OPEN, "checked-out": B_OPEN},
        {},
        ONE_LOAN_OUT,
        (3, 2, 1, 0),
    ),
    (
        "the same file exported twice",
        {"2019": A + B_BACK, "2019-again": A + B_BACK},
        {},
        ONE_LOAN_BACK,
        (4, 2, 2, 0),
    ),
    (
        "open row in an old export, returned in a new one",
        {"2019-old": A_OPEN, "2019-new": A},
        {},
        ONE_LOAN_BACK,
        (2, 1, 1, 0),
    ),
    (
        "open in an old export, renewed in the next year's file",
        {"2019": A_OPEN, "2020": B_BACK},
        {},
        ONE_LOAN_BACK,
        (2, 2, 0, 0),
    ),
]


@pytest.mark.parametrize(
    ("name", "files", "options", "expected", "counts"), LOAN_CASES, ids=[c[0] for c in LOAN_CASES]
)
def test_loan_rows_across_exports(
    make_workspace: MakeWorkspace,
    tmp_path: Path,
    name: str,
    files: dict[str, str],
    options: dict[str, Any],
    expected: list[tuple[str, str]],
    counts: tuple[int, int, int, int],
) -> None:
    ws = small_library(make_workspace, tmp_path, **options)
    for stem, rows in files.items():
        (tmp_path / "myturn" / f"loans-{stem}.csv").write_text(H + rows)
    report = collectors.run(ws, "lib")
    assert report.status == "ok", report.error
    # Before the loans: member 7 (new) and the inventory's three items (the sander refused).
    loans_read, loans_accepted = report.rows_read - 4, report.accepted - 3
    assert (loans_read, loans_accepted, report.duplicates, report.skipped) == counts
    assert report.quarantined == 1  # the sander (an unmapped item type) only
    assert loan_kinds(ws) == expected
    replay = collectors.run(ws, "lib", from_start=True)
    assert (replay.accepted, loan_kinds(ws)) == (0, expected)


def test_a_later_run_closes_what_an_earlier_one_left_open(
    make_workspace: MakeWorkspace, tmp_path: Path
) -> None:
    ws = small_library(make_workspace, tmp_path)
    (tmp_path / "myturn" / "loans-2019.csv").write_text(H + A_OPEN)
    collectors.run(ws, "lib")
    assert loan_kinds(ws) == ONE_LOAN_OUT
    (tmp_path / "myturn" / "loans-2020.csv").write_text(H + B_BACK)
    collectors.run(ws, "lib")
    assert loan_kinds(ws) == ONE_LOAN_BACK
    assert [t[2] for t in terms(ws)] == ["05-09 07:00", "05-16 07:00"]


def test_tabular_loans_carry_due_at(make_workspace: MakeWorkspace, tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "loans.csv").write_text(
        "external_id,resource,kind,quantity,occurred_at,loan_ref,due_at\n"
        "l1,drill,use,1,2024-05-01 10:00,L1,2024-05-08\n"
        "l2,drill,use,1,2024-05-01 11:00,L2,2024-05-03 17:30\n"
        "l3,drill,use,1,2024-05-01 12:00,L3,\n"
        "l4,drill,use,1,2024-05-01 12:00,,2024-05-08\n"
        "l5,drill,use,1,2024-05-01 12:00,L5,next week\n"
        "r1,drill,replenish,1,2024-05-02 10:00,L1,2024-05-09\n"
    )
    ws = make_workspace([csv_collector()])
    report = collectors.run(ws, "ledger")
    assert (report.accepted, report.quarantined) == (3, 3)
    with ws.store.read() as conn:
        reasons = sorted(conn.execute(select(QuarantinedRow.reason)).scalars())
    assert reasons == [
        "due_at belongs on a loan's checkout (kind use)",
        "due_at needs the loan's loan_ref",
        "due_at: timestamp 'next week' is not a date this source reads: write ISO 8601 "
        "(2024-05-01 14:30) or set date_format (e.g. '%m/%d/%Y %I:%M %p')",
    ]
    # London: a date alone is due by midnight ending it (23:00 UTC in summer).
    assert [t[0] + " " + t[2] for t in terms(ws)] == ["L1 05-08 23:00", "L2 05-03 16:30"]


def test_a_due_date_years_ahead_is_a_mistyped_year_not_a_loan(
    make_workspace: MakeWorkspace, tmp_path: Path
) -> None:
    """Due in 2062: the loan would never be overdue, so the row is held with the limit."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "loans.csv").write_text(
        "external_id,resource,kind,quantity,occurred_at,loan_ref,due_at\n"
        "l1,drill,use,1,2024-05-01 10:00,L1,2024-05-08\n"
        "l2,drill,use,1,2024-05-01 11:00,L2,2062-05-08\n"
    )
    ws = make_workspace([csv_collector()])
    report = collectors.run(ws, "ledger")
    with ws.store.read() as conn:
        reasons = list(conn.execute(select(QuarantinedRow.reason)).scalars())
    assert report.quarantined == 1, reasons
    assert "due date" in reasons[0] and "'2062-05-08" in reasons[0]
    assert "more than 730 days after the loan began" in reasons[0]
    assert "raise plans_ahead_days" in reasons[0]
    assert [t[0] for t in terms(ws)] == ["L1"]
    with ws.store.read() as conn:
        # Nothing half-written: the checkout waits with its due date.
        assert list(conn.execute(select(Event.external_id)).scalars()) == ["l1"]
