"""What a first-time reader sees in Chromium: the alerts form, public health, the fan chart."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from .browser import ARTIFACTS, CHROMIUM, served, sign_in, wait_idle
from .fixtures import PASSWORDS, build

REQUIRED = bool(os.environ.get("STEWARD_REQUIRE_BROWSER"))

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists() and not REQUIRED,
        reason=f"{CHROMIUM} is missing: apt-get install -y chromium",
    ),
]


@pytest.fixture(scope="module")
def served_dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    directory = tmp_path_factory.mktemp("reading")
    fed = build(directory, f"sqlite:///{directory / 'steward.db'}")
    log = directory / "dashboard.log"
    with served(fed.config, log) as address:
        yield address, log


@pytest.fixture
def page(browser):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1400, "height": 1600})
    tab = context.new_page()
    yield tab
    context.close()


def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_the_server_starts_without_asking_for_a_restart(
    served_dashboard: tuple[str, Path],
) -> None:
    _, log = served_dashboard
    assert "config option" not in log.read_text()


def test_silence_for_is_offered_only_when_silencing(
    served_dashboard: tuple[str, Path],
    page,  # type: ignore[no-untyped-def]
) -> None:
    url, _ = served_dashboard
    page.goto(url)
    wait_idle(page)
    sign_in(page, "sam", PASSWORDS["sam"])
    page.goto(f"{url}/alerts")
    wait_idle(page)
    page.get_by_text("Acknowledge or silence").wait_for(timeout=30_000)
    assert page.get_by_text("Silence for").count() == 0
    page.get_by_text("Silence", exact=True).first.click()
    wait_idle(page)
    page.get_by_text("Silence for").wait_for(timeout=30_000)
    shot(page, "steward-alerts-silence")
    page.get_by_text("Acknowledge", exact=True).first.click()
    wait_idle(page)
    assert page.get_by_text("Silence for").count() == 0


def test_a_member_sees_every_commons_public_health(
    served_dashboard: tuple[str, Path],
    page,  # type: ignore[no-untyped-def]
) -> None:
    url, _ = served_dashboard
    page.goto(f"{url}/health")
    wait_idle(page)
    visitor = page.inner_text('[data-testid="stMain"]')
    page.goto(url)
    wait_idle(page)
    sign_in(page, "alice", PASSWORDS["alice"])
    page.goto(f"{url}/health")
    wait_idle(page)
    member = page.inner_text('[data-testid="stMain"]')
    shot(page, "member-health")
    for name in ("Cider press", "Repair fund", "Orchard", "Toolshed"):
        assert name in visitor and name in member, name
    assert "Toolshed (your commons)" in member


def test_the_resource_page_reads_in_plain_words(
    served_dashboard: tuple[str, Path],
    page,  # type: ignore[no-untyped-def]
) -> None:
    url, _ = served_dashboard
    page.goto(url)
    wait_idle(page)
    sign_in(page, "sam", PASSWORDS["sam"])
    page.goto(f"{url}/resource?resource=fund")
    wait_idle(page)
    page.locator("canvas, svg").first.wait_for(timeout=30_000)
    body = page.inner_text('[data-testid="stMain"]')
    shot(page, "steward-resource-words")
    assert "exponential smoothing (recent values weigh most)" in body
    assert "MASE: " in body
    # The fan chart's legend and axis: dates with years, the unit on the axis.
    assert "forecast median" in body and "level (EUR)" in body


def test_an_alert_is_written_out_in_full_with_when_and_what_to_do(
    served_dashboard: tuple[str, Path],
    page,  # type: ignore[no-untyped-def]
) -> None:
    """The grid cut "What" to its column and kept the times and advice past its edge.

    The page writes each firing alert out under the table, as text the browser wraps:
    its whole summary, when it fired in the commons' clock, and what to do.
    """
    url, _ = served_dashboard
    page.goto(url)
    wait_idle(page)
    sign_in(page, "sam", PASSWORDS["sam"])
    page.goto(f"{url}/alerts")
    wait_idle(page)
    page.get_by_text("In full").first.wait_for(timeout=30_000)
    body = page.inner_text('[data-testid="stMain"]')
    shot(page, "steward-alerts-in-full")
    assert "#1 critical · Repair fund · depletion" in body
    assert "Fund alert FIRING-MARK: 62% chance below reserve" in body
    assert "What to do: plan a refill or replenishment" in body
    assert "How sure: " in body
    fired = [line for line in body.splitlines() if " · Fired " in line]
    assert fired and fired[0].endswith(("CET", "CEST")), fired
