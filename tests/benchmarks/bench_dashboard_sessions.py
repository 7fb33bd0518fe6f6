"""Dashboard pages under load: 20 sessions on the demo, over Streamlit's websocket, no browser.

The sibling bench (``bench_dashboard_load.py``) drives the same sessions in
Chromium on the same 2 cores as the server; the browser then uses about ten
times the server's CPU, so its page times mostly measure the browser. In a
deployment the members' browsers run on their own machines. This bench keeps
the server's side of the same load and drops the browser: each session is a
websocket client speaking Streamlit's own protocol, as the front end does.

A session connects to ``/_stcore/stream`` with a signed-in session cookie in the
handshake (the dashboard reads it from ``st.context.cookies``; the cookie is
issued before the server starts, with :func:`steward.sessions.issue`, as a
password sign-in would). It sends the ``BackMsg`` a browser sends on opening the
root address (``rerun_script`` with an empty page hash and the browser's
``ContextInfo``), then one ``rerun_script`` per page visit, naming the page by
the script hash the server's ``Navigation`` message gave for that page title:
the message a click on the sidebar link sends (without the values of the
widgets on the page left; the page mix has none a visitor would have changed).
Stewards and members alternate; stewards visit Commons health, Alerts,
Resource, Overview in turn, members Commons health and My usage, 8 visits per
session (the browser bench's mix). A fragment that asks for automatic reruns
(``AutoRerun``: the Overview's refreshing list) is rerun at its interval while
its page is open, as the browser would. Two spacings: sessions start 1 s apart
(staggered) or all at once (burst); a fresh server per run.

A page time runs from sending the request to the ``ForwardMsg`` whose
``script_finished`` is ``FINISHED_SUCCESSFULLY`` (a run ended early for a rerun,
such as the root address switching to the viewer's start page, does not end
it). An error is a ``Delta`` with an ``exception`` element, a page that did not
finish within the timeout, a dropped connection, a start page without its
title (Overview, My usage) or any page without the "Signed in as" caption or
with the sign-in form's title: a bench that timed the sign-in form would
measure the wrong page. Before the runs, one steward and one member session
alone must pass that check, or the bench stops.

What the figure measures: the server's time to run each page's script and send
every element, under 20 concurrent sessions, including the websocket transfer
on loopback and protobuf decoding in this client. What it does not: the
browser's work (fetching and compiling the front end, laying out and drawing
elements, loading element code lazily), the password sign-in (the cookie is
issued beforehand; the browser bench times the sign-in form as a page load),
and the HTTP requests a browser makes beside the websocket (index.html,
scripts, media). It is a lower bound on what a member sees, not the figure
itself.

Prints per run the browser bench's columns: page loads (visits after the start
page), errors, first page time (connect to the start page finished; median and
max), p50 / p95 / max time of the page visits, the server's RSS at start, peak
and end, the server's CPU per page load (visits and first pages), the CPU
seconds this client used, and the load average at the start of the run.
Target: p95 <= 3 s on a 2-core machine, 0 errors.

Internal to Streamlit: ``streamlit.proto`` is the wire format its server and
front end share (generated protobuf code, importable but not a documented
API), and the route ``/_stcore/stream`` with the subprotocol "streamlit" is
what its front end opens. Both may change with a Streamlit release; the
single-session check above then fails rather than timing something else.

    python tests/benchmarks/bench_dashboard_sessions.py [--sessions 20] [--pages 8] [--dir DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from websockets.asyncio.client import ClientConnection, connect

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "benchmarks"))

# The browser bench's demo, server, samplers and page mix, so both benches load alike.
from bench_dashboard_load import (  # noqa: E402
    MEMBER_PAGES,
    STEWARD_PAGES,
    Run,
    build_demo,
    measured_server,
    table_header,
    table_row,
)

from steward import access, sessions  # noqa: E402
from steward.workspace import open_workspace  # noqa: E402

TIMEOUT_S = 120.0
ACCOUNTS = {True: "steward", False: "ada"}  # demo accounts (steward.demo_runner.DEMO_ACCOUNTS)
START = {True: "Overview", False: "My usage"}  # the title of each role's start page
FINISHED = ForwardMsg.ScriptFinishedStatus.FINISHED_SUCCESSFULLY
CLIENT = "websocket (websockets, Streamlit protobufs; no browser)"


@dataclass
class Page:
    """What one full script run sent: the texts seen and the exceptions shown."""

    texts: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)

    def signed_in(self, username: str, title: str | None = None) -> bool:
        """The signed-in app: its sidebar caption names the user, no sign-in form.

        With ``title``, the page's own title (a heading) must be there too.
        """
        joined = "\n".join(self.texts)
        return (
            f"Signed in as {username}" in joined
            and "Sign in to Steward" not in joined
            and (title is None or title in self.texts)
        )


class Session:
    """One browser tab's side of Streamlit's websocket protocol.

    Keeps the page hashes the last ``Navigation`` message announced (title ->
    hash), the query string the server last set and the fragments that asked for
    automatic reruns on the current page (fragment id -> interval in seconds).
    """

    def __init__(self, ws: ClientConnection, url: str) -> None:
        self.ws = ws
        self.url = url
        self.pages: dict[str, str] = {}
        self.page_hash = ""
        self.query = ""
        self.auto: dict[str, float] = {}
        self._auto_task: asyncio.Task[None] | None = None

    async def send(self, page_hash: str, fragment: str = "") -> None:
        """Send the ``rerun_script`` BackMsg the front end sends; returns without waiting.

        ``page_hash`` "" opens the root address (the app's default page); a hash
        from ``Navigation`` is a click on that page's link (no widget values, no
        query string). With ``fragment``, an automatic rerun of that fragment of
        the current page (its query string kept). Raises the websocket's
        ``ConnectionClosed`` when the server has gone.
        """
        msg = BackMsg()
        state = msg.rerun_script
        state.query_string = self.query if fragment else ""
        state.page_script_hash = page_hash
        state.page_name = ""
        state.widget_states.SetInParent()
        if fragment:
            state.fragment_id = fragment
            state.is_auto_rerun = True
        info = state.context_info
        info.timezone = "UTC"
        info.timezone_offset = 0
        info.locale = "en-GB"
        info.url = self.url + "/"
        info.is_embedded = False
        info.color_scheme = "light"
        await self.ws.send(msg.SerializeToString())

    async def run(self, page_hash: str) -> Page:
        """Ask for a full run of a page (see :meth:`send`) and read until it finished.

        Reads every ForwardMsg until ``script_finished`` is ``FINISHED_SUCCESSFULLY``
        (an app run cut short by ``st.switch_page`` or ``st.rerun`` goes on to the
        run it asked for). Raises TimeoutError after ``TIMEOUT_S`` seconds.
        """
        self._stop_auto()
        self.auto = {}
        await self.send(page_hash)
        page = Page()
        begun = False  # replies to an earlier fragment rerun may come first
        async with asyncio.timeout(TIMEOUT_S):
            while True:
                fwd = ForwardMsg()
                fwd.ParseFromString(await self.ws.recv(decode=False))
                kind = fwd.WhichOneof("type")
                if kind == "delta":
                    self._read_delta(fwd, page)
                elif kind == "navigation":
                    # The sidebar's links: hidden pages share titles (the start page's
                    # redirect is titled as the page it opens) and have no link.
                    self.pages = {
                        p.page_name: p.page_script_hash
                        for p in fwd.navigation.app_pages
                        if not p.is_hidden
                    }
                    self.page_hash = fwd.navigation.page_script_hash
                elif kind == "page_info_changed":
                    self.query = fwd.page_info_changed.query_string
                elif kind == "new_session":
                    begun = True
                elif kind == "auto_rerun" and begun:
                    self.auto[fwd.auto_rerun.fragment_id] = fwd.auto_rerun.interval
                elif kind == "script_finished" and fwd.script_finished == FINISHED:
                    break
        if self.auto:
            self._auto_task = asyncio.create_task(self._auto_reruns())
        return page

    @staticmethod
    def _read_delta(fwd: ForwardMsg, page: Page) -> None:
        if fwd.delta.WhichOneof("type") != "new_element":
            return
        element = fwd.delta.new_element
        kind = element.WhichOneof("type")
        if kind == "exception":
            page.exceptions.append(f"{element.exception.type}: {element.exception.message}")
        elif kind == "heading":
            page.texts.append(element.heading.body)
        elif kind == "markdown":
            page.texts.append(element.markdown.body)

    async def _auto_reruns(self) -> None:
        """Rerun the page's refreshing fragments at their intervals, as the front end does.

        Their replies are left unread until the next page request drains them
        (the websocket buffers them); a fragment run never ends a page.
        """
        started = time.monotonic()
        due = {fragment: interval for fragment, interval in self.auto.items() if interval > 0}
        if not due:
            return
        elapsed = dict.fromkeys(due, 0.0)
        while True:
            fragment = min(due, key=lambda f: elapsed[f] + due[f])
            wait = started + elapsed[fragment] + due[fragment] - time.monotonic()
            await asyncio.sleep(max(0.0, wait))
            elapsed[fragment] += due[fragment]
            await self.send(self.page_hash, fragment=fragment)

    def _stop_auto(self) -> None:
        if self._auto_task is not None:
            self._auto_task.cancel()
            self._auto_task = None

    def close(self) -> None:
        self._stop_auto()


def ws_url(url: str) -> str:
    """The websocket address of a dashboard served at ``url`` (http://host:port)."""
    return url.replace("http://", "ws://", 1) + "/_stcore/stream"


async def session(
    url: str, token: str, n: int, pages: int, delay: float, run: Run, verbose: bool = False
) -> None:
    """One user's visit over the websocket: open the root address, then ``pages`` page links."""
    await asyncio.sleep(delay)
    steward = n % 2 == 0
    username = ACCOUNTS[steward]
    names = STEWARD_PAGES if steward else MEMBER_PAGES
    tab: Session | None = None
    try:
        t0 = time.perf_counter()
        async with connect(
            ws_url(url),
            subprotocols=["streamlit"],  # type: ignore[list-item]
            additional_headers={"Cookie": f"{sessions.COOKIE}={token}"},
            origin=url,  # type: ignore[arg-type]
            max_size=None,
            open_timeout=TIMEOUT_S,
        ) as ws:
            tab = Session(ws, url)
            first = await tab.run("")
            run.first.append(time.perf_counter() - t0)
            if verbose:
                print(f"  session {n} ({username}) first page: {first.texts[:4]}")
            if not first.signed_in(username, START[steward]):
                run.errors.append(f"session {n}: not the signed-in start page: {first.texts[:3]}")
                return
            run.errors.extend(f"session {n}: on the start page: {e}" for e in first.exceptions)
            for i in range(pages):
                title = names[i % len(names)]
                t0 = time.perf_counter()
                shown = await tab.run(tab.pages[title])
                run.times.append(time.perf_counter() - t0)
                if verbose:
                    print(f"  session {n} {title}: {shown.texts[:2]}")
                run.errors.extend(f"session {n}: on {title}: {e}" for e in shown.exceptions)
                if not shown.signed_in(username):
                    run.errors.append(f"session {n}: {title} is not signed in: {shown.texts[:3]}")
    except TimeoutError:
        run.errors.append(f"session {n}: no finished page within {TIMEOUT_S:.0f} s")
    except Exception as exc:  # noqa: BLE001 - a benchmark counts failures, it does not stop
        run.errors.append(f"session {n}: {type(exc).__name__}: {str(exc).splitlines()[0]}")
    finally:
        if tab is not None:
            tab.close()


def issue_tokens(config: Path, count: int) -> list[str]:
    """A signed session cookie per session (stewards at even numbers), as a sign-in issues it.

    The key is read as the server reads it: the server runs without STEWARD_* variables.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("STEWARD_")}
    ws = open_workspace(config)
    try:
        with ws.store.write() as conn:
            key = access.signing_key(conn, env)
            accounts = {}
            for steward, username in ACCOUNTS.items():
                account = access.get_account(conn, username)
                if account is None:
                    raise SystemExit(f"the demo has no account {username!r}")
                accounts[steward] = account
            return [sessions.issue(conn, accounts[n % 2 == 0], key) for n in range(count)]
    finally:
        ws.close()


async def load(
    url: str, tokens: list[str], pages: int, spacing: float, run: Run, verbose: bool = False
) -> None:
    """Every session, the n-th (from 0) starting ``n * spacing`` seconds in; fills ``run``."""
    await asyncio.gather(
        *(
            session(url, token, n, pages, n * spacing, run, verbose)
            for n, token in enumerate(tokens)
        )
    )


def _own_cpu() -> float:
    """CPU seconds (user + system) this process used so far: the client's cost."""
    times = psutil.Process().cpu_times()
    return float(times.user + times.system)


def measure(
    config: Path, log: Path, tokens: list[str], pages: int, spacing: float, verbose: bool = False
) -> tuple[Run, float]:
    """One run on a fresh server; returns the figures and the 1-minute load average at its start.

    ``tokens`` are session cookies from :func:`issue_tokens`, one per session.
    The server is stopped (SIGTERM, then SIGKILL after 60 s) before returning.
    """
    with measured_server(config, log, log.stem) as (url, run, load_avg, _pid):
        own_start = _own_cpu()
        try:
            asyncio.run(load(url, tokens, pages, spacing, run, verbose))
        finally:
            run.browser_cpu = _own_cpu() - own_start  # this client's CPU (the sampler's included)
    return run, load_avg


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--pages", type=int, default=8)
    parser.add_argument("--dir", type=Path, default=None)
    args, _ = parser.parse_known_args()
    root = args.dir or Path(tempfile.mkdtemp(prefix="steward-sessions-"))
    config = root / "demo" / "steward.yaml"
    if not config.exists():
        build_demo(root / "demo")
    logging.getLogger("steward").setLevel(logging.ERROR)

    # One steward and one member alone first: the pages timed must be the signed-in ones.
    check, _ = measure(config, root / "dashboard-check.log", issue_tokens(config, 2), 2, 0.0)
    if check.errors or len(check.first) != 2:
        for error in check.errors:
            print(f"  {error}")
        raise SystemExit("the single-session check failed: the figures would not be the pages")
    print("check: a steward's and a member's cookie open their signed-in start pages (no form)")

    print(f"client: {CLIENT}")
    print(
        f"{args.sessions} sessions, {args.pages} page visits each after the start page, demo data"
    )
    print(table_header("client"))
    for name, spacing in (("staggered", 1.0), ("burst", 0.0)):
        tokens = issue_tokens(config, args.sessions)
        run, load_avg = measure(
            config, root / f"dashboard-ws-{name}.log", tokens, args.pages, spacing
        )
        print(table_row(name, run, load_avg))
        for error in run.errors[:5]:
            print(f"  {error}")
    print(
        "page time: request sent to script finished, over the websocket; no browser\n"
        "rendering, no front-end download, no password sign-in (a cookie issued beforehand)"
    )
    print("target: p95 <= 3 s, 0 errors")


if __name__ == "__main__":
    main()
