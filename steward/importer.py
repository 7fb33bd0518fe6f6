"""Load hand-made CSV files of events, readings, members or capacity changes.

The files use Steward's own column names (the README lists them). Large files are
read in chunks; each chunk is one transaction, so an interrupted import can simply
be run again: rows already recorded come back as duplicates, never twice.
"""

from __future__ import annotations

import codecs
import csv
import queue
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from decimal import Decimal
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd
from pydantic import ValidationError

from steward import numbers, written_dates
from steward.collectors.parsing import sniff_delimiter
from steward.errors import InputError
from steward.ledger import (
    AS_WRITTEN,
    CURRENCY_MARK,
    MAX_QUANTITY,
    WEIGHT_HINT,
    Batch,
    BatchResult,
    Ledger,
    NewMember,
    Rejected,
    TimeWindow,
)
from steward.store.engine import Store

RecordKind = Literal["events", "readings", "members", "capacity"]

COLUMNS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # kind: (required columns, optional columns)
    "events": (
        ("external_id", "resource", "kind", "quantity", "occurred_at"),
        ("member", "loan_ref", "reverses", "scheduled"),
    ),
    "readings": (("external_id", "resource", "value", "observed_at"), ()),
    "members": (("code", "name"), ("email", "weight", "commons")),
    "capacity": (("external_id", "resource", "delta", "effective_at"), ("note", "scheduled")),
}
#: Columns a tabular collector reads (steward/collectors/tabular.py's FIELDS) but
#: ``steward import`` does not, per kind: what leaving one out loses.
COLLECTOR_ONLY: dict[str, dict[str, str]] = {
    "events": {
        "due_at": "the loans' due dates, so none of them can ever become overdue",
        "quantity_in": "the amounts in (a statement's money-in column)",
        "quantity_out": "the amounts out (a statement's money-out column)",
    },
}
#: How a ``scheduled`` cell may say yes or no (case-insensitive; empty is no).
SCHEDULED_WORDS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
TIME_COLUMN = {"events": "occurred_at", "readings": "observed_at", "capacity": "effective_at"}
VALUE_COLUMN = {"events": "quantity", "readings": "value", "capacity": "delta"}
#: Where an import's number format is declared, for reasons that name it.
NUMBER_SETTING = "with `steward import --decimal` (and `--thousands`)"
#: How an import declares its decimal mark, for reasons that name the fix.
DECIMAL_SETTING = "import with --decimal {mark}"
#: Rows per transaction: bounded, so an import never holds SQLite's write lock for long.
CHUNK_ROWS = 50_000
#: Text encodings an import may declare with ``--encoding``; UTF-8 unless declared.
ENCODINGS = ("utf-8", "latin-1", "cp1252")


@dataclass(frozen=True)
class ImportOptions:
    kind: RecordKind
    source: str
    timezone: str | None = None
    commons: str | None = None
    #: How the file writes numbers; undeclared: see steward.numbers.
    number_format: numbers.NumberFormat = numbers.UNDECLARED
    #: Column delimiter; None: sniffed from the first lines, as the csv collector does.
    delimiter: str | None = None
    #: The file's text encoding, one of :data:`ENCODINGS`; never guessed.
    encoding: str = "utf-8"
    #: Header names deliberately left out (``--ignore-column``); any other column
    #: Steward does not read is refused, so a misspelt ``membr`` is not lost silently.
    ignore_columns: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.encoding not in ENCODINGS:
            raise InputError(
                f"--encoding {self.encoding!r} is not one Steward reads",
                hint=f"use one of {', '.join(ENCODINGS)}",
            )
        if self.timezone is not None:
            try:
                ZoneInfo(self.timezone)
            except (ZoneInfoNotFoundError, ValueError):
                raise InputError(
                    f"--timezone {self.timezone!r} is not a timezone Steward knows",
                    hint="use an IANA name, e.g. --timezone Europe/Paris (or UTC)",
                ) from None


def number_format(decimal: str | None, thousands: str | None) -> numbers.NumberFormat:
    """The format ``--decimal`` / ``--thousands`` declare; InputError if impossible."""
    if thousands is not None and decimal is None:
        # Said in the options' own names ("--decimal None ... Value error" was pydantic's).
        mark = "," if thousands == "." else "."
        raise InputError(
            f"--thousands {thousands!r} needs --decimal too: the decimal mark is what "
            "tells 1.234 from 1,234",
            hint=f"e.g. --decimal {mark} --thousands {thousands}",
        )
    try:
        return numbers.NumberFormat.model_validate({"decimal": decimal, "thousands": thousands})
    except ValidationError as exc:
        # Name only the options that were given, each with what it may be.
        problems = "; ".join(
            f"--{e['loc'][0]} {(decimal if e['loc'][0] == 'decimal' else thousands)!r}: {e['msg']}"
            if e["loc"]
            else f"--decimal {decimal!r} with --thousands {thousands!r}: {e['msg']}"
            for e in exc.errors()
        )
        raise InputError(
            problems, hint="e.g. --decimal , (thousands then default to '.')"
        ) from None


def _codec(encoding: str) -> str:
    # A UTF-8 file may start with a byte order mark (Excel writes one): not a column name.
    return "utf-8-sig" if encoding == "utf-8" else encoding


def check_encoding(path: Path, encoding: str = "utf-8") -> None:
    """Refuse, before anything is recorded, a file whose bytes are not text in ``encoding``.

    Reads the file once in 1 MiB blocks. A file in another encoding (Latin-1 or
    Windows-1252 from an older spreadsheet) is not guessed at: Latin-1 and
    Windows-1252 read the same bytes as different letters, so only the person
    who exported it can say which. Raises InputError naming the line and byte.
    """
    decoder = codecs.getincrementaldecoder(_codec(encoding))()
    line = 1  # the line of the first byte of the data being decoded
    with path.open("rb") as handle:
        while True:
            block = handle.read(1 << 20)
            try:
                decoder.decode(block, final=not block)
            except UnicodeDecodeError as exc:
                data = bytes(exc.object)
                where = line + data[: exc.start].count(b"\n")
                raise InputError(
                    f"{path}: line {where} is not {encoding} text "
                    f"(byte 0x{data[exc.start]:02X}); nothing was recorded",
                    hint="re-save the file as UTF-8, or say what it is: `steward import "
                    "--encoding latin-1` or `--encoding cp1252` (Windows spreadsheets often "
                    "write cp1252)",
                ) from None
            if not block:
                return
            line += block.count(b"\n")


def delimiter_of(path: Path, declared: str | None, encoding: str = "utf-8") -> str:
    """The declared delimiter, or the one sniffed from the first 64 KiB."""
    if declared is not None:
        return declared
    with path.open(encoding=_codec(encoding), newline="", errors="replace") as handle:
        return sniff_delimiter(handle.read(64 * 1024))


#: Fields a row may have beyond the header's, read so that they can be checked:
#: a trailing delimiter leaves one empty, anything in them quarantines the row.
SPARE_FIELDS = 4
#: Column of a chunk that holds why its row has too many fields ("" if it has not).
FIELDS_REASON = "\x00fields"


def _check_header(
    path: Path,
    kind: str,
    delimiter: str,
    encoding: str = "utf-8",
    ignore: tuple[str, ...] = (),
) -> list[str]:
    with path.open(encoding=_codec(encoding), newline="") as handle:
        rows = csv.reader(handle, delimiter=delimiter)
        header = next(rows, None)
        first = next(rows, None)
    if not header:
        raise InputError(f"{path}: the file is empty", hint="the first line must name the columns")
    required, optional = COLUMNS[kind]
    header = [h.strip() for h in header]
    twice = sorted({h for h in header if header.count(h) > 1})
    if twice:
        raise InputError(
            f"{path}: column(s) {', '.join(map(repr, twice))} appear more than once in the header",
            hint="keep one column of each name: Steward will not choose between them",
        )
    if first is not None and len(first) > len(header) + SPARE_FIELDS:
        raise _too_many_fields(path, 2, len(first), len(header))
    missing = [c for c in required if c not in header]
    if missing:
        raise InputError(
            f"{path}: missing column(s) {', '.join(missing)} for {kind} "
            f"(read with delimiter {delimiter!r}; the header has: {', '.join(header)})",
            hint=f"{kind} files need columns {', '.join(required)}"
            + (f" (optional: {', '.join(optional)})" if optional else "")
            + "; pass --delimiter if the columns are split wrongly",
        )
    unread = [h for h in header if h not in required and h not in optional and h not in ignore]
    collected = [h for h in unread if h in COLLECTOR_ONLY.get(kind, {})]
    if collected:
        one = len(collected) == 1
        names = ", ".join(map(repr, collected))
        lost = "; ".join(COLLECTOR_ONLY[kind][h] for h in collected)
        raise InputError(
            f"{path}: column{'' if one else 's'} {names} {'is' if one else 'are'} read by "
            f"collectors, not by steward import: leaving {'it' if one else 'them'} out would "
            f"lose {lost}",
            hint="read the file with a csv collector instead: under collectors in the "
            f"configuration add one with kind: csv, path: {str(path)!r} (a relative path "
            "starts at the configuration's folder) and record: events, then run steward "
            f"collect with its name. --ignore-column {collected[0]} leaves "
            f"{'it' if one else 'a column'} out only if losing that is meant",
        )
    if unread:
        raise InputError(
            f"{path}: column(s) {', '.join(map(repr, unread))} are not {kind} "
            f"columns Steward reads, so their values would be lost",
            hint=f"{kind} files read {', '.join(required + optional)}; rename a misspelt "
            "column, or pass --ignore-column NAME for each column to leave out on purpose",
        )
    return header


def time_reasons(values: pd.Series, timezone: str | None, column: str) -> pd.Series:
    """Why a timestamp cannot be placed in time ("" when it can), naming ``--timezone``.

    A time written without a UTC offset needs ``--timezone``; with it, a local time that
    a daylight-saving change skips or repeats is refused rather than guessed. A date
    that is not ISO 8601 (``30/11/2026``), or a day the calendar lacks, is named as
    such: ``--timezone`` would not fix it.
    """
    text = values.astype("string").str.strip()
    naive = text.notna() & (text != "") & ~text.str.contains(_OFFSET, regex=True, na=False)
    why = pd.Series("", index=values.index, dtype=object)
    if not naive.any():
        return why
    # Not ISO 8601 (30/11/2026): that is the fix to name first, with or without --timezone.
    odd = naive & ~text.str.contains(_ISO_TIME, regex=True, na=False)
    if odd.any():
        zone = (
            ""
            if timezone is not None
            else ", with its UTC offset or with --timezone (e.g. --timezone Europe/Paris)"
        )
        why[odd] = text[odd].map(lambda v: f"{column} {v!r} {written_dates.not_iso(v)}{zone}")
        naive &= ~odd
    # A day the calendar lacks (2026-02-30) is wrong whatever the timezone.
    lacks = text[naive].map(lambda v: written_dates.missing_day(v) is not None).astype(bool)
    no_day = lacks.index[lacks.to_numpy(dtype=bool)]
    why[no_day] = text[no_day].map(lambda v: f"{column} {v!r} {_unreadable(v)}")
    naive[no_day] = False
    if not naive.any():
        return why
    # '10:00+02' has an offset without minutes: say so, not that it has none (a bare
    # '+02' cannot be read as one: '2026-11-01' ends in '-01'). Left among the local
    # times it made the parse below fail on mixed offsets, the whole file with it.
    hours_only = naive & text.str.contains(
        r"T?\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?[+-]\d{2}$", regex=True, na=False
    )
    why[hours_only] = (
        f"{column} "
        + text[hours_only].map(repr)
        + " ends in an offset without minutes; write it in full (+02:00, not +02)"
        + ("" if timezone is not None else ", or pass --timezone")
    )
    naive &= ~hours_only
    if timezone is None:
        why[naive] = (
            f"{column} "
            + text[naive].map(repr)
            + " has no UTC offset; pass --timezone (e.g. --timezone Europe/Paris) "
            "or write it with one (2024-05-01T10:00:00+02:00)"
        )
        return why
    if not naive.any():
        return why
    parsed = pd.to_datetime(text[naive], errors="coerce", format="ISO8601")
    ok = parsed.notna()
    bad = parsed.index[~ok.to_numpy(dtype=bool)]
    why[bad] = text[bad].map(lambda v: f"{column} {v!r} {_unreadable(v)}")
    local = parsed[ok].dt.tz_localize(timezone, ambiguous="NaT", nonexistent="NaT")
    gap = local.index[local.isna()]
    why[gap] = (
        f"{column} "
        + text[gap].map(repr)
        + f" is skipped or repeated by a daylight-saving change in {timezone}; "
        "write it with its UTC offset"
    )
    return why


_OFFSET = r"(?:Z|[+-]\d\d:?\d\d)$"
#: An ISO 8601 date, with a time or not, and nothing after but an offset.
_ISO_TIME = r"^\d{4}-\d\d-\d\d(?:[T ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?)?(?:Z|[+-]\d\d(?::?\d\d)?)?$"


def _unreadable(text: str) -> str:
    """Why an ISO-looking ``text`` did not parse: a day that does not exist, else a hint."""
    day = written_dates.missing_day(text)
    if day:
        return f"is not a real date: {day}; check the day and the month"
    return "is not a date and time: write ISO 8601 (2024-05-01T10:00:00)"


def lacks_offset(values: pd.Series) -> pd.Series:
    """Which timestamps (text) are written without a UTC offset; empty cells are not."""
    text = values.astype("string").str.strip()
    naive = text.notna() & (text != "") & ~text.str.contains(_OFFSET, regex=True, na=False)
    return naive.fillna(False).astype(bool)


def localize(values: pd.Series, timezone: str | None) -> pd.Series:
    """Give offset-less timestamps the declared timezone; leave the others as written."""
    if timezone is None:
        return values
    text = values.astype("string").str.strip()
    naive = lacks_offset(values)
    # '10:00+02' (refused by time_reasons) among local times fails the parse on mixed offsets.
    naive &= ~text.str.contains(r"\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?[+-]\d{2}$", regex=True, na=False)
    if not naive.any():
        return values
    parsed = pd.to_datetime(text[naive], errors="coerce", format="ISO8601")
    ok = parsed.notna()
    local = parsed[ok].dt.tz_localize(timezone, ambiguous="NaT", nonexistent="NaT")
    out = text.astype(object)
    good = local.notna()
    out.loc[local.index[good]] = local[good].dt.tz_convert("UTC").map(lambda t: t.isoformat())
    return out


def read_chunks(
    path: Path,
    kind: RecordKind,
    delimiter: str | None = None,
    encoding: str = "utf-8",
    ignore: tuple[str, ...] = (),
) -> Iterator[tuple[int, pd.DataFrame]]:
    """(first line number, frame) chunks, every cell as text, ``ignore``'d columns dropped.

    Raises InputError for a header that names a column twice, lacks a required one or
    has one that ``kind`` does not read and ``ignore`` does not name.
    """
    sep = delimiter_of(path, delimiter, encoding)
    header = _check_header(path, kind, sep, encoding, ignore)
    spare = [f"\x00spare{i}" for i in range(SPARE_FIELDS)]
    # Named columns, never an inferred index: with a delimiter at the end of every
    # row, pandas would take the first column as the index and shift the rest left.
    reader = pd.read_csv(
        path,
        sep=sep,
        header=None,
        skiprows=1,
        names=[*header, *spare],
        index_col=False,
        dtype=str,
        keep_default_na=False,
        chunksize=CHUNK_ROWS,
        encoding=_codec(encoding),
        engine="c",
    )
    line = 2
    chunks = iter(reader)
    while True:
        try:
            chunk = next(chunks)
        except StopIteration:
            return
        except pd.errors.ParserError as exc:
            found = re.search(r"line (\d+), saw (\d+)", str(exc))
            if found is None:
                raise InputError(f"{path}: cannot be read as CSV: {exc}") from None
            # Chunks before this one (from line 2 up to ``line``) were recorded.
            raise _too_many_fields(
                path, int(found[1]), int(found[2]), len(header), recorded_below=line
            ) from None
        filled = (chunk[spare] != "").to_numpy()
        chunk = chunk.drop(columns=[*spare, *(c for c in ignore if c in header)])
        why = np.full(len(chunk), "", dtype=object)
        over = np.flatnonzero(filled.any(axis=1))
        # Fields up to the last non-empty spare; empty ones after it are trailing delimiters.
        for i, n in zip(over, SPARE_FIELDS - np.argmax(filled[over, ::-1], axis=1), strict=True):
            why[i] = (
                f"the row has {len(header) + n} fields and the header {len(header)}: "
                "a value with an unquoted delimiter, or a column without a name"
            )
        chunk[FIELDS_REASON] = why
        yield line, chunk
        line += len(chunk)


def _too_many_fields(
    path: Path, line: int, fields: int, named: int, *, recorded_below: int = 2
) -> InputError:
    done = (
        f"; rows before line {recorded_below} were recorded and come back as duplicates "
        "when the fixed file is imported again"
        if recorded_below > 2
        else "; nothing was recorded"
    )
    return InputError(
        f"{path}: line {line} has {fields} fields and the header {named}{done}",
        hint="quote values that contain the delimiter, name every column in the header, "
        "or pass --delimiter if the columns are split wrongly",
    )


def _given_text(value: object) -> str | None:
    """``value`` as text; None for a blank cell (None, NaN or only spaces)."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    text = str(value)
    return text if text.strip() else None


def _batch(
    opts: ImportOptions, path: Path, first_line: int, frame: pd.DataFrame
) -> tuple[Batch, dict[str, int]]:
    """The chunk's batch, and how many of its rows, by resource, had a time without a
    UTC offset read in ``opts.timezone`` (none without ``--timezone``; members: none)."""
    fields_why = (
        frame.pop(FIELDS_REASON)
        if FIELDS_REASON in frame
        else pd.Series("", index=frame.index, dtype=object)
    )
    frame = frame.replace("", None)
    name = path.name
    rows = [f"{name}:{first_line + i}" for i in range(len(frame))]
    if opts.kind == "members":
        members, rejected = [], []
        weights = frame["weight"] if "weight" in frame else pd.Series(None, index=frame.index)
        given = weights.notna()
        weight, why = numbers.parse(
            weights, opts.number_format, field="weight", setting=NUMBER_SETTING
        )
        for i, (row, rec) in enumerate(zip(rows, frame.to_dict("records"), strict=True)):
            commons = rec.get("commons") or opts.commons
            if fields_why.iat[i]:
                rejected.append(Rejected(row, rec, fields_why.iat[i]))
                continue
            if given.iat[i] and why.iat[i]:
                rejected.append(Rejected(row, rec, why.iat[i]))
                continue
            if given.iat[i] and weight.iat[i] < 0:
                rejected.append(
                    Rejected(row, rec, f"weight {weight.iat[i]:g} is negative; {WEIGHT_HINT}")
                )
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
                    # A blank cell reads as NaN: not given (keeps a recorded email).
                    email=_given_text(rec.get("email")),
                    weight=Decimal(str(weight.iat[i])) if given.iat[i] else None,
                    row=row,
                )
            )
        return Batch(opts.source, members=members, rejected=rejected), {}
    time_col = TIME_COLUMN[opts.kind]
    when_why = time_reasons(frame[time_col], opts.timezone, time_col)
    in_zone: dict[str, int] = {}
    if opts.timezone is not None:
        # Refused for its time (a date that is not ISO 8601, a skipped hour): not read.
        read = lacks_offset(frame[time_col]) & (when_why == "")
        in_zone = frame.loc[read, "resource"].dropna().astype(str).value_counts().to_dict()
    frame[time_col] = localize(frame[time_col], opts.timezone)
    frame["row"] = rows
    frame["raw"] = None
    value_col = VALUE_COLUMN[opts.kind]
    frame[CURRENCY_MARK] = numbers.currency_marks(frame[value_col])
    value, why = numbers.parse(
        frame[value_col], opts.number_format, field=value_col, setting=NUMBER_SETTING
    )
    huge = (why == "") & (value.abs() > MAX_QUANTITY)
    why[huge] = (
        f"{value_col} "
        + frame.loc[huge, value_col].map(repr)
        + f" is too large (at most {MAX_QUANTITY:,.0f}); check the column and --decimal"
    )
    why = why.where(why != "", when_why)
    if "scheduled" in frame:
        said = frame["scheduled"].astype("string").str.strip().str.lower()
        odd = said.notna() & (said != "") & ~said.isin(list(SCHEDULED_WORDS)) & (why == "")
        why[odd] = (
            "scheduled "
            + frame.loc[odd, "scheduled"].map(repr)
            + " is neither yes nor no; write true/false, yes/no or 1/0 (empty: not planned)"
        )
        yes = [word for word, planned in SCHEDULED_WORDS.items() if planned]
        frame["scheduled"] = said.isin(yes).fillna(False).astype(bool)
    why = fields_why.where(fields_why != "", why)
    bad = why != ""
    rejected = [
        Rejected(
            row,
            {k: v for k, v in rec.items() if k not in ("row", "raw", CURRENCY_MARK, AS_WRITTEN)},
            reason,
        )
        for row, rec, reason in zip(
            frame.loc[bad, "row"], frame.loc[bad].to_dict("records"), why[bad], strict=True
        )
    ]
    frame = frame.loc[~bad].assign(
        **{AS_WRITTEN: frame.loc[~bad, value_col], value_col: value[~bad]}
    )
    setting = DECIMAL_SETTING
    if opts.kind == "events":
        batch = Batch(opts.source, events=frame, rejected=rejected, decimal_setting=setting)
    elif opts.kind == "readings":
        batch = Batch(opts.source, readings=frame, rejected=rejected, decimal_setting=setting)
    else:
        batch = Batch(
            opts.source, capacity_changes=frame, rejected=rejected, decimal_setting=setting
        )
    return batch, in_zone


@dataclass
class ImportResult(BatchResult):
    """An import's totals (:class:`steward.ledger.BatchResult`), and where ``--timezone``
    was used: rows, by resource slug, whose time had no UTC offset and was read in it."""

    read_in_timezone: dict[str, int] = field(default_factory=dict)


def import_file(
    store: Store,
    path: Path,
    opts: ImportOptions,
    *,
    progress: Callable[[int], None] | None = None,
    window: TimeWindow | None = None,
) -> ImportResult:
    """Record a file chunk by chunk, one transaction a chunk; the totals of all chunks.

    The next chunk is read and parsed (no database work) in a thread while this one
    is recorded: the C parser, Arrow and SQLite's or PostgreSQL's work release the
    GIL, so on a second core reading costs no wall time. Chunks are still recorded
    one after the other, in file order. ``window``: when rows may have happened
    (:meth:`TimeWindow.from_config` of the workspace; default: Steward's defaults).
    """
    if not path.exists():
        raise InputError(f"{path} does not exist")
    check_encoding(path, opts.encoding)
    total = BatchResult()
    in_zone: Counter[str] = Counter()
    for frame, batch, read in _prepared(path, opts):
        in_zone.update(read)
        with store.write() as conn:
            result = Ledger(conn, window=window).record(batch)
        total = total + result
        if progress:
            progress(len(frame))
    totals = {f.name: getattr(total, f.name) for f in fields(BatchResult)}
    return ImportResult(**totals, read_in_timezone=dict(in_zone))


#: A chunk as read, its batch, and its rows read in ``--timezone`` (see :func:`_batch`).
_Prepared = tuple[pd.DataFrame, Batch, dict[str, int]]


def _prepared(path: Path, opts: ImportOptions) -> Iterator[_Prepared]:
    """(frame, batch, rows read in --timezone) of each chunk, prepared one chunk ahead
    in a worker thread.

    Errors in the worker (an unreadable file, a members file without a commons) are
    raised here, in order, after the chunks before them. Stopping early (an error
    while recording) stops the worker at its next chunk.
    """
    ready: queue.Queue[_Prepared | Exception | None] = queue.Queue(1)
    stop = threading.Event()

    def hand(item: _Prepared | Exception | None) -> bool:
        """Queue ``item`` for the consumer; False once it has stopped listening."""
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            for first_line, frame in read_chunks(
                path, opts.kind, opts.delimiter, opts.encoding, opts.ignore_columns
            ):
                if not hand((frame, *_batch(opts, path, first_line, frame))):
                    return
            hand(None)
        except Exception as exc:  # noqa: BLE001  # raised in the consumer, in order
            hand(exc)

    worker = threading.Thread(target=work, name="steward-import-reader", daemon=True)
    worker.start()
    try:
        while (item := ready.get()) is not None:
            if isinstance(item, Exception):
                raise item
            yield item
    finally:
        stop.set()
        worker.join()
