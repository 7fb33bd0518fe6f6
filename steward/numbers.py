"""The one reader of numbers written as text, for every source and import.

Europe writes ``1.234,56`` where North America writes ``1,234.56``; read with the
wrong convention, ``50,00`` becomes 5000 (a silently wrong number). So every
path (csv, http and sql collectors, MQTT, ``steward import``, member weights,
capacity) reads numbers here, with Babel's CLDR parser (``parse_decimal`` in
strict mode, which refuses digit groups in the wrong places) and an explicit
locale chosen from the source's declared :class:`NumberFormat`:

* ``decimal`` and ``thousands`` declared: values are read that way only;
  a value that does not fit (``1.234,5`` when ``decimal: "."``) is refused.
* nothing declared: a value is read under both conventions (``.`` decimal with
  ``,`` groups, and ``,`` decimal with ``.`` groups). If only one reads it
  (``50,00``, ``1,234.56``) or both agree (``12``), that is its value; if they
  disagree (``1,234`` is 1234 or 1.234) it is refused with a reason naming the
  ``decimal`` option, never guessed.

Around the number, currency symbols and codes (``$``, ``€``, ``EUR``), a leading
``+`` and accounting parentheses (``(3.20)`` = -3.20) are accepted. The mark is
not thrown away: :func:`currency_marks` gives it, and the ledger refuses a value
marked in another currency than its resource counts (``€5`` on a USD fund), or
marked as money on a resource that is not (``$5`` of seed packets).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Literal

import numpy as np
import pandas as pd
from babel.numbers import NumberFormatError, get_currency_precision, is_currency, parse_decimal
from pydantic import BaseModel, ConfigDict, model_validator

from steward.errors import InputError

Mark = Literal[".", ","]
Grouping = Literal[",", ".", " ", "'", "none"]

#: Values that mean "no value" in spreadsheets and exports.
MISSING = frozenset({"", "n/a", "na", "null", "none", "-", "--", "#n/a", "nan"})
#: (decimal, thousands) -> the CLDR locale whose symbols they are.
LOCALES: dict[tuple[str, str], str] = {
    (".", ","): "en_US",
    (".", "'"): "de_CH",
    (",", "."): "de_DE",
    (",", " "): "fr_FR",
}
#: The thousands separator assumed when only the decimal mark is declared.
DEFAULT_GROUPING = {".": ",", ",": "."}
_SPACES = "\u0020\u00a0\u202f"
_CURRENCY = re.compile(r"[$€£¥]|\b(?:USD|EUR|GBP|CAD|CHF|AUD|NZD)\b")
#: Every text _CURRENCY can match contains one of these (no word boundaries): a prefilter.
_CURRENCY_HINT = r"[$€£¥]|USD|EUR|GBP|CAD|CHF|AUD|NZD"
#: The currencies a symbol may stand for (``$`` is several countries' dollar).
SYMBOL_CODES: dict[str, frozenset[str]] = {
    "$": frozenset({"USD", "CAD", "AUD", "NZD"}),
    "€": frozenset({"EUR"}),
    "£": frozenset({"GBP"}),
    "¥": frozenset({"JPY", "CNY"}),
}
# [0-9], not \d: \d also matches other scripts' digits, which pandas cannot read.
_INTEGER = re.compile(r"^-?[0-9]+$")
_PLAIN = {".": re.compile(r"^-?[0-9]+(?:\.[0-9]+)?$"), ",": re.compile(r"^-?[0-9]+(?:,[0-9]+)?$")}
#: Plain ``1.234`` / ``12.345.678``: also a valid grouped integer with ``.`` groups.
_GROUPED_DOT = re.compile(r"^-?[0-9]{1,3}(?:\.[0-9]{3})+$")
#: Scientific notation (``1e3``, ``1.23457E+11``): a spreadsheet writes it for a number
#: too wide for its cell, often with digits already dropped, so it is never read.
_EXPONENT = re.compile(r"\d[eE][+-]?\d")
#: Words programs write for a value that is no number (``float('inf')``, ``0/0``): Python,
#: Babel and pandas would read ``Infinity`` as a number too large for any field.
_NOT_FINITE = re.compile(r"^[-+]?(?:inf(?:inity)?|nan)$", re.IGNORECASE)
#: Digits of other scripts (fullwidth ``１２``, Arabic-Indic ``١٢``) and Python's ``1_000``:
#: Python's ``Decimal`` reads both, pandas neither, so one cell would read two ways.
_ODD_DIGITS = re.compile(r"_|(?![0-9])\d")
#: A number followed by a word ("3 cup", "2 cups", "4 L", "12kg"): a unit in the cell.
_UNIT_AFTER = re.compile(
    r"^(-?[0-9](?:[0-9.,'\u00a0\u202f]|\s(?=[0-9]))*)\s*[^\W\d_][^\W\d_ .]*(?:\s+[^\W\d_]+)*\.?$"
)
#: Digits grouped by spaces ("1 234"), which a declared `thousands: ' '` reads.
_SPACE_GROUPS = re.compile(r"[0-9][\u0020\u00a0\u202f][0-9]{3}(?![0-9])")


def not_finite(field: str, text: str) -> str:
    """The reason for ``Infinity``, ``-inf`` or ``NaN`` written as ``field``, saying what to write."""
    return (
        f"{field} {text!r} is not a number but a program's word for an endless or undefined "
        f"value (a division by zero, an empty cell in a formula?); write the {field} in "
        "digits (e.g. 12 or 12.5) where it was written"
    )


class NumberFormat(BaseModel):
    """How a source writes numbers: its ``decimal`` mark and ``thousands`` separator.

    ``decimal`` is ``"."`` or ``","``; ``thousands`` is ``","``, ``"."``, ``" "``
    (any space, also the no-break spaces spreadsheets write), ``"'"`` or
    ``"none"``, and defaults to the other of ``.`` and ``,``. Both unset: see the
    module docstring. Raises ``ValueError`` (a config error) for a pair no
    convention uses, such as the same mark for both.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    decimal: Mark | None = None
    thousands: Grouping | None = None

    @model_validator(mode="after")
    def _pair(self) -> NumberFormat:
        if self.thousands is not None and self.decimal is None:
            raise ValueError("thousands needs decimal too (e.g. decimal: ',', thousands: '.')")
        if self.decimal is not None and self.grouping not in ("none", *self._groupings()):
            raise ValueError(
                f"thousands {self.thousands!r} does not go with decimal {self.decimal!r}; "
                f"use one of {', '.join(map(repr, [*self._groupings(), 'none']))}"
            )
        return self

    @property
    def declared(self) -> bool:
        return self.decimal is not None

    @property
    def grouping(self) -> str:
        """The thousands separator in force (only when ``decimal`` is declared)."""
        assert self.decimal is not None
        return self.thousands or DEFAULT_GROUPING[self.decimal]

    def _groupings(self) -> list[str]:
        return [g for d, g in LOCALES if d == self.decimal]

    def describe(self) -> str:
        if self.decimal is None:
            return "undeclared"
        return f"decimal {self.decimal!r}, thousands {self.grouping!r}"


UNDECLARED = NumberFormat()
US = NumberFormat(decimal=".", thousands=",")
#: Numbers that were numbers at the source (JSON, SQL), made text: "." and no groups.
PLAIN = NumberFormat(decimal=".", thousands="none")


def parse(
    values: pd.Series,
    fmt: NumberFormat = UNDECLARED,
    *,
    field: str = "value",
    setting: str = "",
    native: pd.Series | None = None,
    exponent: bool = False,
) -> tuple[pd.Series, pd.Series]:
    """Numbers from text: (float64 values, reasons); NaN and a reason where unreadable.

    ``values`` may already be numeric (JSON numbers, SQL columns): they pass as
    they are. Missing values (blank, ``n/a``...) give NaN with the reason
    ``missing <field>``. ``setting`` tells the user where the format is declared
    (e.g. ``in collectors[2] (bank)``, or ``with --decimal``) and ends the reason
    of an ambiguous value, which names the ``decimal`` option. ``native`` marks
    values that were numbers at the source (JSON, SQL) before becoming text:
    they are read as written by a program (``.`` decimal, no groups, and
    scientific notation such as ``1e-05``, which ``exponent`` allows; text
    from people never gets it, see ``_EXPONENT``).
    """
    if native is not None and native.any():
        native = native.reindex(values.index, fill_value=False).astype(bool)
        out, reason = parse(values[~native], fmt, field=field, setting=setting)
        got, why = parse(values[native], PLAIN, field=field, setting=setting, exponent=True)
        return (
            pd.concat([out, got]).reindex(values.index),
            pd.concat([reason, why]).reindex(values.index),
        )
    reason = pd.Series("", index=values.index, dtype=object)
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        got = values.astype("float64")
        endless = np.isinf(got.to_numpy())
        if endless.any():
            reason[endless] = [not_finite(field, str(v)) for v in got[endless]]
            got[endless] = np.nan
        return got, reason
    text = values.astype("string").str.strip()
    # "NaN" is a program's mark, not a person's "n/a": it is said to be no number (in _read).
    lower = text.str.lower()
    missing = text.isna() | (lower.isin(MISSING) & (lower != "nan"))
    reason[missing.to_numpy()] = (
        f"missing {field}: the cell is blank or says n/a; fill it in at the source and "
        "import the row again"
    )
    out = pd.Series(np.nan, index=values.index, dtype="float64")
    # Vectorised fast path: plain digits that every applicable convention reads alike.
    fast = ~missing & _plain_mask(text, fmt)
    if fast.any():
        plain = text[fast]
        if fmt.decimal == ",":
            plain = plain.str.replace(",", ".", regex=False)
        out[fast] = pd.to_numeric(plain, errors="coerce").astype("float64")
    grouped = ~missing & ~fast & _grouped_mask(text, fmt)
    if grouped.any():
        assert fmt.decimal is not None
        digits = text[grouped].str.replace(
            f"[{re.escape(fmt.grouping)}{_SPACES if fmt.grouping == ' ' else ''}]", "", regex=True
        )
        out[grouped] = pd.to_numeric(
            digits.str.replace(fmt.decimal, ".", regex=False), errors="coerce"
        ).astype("float64")
        fast |= grouped
    todo = text[~missing & ~fast]
    if todo.empty:
        return out, reason
    read = {str(u): _read(str(u), fmt, field, setting, exponent) for u in todo.unique()}
    out[todo.index] = [float(read[u][0]) for u in todo]
    reason[todo.index] = [read[u][1] for u in todo]
    if not fmt.declared:
        _refuse_mixed(text, fast, todo, read, out, reason, field, setting)
    return out, reason


def _refuse_mixed(
    text: pd.Series,
    fast: pd.Series,
    todo: pd.Series,
    read: dict[str, tuple[Decimal, str]],
    out: pd.Series,
    reason: pd.Series,
    field: str,
    setting: str,
) -> None:
    """With no ``decimal`` declared, refuse a read whose values need both conventions.

    Each of "1,250.00" and "12,50" reads one way only, but a file that writes one
    with a decimal point and the other with a decimal comma has one of them wrong
    (a typo, or rows pasted from another export): reading both would be a guess.
    Every value that only one convention reads is then refused, naming an example
    of each and the option that settles it. Values both read alike (``12``) stay.
    """
    comma_only = [
        u for u, (value, why) in read.items() if not why and _only_comma(u) and value == value
    ]
    if not comma_only:
        return  # the usual case: nothing needs a decimal comma
    dotted = fast & text.str.contains(".", regex=False, na=False)
    dot_only = [u for u, (value, why) in read.items() if not why and _only_dot(u)]
    if not dotted.any() and not dot_only:
        return
    dot_example = dot_only[0] if dot_only else str(text[dotted].iloc[0])
    comma_example = comma_only[0]
    where = f" {setting}" if setting else ""
    single = dotted.copy()
    single[todo.index] = todo.isin(set(comma_only) | set(dot_only)).to_numpy()
    single &= out.notna()
    reason[single] = (
        f"{field} "
        + text[single].map(repr)
        + f": these rows write some numbers with a decimal point ({dot_example!r}) and "
        f"others with a decimal comma ({comma_example!r}), so one of the two is written "
        f"wrong; set the source's `decimal` option ('.' or ','){where} to say which"
    )
    out[single] = np.nan


def _only_comma(text: str) -> bool:
    core, _ = _unwrap(text)
    return (
        _babel(core, LOCALES[(".", ",")]) is None and _babel(core, LOCALES[(",", ".")]) is not None
    )


def _only_dot(text: str) -> bool:
    core, _ = _unwrap(text)
    if "." not in core and "," not in core:
        return False
    return (
        _babel(core, LOCALES[(",", ".")]) is None and _babel(core, LOCALES[(".", ",")]) is not None
    )


def _grouped_mask(text: pd.Series, fmt: NumberFormat) -> pd.Series:
    """Values in a declared format's standard groups of three (``-1.234.567,89``)."""
    if fmt.decimal is None or fmt.grouping == "none":
        return pd.Series(False, index=text.index)
    group = (
        f"[{re.escape(fmt.grouping)}{_SPACES}]" if fmt.grouping == " " else re.escape(fmt.grouping)
    )
    pattern = rf"-?[0-9]{{1,3}}(?:{group}[0-9]{{3}})+(?:{re.escape(fmt.decimal)}[0-9]+)?"
    return text.str.fullmatch(pattern, na=False).astype(bool)


def _plain_mask(text: pd.Series, fmt: NumberFormat) -> pd.Series:
    """Values Babel would read exactly as ``float()`` does: no groups, no symbols."""
    if fmt.decimal is not None:
        return text.str.fullmatch(_PLAIN[fmt.decimal].pattern[1:-1], na=False).astype(bool)
    dotted = text.str.fullmatch(_PLAIN["."].pattern[1:-1], na=False).astype(bool)
    grouped = text.str.fullmatch(_GROUPED_DOT.pattern[1:-1], na=False).astype(bool)
    return dotted & ~grouped


def parse_one(value: object, fmt: NumberFormat = UNDECLARED, *, field: str = "value") -> Decimal:
    """One number (a payload value, a single cell) as an exact Decimal.

    Raises :class:`~steward.errors.InputError` with the reason when it cannot be
    read, or could be read two ways.
    """
    if isinstance(value, bool):
        raise InputError(f"{field} {value!r} is not a number")
    if isinstance(value, int | float | Decimal):
        number = Decimal(str(value))
        if not number.is_finite():  # JSON's NaN and Infinity, which Python's json reads
            raise InputError(not_finite(field, str(value)))
        return number
    text = str(value).strip()
    if text.lower() in MISSING and text.lower() != "nan":
        raise InputError(f"missing {field}")
    number, why = _read(text, fmt, field, "")
    if why:
        raise InputError(why)
    return number


def _read(
    text: str, fmt: NumberFormat, field: str, setting: str, exponent: bool = False
) -> tuple[Decimal, str]:
    """One distinct value: (value, "") or (NaN, reason)."""
    core, negative = _unwrap(text)
    where = f" {setting}" if setting else ""
    if _NOT_FINITE.match(core):
        return _nan(not_finite(field, text))
    if _ODD_DIGITS.search(core):
        return _nan(
            f"{field} {text!r} is not a number written with the digits 0-9 (it holds an "
            "underscore or another script's digits); write it with 0-9 only"
        )
    unit = _UNIT_AFTER.match(core)
    if unit and not _EXPONENT.search(core):
        in_unit = "" if field == "weight" else ", in the resource's unit"
        return _nan(
            f"{field} {text!r} has letters after the number; the {field} column holds "
            f"only the number{in_unit}: write {unit[1]}, not {text!r}"
        )
    if _EXPONENT.search(core):
        if exponent:
            try:
                written = Decimal(core)
            except ArithmeticError:
                return _nan(f"{field} {text!r} is not a number")
            return (-written if negative else written), ""
        return _nan(
            f"{field} {text!r} is in scientific notation, which spreadsheets write for "
            "numbers too wide for their cell, often with digits dropped; "
            "write the number out in full"
        )
    if fmt.declared:
        number = _declared(core, fmt)
        if number is None:
            return _nan(f"{field} {text!r} is not a number written with {fmt.describe()}{where}")
        return (-number if negative else number), ""
    got = _undeclared(core)
    if isinstance(got, str):
        hint = (
            f"; if its digits are grouped with spaces, set `decimal` and `thousands: ' '`{where}"
            if _SPACE_GROUPS.search(core)
            else ""
        )
        if got == "none":
            return _nan(f"{field} {text!r} is not a number{hint}")
        return _nan(
            f"{field} {text!r} {got}; set the source's `decimal` option ('.' or ','){where} "
            "to say how it writes numbers"
        )
    return (-got if negative else got), ""


def _unwrap(text: str) -> tuple[str, bool]:
    """The number inside currency marks and accounting parentheses, and its sign."""
    core = _CURRENCY.sub("", text).strip()
    negative = core.startswith("(") and core.endswith(")")
    if negative:
        core = core[1:-1].strip()
    if core.startswith("+"):
        core = core[1:].lstrip()
        if core.startswith(("-", "+")):
            core = "?"  # "+-3" is no convention's way of writing a number either
    if core.startswith("-") and negative:
        core = "?"  # "(-3)" is no convention's way of writing a number
    return core, negative


def _declared(core: str, fmt: NumberFormat) -> Decimal | None:
    assert fmt.decimal is not None
    if _PLAIN[fmt.decimal].match(core):
        return Decimal(core.replace(",", "."))
    grouping = fmt.grouping
    others = (
        {".", ",", "'", *_SPACES}
        - {fmt.decimal}
        - (set(_SPACES) if grouping == " " else {grouping})
    )
    if any(c in core for c in others):
        return None
    if grouping == "none":
        return None  # not plain, yet nothing else allowed
    locale = LOCALES[(fmt.decimal, grouping)]
    if grouping == " ":
        core = re.sub(f"[{_SPACES}]", "\u202f", core)
    return _babel(core, locale)


def _undeclared(core: str) -> Decimal | str:
    """The value both conventions agree on, else why not: "none" or the disagreement."""
    if _INTEGER.match(core) or (_PLAIN["."].match(core) and not _GROUPED_DOT.match(core)):
        return Decimal(core)
    dot = _babel(core, LOCALES[(".", ",")])
    comma = _babel(core, LOCALES[(",", ".")])
    if dot is None and comma is None:
        return "none"
    if comma is None or dot == comma:
        return dot  # type: ignore[return-value]  # not None: checked above
    if dot is None:
        return comma
    return f"reads as {_plain(dot)} with decimal '.' and as {_plain(comma)} with decimal ','"


def _babel(core: str, locale: str) -> Decimal | None:
    try:
        return parse_decimal(core, locale=locale, strict=True)
    except (NumberFormatError, ValueError):
        return None


def _plain(number: Decimal) -> str:
    return format(number.normalize(), "f")


def _nan(reason: str) -> tuple[Decimal, str]:
    return Decimal("NaN"), reason


def currency_marks(values: pd.Series) -> pd.Series:
    """The first currency symbol or code written in each value ("" where none).

    ``values``: text (other dtypes give ""). Returns an object Series on the same
    index, e.g. ``"$"``, ``"€"``, ``"EUR"``.
    """
    if not (pd.api.types.is_object_dtype(values.dtype) or pd.api.types.is_string_dtype(values)):
        return pd.Series("", index=values.index, dtype=object)
    text = values.astype("string")
    out = pd.Series("", index=values.index, dtype=object)
    # Most cells carry no mark. A plain-substring pattern (no \b, so never narrower
    # than _CURRENCY) runs in Arrow's C regex engine; Python's exact pattern, which
    # pandas applies a cell at a time (1.4 CPU-s a million cells), then reads only
    # the few cells that may hold a mark.
    maybe = text.str.contains(_CURRENCY_HINT, regex=True, na=False).to_numpy(dtype=bool)
    if maybe.any():
        found = text[maybe].str.extract(f"({_CURRENCY.pattern})", expand=False)
        out[maybe] = found.fillna("").astype(object)
    return out


def foreign_currency(marks: pd.Series, units: pd.Series) -> pd.Series:
    """Rows whose currency mark does not belong to their resource's unit (bool Series).

    A mark fits a unit that is the same code or symbol, or a code the symbol may
    stand for (``$`` on ``USD`` or ``CAD``). Any mark on a unit that is no currency
    (``packets``, ``L``) does not fit. Rows without a mark, or whose unit is unknown
    (NaN), fit. ``marks`` and ``units`` share an index.
    """
    known = {*SYMBOL_CODES, *(c for codes in SYMBOL_CODES.values() for c in codes)}
    known |= {"CHF"}

    def fits(mark: object, unit: object) -> bool:
        if not mark or not isinstance(unit, str):
            return True
        code = unit.strip().upper() if unit.strip() not in SYMBOL_CODES else unit.strip()
        if code not in known:
            return False
        return (
            mark == code
            or code in SYMBOL_CODES.get(str(mark), ())
            or str(mark) in SYMBOL_CODES.get(code, ())
        )

    marked = marks.astype(bool)
    out = pd.Series(False, index=marks.index)
    if marked.any():
        out[marked] = [not fits(m, u) for m, u in zip(marks[marked], units[marked], strict=True)]
    return out


def minor_units(unit: object, currency: str | None = None) -> int | None:
    """Decimal places money in ``unit`` has, when ``unit`` names money, else None.

    From Babel's CLDR currency data: ``USD`` 2, ``JPY`` 0, ``KWD`` 3. ``unit`` names
    money when it is ``currency`` (the commons' own, from its config) in any case and
    with spaces around it (``" usd"`` for ``USD``), or an ISO 4217 code written in
    capitals (``"EUR"``). A lower-case word that happens to spell a code is a unit of
    measure, not money: ``"cup"`` is cups, never Cuban pesos (``CUP``). ``L``,
    ``packets`` or ``$`` give None.
    """
    if not isinstance(unit, str):
        return None
    written = unit.strip()
    code = written.upper()
    own = currency is not None and code == currency.strip().upper()
    if not own and written != code:
        return None
    return int(get_currency_precision(code)) if is_currency(code) else None
