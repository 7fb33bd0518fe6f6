"""Rows with more fields than the header: a trailing delimiter is harmless, anything else is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from steward.collectors.csv_files import read_text_table
from steward.errors import InputError
from steward.importer import ImportOptions, import_file
from steward.store.models import Event, QuarantinedRow

from .support import MakeWorkspace

HEADER = "external_id,resource,kind,quantity,occurred_at\n"


def test_a_delimiter_ending_every_row_does_not_shift_the_columns(
    make_workspace: MakeWorkspace, tmp_path: Path
) -> None:
    ws = make_workspace([])
    path = tmp_path / "excel.csv"
    path.write_text(
        HEADER + "e1,fund,use,3.00,2024-05-01T10:00:00+01:00,\n"
        "e2,fund,use,4.50,2024-05-02T10:00:00+01:00,\n"
    )
    result = import_file(ws.store, path, ImportOptions("events", "x"))
    assert (result.accepted, result.quarantined) == (2, 0)
    with ws.store.read() as conn:
        got = sorted(float(q) for q in conn.scalars(select(Event.quantity)))
    assert got == [3.0, 4.5]


def test_a_row_with_a_value_past_the_header_is_quarantined_with_its_count(
    make_workspace: MakeWorkspace, tmp_path: Path
) -> None:
    ws = make_workspace([])
    path = tmp_path / "odd.csv"
    path.write_text(
        HEADER + "e1,fund,use,3.00,2024-05-01T10:00:00+01:00\n"
        "e2,fund,use,1,234.50,2024-05-02T10:00:00+01:00\n"
    )
    result = import_file(ws.store, path, ImportOptions("events", "x"))
    assert (result.accepted, result.quarantined) == (1, 1)
    with ws.store.read() as conn:
        reasons = list(conn.scalars(select(QuarantinedRow.reason)))
    assert reasons and "the row has 6 fields and the header 5" in reasons[0]


@pytest.mark.parametrize("line", [2, 3])
def test_a_row_far_past_the_header_is_refused_naming_its_line(
    make_workspace: MakeWorkspace, tmp_path: Path, line: int
) -> None:
    ws = make_workspace([])
    path = tmp_path / "wide.csv"
    good = "e1,fund,use,3.00,2024-05-01T10:00:00+01:00\n"
    wide = "e2,fund,use,3.00,2024-05-01T10:00:00+01:00" + ",x" * 8 + "\n"
    path.write_text(HEADER + (wide + good if line == 2 else good + wide))
    with pytest.raises(
        InputError, match=f"line {line} has 13 fields and the header 5; nothing was recorded"
    ):
        import_file(ws.store, path, ImportOptions("events", "x"))


def test_a_column_named_twice_is_refused(make_workspace: MakeWorkspace, tmp_path: Path) -> None:
    ws = make_workspace([])
    path = tmp_path / "twice.csv"
    path.write_text(
        "external_id,resource,kind,quantity,quantity,occurred_at\n"
        "e1,fund,use,3,30,2024-05-01T10:00:00+01:00\n"
    )
    with pytest.raises(InputError, match="'quantity' appear more than once"):
        import_file(ws.store, path, ImportOptions("events", "x"))


def test_a_fetched_csv_with_a_delimiter_ending_every_row_keeps_its_columns() -> None:
    """HTTP and Open Collective documents are read the same way as imported files."""
    table = read_text_table(b"date,amount\n2024-05-01,3.00,\n2024-05-02,4.50,\n")
    assert table.to_dict("records") == [
        {"date": "2024-05-01", "amount": "3.00"},
        {"date": "2024-05-02", "amount": "4.50"},
    ]
    with pytest.raises(ValueError, match="line 3 has 3 fields and the header 2"):
        read_text_table(b"date,amount\n2024-05-01,3.00\n2024-05-02,1,234.50\n")


def test_a_column_the_import_does_not_read_is_refused_unless_ignored(
    make_workspace: MakeWorkspace, tmp_path: Path
) -> None:
    """A misspelt ``membr`` column would lose who borrowed; leaving it out must be said."""
    ws = make_workspace([])
    path = tmp_path / "extra.csv"
    path.write_text(
        "external_id,resource,kind,quantity,occurred_at,membr,notes\n"
        "e1,fund,use,3.00,2024-05-01T10:00:00+01:00,ann,lent at the fair\n"
    )
    with pytest.raises(
        InputError, match="'membr', 'notes' are not events columns Steward reads"
    ) as err:
        import_file(ws.store, path, ImportOptions("events", "x"))
    assert "--ignore-column" in str(err.value.hint)
    with ws.store.read() as conn:
        assert conn.scalars(select(Event.id)).first() is None
    with pytest.raises(InputError, match="'membr' are not events columns"):
        import_file(ws.store, path, ImportOptions("events", "x", ignore_columns=("notes",)))
    result = import_file(
        ws.store, path, ImportOptions("events", "x", ignore_columns=("notes", "membr"))
    )
    assert (result.accepted, result.quarantined) == (1, 0)


def test_scheduled_is_read_as_yes_or_no_and_anything_else_is_quarantined(
    make_workspace: MakeWorkspace, tmp_path: Path
) -> None:
    """'false' in a scheduled column once read as true: any text was planned."""
    ws = make_workspace([])
    # Planned: ahead of now, within the plans' horizon (two years by default).
    soon = (datetime.now(UTC) + timedelta(days=90)).strftime("%Y-%m-%dT%H:%M:%S+01:00")
    path = tmp_path / "planned.csv"
    path.write_text(
        "external_id,resource,kind,quantity,occurred_at,scheduled\n"
        "e1,fund,use,3,2024-05-01T10:00:00+01:00,false\n"
        "e2,fund,use,3,2024-05-01T10:00:00+01:00,No\n"
        "e3,fund,use,3,2024-05-01T10:00:00+01:00,\n"
        f"e4,fund,use,3,{soon},TRUE\n"
        "e5,fund,use,3,2024-05-01T10:00:00+01:00,maybe\n"
    )
    result = import_file(ws.store, path, ImportOptions("events", "x"))
    assert (result.accepted, result.quarantined) == (4, 1)
    with ws.store.read() as conn:
        planned = dict(conn.execute(select(Event.external_id, Event.scheduled)).all())
        reasons = list(conn.scalars(select(QuarantinedRow.reason)))
    assert planned == {"e1": False, "e2": False, "e3": False, "e4": True}
    assert reasons == [
        "scheduled 'maybe' is neither yes nor no; write true/false, yes/no or 1/0 "
        "(empty: not planned)"
    ]


@pytest.mark.parametrize(
    ("rows", "accepted", "refused"),
    [
        # The fund counts USD: a dollar sign or USD is its own; euros and pounds are not.
        (["fund,$5", "fund,USD 5", "fund,5"], 3, []),
        (["fund,€5", "fund,GBP 5"], 0, ["'€' but resource 'fund' counts USD", "'GBP'"]),
        # Litres are no currency: money on them is a misplaced row.
        (["tank,$5"], 0, ["'$' but resource 'tank' counts L"]),
    ],
)
def test_a_value_in_another_currency_than_its_resource_is_quarantined(
    make_workspace: MakeWorkspace,
    tmp_path: Path,
    rows: list[str],
    accepted: int,
    refused: list[str],
) -> None:
    """'€5' on a USD fund was read as 5 USD: Steward converts no currencies."""
    ws = make_workspace([])
    path = tmp_path / "money.csv"
    path.write_text(
        "external_id,resource,kind,quantity,occurred_at\n"
        + "".join(
            f'e{i},{res},use,"{value}",2024-05-01T10:00:00+01:00\n'
            for i, (res, value) in enumerate(r.split(",") for r in rows)
        ),
        encoding="utf-8",
    )
    result = import_file(ws.store, path, ImportOptions("events", "x"))
    assert (result.accepted, result.quarantined) == (accepted, len(rows) - accepted)
    with ws.store.read() as conn:
        reasons = sorted(conn.scalars(select(QuarantinedRow.reason)))
    assert len(reasons) == len(refused)
    for reason, part in zip(reasons, sorted(refused), strict=True):
        assert part in reason and "Steward converts no currencies" in reason, reason


def test_a_member_of_an_unknown_commons_is_quarantined_and_the_rest_recorded(
    make_workspace: MakeWorkspace, tmp_path: Path
) -> None:
    """One typo in a members file refused the whole file, naming no line."""
    from steward.store.models import Member

    ws = make_workspace([])
    path = tmp_path / "members.csv"
    path.write_text("code,name,commons\nG1,Ann,town\nG2,Bo,nosuch\nG3,Cy,town\n")
    result = import_file(ws.store, path, ImportOptions("members", "m"))
    assert (result.accepted, result.quarantined) == (2, 1)
    with ws.store.read() as conn:
        assert sorted(conn.scalars(select(Member.code))) == ["G1", "G3"]
        (reason,) = conn.scalars(select(QuarantinedRow.reason))
    assert reason == (
        "commons 'nosuch' is not configured (known: town); fix the commons column, or add "
        "the commons under commons[] in steward.yaml"
    )


def test_quarantine_reasons_quote_the_value_and_say_what_to_do(
    make_workspace: MakeWorkspace, tmp_path: Path
) -> None:
    ws = make_workspace([])
    path = tmp_path / "odd.csv"
    path.write_text(
        HEADER + "e1,fund,use,-5,2024-05-01T10:00:00+01:00\n"
        "e2,fund,use,0.0000001,2024-05-01T10:00:00+01:00\n"
        "e3,fund,use,n/a,2024-05-01T10:00:00+01:00\n"
    )
    import_file(ws.store, path, ImportOptions("events", "x"))
    members = tmp_path / "members.csv"
    members.write_text("code,name,weight,commons\nG1,Ann,-2,town\n")
    import_file(ws.store, members, ImportOptions("members", "m"))
    with ws.store.read() as conn:
        reasons = sorted(conn.scalars(select(QuarantinedRow.reason)))
    assert reasons == [
        "missing quantity: the cell is blank or says n/a; fill it in at the source and "
        "import the row again",
        "quantity -5 must be > 0; record a reversal or the opposite kind instead",
        "quantity 0.0000001 has more than 6 decimal places; round it",
        "weight -2 is negative; a member's weight (their share of weighted quotas) must be "
        "0 or more",
    ]


def test_a_due_at_column_says_what_ignoring_it_costs_and_what_reads_it(
    make_workspace: MakeWorkspace, tmp_path: Path
) -> None:
    """Ignoring ``due_at`` as the generic hint offered dropped every due date in silence."""
    ws = make_workspace([])
    path = tmp_path / "loans.csv"
    path.write_text(
        "external_id,resource,kind,quantity,occurred_at,loan_ref,due_at\n"
        "e1,fund,use,3.00,2024-05-01T10:00:00+01:00,L1,2024-05-08\n"
    )
    with pytest.raises(InputError, match="column 'due_at' is read by collectors") as err:
        import_file(ws.store, path, ImportOptions("events", "x"))
    assert "can ever become overdue" in str(err.value)
    hint = str(err.value.hint)
    assert "csv collector" in hint and "kind: csv" in hint and "steward collect" in hint
    with ws.store.read() as conn:
        assert conn.scalars(select(Event.id)).first() is None
    # Ignored on purpose, the rest is read as before.
    result = import_file(ws.store, path, ImportOptions("events", "x", ignore_columns=("due_at",)))
    assert result.accepted == 1
