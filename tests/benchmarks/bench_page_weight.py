"""Per page: the server's time to run the page script, and what it sends the browser.

Under load the browser costs more than the server (Chromium used 10-17x the
server's CPU in the 20-session run), so a page is measured both ways:

* server: CPU and wall milliseconds to run the page's script (Streamlit's
  AppTest, in this process, each script compiled once as the server does), cold
  (every ``st.cache_data`` cleared first) and warm (median of three more runs
  within the caches' lifetime);
* weight: elements the page draws, charts, the bytes of their Vega-Lite specs
  and the data rows they carry, and table rows and cells;
* with ``--browser``: the CPU milliseconds Debian's Chromium (every process of
  it) spends drawing the page, opened by its link in a signed-in tab as a
  person would (median of three visits), beside the server's CPU meanwhile.

Pages of a steward (``steward``), a member (``ada``) and a signed-out visitor,
on the demo as ``steward demo`` serves it (data, accounts, one pipeline run).

    python tests/benchmarks/bench_page_weight.py [--dir DIR] [--browser]
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "benchmarks"))

from bench_dashboard_load import build_demo  # noqa: E402

APP = REPO / "dashboards" / "app.py"
ROLES: dict[str, tuple[tuple[str, str] | None, tuple[str, ...]]] = {
    "steward": (("steward", "steward-demo"), ("overview", "resource", "alerts", "health")),
    "member": (("ada", "member-demo"), ("my_usage", "health")),
    "visitor": (None, ("sign_in", "health")),
}


def weight(at: Any) -> dict[str, int]:
    """Elements, charts, Vega-Lite spec bytes and data rows, table rows and cells of a page."""
    import pyarrow as pa

    out = {"elements": 0, "charts": 0, "spec_kb": 0, "chart_rows": 0, "table_rows": 0}
    cells = 0
    spec_bytes = 0

    def rows(data: bytes) -> int:
        return int(pa.ipc.open_stream(data).read_all().num_rows) if data else 0

    stack = [at._tree]
    while stack:
        node = stack.pop()
        children = getattr(node, "children", None)
        if isinstance(children, dict):
            stack.extend(children.values())
            continue
        out["elements"] += 1
        proto = getattr(node, "proto", None)
        if getattr(node, "type", "") == "vega_lite_chart" and proto is not None:
            out["charts"] += 1
            spec_bytes += len(proto.spec.encode())
            out["chart_rows"] += rows(proto.data.data) + sum(
                rows(d.data.data) for d in proto.datasets
            )
        elif getattr(node, "type", "") == "dataframe":
            shape = node.value.shape
            out["table_rows"] += int(shape[0])
            cells += int(shape[0] * shape[1])
    out["spec_kb"] = round(spec_bytes / 1024)
    out["table_cells"] = cells
    return out


def _compile_once() -> None:
    """Compile each page script once, as the server does.

    AppTest gives every run a new script cache, so each run compiled the app and
    its page again (about 30 ms of CPU) where a server compiles them once.
    """
    from streamlit.runtime.scriptrunner import script_cache

    shared = script_cache.ScriptCache()
    compile_script = script_cache.ScriptCache.get_bytecode

    def get_bytecode(self: Any, script_path: str) -> Any:
        return compile_script(shared, script_path)

    script_cache.ScriptCache.get_bytecode = get_bytecode  # type: ignore[method-assign]


def measure(config: Path) -> None:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from steward.commands.dashboard import warm_up

    os.environ["STEWARD_CONFIG"] = str(config)
    logging.getLogger("streamlit").setLevel(logging.ERROR)
    warm_up()  # as `steward dashboard` does before it listens
    _compile_once()
    print(
        f"{'role':8} {'page':10} {'cold CPU ms':>11} {'cold ms':>8} {'warm CPU ms':>11} "
        f"{'warm ms':>8} {'elements':>8} {'charts':>6} {'spec KB':>7} {'chart rows':>10} "
        f"{'table rows':>10} {'cells':>6}"
    )
    for role, (credentials, pages) in ROLES.items():
        at = AppTest.from_file(str(APP), default_timeout=120).run()
        if credentials is not None:
            at.text_input[0].input(credentials[0])
            at.text_input[1].input(credentials[1])
            at.button[0].click().run()
        for page in pages:
            at.switch_page(f"app_pages/{page}.py")
            st.cache_data.clear()
            runs: list[tuple[float, float]] = []
            for _ in range(4):
                w0, c0 = time.perf_counter(), time.process_time()
                at.run()
                runs.append((1000 * (time.process_time() - c0), 1000 * (time.perf_counter() - w0)))
            if at.exception:
                print(f"  {role} {page}: {at.exception[0].value}")
            w = weight(at)
            warm_cpu = statistics.median(r[0] for r in runs[1:])
            warm_wall = statistics.median(r[1] for r in runs[1:])
            print(
                f"{role:8} {page:10} {runs[0][0]:>11.0f} {runs[0][1]:>8.0f} {warm_cpu:>11.0f} "
                f"{warm_wall:>8.0f} {w['elements']:>8} {w['charts']:>6} {w['spec_kb']:>7} "
                f"{w['chart_rows']:>10} {w['table_rows']:>10} {w['table_cells']:>6}"
            )
    print(f"load average {os.getloadavg()[0]:.1f}")


LINKS = {
    "overview": "Overview",
    "resource": "Resource",
    "alerts": "Alerts",
    "health": "Commons health",
    "my_usage": "My usage",
    "sign_in": "Sign in",
}


def browser_cpu(config: Path, root: Path) -> None:
    """Chromium's and the server's CPU per page visit, one signed-in tab per role."""
    import psutil
    from bench_dashboard_load import serve
    from playwright.sync_api import sync_playwright

    sys.path.insert(0, str(REPO / "tests"))
    from dashboard.browser import CHROMIUM, CHROMIUM_ARGS, sign_in, wait_idle

    def cpu(procs: list[psutil.Process]) -> float:
        total = 0.0
        for proc in procs:
            try:
                t = proc.cpu_times()
            except psutil.Error:
                continue
            total += t.user + t.system + t.children_user + t.children_system
        return total

    server, url = serve(config, root / "dashboard-weight.log")
    me = psutil.Process(os.getpid())
    print(f"{'role':8} {'page':10} {'browser CPU ms':>14} {'server CPU ms':>13}")
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            for role, (credentials, pages) in ROLES.items():
                context = browser.new_context(viewport={"width": 1280, "height": 900})
                tab = context.new_page()
                tab.goto(url)
                wait_idle(tab)
                if credentials is not None:
                    sign_in(tab, *credentials)
                for page in pages:
                    spent: list[tuple[float, float]] = []
                    for _ in range(4):
                        ours = {server.pid, *(c.pid for c in psutil.Process(server.pid).children())}
                        chromium = [c for c in me.children(recursive=True) if c.pid not in ours]
                        b0, s0 = cpu(chromium), cpu([psutil.Process(server.pid)])
                        tab.get_by_role("link", name=LINKS[page], exact=True).first.click()
                        tab.wait_for_timeout(50)
                        wait_idle(tab)
                        tab.wait_for_timeout(300)  # charts draw after the script ends
                        chromium = [c for c in me.children(recursive=True) if c.pid not in ours]
                        b1, s1 = cpu(chromium), cpu([psutil.Process(server.pid)])
                        spent.append((1000 * (b1 - b0), 1000 * (s1 - s0)))
                        # Away and back, so each visit draws the page anew.
                        other = "Commons health" if page != "health" else LINKS[pages[0]]
                        tab.get_by_role("link", name=other, exact=True).first.click()
                        tab.wait_for_timeout(50)
                        wait_idle(tab)
                    print(
                        f"{role:8} {page:10} "
                        f"{statistics.median(b for b, _ in spent[1:]):>14.0f} "
                        f"{statistics.median(s for _, s in spent[1:]):>13.0f}"
                    )
                context.close()
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=60)
    print(f"load average {os.getloadavg()[0]:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--browser", action="store_true", help="also Chromium's CPU per page")
    args, _ = parser.parse_known_args()
    root = args.dir or Path(tempfile.mkdtemp(prefix="steward-weight-"))
    config = root / "demo" / "steward.yaml"
    if not config.exists():
        build_demo(root / "demo")
    measure(config)
    if args.browser:
        browser_cpu(config, root)


if __name__ == "__main__":
    main()
