"""Serve the dashboard with `steward dashboard` and drive Debian's Chromium through playwright."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
# Streamlit loads element code (metrics, charts, tables) lazily and shows these
# skeletons meanwhile: the script can be done while the page is not drawn yet.
SKELETONS = '[data-testid="stSkeleton"], [data-testid="stSkeletonElement"]'
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def served(config: Path, log: Path, *, timeout: float = 60) -> Iterator[str]:
    """`steward dashboard` on a free port until the block ends; yields its URL."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "STEWARD_CONFIG"}
    with log.open("w") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "steward",
                "--config",
                str(config),
                "dashboard",
                "--port",
                str(port),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + timeout
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"dashboard exited early:\n{log.read_text()}")
                try:
                    if httpx.get(f"{url}/_stcore/health", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"dashboard did not start in {timeout}s:\n{log.read_text()}")
                time.sleep(0.2)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def wait_idle(page, timeout: float = 30_000) -> None:  # type: ignore[no-untyped-def]
    """Wait until Streamlit has run the script and drawn every element it sent."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout)
    page.wait_for_timeout(150)
    page.wait_for_selector(IDLE, timeout=timeout)
    page.wait_for_function(
        f"() => document.querySelectorAll('{SKELETONS}').length === 0", timeout=timeout
    )


def sign_in(page, username: str, password: str) -> None:  # type: ignore[no-untyped-def]
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    # Signing in reruns the script twice (the form, then st.rerun): wait for the outcome.
    page.locator("text=/Signed in as|Wrong username/").first.wait_for(timeout=30_000)
    wait_idle(page)
