"""Who sees what: two commons, a steward and members of each, anonymous x every page x resource.

Each cell opens a page as that viewer (signed in through the form) and reads
back everything it shows. A cell may show a marker only if the viewer may see
it; pages a role does not have are not reachable at all. The process-wide
Streamlit cache is shared by all cells, so every cell also runs after other
viewers' queries have warmed it.
"""

from __future__ import annotations

import pytest

from .apptest import ALL_PAGES, PAGES, open_page, shown_text, signed_in
from .fixtures import (
    ALICE_MARKERS,
    BOB_MARKERS,
    LOANS_COLLECTOR_MARK,
    ORCHARD_COLLECTOR_MARK,
    ORCHARD_MARKERS,
    ORCHARD_STEWARD_MARKERS,
    OSCAR_MARKERS,
    STEWARD_MARKERS,
    Federation,
)

VIEWERS = {
    "sam": "steward",
    "alice": "member",
    "bob": "member",
    "olga": "steward",
    "oscar": "member",
    None: "public",
}
RESOURCES = ("fund", "drill", "odd", "cider")


def allowed(viewer: str | None, page: str, resource: str) -> set[str]:
    """The markers a viewer may see on a page (about a resource)."""
    if viewer == "sam" and (page == "members" or (page, resource) == ("resource", "fund")):
        return {*ALICE_MARKERS, *BOB_MARKERS}
    if viewer == "sam" and page == "overview":  # resource alerts only
        return {STEWARD_MARKERS[0]}
    # A member alert and a quarantined raw row name Bob: his steward may see both.
    if viewer == "sam" and page == "alerts":
        return {STEWARD_MARKERS[0], BOB_MARKERS[0], LOANS_COLLECTOR_MARK}
    if viewer == "sam" and page == "sources":
        return {STEWARD_MARKERS[1], BOB_MARKERS[0]}
    if viewer == "alice" and page == "my_usage":
        return set(ALICE_MARKERS[1:])
    if viewer == "bob" and page == "my_usage":
        return set(BOB_MARKERS[1:])
    # Anonymous health lists every commons' resources (names only, public); a
    # signed-in viewer's health page is limited to their own commons.
    if viewer is None and page == "health":
        return set(ORCHARD_MARKERS)
    # The orchard's steward and member: their own commons only, whatever the URL asks for.
    if viewer == "olga" and page == "health":
        return set(ORCHARD_MARKERS)
    # Firing resource alerts only: the press's overbooking and Oscar's quota on the press.
    if viewer == "olga" and page == "overview":
        return {*ORCHARD_MARKERS, ORCHARD_STEWARD_MARKERS[0], OSCAR_MARKERS[0]}
    if viewer == "olga" and page == "resource":
        return {*ORCHARD_MARKERS, *OSCAR_MARKERS}
    if viewer == "olga" and page == "members":
        return set(OSCAR_MARKERS)
    if viewer == "olga" and page == "alerts":
        return {
            *ORCHARD_MARKERS,
            ORCHARD_STEWARD_MARKERS[0],
            ORCHARD_COLLECTOR_MARK,
            OSCAR_MARKERS[0],
        }
    if viewer == "olga" and page == "sources":  # the quarantine reason names the press
        return {*ORCHARD_MARKERS, ORCHARD_STEWARD_MARKERS[1]}
    if viewer == "oscar" and page in ("my_usage", "health"):
        return {*ORCHARD_MARKERS, *(OSCAR_MARKERS[1:] if page == "my_usage" else ())}
    return set()


EVERY_MARKER = {
    *ALICE_MARKERS,
    *BOB_MARKERS,
    *STEWARD_MARKERS,
    *ORCHARD_MARKERS,
    *ORCHARD_STEWARD_MARKERS,
    *OSCAR_MARKERS,
    LOANS_COLLECTOR_MARK,
    ORCHARD_COLLECTOR_MARK,
}


@pytest.mark.parametrize("viewer", list(VIEWERS), ids=lambda v: v or "anonymous")
def test_matrix(federation: Federation, viewer: str | None) -> None:
    role = VIEWERS[viewer]
    at = signed_in(viewer)
    assert not at.exception
    for page in ALL_PAGES:
        for resource in RESOURCES:
            if page not in PAGES[role]:
                # Not registered for this role: navigation refuses to switch to it.
                with pytest.raises(ValueError, match="Could not find a navigation page"):
                    open_page(at, page, resource)
                continue
            open_page(at, page, resource)
            assert not at.exception, (viewer, page, resource, at.exception)
            text = shown_text(at)
            may = allowed(viewer, page, resource)
            for marker in EVERY_MARKER:
                cell = f"{viewer or 'anonymous'} x {page} x {resource}: {marker!r}"
                if marker in may:
                    assert marker in text, f"missing {cell}"
                else:
                    assert marker not in text, f"leak {cell}"


def test_member_b_never_sees_member_a_after_a_warmed_the_cache(federation: Federation) -> None:
    alice = open_page(signed_in("alice"), "my_usage")
    assert "ALICE-QUOTA-NOTE" in shown_text(alice)
    bob = open_page(signed_in("bob"), "my_usage")
    text = shown_text(bob)
    assert "BOB-QUOTA-NOTE" in text
    for marker in ALICE_MARKERS:
        assert marker not in text
    # And back: Alice's cached answer is still hers alone.
    again = shown_text(open_page(signed_in("alice"), "my_usage"))
    assert "ALICE-QUOTA-NOTE" in again and "BOB-QUOTA-NOTE" not in again
