"""Decimal commas, read right or refused naming the option, on every path that reads numbers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from steward import collectors
from steward.errors import InputError
from steward.importer import ImportOptions, import_file, number_format
from steward.store.models import Event, Member, QuarantinedRow, Reading

from .support import MakeWorkspace, csv_collector

AMBIGUOUS = "set the source's `decimal` option ('.' or ',')"

# (name, file text, collector options, ledger quantities, fragment of each quarantine reason)
BANK_CASES: list[tuple[str, str, dict[str, Any], list[float], list[str]]] = [
    (
        "German bank, declared",
        "external_id;resource;kind;quantity;occurred_at\n"
        "1;fund;replenish;272,06;2024-05-01\n"
        "2;fund;use;50,00;2024-05-02\n"
        "3;fund;use;1.234,50;2024-05-03\n",
        {"decimal": ","},
        [272.06, 50.0, 1234.5],
        [],
    ),
    (
        "German bank, undeclared: unambiguous values read, 1.234 refused",
        "external_id;resource;kind;quantity;occurred_at\n"
        "1;fund;replenish;272,06;2024-05-01\n"
        "2;fund;use;50,00;2024-05-02\n"
        "3;fund;use;1.234;2024-05-03\n",
        {},
        [272.06, 50.0],
        ["quantity '1.234' reads as 1.234 with decimal '.' and as 1234 with decimal ','"],
    ),
    (
        "US export, undeclared",
        "external_id,resource,kind,quantity,occurred_at\n"
        '1,fund,replenish,"$1,204.50",2024-05-01\n'
        "2,fund,use,12.00,2024-05-02\n"
        '3,fund,use,"1,234",2024-05-03\n',
        {},
        [1204.5, 12.0],
        [AMBIGUOUS],
    ),
    (
        "US export, declared: a comma decimal is refused",
        "external_id,resource,kind,quantity,occurred_at\n"
        '1,fund,use,"1,234",2024-05-01\n'
        '2,fund,use,"12,50",2024-05-02\n',
        {"decimal": "."},
        [1234.0],
        ["quantity '12,50' is not a number written with decimal '.', thousands ','"],
    ),
    (
        "German bank, declared: a US-grouped 1,234 is no 1.234 USD",
        "external_id;resource;kind;quantity;occurred_at\n"
        "1;fund;replenish;272,06;2024-05-01\n"
        "2;fund;use;1,234;2024-05-03\n",
        {"decimal": ","},
        [272.06],
        [
            "quantity '1,234' has 3 decimals but USD has 2: if ',' groups thousands here "
            "(1234 USD), write it 1234 at the source, or, if the source writes '.' "
            "decimals throughout, set `decimal: '.'` in "
        ],
    ),
    (
        "French spaces",
        "external_id;resource;kind;quantity;occurred_at\n1;fund;use;1 234,56;2024-05-01\n",
        {"decimal": ",", "thousands": " "},
        [1234.56],
        [],
    ),
]


@pytest.mark.parametrize(
    ("name", "text", "options", "quantities", "reasons"),
    BANK_CASES,
    ids=[c[0] for c in BANK_CASES],
)
def test_csv_numbers(
    make_workspace: MakeWorkspace,
    tmp_path: Path,
    name: str,
    text: str,
    options: dict[str, Any],
    quantities: list[float],
    reasons: list[str],
) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "bank.csv").write_text(text, encoding="utf-8")
    ws = make_workspace([csv_collector(**options)])
    report = collectors.run(ws, "ledger")
    assert report.status == "ok", report.error
    assert report.rows_read == report.accepted + report.duplicates + report.quarantined
    with ws.store.read() as conn:
        got = [float(q) for q in conn.execute(select(Event.quantity).order_by(Event.id)).scalars()]
        why = list(conn.execute(select(QuarantinedRow.reason)).scalars())
    assert got == quantities
    assert len(why) == len(reasons)
    for fragment, reason in zip(reasons, why, strict=True):
        assert (fragment in reason and "collectors[0]" in reason) or not reasons


def test_readings_and_weights_take_the_format(
    make_workspace: MakeWorkspace, tmp_path: Path
) -> None:
    (tmp_path / "levels").mkdir()
    (tmp_path / "levels" / "tank.csv").write_text(
        "external_id;resource;value;observed_at\nr1;tank;4.412,5;2024-05-01\n"
    )
    (tmp_path / "people").mkdir()
    (tmp_path / "people" / "members.csv").write_text("code;name;weight\nm1;Ana;1,5\nm2;Ben;2\n")
    ws = make_workspace(
        [
            {**csv_collector("levels", decimal=","), "name": "levels", "record": "readings"},
            {**csv_collector("people", decimal=","), "name": "people", "record": "members"},
        ]
    )
    assert collectors.run(ws, "levels").accepted == 1
    assert collectors.run(ws, "people").accepted == 2
    with ws.store.read() as conn:
        assert [float(v) for v in conn.execute(select(Reading.value)).scalars()] == [4412.5]
        weights = dict(conn.execute(select(Member.code, Member.weight)).all())
    assert {k: float(v) for k, v in weights.items()} == {"m1": 1.5, "m2": 2.0}


def test_steward_import_reads_semicolons_and_decimal_commas(
    make_workspace: MakeWorkspace, tmp_path: Path
) -> None:
    ws = make_workspace([])
    path = tmp_path / "bank.csv"
    path.write_text(
        "external_id;resource;kind;quantity;occurred_at\n"
        "1;fund;replenish;50,00;2024-05-01T10:00:00Z\n"
        "2;fund;use;-12,50;2024-05-02T10:00:00Z\n"
        "3;fund;use;1.234;2024-05-03T10:00:00Z\n"
    )
    plain = import_file(ws.store, path, ImportOptions("events", "bank"))
    # Undeclared: 50,00 has one reading; 1.234 two; -12,50 is read, then refused as a
    # negative use (the ledger's own rule), never as "not a number".
    assert (plain.accepted, plain.quarantined) == (1, 2)
    with ws.store.read() as conn:
        why = sorted(conn.execute(select(QuarantinedRow.reason)).scalars())
    assert "steward import --decimal" in why[0] and "must be > 0" in why[1]
    # Its own ids: the same rows from a second source would be refused as recorded twice.
    path.write_text(
        path.read_text().replace("\n1;", "\nb1;").replace("\n2;", "\nb2;").replace("\n3;", "\nb3;")
    )
    declared = import_file(
        ws.store, path, ImportOptions("events", "bank2", number_format=number_format(",", None))
    )
    assert (declared.accepted, declared.quarantined) == (2, 1)
    with ws.store.read() as conn:
        got = sorted(float(q) for q in conn.execute(select(Event.quantity)).scalars())
    assert got == [50.0, 50.0, 1234.0]
    with pytest.raises(InputError, match="does not go with decimal"):
        number_format(".", ".")


def test_import_names_the_delimiter_when_columns_are_missing(
    make_workspace: MakeWorkspace, tmp_path: Path
) -> None:
    ws = make_workspace([])
    path = tmp_path / "odd.csv"
    path.write_text("external_id|resource|kind|qty|occurred_at\n1|fund|use|1|2024-05-01\n")
    with pytest.raises(InputError, match=r"missing column\(s\) quantity .*delimiter '\|'"):
        import_file(ws.store, path, ImportOptions("events", "odd"))
