"""A changed roster row updates its member, says so, and never passes as accepted.

Member weights feed weighted fair shares and emails route quota notices: a steward
who edits the roster must see the change applied, or be told why it was not.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from steward import collectors
from steward.store.models import Member, QuarantinedRow
from steward.workspace import Workspace

from .support import MakeWorkspace, csv_collector
from .support import in_process as steward

HEADER = "code,name,email,weight,commons\n"
NELL = "T0301,Nell Newcomer,nell@example.org,1,town\n"


def member(ws: Workspace, code: str) -> tuple[str, str | None, Decimal]:
    with ws.store.read() as conn:
        row = conn.execute(
            select(Member.name, Member.email, Member.weight).where(Member.code == code)
        ).one()
    return row.name, row.email, Decimal(row.weight)


def quarantine(ws: Workspace) -> dict[str, str]:
    with ws.store.read() as conn:
        return dict(conn.execute(select(QuarantinedRow.location, QuarantinedRow.reason)).all())


def test_import_updates_a_changed_member_and_says_updated(
    make_workspace: MakeWorkspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = make_workspace([])
    config = str(tmp_path / "steward.yaml")
    first = tmp_path / "members.csv"
    first.write_text(HEADER + NELL)
    code, out, err = steward(capsys, "-c", config, "import", "members", str(first))
    assert code == 0, out + err
    assert "1 row read: 1 accepted, 0 updated, 0 duplicates, 0 quarantined" in out

    change = tmp_path / "members-update.csv"
    change.write_text(HEADER + "T0301,Nell Newcomer-Smith,nell.smith@example.org,2,town\n")
    code, out, err = steward(capsys, "-c", config, "import", "members", str(change))
    assert code == 0, out + err
    assert "1 row read: 0 accepted, 1 updated, 0 duplicates, 0 quarantined" in out
    assert member(ws, "T0301") == ("Nell Newcomer-Smith", "nell.smith@example.org", Decimal(2))

    # The same row again changes nothing: a duplicate, never "accepted" or "updated".
    code, out, err = steward(capsys, "-c", config, "import", "members", str(change))
    assert code == 0, out + err
    assert "1 row read: 0 accepted, 0 updated, 1 duplicate, 0 quarantined" in out


def test_a_blank_weight_or_email_leaves_the_recorded_one(
    make_workspace: MakeWorkspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = make_workspace([])
    config = str(tmp_path / "steward.yaml")
    path = tmp_path / "members.csv"
    path.write_text(HEADER + "T0301,Nell Newcomer,nell@example.org,3,town\n")
    assert steward(capsys, "-c", config, "import", "members", str(path))[0] == 0
    # A roster without weights must not reset every member's weight to 1.
    path.write_text("code,name,commons\nT0301,Nell Newcomer-Smith,town\n")
    code, out, err = steward(capsys, "-c", config, "import", "members", str(path))
    assert code == 0, out + err
    assert "0 accepted, 1 updated" in out
    assert member(ws, "T0301") == ("Nell Newcomer-Smith", "nell@example.org", Decimal(3))
    # Blank cells likewise: the email is not erased, the weight not reset.
    path.write_text(HEADER + "T0301,Nell Smith,,,town\n")
    code, out, err = steward(capsys, "-c", config, "import", "members", str(path))
    assert code == 0, out + err
    assert "0 accepted, 1 updated" in out
    assert member(ws, "T0301") == ("Nell Smith", "nell@example.org", Decimal(3))


def test_two_rows_for_one_member_that_disagree_quarantine_the_later(
    make_workspace: MakeWorkspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = make_workspace([])
    config = str(tmp_path / "steward.yaml")
    path = tmp_path / "members.csv"
    path.write_text(
        HEADER
        + "T0400,Ola Oak,ola@example.org,1,town\n"
        + "T0400,Ola Oak,ola@example.org,1,town\n"
        + "T0400,Ola Oakley,ola.oakley@example.org,1,town\n"
    )
    code, out, err = steward(capsys, "-c", config, "import", "members", str(path))
    assert code == 0, out + err
    assert "3 rows read: 1 accepted, 0 updated, 1 duplicate, 1 quarantined" in out
    assert member(ws, "T0400") == ("Ola Oak", "ola@example.org", Decimal(1))
    assert quarantine(ws) == {
        "members.csv:4": "conflict: member 'T0400' first appears on members.csv:2 with "
        "different contents (name 'Ola Oak' there, 'Ola Oakley' here; email "
        "'ola@example.org' there, 'ola.oakley@example.org' here); only the first row is "
        "recorded: keep one row per member, the right one, and import the file again"
    }


def test_the_members_collector_updates_a_changed_member(
    make_workspace: MakeWorkspace, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    path = src / "members.csv"
    path.write_text("commons,code,name,email,weight\ntown,T0002,Hana Abbott,hana@example.org,1\n")
    ws = make_workspace([{**csv_collector("src/members.csv", record="members"), "name": "people"}])
    first = collectors.run(ws, "people")
    assert (first.rows_read, first.accepted, first.updated, first.duplicates) == (1, 1, 0, 0)
    with path.open("a") as out:
        out.write("town,T0002,Hana Abbott,hana.moved@example.org,2\n")
    second = collectors.run(ws, "people")
    assert (second.rows_read, second.accepted, second.updated, second.duplicates) == (1, 0, 1, 0)
    assert member(ws, "T0002") == ("Hana Abbott", "hana.moved@example.org", Decimal(2))
    again = collectors.run(ws, "people")
    assert (again.rows_read, again.updated) == (0, 0)
