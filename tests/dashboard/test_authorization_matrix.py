"""Who sees what: two commons, a steward and members of each, anonymous x every page x resource.

Each cell opens a page as that viewer (signed in through the form) and reads
back everything it shows. A cell may show a marker only if the viewer may see
it; another role's page shows the sign-in form or a refusal and nothing else. The process-wide
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
HOME = {"steward": "overview", "member": "my_usage"}
RESOURCES = ("fund", "drill", "odd", "cider")


def allowed(viewer: str | None, page: str, resource: str) -> set[str]:
    """The markers a viewer may see on a page (about a resource)."""
    if viewer == "sam" and (page == "members" or (page, resource) == ("resource", "fund")):
        return {*ALICE_MARKERS, *BOB_MARKERS}
    # A resource's recent loans name the members who borrowed (by name, for their
    # steward); a resource of another commons falls back to the first of his own.
    if viewer == "sam" and page == "resource":
        return {"drill": {ALICE_MARKERS[0], BOB_MARKERS[0]}}.get(resource, {BOB_MARKERS[0]})
    if viewer == "sam" and page == "overview":
        return {STEWARD_MARKERS[0], LOANS_COLLECTOR_MARK}
    # A member alert and a quarantined raw row name Bob: his steward may see both.
    if viewer == "sam" and page == "alerts":
        return {STEWARD_MARKERS[0], BOB_MARKERS[0], LOANS_COLLECTOR_MARK}
    if viewer == "sam" and page == "sources":
        return {STEWARD_MARKERS[1], BOB_MARKERS[0]}
    if viewer == "alice" and page == "my_usage":
        return set(ALICE_MARKERS)
    if viewer == "bob" and page == "my_usage":
        return set(BOB_MARKERS)
    # Health lists every commons' resources (names and public figures) for everyone:
    # signing in neither shrinks it nor adds anything personal to it.
    if page == "health":
        return set(ORCHARD_MARKERS)
    # Firing alerts: the press's overbooking, Oscar's quota and the stale orchard feed.
    if viewer == "olga" and page == "overview":
        return {
            *ORCHARD_MARKERS,
            ORCHARD_STEWARD_MARKERS[0],
            OSCAR_MARKERS[0],
            ORCHARD_COLLECTOR_MARK,
        }
    if viewer == "olga" and page == "resource":
        return {*ORCHARD_MARKERS, *OSCAR_MARKERS}
    if viewer == "olga" and page == "members":  # resources by name: the press is hers
        return {*OSCAR_MARKERS, *ORCHARD_MARKERS}
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
        return {*ORCHARD_MARKERS, *(OSCAR_MARKERS if page == "my_usage" else ())}
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
            open_page(at, page, resource)
            shown_as = page
            if page == "sign_in" and role != "public":
                # Signed in, the sign-in address opens the viewer's start page.
                shown_as = HOME[role]
            elif page not in PAGES[role]:
                # Another role's page: its address shows the sign-in form (signed
                # out) or says it is not for this viewer, and nothing else.
                text = shown_text(at)
                refusal = "Sign in to open" if role == "public" else "Not allowed"
                assert refusal in text, (viewer, page)
                for marker in EVERY_MARKER:
                    assert marker not in text, f"leak {viewer} x {page} x {resource}: {marker!r}"
                continue
            assert not at.exception, (viewer, page, resource, at.exception)
            text = shown_text(at)
            may = allowed(viewer, shown_as, resource)
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
