"""Vectorised readers for the messy values real sources send: dates, encodings, blanks.

Numbers are read by :mod:`steward.numbers`, the one number reader.

Each parser returns the parsed values and, per value it could not read, a reason
(empty string = fine), so a collector can quarantine exactly the rows that failed
and say why.
"""

from __future__ import annotations

import csv
import re

import numpy as np
import pandas as pd

from steward import written_dates
from steward.numbers import MISSING

DELIMITERS = ",;\t|"
BOM = b"\xef\xbb\xbf"

_TZ_SUFFIX = r"(?:[Zz]|[+-]\d\d:?\d\d)$"
_ISO_LIKE = r"^\d{4}-\d\d-\d\d(?:[T ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?)?"


def decode(data: bytes, encoding: str) -> tuple[str, str]:
    """Text of ``data`` and the encoding used; ``auto`` tries UTF-8, then Latin-1."""
    if encoding != "auto":
        return data.decode(encoding, errors="replace"), encoding
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        # Latin-1 maps every byte, so an export from an old spreadsheet still reads.
        return data.decode("latin-1"), "latin-1"


def sniff_delimiter(sample: str) -> str:
    """The delimiter of a CSV sample: the csv sniffer, else the header's most common."""
    lines = [line for line in sample.splitlines() if line.strip()][:20]
    if not lines:
        return ","
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=DELIMITERS).delimiter
    except csv.Error:
        header = lines[0]
        counts = {d: header.count(d) for d in DELIMITERS}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] else ","


def is_missing(values: pd.Series) -> pd.Series:
    text = values.astype("string").str.strip().str.lower()
    return text.isna() | text.isin(MISSING)


def timestamps(
    values: pd.Series,
    timezone: str,
    *,
    date_format: str | None = None,
) -> tuple[pd.Series, pd.Series]:
    """UTC timestamps from text; values without an offset are local to ``timezone``.

    Without ``date_format`` only ISO 8601 is accepted, so ``03/04/2024`` (March or
    April?) is refused with a hint instead of guessed. Whether a moment is plausible
    (not in the future, not before its commons' history) is the ledger's check, the
    same for every source (steward.ledger.TimeWindow).
    """
    reason = pd.Series("", index=values.index, dtype=object)
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[us, UTC]")
    text = values.astype("string").str.strip()
    missing = is_missing(values)
    reason[missing.to_numpy()] = "missing timestamp"
    has_tz = text.str.contains(_TZ_SUFFIX, regex=True, na=False) & ~missing
    if date_format is None:
        has_tz &= text.str.contains(_ISO_LIKE, regex=True, na=False)
    if has_tz.any():
        got = pd.to_datetime(text[has_tz], utc=True, errors="coerce", format="ISO8601")
        out[has_tz] = got
    naive = ~missing & ~has_tz
    if naive.any():
        local = text[naive]
        if date_format is None:
            iso = local.str.contains(_ISO_LIKE + "$", regex=True, na=False)
            parsed = pd.to_datetime(local.where(iso), errors="coerce", format="ISO8601")
        else:
            parsed = pd.to_datetime(local, errors="coerce", format=date_format)
        failed = parsed.isna()
        localized = parsed.dt.tz_localize(timezone, ambiguous="NaT", nonexistent="NaT")
        dst = localized.isna() & ~failed
        out[naive] = localized.dt.tz_convert("UTC")
        hint = (
            f"set date_format (now {date_format!r}) to match it"
            if date_format
            else "write ISO 8601 (2024-05-01 14:30) or set date_format (e.g. '%m/%d/%Y %I:%M %p')"
        )
        idx = failed[failed].index
        reason[idx] = (
            "timestamp " + local[idx].map(repr) + f" is not a date this source reads: {hint}"
        )
        idx = dst[dst].index
        reason[idx] = (
            "timestamp "
            + local[idx].map(repr)
            + f" does not exist or is ambiguous in {timezone} (a daylight-saving change): "
            "write it with an offset"
        )
    bad_tz = has_tz & out.isna()
    idx = bad_tz[bad_tz].index
    reason[idx] = (
        "timestamp "
        + text[idx].map(repr)
        + " is not a date and time: write ISO 8601 with its offset (2024-05-01T10:00:00+02:00)"
    )
    # 2026-02-30 is ISO 8601 all right: the day is what is wrong.
    unread = reason.str.contains(" is not a date", regex=False) & text.notna().to_numpy()
    if unread.any():
        days = text[unread].map(lambda v: written_dates.missing_day(str(v)) or "")
        lacking = days.index[(days != "").to_numpy(dtype=bool)]
        reason[lacking] = (
            "timestamp "
            + text[lacking].map(repr)
            + " is not a real date: "
            + days[lacking]
            + "; check the day and the month"
        )
    return out, reason


YES_WORDS = frozenset({"1", "true", "yes", "y", "t", "scheduled"})
NO_WORDS = frozenset({"0", "false", "no", "n", "f"})


def truthy(values: pd.Series) -> pd.Series:
    """Cells that say yes (``1``, ``true``, ``yes``, ``y``, ``t``, ``scheduled``; any case)."""
    text = values.astype("string").str.strip().str.lower()
    return text.isin(YES_WORDS).fillna(False).astype(bool)


def neither_yes_nor_no(values: pd.Series) -> pd.Series:
    """Cells that are not empty and say neither yes nor no (see :func:`truthy`)."""
    text = values.astype("string").str.strip().str.lower()
    said = text.notna() & (text != "")
    return (said & ~text.isin(YES_WORDS | NO_WORDS)).fillna(False).astype(bool)


def line_numbers(starts: np.ndarray, newlines: np.ndarray, first_line: int) -> np.ndarray:
    """1-based physical line of each record start, given the file's newline offsets."""
    return np.searchsorted(newlines, starts) + first_line


_SLUG_BAD = re.compile(r"[^a-z0-9]+")


def slugify(text: str, *, prefix: str = "") -> str:
    """A resource slug from a name: ``Drills & Drivers`` -> ``drills-drivers``."""
    slug = _SLUG_BAD.sub("-", text.lower()).strip("-") or "unnamed"
    return (prefix + slug)[:64].rstrip("-")
