"""The dirty CSV corpus: every case ingests or quarantines each row with a specific reason.

Each case is (name, file bytes, collector options, expected (accepted, duplicates,
quarantined), a fragment of the quarantine reason). Whatever the case, rows read
= accepted + duplicates + quarantined, nothing crashes, and a refused row leaves
nothing behind in the ledger.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from steward import collectors
from steward.store.models import Event, QuarantinedRow

from .support import MakeWorkspace, csv_collector

H = b"external_id,resource,kind,quantity,occurred_at\n"
ROW1 = b"e1,fund,use,10,2024-05-01 10:00\n"
ROW2 = b"e2,fund,replenish,20.5,2024-05-02T09:00:00+02:00\n"

CASES: list[tuple[str, bytes, dict[str, Any], tuple[int, int, int], str | None]] = [
    ("clean", H + ROW1 + ROW2, {}, (2, 0, 0), None),
    ("empty file", b"", {}, (0, 0, 0), None),
    ("header only", H, {}, (0, 0, 0), None),
    ("header only, no newline", H.rstrip(), {}, (0, 0, 0), None),
    (
        "missing column",
        b"external_id,resource,kind,occurred_at\ne1,fund,use,2024-05-01\n",
        {},
        (0, 0, 1),
        "column(s) 'quantity' missing",
    ),
    (
        "extra column",
        b"external_id,resource,kind,quantity,occurred_at,note\ne1,fund,use,1,2024-05-01,hi\n",
        {},
        (1, 0, 0),
        None,
    ),
    (
        "renamed column, mapped",
        b"id,resource,kind,amount,when\ne1,fund,use,1,2024-05-01\n",
        {"columns": {"external_id": "id", "quantity": "amount", "occurred_at": "when"}},
        (1, 0, 0),
        None,
    ),
    (
        "renamed column, not mapped",
        b"external_id,resource,kind,amount,occurred_at\ne1,fund,use,1,2024-05-01\ne2,fund,use,1,2024-05-01\n",
        {},
        (0, 0, 2),
        "map them under `columns:`",
    ),
    (
        "columns reordered",
        b"occurred_at,quantity,kind,resource,external_id\n2024-05-01,3,use,fund,e1\n",
        {},
        (1, 0, 0),
        None,
    ),
    (
        "header case and spaces",
        b" External_ID , RESOURCE,Kind,Quantity,Occurred_At\ne1,fund,use,1,2024-05-01\n",
        {},
        (1, 0, 0),
        None,
    ),
    ("semicolon delimiter", H.replace(b",", b";") + ROW1.replace(b",", b";"), {}, (1, 0, 0), None),
    ("tab delimiter", H.replace(b",", b"\t") + ROW1.replace(b",", b"\t"), {}, (1, 0, 0), None),
    ("wrong delimiter forced", H + ROW1, {"delimiter": ";"}, (0, 0, 1), "missing"),
    ("UTF-8 BOM", b"\xef\xbb\xbf" + H + ROW1, {}, (1, 0, 0), None),
    (
        "Latin-1",
        b"external_id,resource,kind,quantity,occurred_at,note\ne1,fund,use,1,2024-05-01,caf\xe9 cr\xe8me\n",
        {},
        (1, 0, 0),
        None,
    ),
    (
        "quoted newline",
        H.rstrip(b"\n")
        + b",note\n"
        + b'e1,fund,use,1,2024-05-01,"two\nlines"\ne2,fund,use,2,2024-05-01,x\n',
        {},
        (2, 0, 0),
        None,
    ),
    ("quoted thousands", H + b'e1,fund,use,"1,204.50",2024-05-01\n', {}, (1, 0, 0), None),
    ("money string", H + b'e1,fund,use,"$1,204.50",2024-05-01\n', {}, (1, 0, 0), None),
    ("accounting negative", H + b"e1,fund,use,(3.20),2024-05-01\n", {}, (0, 0, 1), "must be > 0"),
    ("N/A quantity", H + b"e1,fund,use,N/A,2024-05-01\n", {}, (0, 0, 1), "missing quantity"),
    ("negative quantity", H + b"e1,fund,use,-5,2024-05-01\n", {}, (0, 0, 1), "must be > 0"),
    (
        "non-numeric quantity",
        H + b"e1,fund,use,lots,2024-05-01\n",
        {},
        (0, 0, 1),
        "'lots' is not a number",
    ),
    ("future date", H + b"e1,fund,use,1,2999-01-01\n", {}, (0, 0, 1), "in the future"),
    ("ambiguous date", H + b"e1,fund,use,1,03/04/2024\n", {}, (0, 0, 1), "set date_format"),
    (
        "ambiguous date, format given",
        H + b"e1,fund,use,1,03/04/2024\n",
        {"date_format": "%d/%m/%Y"},
        (1, 0, 0),
        None,
    ),
    (
        "US date with AM/PM",
        H + b"e1,fund,use,1,5/1/2024 4:13 PM\n",
        {"date_format": "%m/%d/%Y %I:%M %p"},
        (1, 0, 0),
        None,
    ),
    (
        "non-existent local time",
        H + b"e1,fund,use,1,2024-03-31 01:30\n",
        {},
        (0, 0, 1),
        "daylight-saving",
    ),
    ("garbage date", H + b"e1,fund,use,1,yesterday\n", {}, (0, 0, 1), "'yesterday' is not a date"),
    ("duplicated rows", H + ROW1 + ROW1, {}, (1, 1, 0), None),
    (
        # Nothing says which of the two is right: neither is recorded.
        "same id, other content",
        H + ROW1 + b"e1,fund,use,11,2024-05-01 10:00\n",
        {},
        (0, 0, 2),
        "first appears on",
    ),
    (
        "truncated last line",
        H + ROW1 + b"e2,fund,use,3",
        {},
        (1, 0, 1),
        "row has 4 fields, the header has 5",
    ),
    ("too many fields", H + b"e1,fund,use,1,2024-05-01,extra\n", {}, (0, 0, 1), "row has 6 fields"),
    ("blank lines", H + b"\n" + ROW1 + b"\n\n" + ROW2, {}, (2, 0, 0), None),
    ("CRLF", (H + ROW1 + ROW2).replace(b"\n", b"\r\n"), {}, (2, 0, 0), None),
    (
        "unknown resource",
        H + b"e1,compost,use,1,2024-05-01\n",
        {},
        (0, 0, 1),
        "unknown resource 'compost'",
    ),
    ("unknown kind", H + b"e1,fund,borrow,1,2024-05-01\n", {}, (0, 0, 1), "unknown kind 'borrow'"),
    ("missing external id", H + b",fund,use,1,2024-05-01\n", {}, (0, 0, 1), "missing external_id"),
    (
        "unknown member",
        H.rstrip(b"\n") + b",member\ne1,fund,use,1,2024-05-01,zed\n",
        {},
        (0, 0, 1),
        "unknown member 'zed'",
    ),
    (
        "kind from defaults",
        b"external_id,resource,quantity,occurred_at\ne1,fund,1,2024-05-01\n",
        {"defaults": {"kind": "use"}},
        (1, 0, 0),
        None,
    ),
    ("NUL byte", H + b"e1,fund,use,1\x00,2024-05-01\n" + ROW2, {}, (1, 0, 1), None),
    ("unterminated quote", H + ROW1 + b'e2,fund,use,"5,2024-05-01\n', {}, (1, 0, 1), None),
    ("only delimiters", H + b",,,,\n", {}, (0, 0, 1), "missing external_id"),
]


@pytest.mark.parametrize(
    ("name", "content", "options", "expected", "reason"), CASES, ids=[c[0] for c in CASES]
)
def test_dirty_csv(
    make_workspace: MakeWorkspace,
    tmp_path: Path,
    name: str,
    content: bytes,
    options: dict[str, Any],
    expected: tuple[int, int, int],
    reason: str | None,
) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "data.csv").write_bytes(content)
    ws = make_workspace([csv_collector(**options)])
    report = collectors.run(ws, "ledger")
    assert report.status == "ok", report.error
    assert report.rows_read == report.accepted + report.duplicates + report.quarantined
    assert (report.accepted, report.duplicates, report.quarantined) == expected
    with ws.store.read() as conn:
        reasons = list(conn.execute(select(QuarantinedRow.reason)).scalars())
        events = conn.execute(select(func.count()).select_from(Event)).scalar_one()
    assert len(reasons) == report.quarantined
    assert events == report.accepted  # one event per accepted row: nothing half-written
    if reason is not None:
        assert any(reason in r for r in reasons), reasons


def test_corpus_has_at_least_thirty_cases() -> None:
    assert len(CASES) >= 30


def test_latin1_text_survives_in_quarantine(make_workspace: MakeWorkspace, tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "x.csv").write_bytes(
        H.rstrip(b"\n") + b",note\ne1,fund,use,-1,2024-05-01,caf\xe9\n"
    )
    ws = make_workspace([csv_collector()])
    collectors.run(ws, "ledger")
    with ws.store.read() as conn:
        row = conn.execute(select(QuarantinedRow.raw, QuarantinedRow.location)).one()
    assert row.raw["source:note"] == "café"
    assert row.location == "src/x.csv:2"


def test_quoted_newline_keeps_line_numbers(make_workspace: MakeWorkspace, tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    body = (
        H.rstrip(b"\n") + b',note\ne1,fund,use,1,2024-05-01,"a\nb"\ne2,fund,use,-1,2024-05-01,c\n'
    )
    (tmp_path / "src" / "x.csv").write_bytes(body)
    ws = make_workspace([csv_collector()])
    collectors.run(ws, "ledger")
    with ws.store.read() as conn:
        assert conn.execute(select(QuarantinedRow.location)).scalar_one() == "src/x.csv:4"


@pytest.mark.slow
def test_hundred_megabyte_file(make_workspace: MakeWorkspace, tmp_path: Path) -> None:
    """100 MB of rows with a long note column: read in chunks, every row accounted for."""
    (tmp_path / "src").mkdir()
    note = b"x" * 4990
    rows = 20_000
    with (tmp_path / "src" / "big.csv").open("wb") as out:
        out.write(H.rstrip(b"\n") + b",note\n")
        for i in range(rows):
            qty = b"-1" if i % 1000 == 0 else b"1.25"
            out.write(b"e%d,fund,use,%s,2024-05-01 10:00,%s\n" % (i, qty, note))
    assert (tmp_path / "src" / "big.csv").stat().st_size > 100_000_000
    ws = make_workspace([csv_collector(chunk_rows=5000)])
    report = collectors.run(ws, "ledger")
    assert report.status == "ok"
    assert report.chunks >= 4
    assert (report.rows_read, report.accepted, report.quarantined) == (rows, rows - 20, 20)
