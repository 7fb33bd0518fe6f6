"""One bad row never stops a source: over-long text and NUL bytes are quarantined on both backends.

PostgreSQL refused the whole batch ("value too long", NUL bytes) where SQLite took it.
Each bad row is now quarantined with the field and the limit; the rest is recorded,
the collector's state is kept and a rerun goes past it.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from steward import collectors
from steward.ledger import Batch, Ledger, NewEvent, NewMember
from steward.store.models import CollectorState, Event, Member, QuarantinedRow
from steward.workspace import Workspace

from .support import MakeWorkspace, csv_collector

LONG_NAME = "N" * 300
LONG_ID = "x" * 302


def _reasons(ws: Workspace) -> list[str]:
    with ws.store.read() as conn:
        return sorted(conn.execute(select(QuarantinedRow.reason)).scalars())


def test_members_csv_with_long_name_nul_and_long_code(
    make_workspace: MakeWorkspace, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "members.csv").write_bytes(
        (f"code,name,email\nm1,Ann,a@x.org\nm2,{LONG_NAME},\nm3,Nul\x00Name,\nm4,Dee,\n").encode()
    )
    ws = make_workspace([{**csv_collector("src/members.csv", record="members"), "name": "people"}])
    report = collectors.run(ws, "people")
    assert report.status == "ok"
    assert (report.rows_read, report.accepted, report.quarantined) == (4, 2, 2)
    assert _reasons(ws) == [
        "name contains the control character U+0000 at position 4; remove it at the source",
        "name is 300 characters long (at most 200); shorten it at the source",
    ]
    with ws.store.read() as conn:
        assert sorted(conn.execute(select(Member.code)).scalars()) == ["m1", "m4"]
        state = conn.execute(select(CollectorState)).one()
        raws = conn.execute(select(QuarantinedRow.raw)).scalars().all()
    assert state.last_success_at is not None and state.consecutive_failures == 0
    assert any("Nul<U+0000>Name" in str(raw) for raw in raws)
    again = collectors.run(ws, "people")
    assert again.status == "ok"


def test_events_with_long_external_id_and_nul_are_quarantined(
    make_workspace: MakeWorkspace, tmp_path: Path
) -> None:
    ws = make_workspace([])
    events = [
        NewEvent("fund", "replenish", "10", "2025-01-01T00:00:00Z", "ok-1"),
        NewEvent("fund", "replenish", "10", "2025-01-02T00:00:00Z", LONG_ID),
        NewEvent("drill", "use", 1, "2025-01-03T00:00:00Z", "ok-2", loan_ref="L\x001"),
        NewEvent("fund", "use", "1", "2025-01-04T00:00:00Z", "ok-3", member="q" * 65),
    ]
    members = [
        NewMember("town", "good", "Good"),
        NewMember("town", "ext", "Ext", external_ids=(("myturn", LONG_ID),)),
    ]
    with ws.store.write() as conn:
        result = Ledger(conn).record(Batch("hand", events=events, members=members))
    # ok-1 and the member "good" (the ledger counts member rows too).
    assert (result.accepted, result.quarantined) == (2, 4)
    assert _reasons(ws) == [
        "external id is 302 characters long (at most 128); shorten it at the source",
        "external_id is 302 characters long (at most 200); shorten it at the source",
        "loan_ref contains the control character U+0000 at position 2; remove it at the source",
        "member is 65 characters long (at most 64); shorten it at the source",
    ]
    with ws.store.read() as conn:
        assert conn.execute(select(func.count()).select_from(Event)).scalar() == 1
        assert conn.execute(select(Member.code)).scalars().all() == ["good"]
