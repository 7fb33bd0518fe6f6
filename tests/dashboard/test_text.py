"""How numbers and user text are written on the pages."""

from __future__ import annotations

import pytest

from dashboards.text import number, plain


@pytest.mark.parametrize(
    ("value", "unit", "shown"),
    [
        (None, "EUR", "—"),
        (37.25, "EUR", "37.25 EUR"),
        (1204.5, "EUR", "1,204 EUR"),
        (1.0, "units", "1 unit"),
        (2.0, "units", "2 units"),
        (0.5, "L", "0.5 L"),
        (3.0, "", "3"),
    ],
)
def test_number(value: float | None, unit: str, shown: str) -> None:
    assert number(value, unit) == shown


def test_plain_escapes_markdown_links_and_html() -> None:
    assert plain("[x](http://evil)") == r"\[x\]\(http\://evil\)"
    assert plain("<b>") == r"\<b\>"
