"""Overdue loans on the real MyTurn sample: the steward page's counts and its CSV download."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from collectors.support import write_config  # tests/ is on sys.path (rootdir)
from collectors.test_loans_due import ZONE, expected_open
from collectors.test_myturn import MYTURN, pools_for_inventory
from sqlalchemy import update

from dashboards import overdue_table
from steward import access, collectors
from steward.access import Scope
from steward.exports import FORMULA_PREFIXES, csv_bytes
from steward.ledger import Batch, Ledger, NewEvent, NewLoanTerm
from steward.queries import loans, overdue
from steward.store import catalog
from steward.store.models import Member
from steward.workspace import Workspace, open_workspace

from .apptest import open_page, signed_in
from .fixtures import PASSWORDS, Federation

needs_myturn = pytest.mark.skipif(
    not MYTURN.exists(), reason=f"needs the MyTurn sample in {MYTURN}"
)
HOSTILE = '=HYPERLINK("http://evil.example","x")'


@pytest.fixture
def library(
    store, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Workspace]:  # type: ignore[no-untyped-def]
    path = write_config(
        tmp_path,
        db_url,
        [
            {
                "name": "myturn",
                "kind": "myturn",
                "commons": "town",
                "inventory": str(MYTURN / "inventory-snapshot.csv"),
                "loans": str(MYTURN / "loans-*.csv"),
            }
        ],
        pools_for_inventory(MYTURN / "inventory-snapshot.csv"),
        timezone=ZONE,
    )
    ws = open_workspace(path)
    assert collectors.run(ws, "myturn").status == "ok"
    with ws.store.write() as conn:
        access.create_account(
            conn, username="sam", password=PASSWORDS["sam"], role="steward", commons="town"
        )
    monkeypatch.setenv("STEWARD_CONFIG", str(path))
    yield ws
    ws.close()


def _steward(ws: Workspace) -> Scope:
    with ws.store.read() as conn:
        account = access.get_account(conn, "sam")
    assert account is not None
    return account.scope()


#: A busy day of the sample; the page looks back to the end of it.
DAY = date(2019, 6, 1)
END_OF_DAY = pd.Timestamp("2019-06-02 00:00", tz=ZONE)


@pytest.mark.slow
@needs_myturn
def test_the_page_counts_overdue_loans_by_age_as_pandas_does(library: Workspace) -> None:
    want = loans.bucket_counts(
        expected_open(sorted(MYTURN.glob("loans-*.csv")), END_OF_DAY)["days_overdue"]
    )
    assert int(want.sum()) > 0
    at = open_page(signed_in("sam"), "overdue")
    at.date_input[0].set_value(DAY).run()
    assert not at.exception, at.exception
    shown = {m.label: m.value for m in at.metric}
    assert shown == {f"{label} days overdue": str(n) for label, n in want.items()}


@pytest.mark.slow
@needs_myturn
def test_the_csv_download_has_the_right_rows_and_no_formula(library: Workspace) -> None:
    files = sorted(MYTURN.glob("loans-*.csv"))
    with library.store.write() as conn:
        # A member whose name a spreadsheet would run.
        conn.execute(update(Member).where(Member.code == Member.code).values(name=HOSTILE))
    with library.store.read() as conn:
        frame = overdue.overdue_loans(
            _steward(library), conn, now=END_OF_DAY.tz_convert("UTC").to_pydatetime()
        )
    rows = list(
        csv.DictReader(
            io.StringIO(csv_bytes(overdue_table.per_loan(frame, ZONE)).decode("utf-8-sig"))
        )
    )
    want = expected_open(files, END_OF_DAY).dropna()
    assert len(rows) == len(want) > 0
    assert sorted(r["Member no."] for r in rows) == sorted(want["member"])
    assert sorted(int(r["Days overdue"]) for r in rows) == sorted(
        int(d) for d in want["days_overdue"]
    )
    for row in rows:
        for cell in row.values():
            assert not cell.startswith(FORMULA_PREFIXES), cell
    assert all(r["Member"] == "'" + HOSTILE for r in rows if r["Member no."])


def test_loans_far_past_due_count_as_lost_capacity_in_the_projection(
    federation: Federation,
) -> None:
    from steward.forecast import runs

    now = datetime.now(UTC)
    ws = open_workspace(federation.config)
    try:
        with ws.store.write() as conn:
            Ledger(conn).record(
                Batch(
                    source="desk",
                    events=[
                        NewEvent("drill", "use", 1, now - timedelta(days=60), "x1", loan_ref="L9"),
                        NewEvent("drill", "use", 1, now - timedelta(days=9), "x2", loan_ref="L8"),
                    ],
                    loan_terms=[
                        NewLoanTerm(
                            "drill", "L9", now - timedelta(days=60), now - timedelta(days=40), "t1"
                        ),
                        NewLoanTerm(
                            "drill", "L8", now - timedelta(days=9), now - timedelta(days=2), "t2"
                        ),
                    ],
                )
            )
            drill = catalog.resource(conn, "drill")
            assert drill is not None
            inputs = runs._inputs(conn, drill, now)
        # Out now: bob's L2, L8 (2 days late) and L9 (40 days late: lost, not coming back).
        assert inputs.lost_overdue == 1
        assert (inputs.on_loan_now, inputs.capacity_now) == (2, 2.0)
    finally:
        ws.close()


def test_pool_loans_counts_a_pools_late_loans_and_the_next_due_of_the_others(
    federation: Federation,
) -> None:
    now = datetime.now(UTC)
    ws = open_workspace(federation.config)
    try:
        with ws.store.write() as conn:
            Ledger(conn).record(
                Batch(
                    source="desk",
                    events=[
                        NewEvent(
                            "drill",
                            "use",
                            1,
                            now - timedelta(days=9),
                            "x1",
                            loan_ref="L8",
                            member="alice",
                        ),
                        NewEvent(
                            "drill",
                            "use",
                            1,
                            now - timedelta(days=1),
                            "x2",
                            loan_ref="L7",
                            member="bob",
                        ),
                    ],
                    loan_terms=[
                        NewLoanTerm(
                            "drill", "L8", now - timedelta(days=9), now - timedelta(days=2), "t1"
                        ),
                        NewLoanTerm(
                            "drill", "L7", now - timedelta(days=1), now + timedelta(days=3), "t2"
                        ),
                    ],
                )
            )
        scope = _steward(ws)
        with ws.store.read() as conn:
            found = overdue.pool_loans(scope, conn, now)
            late = overdue.overdue_loans(scope, conn, now)
    finally:
        ws.close()
    drills = found["drill"]
    assert drills.overdue == int((late["resource"] == "drill").sum()) >= 1
    # L7 is due back by the instant before it turns overdue, 3 days from now.
    assert drills.next_due == now + timedelta(days=3) - timedelta(microseconds=1)


def test_overdue_loans_all_recorded_without_a_member_are_listed(
    federation: Federation, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every late loan without a member: the merge on member ids refused object (all
    None) against int64, and the Overdue page failed."""
    now = datetime.now(UTC)
    real = overdue.loan_book.open_loans_now

    def without_members(*args, **kwargs):  # type: ignore[no-untyped-def]
        out = real(*args, **kwargs)
        out["member_id"] = pd.Series([None] * len(out), index=out.index, dtype=object)
        out["member"] = None
        return out

    ws = open_workspace(federation.config)
    try:
        with ws.store.write() as conn:
            Ledger(conn).record(
                Batch(
                    source="desk",
                    events=[
                        NewEvent("drill", "use", 1, now - timedelta(days=9), "n1", loan_ref="N1")
                    ],
                    loan_terms=[
                        NewLoanTerm(
                            "drill", "N1", now - timedelta(days=9), now - timedelta(days=2), "n1t"
                        )
                    ],
                )
            )
        monkeypatch.setattr(overdue.loan_book, "open_loans_now", without_members)
        with ws.store.read() as conn:
            late = overdue.overdue_loans(_steward(ws), conn, now)
    finally:
        ws.close()
    assert len(late) >= 1 and late["member_name"].isna().all()
