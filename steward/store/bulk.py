"""Fast bulk writes below the ORM: executemany on SQLite, COPY on PostgreSQL.

Rows arrive already in the column's storage form (see :func:`quantities` and
:func:`timestamps`), so a million-event import spends its time in the driver's and
the server's C code, not in Python.

Ledger rows (events, readings, loan terms, capacity changes) go through
:func:`insert_new`: on SQLite one prepared ``executemany`` per call; on PostgreSQL
one ``COPY`` of the whole chunk, as text built column-wise, into a temporary
staging table, then one set-based ``INSERT ... SELECT ... ON CONFLICT DO NOTHING``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, literal

from steward.store.types import SCALE

#: Name of the per-transaction staging table on PostgreSQL (dropped at commit).
STAGE = "steward_stage"


def insert_rows(
    conn: Connection, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """Append rows (Python values) to a table inside the caller's transaction."""
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


def insert_new(
    conn: Connection,
    table: str,
    columns: Mapping[str, Sequence[Any] | np.ndarray],
    conflict: Sequence[str] = ("source", "external_id"),
) -> int:
    """Insert rows given column-wise (equal lengths, storage form); return how many were new.

    The caller has already judged every row new (see :mod:`steward.ledger`). On SQLite
    the caller holds the write lock, so no other writer can have recorded one of them
    meanwhile, and a unique violation is a bug that aborts the transaction. On
    PostgreSQL another transaction may have: such rows are skipped (``ON CONFLICT
    (conflict) DO NOTHING``) and the count returned is smaller than the number of
    rows given, for the caller to refuse the chunk rather than miscount it.
    """
    names = list(columns)
    n = len(next(iter(columns.values()))) if names else 0
    if n == 0:
        return 0
    dbapi = conn.connection.driver_connection
    listed = ", ".join(names)
    if conn.dialect.name != "postgresql":
        # Binding costs about a quarter of a microsecond per value: a column that
        # holds one value throughout (the source, the stamp, an absent loan) is
        # written once into the statement, as a literal SQLAlchemy renders.
        values = {name: _as_list(v) for name, v in columns.items()}
        same = {name: v for name, v in values.items() if v.count(v[0]) == n}
        if len(same) == len(names):  # executemany needs one bound value a row
            del same[names[0]]
        marks = [_sqlite_literal(conn, same[name][0]) if name in same else "?" for name in names]
        cur = dbapi.cursor()  # type: ignore[union-attr]
        try:
            cur.executemany(
                f"INSERT INTO {table} ({listed}) VALUES ({', '.join(marks)})",
                zip(*(v for name, v in values.items() if name not in same), strict=True),
            )
        finally:
            cur.close()
        return n
    with dbapi.cursor() as cur:  # type: ignore[union-attr]
        # Same column types as the target, so the server parses each value as it will store it.
        cur.execute(
            f"CREATE TEMPORARY TABLE {STAGE} ON COMMIT DROP AS "
            f"SELECT {listed} FROM {table} WITH NO DATA"
        )
        with cur.copy(f"COPY {STAGE} ({listed}) FROM STDIN") as copy:
            copy.write(copy_text(list(columns.values())))
        cur.execute(
            f"INSERT INTO {table} ({listed}) SELECT {listed} FROM {STAGE} "
            f"ON CONFLICT ({', '.join(conflict)}) DO NOTHING"
        )
        inserted = cur.rowcount
        cur.execute(f"DROP TABLE {STAGE}")
    return int(inserted)


def stored_digests(conn: Connection, table: str, source: str, ids: Sequence[str]) -> dict[str, str]:
    """``payload_hash`` by ``external_id`` of the rows of ``source`` among ``ids``.

    The ids travel as one value, not as thousands of bound parameters: a JSON
    array on SQLite (read by ``json_each``), a COPY into a staging table joined on
    PostgreSQL (both use the ``(source, external_id)`` unique index).
    """
    if not ids:
        return {}
    if conn.dialect.name != "postgresql":
        found = conn.exec_driver_sql(
            f"SELECT external_id, payload_hash FROM {table} WHERE source = ? "
            "AND external_id IN (SELECT value FROM json_each(?))",
            (source, json.dumps(list(ids))),
        )
        return {str(k): str(v) for k, v in found}
    dbapi = conn.connection.driver_connection
    with dbapi.cursor() as cur:  # type: ignore[union-attr]
        stage = f"{STAGE}_ids"
        cur.execute(f"CREATE TEMPORARY TABLE {stage} (external_id text) ON COMMIT DROP")
        with cur.copy(f"COPY {stage} (external_id) FROM STDIN") as copy:
            copy.write(copy_text([ids]))
        cur.execute(
            f"SELECT t.external_id, t.payload_hash FROM {table} t "
            f"JOIN {stage} s ON t.external_id = s.external_id WHERE t.source = %s",
            (source,),
        )
        stored = dict(cur.fetchall())
        cur.execute(f"DROP TABLE {stage}")
        return stored


def copy_text(columns: Sequence[Sequence[Any] | np.ndarray]) -> str:
    """Rows of PostgreSQL's COPY text format, built a column at a time.

    None becomes ``\\N``; backslash, tab, newline and carriage return are escaped
    (PostgreSQL documentation, COPY, "Text Format"). Booleans are written t / f.
    """
    cells = [_copy_cells(values) for values in columns]
    lines = cells[0].str.cat(cells[1:], sep="\t") if len(cells) > 1 else cells[0]
    return "\n".join(lines.to_numpy(dtype=object)) + "\n"


def _copy_cells(values: Sequence[Any] | np.ndarray) -> pd.Series:
    if isinstance(values, np.ndarray) and values.dtype != object:
        if values.dtype == bool:
            return pd.Series(np.where(values, "t", "f"), dtype="string")
        return pd.Series(values.astype(str), dtype="string")
    series = pd.Series(values, dtype=object)
    missing = series.isna().to_numpy()
    if pd.api.types.infer_dtype(series, skipna=True) in ("string", "empty"):
        text = series.astype("string")
    else:
        # Numbers, flags, timestamps: convert each distinct value once, not each cell.
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
        texts = np.array([_text_of(u) for u in uniques] + [""], dtype=object)
        text = pd.Series(texts[codes], dtype="string")
    if text.str.contains(r"[\\\t\n\r]", regex=True, na=False).any():
        for raw, escaped in (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r")):
            text = text.str.replace(raw, escaped, regex=False)
    if missing.any():
        text = text.where(~missing, "\\N")
    return text


def _text_of(value: Any) -> str:
    if isinstance(value, bool | np.bool_):
        return "t" if value else "f"
    if isinstance(value, pd.Timestamp | datetime):
        return value.isoformat(sep=" ")
    return str(value)


def _sqlite_literal(conn: Connection, value: Any) -> str:
    """``value`` as a SQL literal (quoted by SQLAlchemy's compiler, never by hand)."""
    return str(literal(value).compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))


def _as_list(values: Sequence[Any] | np.ndarray) -> list[Any]:
    return values.tolist() if isinstance(values, np.ndarray) else list(values)


def quantities(values: pd.Series, dialect: str) -> list[Any] | np.ndarray:
    """Exact storage form of decimal quantities given as float64 with <= SCALE places.

    SQLite: integer millionths (see :class:`steward.store.types.Quantity`). PostgreSQL:
    the exact decimal text, e.g. ``-12.340000``, built without a Decimal per value.
    """
    micros = np.rint(values.to_numpy(dtype="float64") * 10**SCALE).astype("int64")
    if dialect == "sqlite":
        return micros.tolist()
    whole, frac = np.divmod(np.abs(micros), 10**SCALE)
    sign = np.where(micros < 0, "-", "")
    return np.strings.add(
        np.strings.add(sign, whole.astype(str)),
        np.strings.add(".", np.strings.zfill(frac.astype(str), SCALE)),
    ).astype(object)


def timestamps(values: pd.Series, dialect: str) -> list[Any] | np.ndarray:
    """Storage form of tz-aware timestamps (UTC): text, ``2024-05-01 10:00:00.000000[+00]``."""
    utc = values.dt.tz_convert("UTC")
    text = np.datetime_as_string(utc.dt.tz_localize(None).to_numpy("datetime64[us]"), unit="us")
    text = np.char.replace(text, "T", " ")
    if dialect == "sqlite":
        return text.tolist()
    return np.strings.add(text, "+00").astype(object)


def now_value(dialect: str, now: datetime | None = None) -> Any:
    now = (now or datetime.now(UTC)).astimezone(UTC)
    if dialect == "sqlite":
        return now.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    return now
