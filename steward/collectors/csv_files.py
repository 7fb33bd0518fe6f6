"""CSV files: one file, a glob, or a drop folder, read incrementally.

The header is the first line that names every column the mapping needs: lines
above it (a bank export's account number, period and balance) are a preamble,
not rows.

The cursor remembers, per file, how far it has been committed (byte offset) and
what the file looked like (size, mtime, inode, a digest of its head). Appended
rows are read from the offset; a file that shrank or whose head changed was
rotated or rewritten and is read again from the top (its rows dedupe by external
id, so that is harmless). A last line without a newline is read but not passed
by the cursor, so if a writer was still writing it, the completed line is read
again next time.
"""

from __future__ import annotations

import csv
import glob
import hashlib
import io
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from steward.collectors import parsing
from steward.collectors.base import CHUNK_ROWS, Chunk
from steward.collectors.tabular import MappingOptions, Table, TabularCollector
from steward.errors import SourceError
from steward.ledger import Rejected

HEAD_BYTES = 4096
#: How many lines above the header (a bank's account and balance lines) are looked through.
PREAMBLE_LINES = 30
csv.field_size_limit(16 * 1024 * 1024)


class CsvOptions(MappingOptions):
    #: A file, a glob (sources/*.csv) or a folder; relative to the config file's folder.
    path: str
    #: One of , ; tab |; default: sniffed from the file.
    delimiter: str | None = Field(default=None, pattern=r"^(,|;|\t|\||tab)$")
    encoding: Literal["auto", "utf-8", "utf-8-sig", "latin-1", "cp1252"] = "auto"
    chunk_rows: int = Field(default=CHUNK_ROWS, ge=1)


@dataclass
class FileMark:
    """How far a file has been committed, and how to tell it is the same file."""

    offset: int
    size: int
    mtime_ns: int
    ino: int
    head: str
    encoding: str
    delimiter: str
    header: list[str]
    line: int  # physical line number at offset (1-based)
    #: The whole file was read when this mark was made (not just some of its chunks).
    complete: bool = False

    def unchanged(self, st: os.stat_result) -> bool:
        return self.complete and (self.size, self.mtime_ns, self.ino) == (
            st.st_size,
            st.st_mtime_ns,
            st.st_ino,
        )


def _head(data: bytes, upto: int) -> str:
    return hashlib.blake2b(data[: min(upto, HEAD_BYTES)], digest_size=8).hexdigest()


class CsvCollector(TabularCollector):
    kind = "csv"
    Options = CsvOptions
    options: CsvOptions

    def files(self) -> list[Path]:
        target = self.context.loaded.resolve(self.options.path)
        if target.is_dir():
            found = [p for p in target.iterdir() if p.is_file() and not p.name.startswith(".")]
        elif glob.has_magic(str(target)):
            found = [Path(p) for p in glob.glob(str(target)) if Path(p).is_file()]
        elif target.exists():
            found = [target]
        else:
            raise SourceError(
                f"{self.context.where}: {target} does not exist",
                hint="fix `path` (relative paths start at the config file's folder)",
            )
        return sorted(found, key=lambda p: p.name)

    def _key(self, path: Path) -> str:
        base = self.context.loaded.base_dir
        try:
            return path.resolve().relative_to(base.resolve()).as_posix()
        except ValueError:
            return path.as_posix()

    def read(self, cursor: str | None) -> Iterator[Chunk]:
        marks: dict[str, dict[str, Any]] = json.loads(cursor)["files"] if cursor else {}
        mapper = self._mapper()
        pending: list[Table] = []
        rejected: list[Rejected] = []
        rows = 0
        files = self.files()
        total = sum(p.stat().st_size for p in files)
        done = 0

        def flush() -> Chunk:
            nonlocal pending, rejected, rows
            batch = mapper.batch(self.name, pending, rejected)
            state = json.dumps({"v": 1, "files": marks}, sort_keys=True)
            pending, rejected, rows = [], [], 0
            return Chunk(batch=batch, cursor=state, progress=(done, total))

        for path in files:
            key = self._key(path)
            st = path.stat()
            prev = FileMark(**marks[key]) if key in marks else None
            if prev is not None and prev.unchanged(st):
                done += st.st_size
                continue
            for table, bad, mark in self._read_file(path, key, prev):
                if table is not None:
                    pending.append(table)
                    rows += len(table.keys)
                rejected.extend(bad)
                rows += len(bad)
                marks[key] = mark.__dict__
                if rows >= self.options.chunk_rows:
                    yield flush()
            done += st.st_size
            yield flush()  # one commit per file at least, so its mark is saved

    def _read_file(
        self, path: Path, key: str, prev: FileMark | None
    ) -> Iterator[tuple[Table | None, list[Rejected], FileMark]]:
        try:
            data = path.read_bytes()
            st = path.stat()
        except OSError as exc:
            raise SourceError(f"{self.context.where}: cannot read {path}: {exc}") from exc
        resume = (
            prev is not None
            and prev.ino == st.st_ino
            and len(data) >= prev.offset
            and _head(data, prev.offset) == prev.head
        )
        start = prev.offset if resume and prev else 0
        bom = len(parsing.BOM) if data.startswith(parsing.BOM) else 0
        if resume and prev:
            encoding, delimiter, header, line = (
                prev.encoding,
                prev.delimiter,
                prev.header,
                prev.line,
            )
        else:
            encoding, delimiter, header, line = "", "", [], 1
            start = bom
        body = data[start:]
        if self.options.encoding == "auto":
            text, encoding = parsing.decode(body, encoding or "auto")
        else:
            encoding = self.options.encoding
            text, _ = parsing.decode(body, encoding)
        newlines = np.flatnonzero(np.frombuffer(body, dtype=np.uint8) == 10)
        lines = text.split("\n")
        # Byte offset (in the file) just after each line's newline.
        line_end = newlines + start + 1

        def mark(offset: int, at_line: int, complete: bool = False) -> FileMark:
            return FileMark(
                offset=offset,
                size=st.st_size,
                mtime_ns=st.st_mtime_ns,
                ino=st.st_ino,
                head=_head(data, offset),
                encoding=encoding,
                delimiter=delimiter,
                header=header,
                line=at_line,
                complete=complete,
            )

        preamble = 0  # lines above the header
        if not header:
            if not text.strip():
                yield None, [], mark(start, line, complete=True)  # empty: nothing yet
                return
            sample = text[:65536]
            delimiter = self._delimiter(sample)
            preamble, delimiter = self._header_line(lines, delimiter)
        # Lines split on "\n" only, as the byte offsets above are computed.
        reader = csv.reader(io.StringIO(text, newline="\n"), delimiter=delimiter)
        consumed = 0  # lines consumed by the reader so far
        if not header:
            for _ in range(preamble):
                next(reader)
            try:
                header = [h.strip().lstrip("\ufeff") for h in next(reader)]
            except (csv.Error, StopIteration) as exc:
                raise SourceError(
                    f"{self.context.where}: {path}: unreadable header: {exc}"
                ) from exc
            consumed = reader.line_num
            if consumed > len(newlines):  # header only, without a newline
                yield None, [], mark(start, line, complete=True)
                return
            yield None, [], mark(int(line_end[consumed - 1]), line + consumed)
        columns = _unique(header)
        buffer: list[list[str]] = []
        keys: list[str] = []
        bad: list[Rejected] = []
        where = f"{key}"

        def table() -> Table | None:
            if not buffer:
                return None
            frame = pd.DataFrame(buffer, columns=columns, dtype="string")
            return Table(frame=frame, keys=list(keys), where=where)

        while True:
            before = reader.line_num
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                first = line + before
                raw = {"line": "\n".join(lines[before : reader.line_num])}
                bad.append(Rejected(f"{key}:{first}", raw, f"unreadable CSV row: {exc}"))
                continue
            first = line + before
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # a blank line is not a row
            if len(row) != len(columns):
                raw = {"line": "\n".join(lines[before : reader.line_num]).rstrip("\r")}
                bad.append(
                    Rejected(
                        f"{key}:{first}",
                        raw,
                        f"row has {len(row)} fields, the header has {len(columns)}: "
                        "check the delimiter and quoting of this line",
                    )
                )
            else:
                buffer.append(row)
                keys.append(f"{key}:{first}")
            if len(buffer) + len(bad) >= self.options.chunk_rows:
                done_lines = min(reader.line_num, len(newlines))
                offset = int(line_end[done_lines - 1]) if done_lines else start
                yield table(), bad, mark(offset, line + done_lines)
                buffer, keys, bad = [], [], []
        # Stop the cursor before an unterminated last line: it may still be growing.
        done_lines = len(newlines)
        offset = int(line_end[done_lines - 1]) if done_lines else start
        yield table(), bad, mark(offset, line + done_lines, complete=True)

    def _header_line(self, lines: list[str], sniffed: str) -> tuple[int, str]:
        """Lines before the header, and the delimiter that splits it into known columns."""
        mapper = self._mapper()
        if self.options.delimiter:
            candidates = [sniffed]
        else:
            candidates = [sniffed, *(d for d in parsing.DELIMITERS if d != sniffed)]
        for number, line in enumerate(lines[:PREAMBLE_LINES]):
            for delimiter in candidates:
                fields = next(csv.reader([line.rstrip("\r")], delimiter=delimiter), [])
                if mapper.fits([f.strip().lstrip("\ufeff") for f in fields]):
                    return number, delimiter
        return 0, sniffed

    def _delimiter(self, sample: str) -> str:
        chosen = self.options.delimiter
        if chosen:
            return "\t" if chosen == "tab" else chosen
        return parsing.sniff_delimiter(sample)


def _unique(header: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in header:
        name = name or "column"
        if name in seen:
            seen[name] += 1
            out.append(f"{name}.{seen[name]}")
        else:
            seen[name] = 0
            out.append(name)
    return out


def read_text_table(data: bytes, *, delimiter: str | None = None) -> pd.DataFrame:
    """A whole CSV document (e.g. an HTTP response) as a frame of text, one column per header name.

    A delimiter ending every row (one empty field past the header) is dropped,
    and a short row's missing fields are empty. Any other row with more fields
    than the header raises ``ValueError`` naming its line: pandas would instead take the first column
    as an index and shift every value one column left. A name given twice
    becomes ``name.1`` as the csv collector names it.
    """
    text, _ = parsing.decode(data.removeprefix(parsing.BOM), "auto")
    sep = delimiter or parsing.sniff_delimiter(text[:65536])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    header = next((row for row in reader if row), None)
    if header is None:
        raise ValueError("the document is empty: no header line")
    rows: list[list[str]] = []
    for row in reader:
        if not row:
            continue  # a blank line is not a row
        if len(row) == len(header) + 1 and row[-1] == "":
            row = row[:-1]
        if len(row) > len(header):
            raise ValueError(
                f"line {reader.line_num} has {len(row)} fields and the header {len(header)}"
            )
        # A short row's missing fields are empty, as pandas reads them; the
        # collector's own checks then refuse what a row cannot lack.
        rows.append(row + [""] * (len(header) - len(row)))
    return pd.DataFrame(rows, columns=_unique(header), dtype=object)
