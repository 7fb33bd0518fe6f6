"""Dashboard and CLI speed: `steward --help` and `status`, and every page, cold and warm.

CLI: wall time of `steward --help` and `steward status` on the demo (median of
three runs; targets 0.5 s and 1.5 s).

Pages, in Debian's Chromium driven by playwright: the time from opening a
page's address (a signed-in browser, its session cookie set) until Streamlit
reports the script finished and the page is drawn. "cold" is the first load of
that address after the dashboard started (its caches empty for that page);
"warm" the median of three more loads. Every page for each role (steward,
member, visitor), on:

* the demo workspace (``steward demo``), and
* a large generated federation: 1,000 resources and about 5,000,000 events,
  written with bulk inserts, with DailyFlow precomputed as the pipeline does
  so no page aggregates the whole ledger on load.

Targets: cold <= 1.0 s on the demo, <= 1.5 s on the federation.

    python tests/benchmarks/bench_dashboard.py [--events 5000000] [--dir DIR] [--skip-demo]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from rich.console import Console
from rich.progress import Progress
from sqlalchemy import func, insert, select

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from dashboard.browser import CHROMIUM, CHROMIUM_ARGS, served, wait_idle  # noqa: E402

from steward import access  # noqa: E402
from steward import config as config_mod  # noqa: E402
from steward.store import bulk  # noqa: E402
from steward.store.engine import Store  # noqa: E402
from steward.store.models import Commons, ForecastRun, Member, Quota, Resource  # noqa: E402
from steward.store.schema import upgrade  # noqa: E402
from steward.workspace import open_workspace  # noqa: E402

console = Console()
COMMONS = 10
PER_COMMONS = 100
MEMBERS_PER_COMMONS = 500
DAYS = 365
STEWARD_PW = "ochre-lantern-steward-41"
MEMBER_PW = "quiet-harbour-member-73"


# -- the large federation -------------------------------------------------------------


def _config(directory: Path) -> Path:
    commons = []
    for c in range(COMMONS):
        resources = []
        for r in range(PER_COMMONS):
            if r % 2 == 0:
                resources.append(
                    {
                        "slug": f"c{c}-stock{r}",
                        "name": f"Stock {c}.{r}",
                        "kind": "stock",
                        "unit": "L",
                        "capacity": 5000,
                        "reserve": 500,
                        "initial_level": 2500,
                    }
                )
            else:
                resources.append(
                    {
                        "slug": f"c{c}-pool{r}",
                        "name": f"Pool {c}.{r}",
                        "kind": "pool",
                        "capacity": 8,
                    }
                )
        commons.append(
            {"slug": f"c{c}", "name": f"Commons {c}", "timezone": "UTC", "resources": resources}
        )
    path = directory / "steward.yaml"
    body = {"database": {"url": "sqlite:///steward.db"}, "commons": commons}
    path.write_text(yaml.safe_dump(body, sort_keys=False), encoding="utf-8")
    return path


def build_large(directory: Path, n_events: int) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = _config(directory)
    url = config_mod.load(path).database_url
    store = Store(url, check_schema=False)
    upgrade(store.engine)
    store.dispose()
    ws = open_workspace(path)
    rng = np.random.default_rng(6)
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(days=DAYS)
    with ws.store.write() as conn:
        res = pd.DataFrame(
            conn.execute(
                select(Resource.id, Resource.kind, Resource.commons_id, Resource.initial_level)
            ).all(),
            columns=["id", "kind", "commons_id", "initial_level"],
        )
        cids = [int(c) for c in conn.execute(select(Commons.id).order_by(Commons.id)).scalars()]
        conn.execute(
            insert(Member),
            [
                {
                    "commons_id": cid,
                    "code": f"m{i}",
                    "name": f"Member {cid}-{i}",
                    "weight": 1,
                    "status": "active",
                }
                for cid in cids
                for i in range(MEMBERS_PER_COMMONS)
            ],
        )
        members = pd.DataFrame(
            conn.execute(select(Member.id, Member.commons_id)).all(), columns=["id", "commons_id"]
        )
    by_commons = {cid: g["id"].to_numpy() for cid, g in members.groupby("commons_id")}
    chunk = 250_000
    written = 0
    flows = []
    with Progress(console=console) as progress:
        task = progress.add_task("events", total=n_events)
        while written < n_events:
            n = min(chunk, n_events - written)
            pick = rng.integers(0, len(res), n)
            rid = res["id"].to_numpy()[pick]
            kind_stock = res["kind"].astype(str).to_numpy()[pick] == "stock"
            use = np.where(kind_stock, rng.random(n) < 0.8, np.arange(n) % 2 == 0)
            qty = np.where(
                kind_stock, np.where(use, rng.integers(1, 20, n), rng.integers(10, 80, n)), 1
            )
            secs = rng.integers(0, DAYS * 86400, n)
            ts = pd.Series(pd.to_datetime(start) + pd.to_timedelta(np.sort(secs), unit="s"))
            commons = res["commons_id"].to_numpy()[pick]
            member = np.array(
                [by_commons[c][rng.integers(0, MEMBERS_PER_COMMONS)] for c in commons]
            )
            frame = pd.DataFrame(
                {
                    "resource_id": rid,
                    "use": use,
                    "qty": qty.astype(float),
                    "ts": ts,
                    "member_id": member,
                }
            )
            with ws.store.write() as conn:
                dialect = conn.dialect.name
                bulk.insert_rows(
                    conn,
                    "event",
                    [
                        "resource_id",
                        "member_id",
                        "kind",
                        "quantity",
                        "occurred_at",
                        "source",
                        "external_id",
                        "ingested_at",
                        "scheduled",
                        "payload_hash",
                    ],
                    zip(
                        frame["resource_id"].tolist(),
                        frame["member_id"].tolist(),
                        np.where(frame["use"], "use", "replenish").tolist(),
                        bulk.quantities(frame["qty"], dialect),
                        bulk.timestamps(frame["ts"], dialect),
                        ["bench"] * n,
                        [f"b{written + i}" for i in range(n)],
                        [bulk.now_value(dialect, now)] * n,
                        [0 if dialect == "sqlite" else False] * n,
                        ["0" * 32] * n,
                        strict=True,
                    ),
                )
            frame["day"] = frame["ts"].dt.floor("D")
            frame["used"] = np.where(frame["use"], frame["qty"], 0.0)
            frame["replenished"] = np.where(frame["use"], 0.0, frame["qty"])
            flows.append(frame.groupby(["resource_id", "day"])[["used", "replenished"]].sum())
            written += n
            progress.update(task, advance=n)
    daily = pd.concat(flows).groupby(level=[0, 1]).sum().reset_index()
    kinds = res.set_index("id")["kind"].astype(str)
    initial = res.set_index("id")["initial_level"].map(float)
    daily = daily.sort_values(["resource_id", "day"])
    net = np.where(
        daily["resource_id"].map(kinds) == "stock",
        daily["replenished"] - daily["used"],
        daily["used"] - daily["replenished"],
    )
    daily["level"] = pd.Series(net, index=daily.index).groupby(daily["resource_id"]).cumsum()
    daily["level"] += np.where(
        daily["resource_id"].map(kinds) == "stock", daily["resource_id"].map(initial), 0.0
    )
    console.print(f"precomputing {len(daily):,} DailyFlow rows, forecasts and quotas")
    with ws.store.write() as conn:
        dialect = conn.dialect.name
        is_pool = daily["resource_id"].map(kinds) == "pool"
        bulk.insert_rows(
            conn,
            "daily_flow",
            [
                "resource_id",
                "day",
                "used",
                "replenished",
                "adjusted",
                "level",
                "demand",
                "capacity",
            ],
            zip(
                daily["resource_id"].tolist(),
                daily["day"].dt.strftime("%Y-%m-%d").tolist(),
                bulk.quantities(daily["used"], dialect),
                bulk.quantities(daily["replenished"], dialect),
                bulk.quantities(pd.Series(0.0, index=daily.index), dialect),
                bulk.quantities(daily["level"], dialect),
                [
                    q if p else None
                    for q, p in zip(bulk.quantities(daily["used"], dialect), is_pool, strict=True)
                ],
                [(8 * 10**6 if dialect == "sqlite" else 8) if p else None for p in is_pool],
                strict=True,
            ),
        )
        dates = [(now + timedelta(days=d)).date().isoformat() for d in range(1, 91)]
        conn.execute(
            insert(ForecastRun),
            [
                {
                    "resource_id": int(r.id),
                    "created_at": now,
                    "data_cutoff": now,
                    "horizon_days": 90,
                    "method": "ets",
                    "reason": "benchmark",
                    "scores": {"ets": 0.9},
                    "risk": (
                        {"p_below_reserve": float(rng.random())}
                        if str(r.kind) == "stock"
                        else {"max_p_over_capacity": float(rng.random())}
                    ),
                    "paths": {
                        "dates": dates,
                        "mean": list(range(90)),
                        "q0.05": list(range(90)),
                        "q0.95": list(range(90)),
                    },
                    "accuracy": None,
                }
                for r in res.itertuples()
            ],
        )
        member_one = int(by_commons[cids[0]][0])
        conn.execute(
            insert(Quota),
            [
                {
                    "member_id": member_one,
                    "resource_id": int(r.id),
                    "period_start": now - timedelta(days=10),
                    "period_end": now + timedelta(days=20),
                    "allocation": Decimal(100),
                    "used": Decimal(40),
                    "projected": Decimal(120),
                    "policy": "equal",
                    "explanation": "an equal share",
                    "status": "warned",
                    "computed_at": now,
                }
                for r in res.loc[res["commons_id"] == cids[0]].itertuples()
            ],
        )
        _accounts(conn, "c0", "m0")
    ws.close()
    return path


def _accounts(conn: Any, commons: str, member: str) -> None:
    access.create_account(
        conn, username="bench-steward", password=STEWARD_PW, role="steward", commons=commons
    )
    access.create_account(
        conn,
        username="bench-member",
        password=MEMBER_PW,
        role="member",
        commons=commons,
        member=member,
    )


def build_demo(directory: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "steward", "demo", "--dir", str(directory), "--no-serve"],
        check=True,
        capture_output=True,
    )
    path = directory / "steward.yaml"
    ws = open_workspace(path)
    with ws.store.write() as conn:
        # The commons with the most resources, and one of its members.
        slug = conn.execute(
            select(Commons.slug)
            .join(Resource, Resource.commons_id == Commons.id)
            .group_by(Commons.slug)
            .order_by(func.count().desc())
            .limit(1)
        ).scalar_one()
        code = conn.execute(
            select(Member.code)
            .join(Commons, Commons.id == Member.commons_id)
            .where(Commons.slug == slug)
            .order_by(Member.code)
            .limit(1)
        ).scalar_one()
        _accounts(conn, slug, code)
    ws.close()
    return path


# -- timing in the browser ------------------------------------------------------------


def _sign_in(page: Any, username: str, password: str) -> None:
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.locator("text=/Signed in as/").first.wait_for(timeout=120_000)
    wait_idle(page, timeout=120_000)
    # The session cookie is written just after sign-in; later loads carry it.
    for _ in range(600):
        if any(c["name"] == "steward_session" for c in page.context.cookies()):
            return
        page.wait_for_timeout(100)
    raise RuntimeError("the browser never received the session cookie")


def _load(page: Any, address: str) -> float:
    t0 = time.perf_counter()
    page.goto(address)
    wait_idle(page, timeout=120_000)
    return time.perf_counter() - t0


#: Pages per viewer: (label, address relative to the dashboard).
PAGES: dict[str, list[tuple[str, str]]] = {
    "steward": [
        ("Overview", "overview"),
        ("Resource", "resource?resource={resource}"),
        ("Overdue loans", "overdue"),
        ("Members", "members"),
        ("Alerts", "alerts"),
        ("Data sources", "sources"),
        ("Commons health", "health"),
    ],
    "member": [("My usage", "my_usage"), ("Commons health", "health")],
    "visitor": [("Sign in", "sign_in"), ("Commons health", "health")],
}


def measure(
    config: Path, label: str, resource: str, repeats: int = 3
) -> dict[tuple[str, str], tuple[float, float]]:
    """(viewer, page) -> (cold, warm median) seconds, printed as a table."""
    from playwright.sync_api import sync_playwright

    figures: dict[tuple[str, str], tuple[float, float]] = {}
    with (
        served(config, config.parent / "bench-dashboard.log", timeout=120) as url,
        sync_playwright() as pw,
    ):
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        for viewer, pages in PAGES.items():
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            page = context.new_page()
            page.goto(url)
            wait_idle(page, timeout=120_000)
            if viewer == "steward":
                _sign_in(page, "bench-steward", STEWARD_PW)
            elif viewer == "member":
                _sign_in(page, "bench-member", MEMBER_PW)
            for name, path in pages:
                address = f"{url}/{path.format(resource=resource)}"
                cold = _load(page, address)
                warm = statistics.median(_load(page, address) for _ in range(repeats))
                figures[(viewer, name)] = (cold, warm)
            context.close()
        browser.close()
    console.print(f"[bold]{label}[/]")
    console.print(f"  {'viewer':<8} {'page':<16} {'cold':>7} {'warm':>7}")
    for (viewer, name), (cold, warm) in figures.items():
        console.print(f"  {viewer:<8} {name:<16} {cold:6.2f}s {warm:6.2f}s")
    return figures


def cli_times(config: Path, repeats: int = 3) -> dict[str, float]:
    """Median wall time of `steward --help` and `steward status` (a fresh process each)."""
    out = {}
    for name, args in (
        ("steward --help", ["--help"]),
        ("steward status", ["--config", str(config), "status"]),
    ):
        runs = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            subprocess.run(
                [str(Path(sys.executable).with_name("steward")), *args],
                check=True,
                capture_output=True,
            )
            runs.append(time.perf_counter() - t0)
        out[name] = statistics.median(runs)
    return out


def _targets(figures: dict[tuple[str, str], tuple[float, float]], target: float) -> None:
    worst = max(figures.items(), key=lambda kv: kv[1][0])
    (viewer, name), (cold, _) = worst
    console.print(f"  slowest cold page: {viewer} {name} {cold:.2f} s (target <= {target} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--dir", type=Path, default=None, help="keep the generated workspaces here")
    parser.add_argument("--skip-demo", action="store_true")
    args = parser.parse_args()
    if not CHROMIUM.exists():
        console.print(f"skipped: {CHROMIUM} is missing (apt-get install -y chromium)")
        return
    root = args.dir or Path(tempfile.mkdtemp(prefix="steward-bench-"))
    if not args.skip_demo:
        demo = build_demo(root / "demo")
        for name, seconds in cli_times(demo).items():
            target = 0.5 if "help" in name else 1.5
            console.print(f"{name:<16} {seconds:5.2f} s (target <= {target} s, on the demo)")
        _targets(measure(demo, "demo workspace", "drill-cordless"), 1.0)
    large = root / f"large-{args.events}"
    if (large / "steward.yaml").exists():
        config = large / "steward.yaml"
    else:
        t0 = time.perf_counter()
        config = build_large(large, args.events)
        console.print(f"generated {args.events:,} events in {time.perf_counter() - t0:.0f} s")
    label = f"large federation: 1,000 resources, {args.events:,} events"
    _targets(measure(config, label, "c0-pool1"), 1.5)


if __name__ == "__main__":
    main()
