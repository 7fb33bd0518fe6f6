"""The one number reader: each convention read right, anything two-faced refused."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from steward.errors import InputError
from steward.numbers import (
    _CURRENCY,
    NumberFormat,
    _read,
    currency_marks,
    minor_units,
    parse,
    parse_one,
)

EU = NumberFormat(decimal=",")
US = NumberFormat(decimal=".")
FR = NumberFormat(decimal=",", thousands=" ")
CH = NumberFormat(decimal=".", thousands="'")
BARE = NumberFormat(decimal=",", thousands="none")
UNDECLARED = NumberFormat()

AMBIGUOUS = "set the source's `decimal` option ('.' or ',')"

# (text, format, value or None, fragment of the reason)
CASES: list[tuple[str, NumberFormat, float | None, str]] = [
    ("50,00", EU, 50.0, ""),
    ("-12,50", EU, -12.5, ""),
    ("1.234,56", EU, 1234.56, ""),
    ("1.234", EU, 1234.0, ""),
    ("1,5", EU, 1.5, ""),
    ("€ 272,06", EU, 272.06, ""),
    ("12,50 EUR", EU, 12.5, ""),
    ("1,234.56", EU, None, "not a number written with decimal ',', thousands '.'"),
    ("1 234,56", FR, 1234.56, ""),
    ("1\u202f234,56", FR, 1234.56, ""),
    ("1\xa0234,56", FR, 1234.56, ""),
    ("1.234,56", FR, None, "decimal ',', thousands ' '"),
    ("1'234.50", CH, 1234.5, ""),
    ("1,234", BARE, 1.234, ""),
    ("1.234", BARE, None, "thousands 'none'"),
    ("$1,204.50", US, 1204.5, ""),
    ("(3.20)", US, -3.2, ""),
    ("+5", US, 5.0, ""),
    ("50,00", US, None, "not a number written with decimal '.', thousands ','"),
    ("1,23", US, None, "not a number"),
    # Nothing declared: one reading, or both agree -> read; they disagree -> refused.
    ("50,00", UNDECLARED, 50.0, ""),
    ("-12,50", UNDECLARED, -12.5, ""),
    ("1,5", UNDECLARED, 1.5, ""),
    ("12.5", UNDECLARED, 12.5, ""),
    ("0.125", UNDECLARED, 0.125, ""),
    ("1,234.56", UNDECLARED, 1234.56, ""),
    ("1.234,56", UNDECLARED, 1234.56, ""),
    ("$1,204.50", UNDECLARED, 1204.5, ""),
    ("412", UNDECLARED, 412.0, ""),
    ("1,234", UNDECLARED, None, "reads as 1234 with decimal '.' and as 1.234 with decimal ','"),
    ("1.234", UNDECLARED, None, AMBIGUOUS),
    ("12.345.678", UNDECLARED, 12345678.0, ""),
    ("1 234,56", UNDECLARED, None, "thousands: ' '"),
    ("abc", UNDECLARED, None, "'abc' is not a number"),
    ("1.2.3", UNDECLARED, None, "not a number"),
    # A program's words for no number: not "too large" (they read as infinity), and not
    # "missing" either; the reason says what to write instead.
    ("Infinity", UNDECLARED, None, "is not a number but a program's word"),
    ("-inf", US, None, "write the quantity in digits (e.g. 12 or 12.5)"),
    ("INF", EU, None, "is not a number but a program's word"),
    ("NaN", UNDECLARED, None, "is not a number but a program's word"),
    ("nan", BARE, None, "is not a number but a program's word"),
    ("$Infinity", US, None, "is not a number but a program's word"),
    # Python's Decimal reads these, pandas does not: one cell, two readings.
    ("1_000", UNDECLARED, None, "digits 0-9"),
    ("1_000", US, None, "digits 0-9"),
    ("\uff11\uff12", UNDECLARED, None, "digits 0-9"),  # fullwidth 12
    ("\u0661\u0662", EU, None, "digits 0-9"),  # Arabic-Indic 12
    ("+-3", US, None, "not a number"),
    ("+-3", UNDECLARED, None, "not a number"),
    # A unit written beside the number: the column holds the number only. Spaces
    # between digit groups ("1 234") keep their own hint; letters do not get it.
    ("3 cup", UNDECLARED, None, "the quantity column holds only the number"),
    ("2 cups", UNDECLARED, None, "write 2, not '2 cups'"),
    ("4 L", UNDECLARED, None, "write 4, not '4 L'"),
    ("12kg", US, None, "write 12, not '12kg'"),
    ("1 234 L", UNDECLARED, None, "write 1 234, not '1 234 L'"),
]


@pytest.mark.parametrize(
    ("text", "fmt", "value", "why"), CASES, ids=[c[0] + " " + c[1].describe() for c in CASES]
)
def test_parse(text: str, fmt: NumberFormat, value: float | None, why: str) -> None:
    got, reason = parse(pd.Series([text], dtype=object), fmt, field="quantity")
    if value is None:
        assert pd.isna(got[0]) and why in reason[0], reason[0]
        assert reason[0].startswith(f"quantity {text!r}")
    else:
        assert got[0] == pytest.approx(value) and reason[0] == ""


@pytest.mark.parametrize("text", ["3 cup", "2 cups", "4 L", "abc", "1.2.3"])
def test_only_digit_groups_get_the_space_grouping_hint(text: str) -> None:
    _, reason = parse(pd.Series([text], dtype=object), UNDECLARED, field="quantity")
    assert reason[0] and "thousands" not in reason[0], reason[0]


def test_missing_and_numeric_values() -> None:
    got, reason = parse(pd.Series(["", "n/a", None], dtype=object), field="weight")
    assert (
        got.isna().all()
        and reason.tolist()
        == [
            "missing weight: the cell is blank or says n/a; fill it in at the source and import "
            "the row again"
        ]
        * 3
    )
    got, reason = parse(pd.Series([1.5, 2]), EU)
    assert got.tolist() == [1.5, 2.0] and (reason == "").all()


def test_parse_one() -> None:
    assert parse_one("1,5", EU) == Decimal("1.5")
    assert parse_one(412) == Decimal(412)
    with pytest.raises(InputError, match="decimal"):
        parse_one("1,234")


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan"), "Infinity", "NaN"])
def test_parse_one_refuses_what_is_no_number(value: object) -> None:
    """JSON payloads may carry NaN and Infinity (Python's json reads them as floats)."""
    with pytest.raises(InputError, match="is not a number but a program's word"):
        parse_one(value, field="level")


def test_numbers_handed_over_as_numbers_are_checked_for_infinity() -> None:
    got, reason = parse(pd.Series([1.5, float("inf"), float("-inf")]), field="value")
    assert got[0] == 1.5 and got[1:].isna().all()
    assert reason[0] == "" and reason[1].startswith("value 'inf' is not a number")
    assert reason[2].startswith("value '-inf' is not a number")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"decimal": ".", "thousands": "."}, "does not go with decimal"),
        ({"thousands": "."}, "thousands needs decimal"),
        ({"decimal": ";"}, "decimal"),
    ],
)
def test_impossible_formats_are_config_errors(options: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        NumberFormat.model_validate(options)


@given(
    st.decimals(min_value=-(10**9), max_value=10**9, places=2, allow_nan=False),
    st.sampled_from([EU, US, FR, CH, UNDECLARED]),
)
def test_fast_paths_agree_with_babel(value: Decimal, fmt: NumberFormat) -> None:
    """The vectorised paths (plain and grouped digits) read what Babel reads, and never a
    wrong value (Babel's strict mode refuses some well-grouped Swiss values they read)."""
    grouping = fmt.grouping if fmt.declared else ","
    mark = fmt.decimal or "."
    text = f"{value:,.2f}".replace(",", "\x00").replace(".", mark).replace("\x00", grouping)
    for written in (text, f"{value:.2f}".replace(".", mark)):
        got, why = parse(pd.Series([written]), fmt)
        slow, slow_why = _read(written, fmt, "value", "")
        if not slow_why:
            assert why[0] == "" and got[0] == float(slow)
        if not why[0]:
            assert got[0] == float(value)


def test_scientific_notation_from_people_is_refused_and_from_programs_read() -> None:
    """``1.23457E+11`` is a spreadsheet's view of a number too wide for its cell."""
    text = pd.Series(["1e3", "1.23457E+11", "-2E-3", "12"])
    value, why = parse(text, field="quantity")
    assert value.isna().tolist() == [True, True, True, False]
    assert all("scientific notation" in w for w in why[:3]) and why[3] == ""
    native = pd.Series([True, True, False, False])
    value, why = parse(text, field="quantity", native=native)
    assert value.tolist()[:2] == [1000.0, 123457000000.0] and why[0] == why[1] == ""
    assert "scientific notation" in why[2]


@pytest.mark.parametrize(
    ("values", "read"),
    [
        # Each reads one way only, but not the same way: one of the two is wrong.
        (["1,250.00", "12,50", "7"], [None, None, 7.0]),
        (["12.50", "12,50"], [None, None]),
        (["1.234,50", "12.5", "3"], [None, None, 3.0]),
        # One convention throughout: read.
        (["1,250.00", "2,500.00", "12.5", "12"], [1250.0, 2500.0, 12.5, 12.0]),
        (["12,50", "1.234,50", "3"], [12.5, 1234.5, 3.0]),
    ],
)
def test_rows_that_need_both_decimal_marks_are_refused_not_read_each_its_way(
    values: list[str], read: list[float | None]
) -> None:
    out, why = parse(pd.Series(values), field="quantity")
    assert [None if v != v else v for v in out] == read
    for value, reason, got in zip(values, why, read, strict=True):
        if got is None:
            assert reason.startswith(f"quantity '{value}': these rows write some numbers")
            assert "set the source's `decimal` option" in reason
        else:
            assert reason == ""


def test_a_declared_decimal_reads_each_value_its_way_without_the_mixed_check() -> None:
    out, why = parse(pd.Series(["1.234,50", "12,5"]), NumberFormat(decimal=","))
    assert out.tolist() == [1234.5, 12.5] and list(why) == ["", ""]


@pytest.mark.parametrize(
    ("cell", "mark"),
    [
        ("12.50", ""),
        ("€5", "€"),
        ("(£3)", "£"),
        ("5 EUR", "EUR"),
        ("USD 4", "USD"),
        ("5USD", ""),  # no word boundary: a code glued to digits is not a mark
        ("éUSD", ""),  # é is a letter to Python's \b, not to Arrow's ASCII one
        ("usd 4", ""),
        ("CHF 3, $2", "CHF"),
        ("", ""),
        (None, ""),
    ],
)
def test_currency_marks(cell: str | None, mark: str) -> None:
    assert currency_marks(pd.Series([cell], dtype=object)).tolist() == [mark]


@given(st.lists(st.text(alphabet="5 .,$€£¥éUSDEURCHFNZDxa_", max_size=12), max_size=20))
def test_currency_marks_agree_with_the_exact_pattern_cell_by_cell(cells: list[str]) -> None:
    # The Arrow prefilter may only skip cells the exact pattern finds nothing in.
    expected = [m.group() if (m := _CURRENCY.search(c)) else "" for c in cells]
    assert currency_marks(pd.Series(cells, dtype=object)).tolist() == expected


@pytest.mark.parametrize(
    ("unit", "currency", "places"),
    [
        ("USD", None, 2),
        (" usd", "USD", 2),
        ("usd", None, None),
        ("JPY", "USD", 0),
        ("KWD", None, 3),
        ("cup", "USD", None),
        ("CUP", "USD", 2),
        ("L", "USD", None),
        ("$", "USD", None),
        (None, "USD", None),
    ],
)
def test_minor_units_reads_money_only_from_codes(
    unit: str | None, currency: str | None, places: int | None
) -> None:
    """A lower-case word is money only when it is the commons' own currency."""
    assert minor_units(unit, currency) == places
