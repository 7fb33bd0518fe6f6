"""How numbers and user text are written on the pages."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from dashboards.text import change, local_time, number, plain, words


@pytest.mark.parametrize(
    ("value", "unit", "shown"),
    [
        (None, "EUR", "—"),
        (37.25, "EUR", "€37.25"),
        (1204.5, "USD", "$1,204.50"),
        (-0.001, "GBP", "£0.00"),
        (1.0, "units", "1 unit"),
        (2.0, "units", "2 units"),
        (0.5467, "units", "1 unit"),
        (0.5, "L", "0.5 L"),
        (6743.6049, "L", "6,743.6 L"),
        (1070.0, "packets", "1,070 packets"),
        (3.0, "", "3"),
        (-350.68, "USD", "\u2212$350.68"),
    ],
)
def test_number(value: float | None, unit: str, shown: str) -> None:
    assert number(value, unit) == shown


@pytest.mark.parametrize(
    ("value", "unit", "kind", "shown"),
    [
        (None, "L", "stock", None),
        (-0.001, "units", "pool", "no change"),
        (1070.4, "L", "stock", "up 1,070.4 L"),
        (-12.5, "USD", "stock", "down $12.50"),
        (-2.0, "units", "pool", "down 2 units"),
    ],
)
def test_change_says_its_direction_without_float_noise(
    value: float | None, unit: str, kind: str, shown: str | None
) -> None:
    assert change(value, unit, kind=kind) == shown


@pytest.mark.parametrize(
    ("kind", "unit", "use", "replenish"),
    [
        ("pool", "units", "loan", "return"),
        ("stock", "USD", "grant", "donation"),
        ("stock", "L", "watering", "rain or refill"),
        ("stock", "packets", "use", "refill"),
    ],
)
def test_each_kind_of_resource_has_its_own_words(
    kind: str, unit: str, use: str, replenish: str
) -> None:
    vocab = words(kind, unit)
    assert (vocab.event("use"), vocab.event("replenish")) == (use, replenish)


def test_times_are_local_and_labelled() -> None:
    moment = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
    assert local_time(moment, "America/Los_Angeles") == "1 Nov 2026, 01:00 PDT"
    assert local_time(moment, "Europe/Paris") == "1 Nov 2026, 09:00 CET"


def test_plain_escapes_markdown_links_and_html() -> None:
    assert plain("[x](http://evil)") == r"\[x\]\(http\://evil\)"
    assert plain("<b>") == r"\<b\>"


def test_negative_amounts_are_not_spreadsheet_formulas() -> None:
    from steward.exports import neutralise

    shown = number(-350.68, "USD")
    assert neutralise(shown) == shown


@pytest.mark.parametrize(
    ("value", "unit", "kind", "status", "shown"),
    [
        # Over: the same figure `steward quotas` shows, in words, never clamped to 0.
        (-50.79, "USD", "stock", "review", "over by $50.79"),
        (12.5, "L", "stock", "ok", "12.5 L"),
        (-3.0, "units", "pool", "review", "over by 3 unit-days"),
        # The card and the explanation under it give one figure: 0.48, not 0.5.
        (0.48, "units", "pool", "ok", "0.48 unit-days"),
        (74.58, "L", "stock", "ok", "74.58 L"),
        (0.0, "USD", "stock", "nudged", "$0.00"),
        # A suspended quota has nothing to be left of.
        (-20.0, "L", "stock", "suspended", "—"),
    ],
)
def test_quota_left(value: float, unit: str, kind: str, status: str, shown: str) -> None:
    from dashboards.text import quota_left

    assert quota_left(value, unit, kind=kind, status=status) == shown


def test_the_quota_table_leads_with_the_rows_to_act_on() -> None:
    """Sorted by member number, the one warned member of 300 sat near row 198."""
    from dashboards.tables import quotas

    start, end = datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)
    frame = pd.DataFrame(
        [
            {
                "member": code,
                "name": code.title(),
                "period_start": start,
                "period_end": end,
                "allocation": 10.0,
                "used": used,
                "remaining": 10.0 - used,
                "projected": used,
                "status": status,
                "explanation": "why",
            }
            for code, used, status in [
                ("t0001", 0.0, "ok"),
                ("t0002", 12.0, "review"),
                ("t0003", 9.0, "nudged"),
                ("t0004", 1.0, "ok"),
                ("t0198", 2.0, "warned"),
            ]
        ]
    )
    shown = quotas(frame, "pool", "unit-days", "UTC")
    assert list(shown["Status"]) == ["review", "warned", "nudged", "ok", "ok"]
    assert list(shown["Member"])[-2:] == list(
        quotas(frame.iloc[[0, 3]], "pool", "u", "UTC")["Member"]
    )
