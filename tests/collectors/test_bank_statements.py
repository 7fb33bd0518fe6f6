"""Bank statements as banks write them: preamble lines, money in/out columns, signed amounts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from steward import collectors
from steward.store.models import Event, QuarantinedRow

from .support import MakeWorkspace, csv_collector

PREAMBLE = (
    "Account;DE12 3456 7890 1234 5678 90\n"
    "Period;01.05.2024 - 31.05.2024\n"
    "Opening balance;1.234,56 EUR\n"
    "\n"
)
IN_OUT = {
    "columns": {
        "external_id": "Reference",
        "occurred_at": "Date",
        "quantity_in": "Money in",
        "quantity_out": "Money out",
    },
    "defaults": {"resource": "fund"},
    "decimal": ",",
    "date_format": "%d.%m.%Y",
}

# (name, file, options, (kind, quantity) recorded in order, quarantine reasons)
CASES: list[tuple[str, str, dict[str, Any], list[tuple[str, float]], list[str]]] = [
    (
        "account and balance lines above the header",
        PREAMBLE
        + "Reference;Date;Money in;Money out\n"
        + "r1;02.05.2024;50,00;\n"
        + "r2;03.05.2024;;12,50\n",
        IN_OUT,
        [("replenish", 50.0), ("use", 12.5)],
        [],
    ),
    (
        "money out written negative is a use, not a refusal",
        "Reference;Date;Money in;Money out\nr1;02.05.2024;;-200,00\nr2;03.05.2024;1.000,00;\n",
        IN_OUT,
        [("use", 200.0), ("replenish", 1000.0)],
        [],
    ),
    (
        "both or neither column filled is refused",
        "Reference;Date;Money in;Money out\nr1;02.05.2024;5,00;5,00\nr2;03.05.2024;;\n",
        IN_OUT,
        [],
        ["both 'Money in' / 'Money out' have an amount", "no amount in 'Money in' / 'Money out'"],
    ),
    (
        "one signed amount column",
        "Reference;Date;Amount\nr1;02.05.2024;-200,00\nr2;03.05.2024;+75,10\nr3;04.05.2024;0,00\n",
        {
            "columns": {"external_id": "Reference", "occurred_at": "Date", "quantity": "Amount"},
            "defaults": {"resource": "fund"},
            "decimal": ",",
            "date_format": "%d.%m.%Y",
            "signed": True,
        },
        [("use", 200.0), ("replenish", 75.1)],
        ["quantity 0 moves nothing"],
    ),
]


@pytest.mark.parametrize(
    ("name", "text", "options", "expected", "reasons"), CASES, ids=[c[0] for c in CASES]
)
def test_bank_statement(
    make_workspace: MakeWorkspace,
    tmp_path: Path,
    name: str,
    text: str,
    options: dict[str, Any],
    expected: list[tuple[str, float]],
    reasons: list[str],
) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "statement.csv").write_text(text, encoding="utf-8")
    ws = make_workspace([csv_collector(**options)])
    report = collectors.run(ws, "ledger")
    assert report.status == "ok", report.error
    assert report.rows_read == report.accepted + report.duplicates + report.quarantined
    assert (report.accepted, report.quarantined) == (len(expected), len(reasons))
    with ws.store.read() as conn:
        got = [
            (str(k), float(q))
            for k, q in conn.execute(select(Event.kind, Event.quantity).order_by(Event.id))
        ]
        why = sorted(conn.execute(select(QuarantinedRow.reason)).scalars())
    assert got == expected
    for fragment, reason in zip(sorted(reasons), why, strict=True):
        assert reason.startswith(fragment), why
    again = collectors.run(ws, "ledger", from_start=True)
    assert (again.accepted, again.duplicates) == (0, len(expected))
