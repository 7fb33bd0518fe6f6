"""`steward forecast` on a generated tool library shaped like a real one.

600 item types (pools), 50,000 loans over eight years, skewed demand: a few
types are borrowed every week, most a few times a year (Zipf-like popularity,
a summer season, more loans on weekends). Each loan is a checkout (`use`) and
a return (`replenish`) linked by its loan reference, as MyTurn exports give.

Prints wall time and peak RSS (the whole process tree, workers included) of
`steward forecast`:

* cold: a fresh store, no flows or forecasts yet;
* nothing changed: the same command again right after;
* one loan more: a single new loan on one item type.

Targets: cold <= 30 s, nothing changed <= 5 s, peak RSS <= 600 MB.

    python tests/benchmarks/bench_forecast_library.py [--types 600] [--loans 50000]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import yaml

STEWARD = [sys.executable, "-m", "steward"]


def library(types: int, loans: int, years: int = 8, seed: int = 13) -> pd.DataFrame:
    """Checkout and return events for ``loans`` loans spread over ``types`` pools."""
    rng = np.random.default_rng(seed)
    end = pd.Timestamp.now(tz="UTC").normalize() - pd.Timedelta(days=1)
    start = end - pd.Timedelta(days=365 * years)
    # Zipf-like popularity: the top few types take a large share of loans.
    weight = 1.0 / np.arange(1, types + 1) ** 1.1
    kind = rng.choice(types, size=loans, p=weight / weight.sum())
    # Seasonal, weekend-heavy checkout days drawn by rejection.
    days = np.empty(0, dtype="int64")
    span = (end - start).days
    while len(days) < loans:
        d = rng.integers(0, span, size=loans)
        t = start + pd.to_timedelta(d, unit="D")
        summer = 1.0 + 0.6 * np.cos(2 * np.pi * (t.day_of_year.to_numpy() - 190) / 365.25)
        weekend = np.where(t.day_of_week.to_numpy() >= 5, 1.6, 1.0)
        keep = rng.random(loans) < summer * weekend / (1.6 * 1.6)
        days = np.concatenate([days, d[keep]])
    days = days[:loans]
    out_at = (
        start
        + pd.to_timedelta(days, unit="D")
        + pd.to_timedelta(rng.integers(9 * 3600, 19 * 3600, size=loans), unit="s")
    )
    back_at = out_at + pd.to_timedelta(
        np.clip(rng.gamma(2.0, 3.5, size=loans), 0.2, 60) * 86400, unit="s"
    )
    ref = np.char.add("L", np.arange(loans).astype(str))
    slug = np.char.add("type-", kind.astype(str))
    fmt = "%Y-%m-%dT%H:%M:%S+00:00"
    checkouts = pd.DataFrame(
        {
            "external_id": np.char.add(ref, "-out"),
            "resource": slug,
            "kind": "use",
            "quantity": 1,
            "occurred_at": out_at.strftime(fmt),
            "loan_ref": ref,
        }
    )
    returned = back_at < pd.Timestamp.now(tz="UTC")
    returns = pd.DataFrame(
        {
            "external_id": np.char.add(ref, "-back"),
            "resource": slug,
            "kind": "replenish",
            "quantity": 1,
            "occurred_at": back_at.strftime(fmt),
            "loan_ref": ref,
        }
    ).loc[returned]
    return pd.concat([checkouts, returns], ignore_index=True)


def workspace(root: Path, types: int, loans: pd.DataFrame) -> Path:
    counts = loans.loc[loans["kind"] == "use", "resource"].value_counts()
    resources = [
        {
            "slug": f"type-{i}",
            "name": f"Item type {i}",
            "kind": "pool",
            # A few units per type, more for the popular ones.
            "capacity": int(max(1, min(12, counts.get(f"type-{i}", 0) // 400 + 1))),
        }
        for i in range(types)
    ]
    config = {
        "database": {"url": "sqlite:///library.db"},
        "commons": [
            {
                "slug": "library",
                "name": "Tool library",
                "timezone": "America/Los_Angeles",
                "resources": resources,
            }
        ],
    }
    path = root / "steward.yaml"
    path.write_text(yaml.safe_dump(config))
    subprocess.run([*STEWARD, "-c", str(path), "db", "upgrade"], check=True, capture_output=True)
    return path


def measured(cmd: list[str], cwd: Path) -> tuple[float, float, float, str]:
    """Wall seconds, CPU seconds, peak RSS of the process tree (MB) and the output.

    CPU seconds (user + system, workers included) say what the run costs when the
    machine is shared and wall time is stretched by others' work.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    top = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        total = 0
        try:
            for p in [top, *top.children(recursive=True)]:
                total += p.memory_info().rss
        except psutil.Error:
            pass
        peak = max(peak, total)
        time.sleep(0.05)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    output = proc.stdout.read() if proc.stdout else ""
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{output}")
    return seconds, cpu, peak / 2**20, output


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--types", type=int, default=600)
    parser.add_argument("--loans", type=int, default=50_000)
    args, _ = parser.parse_known_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        events = library(args.types, args.loans)
        config = workspace(root, args.types, events)
        csv = root / "loans.csv"
        events.to_csv(csv, index=False)
        subprocess.run(
            [*STEWARD, "-c", str(config), "import", "events", str(csv), "--source", "myturn"],
            cwd=root,
            check=True,
            capture_output=True,
        )
        forecast = [*STEWARD, "-c", str(config), "forecast"]
        seconds, cpu, rss, out = measured(forecast, root)
        rows.append(("cold", seconds, cpu, rss, "<= 30 s"))
        seconds, cpu, rss, out = measured(forecast, root)
        rows.append(("nothing changed", seconds, cpu, rss, "<= 5 s"))
        skipped = [line for line in out.splitlines() if "skipped" in line]
        one = root / "one.csv"
        now = pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%dT%H:%M:%S+00:00")
        one.write_text(
            "external_id,resource,kind,quantity,occurred_at,loan_ref\n"
            f"extra-out,type-0,use,1,{now},extra\n"
        )
        subprocess.run(
            [*STEWARD, "-c", str(config), "import", "events", str(one), "--source", "myturn"],
            cwd=root,
            check=True,
            capture_output=True,
        )
        seconds, cpu, rss, out = measured(forecast, root)
        rows.append(("one loan more", seconds, cpu, rss, ""))
        # The same work without the process start-up and imports (about 3-10 s here).
        started = time.perf_counter()
        subprocess.run([*STEWARD, "--help"], cwd=root, check=True, capture_output=True)
        startup = time.perf_counter() - started
    n_events = len(events)
    print(f"library: {args.types} item types, {args.loans:,} loans, {n_events:,} events, 8 years")
    print(
        f"{'steward forecast':20} {'wall s':>8} {'CPU s':>8} {'peak RSS MB':>12}"
        "  target (RSS <= 600 MB)"
    )
    for what, seconds, cpu, rss, target in rows:
        print(f"{what:20} {seconds:>8.1f} {cpu:>8.1f} {rss:>12.0f}  {target}")
    print(f"{'(steward --help)':20} {startup:>8.1f}  process start-up and imports alone")
    for line in skipped:
        print(f"  second run said: {line.strip()}")


if __name__ == "__main__":
    main()
