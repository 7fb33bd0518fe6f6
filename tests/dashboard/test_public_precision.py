"""The signed-out page never shows a change that one or a few members caused (k-anonymity).

Public figures are rounded to 2 significant digits, and withheld while the last
30 days' changes of a resource come from fewer than k distinct members.
"""

from __future__ import annotations

from sqlalchemy import select

from steward.access import Scope
from steward.queries import health
from steward.store.models import Commons
from steward.workspace import open_workspace

from .fixtures import Federation


def _by_slug(tiles: list[health.Tile]) -> dict[str, health.Tile]:
    return {t.slug: t for t in tiles}


def test_public_figures_are_rounded_or_withheld(federation: Federation) -> None:
    ws = open_workspace(federation.config)
    try:
        with ws.store.read() as conn:
            toolshed = conn.execute(
                select(Commons.id).where(Commons.slug == "toolshed")
            ).scalar_one()
            steward = _by_slug(health.tiles(Scope.steward(toolshed, "sam"), conn))
            default = _by_slug(health.tiles(Scope.public(), conn))
            k2 = _by_slug(health.tiles(Scope.public(), conn, min_members=2))
    finally:
        ws.close()
    # The fund: 500 + 20 - 37.25 - 58.5, changed by Alice and Bob only.
    assert steward["fund"].level == 424.25 and steward["fund"].trend is not None
    assert (default["fund"].level, default["fund"].trend, default["fund"].fill) == (
        None,
        None,
        None,
    )
    assert default["fund"].headline == steward["fund"].headline  # the risk outlook stays public
    assert default["fund"].status == steward["fund"].status
    # With k = 2 the two members' changes may show, rounded: 424.25 -> 420.
    assert k2["fund"].level == 420.0
    assert (steward["fund"].shown, k2["fund"].shown, default["fund"].shown) == (
        "exact",
        "rounded",
        "withheld",
    )
    # One member (Bob) behind the odd stock: withheld even with k = 2.
    assert k2["odd"].level is None
    assert all(t.firing == () for t in default.values())


def test_a_steward_on_the_public_page_is_told_why_its_counts_can_differ(
    federation: Federation,
) -> None:
    """A withheld tile takes its status from the forecast alone, so a steward's
    count here could differ from the Overview's without a word."""
    from .apptest import open_page, shown_text, signed_in

    words = "these counts can differ from your Overview"
    steward = open_page(signed_in("sam"), "health")
    assert not steward.exception, steward.exception
    assert words in shown_text(steward)
    visitor = open_page(signed_in(None), "health")
    assert not visitor.exception, visitor.exception
    assert words not in shown_text(visitor)  # a visitor has no Overview
