"""Fast bulk writes below the ORM: executemany on SQLite, COPY on PostgreSQL.

Rows arrive already in the column's storage form (see :func:`storage_value`), so a
million-event import spends its time in the driver's C code, not in Python.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection

from steward.store.types import SCALE


def insert_rows(
    conn: Connection, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """Append rows to a table inside the caller's transaction."""
    dbapi = conn.connection.driver_connection
    names = ", ".join(columns)
    if conn.dialect.name == "postgresql":
        with (
            dbapi.cursor() as cur,  # type: ignore[union-attr]
            cur.copy(f"COPY {table} ({names}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join("?" for _ in columns)
    cur = dbapi.cursor()  # type: ignore[union-attr]
    try:
        cur.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)
    finally:
        cur.close()


def quantities(values: pd.Series, dialect: str) -> list[Any]:
    """Exact storage form of decimal quantities given as float64 with <= SCALE places."""
    micros = np.rint(values.to_numpy(dtype="float64") * 10**SCALE).astype("int64")
    if dialect == "sqlite":
        return micros.tolist()
    factor = Decimal(10) ** SCALE
    return [Decimal(int(m)) / factor for m in micros]


def timestamps(values: pd.Series, dialect: str) -> list[Any]:
    """Storage form of tz-aware timestamps (UTC)."""
    utc = values.dt.tz_convert("UTC")
    if dialect == "sqlite":
        text = np.datetime_as_string(utc.dt.tz_localize(None).to_numpy("datetime64[us]"), unit="us")
        return np.char.replace(text, "T", " ").tolist()
    return [t.to_pydatetime() for t in utc]


def now_value(dialect: str, now: datetime | None = None) -> Any:
    now = (now or datetime.now(UTC)).astimezone(UTC)
    if dialect == "sqlite":
        return now.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    return now
