"""Rows from a query on another database (any SQLAlchemy URL), incremental by a column.

Each chunk is ``SELECT * FROM (<query>) WHERE <cursor_column> > :last ORDER BY it``;
when a chunk is full, every row sharing its last cursor value is taken too, so the
next chunk can start strictly after it without skipping rows that tie.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pandas as pd
from pydantic import Field
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError, SQLAlchemyError

from steward.collectors.base import CHUNK_ROWS, Chunk
from steward.collectors.tabular import MappingOptions, Table, TabularCollector, native_numbers
from steward.errors import ConfigError, SourceError, TransientSourceError


class SqlOptions(MappingOptions):
    #: SQLAlchemy URL; keep the password in the environment: ${SOURCE_DB_URL}.
    url: str
    #: A SELECT (or a table name) whose rows to read.
    query: str
    #: Column that only grows (an id or a timestamp): the cursor.
    cursor_column: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    chunk_rows: int = Field(default=CHUNK_ROWS, ge=1)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return {"t": "datetime" if isinstance(value, datetime) else "date", "v": value.isoformat()}
    if isinstance(value, Decimal):
        return {"t": "decimal", "v": str(value)}
    return value


def _typed(value: Any) -> Any:
    if isinstance(value, dict):
        kind, raw = value["t"], value["v"]
        if kind == "datetime":
            return datetime.fromisoformat(raw)
        if kind == "date":
            return date.fromisoformat(raw)
        return Decimal(raw)
    return value


class SqlCollector(TabularCollector):
    kind = "sql"
    Options = SqlOptions
    options: SqlOptions

    def _where(self) -> str:
        try:
            safe = make_url(self.options.url).render_as_string(hide_password=True)
        except ArgumentError:
            raise ConfigError(f"{self.context.where}: url is not a database URL") from None
        return f"{self.context.where}: {safe}"

    def read(self, cursor: str | None) -> Iterator[Chunk]:
        where = self._where()
        query = self.options.query.strip().rstrip(";")
        if " " not in query:
            query = f"SELECT * FROM {query}"
        col = self.options.cursor_column
        inner = f"SELECT * FROM ({query}) AS steward_src"
        after = f"{inner} WHERE {col} > :last ORDER BY {col}"
        first = f"{inner} ORDER BY {col}"
        last = _typed(json.loads(cursor)["last"]) if cursor else None
        mapper = self._mapper()
        seen = 0
        engine = create_engine(self.options.url)
        try:
            with engine.connect() as conn:
                while True:
                    stmt = text((after if last is not None else first) + " LIMIT :n")
                    rows = (
                        conn.execute(stmt, {"last": last, "n": self.options.chunk_rows})
                        .mappings()
                        .all()
                    )
                    if not rows:
                        return
                    if col not in rows[0]:
                        raise SourceError(f"{where}: the query has no column {col!r}")
                    full = len(rows) >= self.options.chunk_rows
                    top = rows[-1][col]
                    if full:
                        ties = (
                            conn.execute(text(f"{inner} WHERE {col} = :v"), {"v": top})
                            .mappings()
                            .all()
                        )
                        rows = [r for r in rows if r[col] != top] + list(ties)
                    frame = pd.DataFrame([dict(r) for r in rows])
                    native = native_numbers(frame)
                    frame = frame.astype("string")
                    keys = [f"row {seen + i + 1} ({col}={r[col]})" for i, r in enumerate(rows)]
                    seen += len(rows)
                    batch = mapper.batch(self.name, [Table(frame, keys, where, native)], [])
                    last = top
                    yield Chunk(batch, json.dumps({"last": _plain(top)}))
                    if not full:
                        return
        except OperationalError as exc:
            raise TransientSourceError(f"{where}: cannot query: {exc.orig}") from None
        except (DBAPIError, SQLAlchemyError) as exc:
            raise SourceError(
                f"{where}: the query failed: {exc}", hint="check `query` and `cursor_column`"
            ) from None
        finally:
            engine.dispose()
