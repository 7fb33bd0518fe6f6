"""Fast bulk writes below the ORM: executemany on SQLite, COPY on PostgreSQL.

Rows arrive already in the column's storage form (see :func:`quantities` and
:func:`timestamps`), so a million-event import spends its time in the driver's and
the server's C code, not in Python.

Ledger rows (events, readings, loan terms, capacity changes) go through
:func:`insert_new`: on SQLite one prepared ``executemany`` per call; on PostgreSQL
one ``COPY`` of the whole chunk, as text built column-wise, straight into the
table. The ledger has already looked up every id (:func:`stored_digests`), so a
row that is nevertheless present was recorded by a concurrent writer: the unique
index refuses it and :class:`AlreadyRecorded` refuses the whole chunk.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection, literal

from steward.errors import LedgerError
from steward.store.types import SCALE


class AlreadyRecorded(Exception):
    """Rows judged new were already in the table: another writer recorded them meanwhile.

    The transaction is unusable afterwards (PostgreSQL aborts it); the caller turns
    this into a :class:`~steward.errors.LedgerError` and everything rolls back.
    """


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
    *,
    checks: Mapping[str, Collection[str]] | None = None,
) -> int:
    """Insert rows given column-wise (equal lengths, storage form); return how many.

    The caller has already judged every row new (see :mod:`steward.ledger`). On SQLite
    the caller holds the write lock, so no other writer can have recorded one of them
    meanwhile. On PostgreSQL another transaction may have (between the lookup and
    this insert); the table's unique index then refuses the chunk and
    :class:`AlreadyRecorded` is raised, for the caller to refuse the batch rather
    than miscount it. Either way nothing of the chunk is kept.

    PostgreSQL: one ``COPY`` into the table itself. It writes heap rows in batches
    (one WAL record a page rather than a row) and needs no staging table and no
    ``INSERT ... SELECT ... ON CONFLICT`` (which probed the unique index once more per
    row); on 50,000 events with 1,000,000 stored it took 1.5 s against 2.2 s for
    staging plus the insert (tests/benchmarks/bench_ingest.py measures the whole import).

    ``checks`` states the table's CHECK constraints as "column: allowed values" and
    must name all of them. They are verified here on whole columns (LedgerError
    if a value is outside), and on SQLite the statement then skips its per-row
    CHECK (``PRAGMA ignore_check_constraints`` for this statement only): SQLite
    rebuilds a ``kind in (...)`` list for every row it checks, 1.8 us a row, a
    third of an event's insert.
    """
    names = list(columns)
    n = len(next(iter(columns.values()))) if names else 0
    if n == 0:
        return 0
    for column, allowed in (checks or {}).items():
        outside = ~np.isin(np.asarray(columns[column], dtype=object), list(allowed))
        if outside.any():
            shown = np.asarray(columns[column], dtype=object)[outside][0]
            raise LedgerError(f"{table}.{column} {shown!r} is not one of {', '.join(allowed)}")
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
        if checks is not None:
            # Connection-wide, so switched back whatever happens; SQLite expires
            # compiled statements when a flag pragma changes, so none is reused.
            cur.execute("PRAGMA ignore_check_constraints = ON")
        try:
            cur.executemany(
                f"INSERT INTO {table} ({listed}) VALUES ({', '.join(marks)})",
                zip(*(v for name, v in values.items() if name not in same), strict=True),
            )
        except sqlite3.IntegrityError as exc:
            if "UNIQUE" not in str(exc):
                raise
            raise AlreadyRecorded(str(exc)) from exc
        finally:
            if checks is not None:
                cur.execute("PRAGMA ignore_check_constraints = OFF")
            cur.close()
        return n
    import psycopg  # here: a SQLite store never needs the driver loaded

    data = copy_data(list(columns.values()))
    try:
        with (
            dbapi.cursor() as cur,  # type: ignore[union-attr]
            cur.copy(f"COPY {table} ({listed}) FROM STDIN") as copy,
        ):
            copy.write(data)
    except psycopg.errors.UniqueViolation as exc:
        raise AlreadyRecorded(str(exc).splitlines()[0]) from exc
    return n


def stored_digests(conn: Connection, table: str, source: str, ids: Sequence[str]) -> dict[str, str]:
    """``payload_hash`` by ``external_id`` of the rows of ``source`` among ``ids``.

    The ids travel as one value, not as thousands of bound parameters: a JSON
    array (read by ``json_each`` on SQLite, made an array on PostgreSQL). Both probe the
    ``(source, external_id)`` unique index once per id, so a chunk's lookup costs
    the same however large the ledger is. (A join with a staging table was planned
    as a hash join over all of the source's rows while the table's statistics still
    said it was empty: 1.3 s for 50,000 ids against 1,000,000 stored, growing with
    every chunk of an import.)
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
        # JSON text, not a list parameter: psycopg dumps a list element by element in
        # Python (6 CPU-s for a million ids); ARRAY(...) keeps the index condition.
        cur.execute(
            f"SELECT external_id, payload_hash FROM {table} WHERE source = %s "
            "AND external_id = ANY(ARRAY(SELECT json_array_elements_text(%s::json)))",
            (source, json.dumps(list(ids))),
        )
        return {str(k): str(v) for k, v in cur.fetchall()}


def copy_text(columns: Sequence[Sequence[Any] | np.ndarray]) -> str:
    """Rows of PostgreSQL's COPY text format, built a column at a time.

    None becomes ``\\N``; backslash, tab, newline and carriage return are escaped
    (PostgreSQL documentation, COPY, "Text Format"). Booleans are written t / f.
    """
    return bytes(copy_data(columns)).decode()


def copy_data(columns: Sequence[Sequence[Any] | np.ndarray]) -> memoryview:
    """:func:`copy_text` as UTF-8 bytes, ready for ``COPY ... FROM STDIN``.

    Cells become Arrow text columns, joined into lines by Arrow's compute kernels;
    the result is the joined column's own value buffer, so no Python string is made
    per row or per line (the pandas ``str.cat`` and ``"\\n".join`` this replaces
    cost 2-3 CPU-s a million events).
    """
    cells = [_copy_cells(values) for values in columns]
    tab, newline, empty = (pa.scalar(c, pa.large_string()) for c in ("\t", "\n", ""))
    # The newline goes on the last cell (a short column), not on the long joined lines.
    cells[-1] = pc.binary_join_element_wise(cells[-1], empty, newline)
    lines = pc.binary_join_element_wise(*cells, tab) if len(cells) > 1 else cells[0]
    if isinstance(lines, pa.ChunkedArray):
        lines = lines.combine_chunks()
    # A large_string array: int64 offsets, then the bytes of every value end to end.
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)[
        lines.offset : lines.offset + len(lines) + 1
    ]
    data = lines.buffers()[2]
    if data is None:
        return memoryview(b"")
    return memoryview(data)[int(offsets[0]) : int(offsets[-1])]


def _copy_cells(values: Sequence[Any] | np.ndarray) -> pa.Array:
    """One column as COPY text cells (escaped, ``\\N`` for missing), an Arrow large_string."""
    if isinstance(values, np.ndarray) and values.dtype != object:
        if values.dtype == bool:
            return pa.array(np.where(values, "t", "f"), type=pa.large_string())
        if values.dtype.kind in "iu":
            return pc.cast(pa.array(values), pa.large_string())
        return pa.array(values.astype(str), type=pa.large_string())
    series = pd.Series(values, dtype=object)
    missing = series.isna().to_numpy()
    if pd.api.types.infer_dtype(series, skipna=True) in ("string", "empty"):
        texts = series.to_numpy(dtype=object)
    else:
        # Numbers, flags, timestamps: convert each distinct value once, not each cell.
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
        texts = np.array([_text_of(u) for u in uniques] + [""], dtype=object)[codes]
    text = pa.array(texts, type=pa.large_string(), mask=missing)
    if _may_need_escapes(text):
        for raw, escaped in (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r")):
            text = pc.replace_substring(text, raw, escaped)
    return pc.fill_null(text, "\\N") if missing.any() else text


def _may_need_escapes(text: pa.Array) -> bool:
    """Whether a text column's bytes hold a backslash, tab, newline or carriage return.

    Scans the value buffer (a superset of the cells) with numpy: a regex over every
    cell cost 0.1 s a column of a million.
    """
    data = text.buffers()[2]
    if data is None:
        return False
    return bool(_ESCAPED_BYTES[np.frombuffer(data, dtype=np.uint8)].any())


#: Byte value -> whether COPY text escapes it (a lookup table: np.isin sorts).
_ESCAPED_BYTES = np.zeros(256, dtype=bool)
_ESCAPED_BYTES[list(b"\\\t\n\r")] = True


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
