"""The bulk writers below the ledger: COPY text built column-wise, constant columns on SQLite."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
import sqlalchemy.exc
from sqlalchemy import CheckConstraint, Table, create_engine, text

from steward.errors import LedgerError
from steward.ledger import KINDS
from steward.store import bulk
from steward.store.models import Event


def test_copy_text_escapes_and_writes_nulls_and_flags() -> None:
    got = bulk.copy_text(
        [
            ["a\tb", "c\\d", None, "x\ny\r"],
            [1, None, 3, 40],
            np.array([True, False, True, False]),
            np.array([7, 8, 9, 10], dtype="int64"),
            [datetime(2024, 1, 1, tzinfo=UTC)] * 4,
        ]
    )
    stamp = "2024-01-01 00:00:00+00:00"
    assert got.split("\n") == [
        f"a\\tb\t1\tt\t7\t{stamp}",
        f"c\\\\d\t\\N\tf\t8\t{stamp}",
        f"\\N\t3\tt\t9\t{stamp}",
        f"x\\ny\\r\t40\tf\t10\t{stamp}",
        "",
    ]


def test_copy_data_is_the_copy_text_as_utf8_bytes() -> None:
    columns = [
        ["é€", "", None, "a\\b\tc"],
        [None, None, None, None],
        np.array([1.5, -0.25, 2.0, 1e20]),
        np.array([3, 2, 1, 0], dtype="uint8"),
        [
            pd.Timestamp("2024-05-01 10:00", tz="UTC"),
            pd.NaT,
            None,
            datetime(2024, 1, 1, tzinfo=UTC),
        ],
    ]
    data = bytes(bulk.copy_data(columns))
    assert data == bulk.copy_text(columns).encode()
    assert data.split(b"\n")[:2] == [
        "é€\t\\N\t1.5\t3\t2024-05-01 10:00:00+00:00".encode(),
        b"\t\\N\t-0.25\t2\t\\N",  # an empty text is not a missing one
    ]
    assert data.split(b"\n")[3].startswith(b"a\\\\b\\tc\t")
    assert bytes(bulk.copy_data([[], []])) == b""


def test_quantities_are_exact_decimal_text_on_postgresql() -> None:
    got = bulk.quantities(pd.Series([0.000001, -12.34, 0.0, 123456789.5]), "postgresql")
    assert list(got) == ["0.000001", "-12.340000", "0.000000", "123456789.500000"]


def test_sqlite_insert_writes_constant_columns_once_and_single_rows() -> None:
    engine = create_engine("sqlite://")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (a INTEGER, b TEXT, c TEXT, d BOOLEAN)"))
        # Every column constant (one row), and a quote in a constant.
        assert bulk.insert_new(conn, "t", {"a": [1], "b": ["it's"], "c": [None], "d": [True]}) == 1
        n = bulk.insert_new(
            conn, "t", {"a": [2, 3], "b": ["it's", "it's"], "c": ["x", "y"], "d": [False, False]}
        )
        assert n == 2
        rows = conn.execute(text("SELECT a, b, c, d FROM t ORDER BY a")).all()
    assert [tuple(r) for r in rows] == [
        (1, "it's", None, 1),
        (2, "it's", "x", 0),
        (3, "it's", "y", 0),
    ]


def test_checks_stated_to_insert_new_are_verified_and_sqlite_checks_come_back() -> None:
    engine = create_engine("sqlite://")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (a INTEGER, k TEXT CHECK (k in ('use', 'adjust')))"))
        with pytest.raises(LedgerError, match="'lend'"):
            bulk.insert_new(conn, "t", {"a": [1, 2], "k": ["use", "lend"]}, checks={"k": KINDS})
        assert bulk.insert_new(conn, "t", {"a": [1], "k": ["use"]}, checks={"k": KINDS}) == 1
        # The statement-wide relief ended with the statement: the table's CHECK holds again.
        with pytest.raises(sqlalchemy.exc.IntegrityError):
            conn.execute(text("INSERT INTO t VALUES (2, 'lend')"))


def test_the_ledger_states_every_check_of_the_event_table() -> None:
    """The ledger's insert lists the event table's CHECKs; a new one must be added there."""
    table = Event.__table__
    assert isinstance(table, Table)
    checks = [c for c in table.constraints if isinstance(c, CheckConstraint)]
    assert [str(c.sqltext) for c in checks] == ["kind in ('use', 'replenish', 'adjust')"]
    assert set(KINDS) == {"use", "replenish", "adjust"}
