"""Exports that a spreadsheet opens safely (CSV and formula injection).

A spreadsheet treats a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a
formula (``=HYPERLINK(...)``, ``+cmd|' /C calc'!A0``, ``@SUM(...)``), and some
also after a leading tab or carriage return. Member names, summaries and source
rows are user text, so every table Steward lets someone download passes through
:func:`spreadsheet_safe` first. It follows OWASP's "CSV Injection" advice:
prefix such a cell with a single quote, which spreadsheets show as text and
never evaluate. Plain numbers (``-12.5``) are left alone: they cannot run
anything, and mangling them would change a figure.

The dashboard's tables are downloadable (Streamlit's "Download as CSV"), so
pages show them through :func:`spreadsheet_safe` too; :func:`csv_bytes` is the
one way to build a CSV download button's payload.
"""

from __future__ import annotations

import re

import pandas as pd

#: Characters that start a formula in Excel, LibreOffice or Google Sheets, with
#: their full-width forms (some locales' input methods turn those into formulas).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")
_PLAIN_NUMBER = re.compile(r"^[+-]?(?:\d+(?:[.,]\d+)*|\.\d+)(?:[eE][+-]?\d+)?$")


def neutralise(value: object) -> object:
    """One cell: a string that a spreadsheet would evaluate gets a leading ``'``.

    Non-strings (numbers, dates, missing values) are returned unchanged, as are
    strings that are plain numbers such as ``-3`` or ``+1.5``.
    """
    if not isinstance(value, str) or not value.startswith(FORMULA_PREFIXES):
        return value
    if _PLAIN_NUMBER.match(value):
        return value
    return "'" + value


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with every text cell and column name neutralised.

    Shape, column order, dtypes of numeric and date columns and the index are
    kept; only cells (and headers) that a spreadsheet would evaluate change.
    """
    safe = frame.copy()
    for column in safe.columns:
        series = safe[column]
        if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_datetime64_any_dtype(series):
            continue
        safe[column] = series.map(neutralise, na_action="ignore")
    safe.columns = [neutralise(c) for c in safe.columns]
    return safe


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """RFC 4180 CSV of the safe frame, no index, UTF-8 with a BOM (spreadsheets pick the encoding).

    CRLF line ends make the csv module quote any cell holding a CR or LF, so an
    embedded carriage return cannot split a row.
    """
    return spreadsheet_safe(frame).to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig")
