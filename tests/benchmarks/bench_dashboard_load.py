"""Dashboard pages under load: 20 browser sessions on the demo at once.

Each session opens the dashboard in Debian's Chromium (one browser, a context per
session, driven by playwright's async API), signs in (stewards and members
alternate) and visits pages in turn; a page time runs from the navigation to the
moment Streamlit has run the script and drawn every element. Runs marked * open
each session as a tab of one signed-in profile per role instead: the browser
shares the 2 cores with the server, and 20 fresh profiles each download and
compile Streamlit's front end. Two spacings, each with both kinds of session:

* staggered: sessions start 1 s apart;
* burst: all 20 start at once.

The demo is built as ``steward demo`` serves it: data, accounts, then one
pipeline run (forecasts, flows, quotas, alerts) before the dashboard starts.

Prints per run: page loads, errors (timeouts, Streamlit exception boxes), first
page time, p50 / p95 / max page time, the server's RSS at start, peak and end,
the server's CPU per page load (user + system over the run divided by the loads:
the figure wall times on a shared machine cannot give), the CPU seconds the
browser (Chromium, 20 contexts) used meanwhile, and the load average at the start
of the run. Target: p95 <= 3 s on a 2-core machine, 0 errors.

    python tests/benchmarks/bench_dashboard_load.py [--sessions 20] [--pages 8] [--dir DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))

from dashboard.browser import CHROMIUM, CHROMIUM_ARGS, IDLE, SKELETONS, free_port  # noqa: E402

from steward.demo_runner import DEMO_ACCOUNTS, create_demo_accounts  # noqa: E402
from steward.pipeline import run_pipeline  # noqa: E402
from steward.workspace import open_workspace  # noqa: E402

TIMEOUT_MS = 120_000
STEWARD_PAGES = ("Commons health", "Alerts", "Resource", "Overview")
MEMBER_PAGES = ("Commons health", "My usage")


@dataclass
class Run:
    times: list[float] = field(default_factory=list)
    first: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    rss: list[float] = field(default_factory=list)
    cpu: float = 0.0
    browser_cpu: float = 0.0


async def _idle(page: Any) -> None:
    await page.wait_for_selector('[data-testid="stApp"]', timeout=TIMEOUT_MS)
    await page.wait_for_timeout(150)
    await page.wait_for_selector(IDLE, timeout=TIMEOUT_MS)
    await page.wait_for_function(
        f"() => document.querySelectorAll('{SKELETONS}').length === 0", timeout=TIMEOUT_MS
    )


async def _errors_on(page: Any) -> int:
    return int(await page.locator('[data-testid="stException"]').count())


def _credentials(steward: bool) -> tuple[str, str]:
    return ("steward", "steward-demo") if steward else ("ada", "member-demo")


async def _sign_in(page: Any, steward: bool, run: Run | None) -> None:
    username, password = _credentials(steward)
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password", exact=True).fill(password)
    t0 = time.perf_counter()
    await page.get_by_role("button", name="Sign in").click()
    await page.locator("text=/Signed in as/").first.wait_for(timeout=TIMEOUT_MS)
    await _idle(page)
    if run is not None:
        run.times.append(time.perf_counter() - t0)


async def session(
    browser: Any,
    url: str,
    n: int,
    pages: int,
    delay: float,
    run: Run,
    shared: dict[bool, Any] | None = None,
) -> None:
    """One user's visit; with ``shared``, a tab in its role's signed-in browser profile."""
    await asyncio.sleep(delay)
    steward = n % 2 == 0
    own = shared is None
    context = (
        await browser.new_context(viewport={"width": 1280, "height": 900})
        if shared is None
        else shared[steward]
    )
    page = await context.new_page()
    try:
        t0 = time.perf_counter()
        await page.goto(url, timeout=TIMEOUT_MS)
        await _idle(page)
        run.first.append(time.perf_counter() - t0)
        if own:
            await _sign_in(page, steward, run)
        names = STEWARD_PAGES if steward else MEMBER_PAGES
        for i in range(pages):
            link = names[i % len(names)]
            t0 = time.perf_counter()
            await page.get_by_role("link", name=link, exact=True).first.click()
            await page.wait_for_timeout(50)
            await _idle(page)
            run.times.append(time.perf_counter() - t0 - 0.05)
            if await _errors_on(page):
                run.errors.append(f"session {n}: an exception box on {link}")
    except Exception as exc:  # noqa: BLE001 - a benchmark counts failures, it does not stop
        run.errors.append(f"session {n}: {type(exc).__name__}: {str(exc).splitlines()[0]}")
    finally:
        await (context.close() if own else page.close())


async def _signed_in_profiles(browser: Any, url: str) -> dict[bool, Any]:
    """One browser profile per role, signed in once (untimed): its tabs share the
    profile's cache of Streamlit's front end, as one person's browser would."""
    profiles = {}
    for steward in (True, False):
        context = await browser.new_context(viewport={"width": 1280, "height": 900})
        page = await context.new_page()
        await page.goto(url, timeout=TIMEOUT_MS)
        await _idle(page)
        await _sign_in(page, steward, None)
        await page.close()
        profiles[steward] = context
    return profiles


async def load(
    url: str,
    sessions: int,
    pages: int,
    spacing: float,
    run: Run,
    server_pid: int,
    shared_profiles: bool = False,
) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        me = psutil.Process(os.getpid())
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        shared = await _signed_in_profiles(browser, url) if shared_profiles else None
        await asyncio.gather(
            *(session(browser, url, n, pages, n * spacing, run, shared) for n in range(sessions))
        )
        # The browser's processes (this script's descendants: playwright's driver and
        # Chromium) share the machine with the server: their CPU says who was busy.
        server = {server_pid, *(p.pid for p in psutil.Process(server_pid).children(recursive=True))}
        run.browser_cpu = sum(_cpu(p) for p in me.children(recursive=True) if p.pid not in server)
        await browser.close()


def _cpu(proc: psutil.Process) -> float:
    """CPU seconds of a process and of its children that ended (a closed tab's renderer)."""
    try:
        times = proc.cpu_times()
    except psutil.Error:
        return 0.0
    return float(times.user + times.system + times.children_user + times.children_system)


def sample_rss(pid: int, run: Run, stop: threading.Event) -> None:
    proc = psutil.Process(pid)
    while not stop.is_set():
        try:
            total = sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)])
        except psutil.Error:
            return
        run.rss.append(total / 2**20)
        stop.wait(0.25)


def server_cpu(pid: int) -> float:
    """CPU seconds (user + system) of the server and its children so far."""
    proc = psutil.Process(pid)
    total = 0.0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            times = p.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


def build_demo(directory: Path) -> Path:
    """The demo workspace as `steward demo` serves it: data, accounts, one pipeline run."""
    config = directory / "steward.yaml"
    subprocess.run(
        [sys.executable, "-m", "steward", "demo", "--dir", str(directory), "--no-serve"],
        check=True,
        capture_output=True,
    )
    create_demo_accounts(config)
    # The demo's notification inbox is not running here: its delivery warnings are noise.
    logging.getLogger("steward").setLevel(logging.ERROR)
    ws = open_workspace(config)
    try:
        run_pipeline(ws)
    finally:
        ws.close()
    return config


def serve(config: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("STEWARD_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "steward", "-c", str(config), "dashboard", "--port", str(port)],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/_stcore/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    proc.kill()
    raise SystemExit(f"the dashboard did not start:\n{log.read_text()}")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@contextmanager
def measured_server(config: Path, log: Path, name: str) -> Iterator[tuple[str, Run, float, int]]:
    """A fresh dashboard server for one run: yields its address, the run's figures
    (server RSS sampled meanwhile; its CPU filled in on exit), the 1-minute load
    average at the start, and the server's pid. On exit the server is stopped
    (SIGTERM, then SIGKILL after 60 s)."""
    proc, url = serve(config, log)
    run = Run()
    load_avg = os.getloadavg()[0]
    cpu_start = server_cpu(proc.pid)
    stop = threading.Event()
    sampler = threading.Thread(target=sample_rss, args=(proc.pid, run, stop))
    sampler.start()
    try:
        yield url, run, load_avg, proc.pid
    finally:
        stop.set()
        sampler.join()
        run.cpu = server_cpu(proc.pid) - cpu_start
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            print(f"  the server did not stop within 60 s of SIGTERM ({name}); killed")
            proc.kill()
            proc.wait()


def table_header(client: str) -> str:
    """The header of the per-run table; ``client``: "browser" or "client" (its CPU column)."""
    return (
        f"{'run':10} {'loads':>6} {'errors':>6} {'first p50':>9} {'first max':>9} "
        f"{'p50 s':>6} {'p95 s':>6} {'max s':>6} {'RSS MB start/peak/end':>22} "
        f"{'CPU ms/load':>11} {client + ' CPU s':>13} {'load avg':>8}"
    )


def table_row(name: str, run: Run, load_avg: float) -> str:
    """One run's row under :func:`table_header`: times in s, RSS in MB, server CPU in ms
    per page load (visits and first pages), the client's CPU in s."""
    rss = f"{run.rss[0]:.0f}/{max(run.rss):.0f}/{run.rss[-1]:.0f}" if run.rss else "-"
    times = run.times or [float("nan")]
    first = run.first or [float("nan")]
    return (
        f"{name:10} {len(run.times):>6} {len(run.errors):>6} "
        f"{statistics.median(first):>9.2f} {max(first):>9.2f} "
        f"{statistics.median(times):>6.2f} {pct(times, 0.95):>6.2f} {max(times):>6.2f} "
        f"{rss:>22} {1000 * run.cpu / max(1, len(run.times) + len(run.first)):>11.0f} "
        f"{run.browser_cpu:>13.1f} {load_avg:>8.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--pages", type=int, default=8)
    parser.add_argument("--dir", type=Path, default=None)
    args, _ = parser.parse_known_args()
    if not CHROMIUM.exists():
        print(f"skipped: {CHROMIUM} is missing (apt-get install -y chromium)")
        return
    root = args.dir or Path(tempfile.mkdtemp(prefix="steward-load-"))
    config = root / "demo" / "steward.yaml"
    if not config.exists():
        build_demo(root / "demo")
    assert {a[0] for a in DEMO_ACCOUNTS} >= {"steward", "ada"}
    print(f"{args.sessions} sessions, {args.pages} page visits each after sign-in, demo data")
    print(table_header("browser"))
    runs = [
        ("staggered", 1.0, False),
        ("burst", 0.0, False),
        ("staggered*", 1.0, True),
        ("burst*", 0.0, True),
    ]
    for name, spacing, shared_profiles in runs:
        # A fresh server per run: the burst run starts on a cold server too.
        with measured_server(config, root / f"dashboard-{name}.log", name) as (
            url,
            run,
            load_avg,
            pid,
        ):
            asyncio.run(load(url, args.sessions, args.pages, spacing, run, pid, shared_profiles))
        print(table_row(name, run, load_avg))
        for error in run.errors[:5]:
            print(f"  {error}")
    print(
        "*: sessions are tabs of one signed-in browser profile per role, so Chromium\n"
        "   compiles Streamlit's front end once per role, not once per session; on one\n"
        "   2-core machine the 20 profiles otherwise cost the browser many times the\n"
        "   server's CPU (sign-in is then untimed)."
    )
    print("target: p95 <= 3 s, 0 errors")


if __name__ == "__main__":
    main()
