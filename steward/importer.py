"""Load hand-made CSV files of events, readings, members or capacity changes.

The files use Steward's own column names (the README lists them). Large files are
read in chunks; each chunk is one transaction, so an interrupted import can simply
be run again: rows already recorded come back as duplicates, never twice.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Literal

import pandas as pd

from steward.errors import InputError
from steward.ledger import Batch, BatchResult, Ledger, NewMember, Rejected
from steward.store.engine import Store

RecordKind = Literal["events", "readings", "members", "capacity"]

COLUMNS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # kind: (required columns, optional columns)
    "events": (
        ("external_id", "resource", "kind", "quantity", "occurred_at"),
        ("member", "loan_ref", "reverses"),
    ),
    "readings": (("external_id", "resource", "value", "observed_at"), ()),
    "members": (("code", "name"), ("email", "weight", "commons")),
    "capacity": (("external_id", "resource", "delta", "effective_at"), ("note",)),
}
TIME_COLUMN = {"events": "occurred_at", "readings": "observed_at", "capacity": "effective_at"}
#: Rows per transaction: bounded, so an import never holds SQLite's write lock for long.
CHUNK_ROWS = 50_000


@dataclass(frozen=True)
class ImportOptions:
    kind: RecordKind
    source: str
    timezone: str | None = None
    commons: str | None = None


def _check_header(path: Path, kind: str) -> list[str]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        header = next(csv.reader(handle), None)
    if not header:
        raise InputError(f"{path}: the file is empty", hint="the first line must name the columns")
    required, optional = COLUMNS[kind]
    missing = [c for c in required if c not in header]
    if missing:
        raise InputError(
            f"{path}: missing column(s) {', '.join(missing)} for {kind}",
            hint=f"{kind} files need columns {', '.join(required)}"
            + (f" (optional: {', '.join(optional)})" if optional else ""),
        )
    return header


def localize(values: pd.Series, timezone: str | None) -> pd.Series:
    """Give offset-less timestamps the declared timezone; leave the others as written."""
    if timezone is None:
        return values
    text = values.astype("string").str.strip()
    naive = text.notna() & ~text.str.contains(r"(?:Z|[+-]\d\d:?\d\d)$", regex=True, na=False)
    if not naive.any():
        return values
    parsed = pd.to_datetime(text[naive], errors="coerce", format="ISO8601")
    ok = parsed.notna()
    local = parsed[ok].dt.tz_localize(timezone, ambiguous="NaT", nonexistent="NaT")
    out = text.astype(object)
    good = local.notna()
    out.loc[local.index[good]] = local[good].dt.tz_convert("UTC").map(lambda t: t.isoformat())
    return out


def read_chunks(path: Path, kind: RecordKind) -> Iterator[tuple[int, pd.DataFrame]]:
    """(first line number, frame) chunks, every cell as text."""
    _check_header(path, kind)
    reader = pd.read_csv(
        path,
        dtype=str,
        keep_default_na=False,
        chunksize=CHUNK_ROWS,
        encoding="utf-8-sig",
        engine="c",
    )
    line = 2
    for chunk in reader:
        yield line, chunk
        line += len(chunk)


def _batch(opts: ImportOptions, path: Path, first_line: int, frame: pd.DataFrame) -> Batch:
    frame = frame.replace("", None)
    name = path.name
    rows = [f"{name}:{first_line + i}" for i in range(len(frame))]
    if opts.kind == "members":
        members, rejected = [], []
        for row, rec in zip(rows, frame.to_dict("records"), strict=True):
            commons = rec.get("commons") or opts.commons
            try:
                weight = Decimal(str(rec.get("weight") or 1))
            except InvalidOperation:
                rejected.append(Rejected(row, rec, f"weight {rec.get('weight')!r} is not a number"))
                continue
            if not commons:
                raise InputError(
                    f"{path}: members need a commons",
                    hint="add a 'commons' column or pass --commons SLUG",
                )
            members.append(
                NewMember(
                    commons=str(commons),
                    code=str(rec["code"]),
                    name=str(rec["name"]),
                    email=rec.get("email"),
                    weight=weight,
                )
            )
        return Batch(opts.source, members=members, rejected=rejected)
    time_col = TIME_COLUMN[opts.kind]
    frame[time_col] = localize(frame[time_col], opts.timezone)
    frame["row"] = rows
    frame["raw"] = None
    if opts.kind == "events":
        return Batch(opts.source, events=frame)
    if opts.kind == "readings":
        return Batch(opts.source, readings=frame)
    return Batch(opts.source, capacity_changes=frame)


def import_file(
    store: Store,
    path: Path,
    opts: ImportOptions,
    *,
    progress: Callable[[int], None] | None = None,
) -> BatchResult:
    if not path.exists():
        raise InputError(f"{path} does not exist")
    total = BatchResult()
    for first_line, frame in read_chunks(path, opts.kind):
        batch = _batch(opts, path, first_line, frame)
        with store.write() as conn:
            result = Ledger(conn).record(batch)
        if opts.kind == "members":
            result.rows_read = len(frame)
            result.accepted = len(frame) - len(batch.rejected)
            result.quarantined = len(batch.rejected)
        total = total + result
        if progress:
            progress(len(frame))
    return total
