"""Sessions in a real browser: reloads, deep links, sign-out and disabled accounts (Chromium)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import yaml

from steward import access
from steward.workspace import open_workspace

from .browser import CHROMIUM, served, sign_in, wait_idle
from .fixtures import PASSWORDS, Federation, build

REQUIRED = bool(os.environ.get("STEWARD_REQUIRE_BROWSER"))
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists() and not REQUIRED,
        reason=f"{CHROMIUM} is missing: apt-get install -y chromium",
    ),
]
COOKIE = "steward_session"


@pytest.fixture(scope="module")
def fed(tmp_path_factory: pytest.TempPathFactory) -> Federation:
    directory = tmp_path_factory.mktemp("sessions")
    built = build(directory, f"sqlite:///{directory / 'steward.db'}")
    # The overview's live fragment reruns on its own only after an hour here, so a
    # test that reruns it (by typing) knows which rerun it is waiting for.
    settings = yaml.safe_load(built.config.read_text())
    settings["dashboard"]["refresh_seconds"] = 3600
    built.config.write_text(yaml.safe_dump(settings, sort_keys=False))
    return built


@pytest.fixture(scope="module")
def url(fed: Federation) -> Iterator[str]:
    with served(fed.config, fed.config.parent / "dashboard.log") as address:
        yield address


@pytest.fixture
def context(browser):  # type: ignore[no-untyped-def]
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    yield ctx
    ctx.close()


def _session_cookie(context) -> dict:  # type: ignore[no-untyped-def,type-arg]
    """The session cookie once the browser holds it (it is written just after sign-in)."""
    for _ in range(100):
        found = [c for c in context.cookies() if c["name"] == COOKIE]
        if found:
            return found[0]
        context.pages[0].wait_for_timeout(100)
    raise AssertionError("the browser never received the session cookie")


def _cookie_written(page) -> None:  # type: ignore[no-untyped-def]
    """Wait until the browser holds the sign-in's cookie and the rerun that follows has run.

    The cookie component reruns the whole app when it has written the cookie
    (seconds after sign-in on a cold server): a test of what a fragment rerun
    alone does must not race with it.
    """
    _session_cookie(page.context)
    wait_idle(page)


def _add_steward(fed: Federation, username: str) -> None:
    ws = open_workspace(fed.config)
    try:
        with ws.store.write() as conn:
            access.create_account(
                conn,
                username=username,
                password=PASSWORDS["sam"],
                role="steward",
                commons="toolshed",
            )
    finally:
        ws.close()


def test_a_reload_and_a_new_tab_stay_signed_in_on_the_same_page(url: str, context) -> None:  # type: ignore[no-untyped-def]
    page = context.new_page()
    page.goto(url)
    wait_idle(page)
    sign_in(page, "sam", PASSWORDS["sam"])
    cookie = _session_cookie(context)
    assert cookie["sameSite"] == "Strict"
    page.get_by_role("link", name="Members", exact=True).first.click()
    page.wait_for_url("**/members", timeout=30_000)
    wait_idle(page)
    assert page.url.endswith("/members")
    page.reload()
    wait_idle(page)
    body = page.inner_text("body")
    assert "Signed in as sam" in body and "Quota status" in body
    assert page.url.endswith("/members")
    other = context.new_page()
    other.goto(f"{url}/alerts")
    wait_idle(other)
    assert "Signed in as sam" in other.inner_text("body")
    # The session id travels in a cookie only, never in an address.
    for tab in (page, other):
        assert cookie["value"] not in tab.url and "token" not in tab.url


def test_a_deep_link_signed_out_opens_its_page_after_sign_in(url: str, context) -> None:  # type: ignore[no-untyped-def]
    page = context.new_page()
    page.goto(f"{url}/resource?resource=fund")
    wait_idle(page)
    body = page.inner_text("body")
    assert "Sign in to open Resource" in body and "Page not found" not in body
    sign_in(page, "sam", PASSWORDS["sam"])
    page.get_by_role("heading", name="Repair fund", exact=True).wait_for(timeout=30_000)
    assert "resource=fund" in page.url and "/resource" in page.url
    assert "Recent" in page.inner_text("body")


def test_sign_out_ends_the_session_for_every_tab(url: str, context) -> None:  # type: ignore[no-untyped-def]
    page = context.new_page()
    page.goto(url)
    wait_idle(page)
    sign_in(page, "alice", PASSWORDS["alice"])
    _session_cookie(context)
    page.get_by_role("button", name="Sign out").click()
    page.get_by_text("Not signed in").wait_for(timeout=30_000)
    wait_idle(page)
    page.goto(url)
    wait_idle(page)
    body = page.inner_text("body")
    assert "Not signed in" in body and "ALICE-QUOTA-NOTE" not in body


def test_a_disabled_accounts_open_page_ends_on_its_next_rerun(
    url: str, fed: Federation, context
) -> None:  # type: ignore[no-untyped-def]
    _add_steward(fed, "tess")
    page = context.new_page()
    page.goto(url)
    wait_idle(page)
    sign_in(page, "tess", PASSWORDS["sam"])
    search = page.get_by_label("Find a resource")
    search.wait_for(timeout=60_000)
    _cookie_written(page)
    assert "Signed in as tess" in page.inner_text("body")
    ws = open_workspace(fed.config)
    try:
        with ws.store.write() as conn:
            access.disable_account(conn, "tess")
    finally:
        ws.close()
    # Typing in the search box reruns only the overview's live fragment (no full
    # rerun is due, and the fragment's own timer is an hour away).
    search.fill("fund")
    search.press("Enter")
    page.get_by_text("You were signed out: the account was disabled").wait_for(timeout=60_000)
    # The browser deletes the cookie and the component reruns the page: the
    # reason must still be there afterwards (it vanished on that rerun).
    for _ in range(100):
        if not [c for c in page.context.cookies() if c["name"] == COOKIE]:
            break
        page.wait_for_timeout(100)
    wait_idle(page)
    body = page.inner_text("body")
    assert "You were signed out: the account was disabled" in body
    assert "Not signed in" in body and "FIRING-MARK" not in body
    assert not [c for c in page.context.cookies() if c["name"] == COOKIE]
