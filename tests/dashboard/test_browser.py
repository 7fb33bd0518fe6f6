"""The dashboard in a real browser: served by `steward dashboard`, driven in Chromium."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from .browser import ARTIFACTS, CHROMIUM, served, sign_in, wait_idle
from .fixtures import PASSWORDS, XSS_NAME, build

GRID_CELLS = 'td[role="gridcell"]'
# CI sets STEWARD_REQUIRE_BROWSER: there a missing Chromium fails these tests instead
# of skipping them; on a laptop without it they skip and say why.
REQUIRED = bool(os.environ.get("STEWARD_REQUIRE_BROWSER"))

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists() and not REQUIRED,
        reason=f"{CHROMIUM} is missing: apt-get install -y chromium",
    ),
]


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    directory = tmp_path_factory.mktemp("browser")
    fed = build(directory, f"sqlite:///{directory / 'steward.db'}")
    with served(fed.config, directory / "dashboard.log") as address:
        yield address


@pytest.fixture
def page(browser):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    dialogs: list[str] = []
    tab.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    tab.dialogs = dialogs
    yield tab
    context.close()


def shot(page, name: str) -> Path:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def test_anonymous_sees_sign_in_and_public_health(url: str, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(url)
    wait_idle(page)
    assert page.get_by_role("heading", name="Sign in").is_visible()
    shot(page, "anonymous-sign-in")
    page.goto(f"{url}/health")
    wait_idle(page)
    body = page.inner_text("body")
    assert "Commons health" in body and "Repair fund" in body
    assert "Alice Aardvark" not in body and "ALICE-QUOTA-NOTE" not in body
    shot(page, "anonymous-health")


def test_steward_overview_and_resource(url: str, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(url)
    wait_idle(page)
    sign_in(page, "sam", PASSWORDS["sam"])
    body = page.inner_text("body")
    assert "Overview" in body
    # The overview's lines are a data grid drawn on a canvas; its cells are in
    # the page as (visually hidden) table cells for screen readers.
    page.locator(GRID_CELLS).first.wait_for(state="attached", timeout=30_000)
    cells = " ".join(page.locator(GRID_CELLS).all_text_contents())
    # The grid draws only the columns in view: scroll it to its right edge for the rest.
    page.locator(".dvn-scroller").first.evaluate("el => { el.scrollLeft = el.scrollWidth; }")
    page.wait_for_timeout(500)
    cells += " " + " ".join(page.locator(GRID_CELLS).all_text_contents())
    assert "62% chance Repair fund falls below its reserve by" in cells
    assert "Fund alert FIRING-MARK" in cells
    shot(page, "steward-overview")
    page.get_by_role("link", name="Resource").first.click()
    wait_idle(page)
    body = page.inner_text("body")
    assert "Recent" in body and "Quotas" in body
    shot(page, "steward-resource")


def test_member_sees_only_their_usage(url: str, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(url)
    wait_idle(page)
    sign_in(page, "alice", PASSWORDS["alice"])
    shot(page, "member-my-usage")
    body = page.inner_text("body")
    assert "My usage" in body and "ALICE-QUOTA-NOTE" in body and "37.25" in body
    assert "Bob Bramble" not in body and "BOB-QUOTA-NOTE" not in body
    page.get_by_role("button", name="Sign out").click()
    page.get_by_text("Not signed in").wait_for(timeout=30_000)
    wait_idle(page)
    body = page.inner_text("body")
    assert "Not signed in" in body and "ALICE-QUOTA-NOTE" not in body


def test_html_in_a_resource_name_is_text_and_runs_no_script(url: str, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(url)
    wait_idle(page)
    sign_in(page, "sam", PASSWORDS["sam"])
    page.locator(GRID_CELLS).first.wait_for(state="attached", timeout=30_000)
    assert XSS_NAME in page.locator(GRID_CELLS).all_text_contents()
    assert page.locator('img[src="x"]').count() == 0
    page.get_by_role("link", name="Commons health").click()
    wait_idle(page)
    page.get_by_text(XSS_NAME).first.wait_for(timeout=10_000)
    assert page.locator('img[src="x"]').count() == 0
    assert page.dialogs == []
    shot(page, "steward-html-name")


def test_wrong_password_shows_nothing_personal(url: str, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(url)
    wait_idle(page)
    sign_in(page, "alice", "definitely-wrong")
    body = page.inner_text("body")
    assert "Wrong username or password" in body and "ALICE-QUOTA-NOTE" not in body
