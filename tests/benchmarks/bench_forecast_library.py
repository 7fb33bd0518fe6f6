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

Then the engine's CPU seconds per series (model choice by backtest, as
`steward forecast` calls it) beside statsforecast's AutoETS on the same weekly
demand series, a sample spread over popular and rarely borrowed types (target
<= 1.5x). statsforecast runs in its own environment under var/ (see
bench_forecast_competitions), never in Steward's.

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
ROOT = Path(__file__).resolve().parents[2]
TIMEZONE = "America/Los_Angeles"


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
                "timezone": TIMEZONE,
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
    # A file, not a pipe: this loop samples memory and does not read, and an output
    # past the pipe's 64 KB blocked the command mid-write for good.
    with tempfile.TemporaryFile("w+") as out_file:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out_file, stderr=subprocess.STDOUT, text=True)
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
        out_file.seek(0)
        output = out_file.read()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{output}")
    return seconds, cpu, peak / 2**20, output


def weekly_demand(events: pd.DataFrame, types: int) -> dict[str, pd.Series]:
    """Each type's weekly checkouts, as `steward forecast` builds them (complete weeks)."""
    from steward.forecast.runs import MAX_HISTORY_DAYS, _weekly

    out = events.loc[events["kind"] == "use"]
    day = (
        pd.to_datetime(out["occurred_at"], utc=True)
        .dt.tz_convert(TIMEZONE)
        .dt.normalize()
        .dt.tz_localize(None)
    )
    today = pd.Timestamp.now(tz=TIMEZONE).normalize().tz_localize(None)
    days = pd.date_range(day.min(), today - pd.Timedelta(days=1), freq="D")
    counts = out.groupby([out["resource"], day]).size()
    series = {}
    for i in range(types):
        slug = f"type-{i}"
        daily = counts.get(slug, pd.Series(dtype=float))
        frame = pd.DataFrame({"demand": daily.reindex(days, fill_value=0).astype(float)})
        series[slug] = _weekly(frame.tail(MAX_HISTORY_DAYS))["demand"]
    return series


def engine_vs_autoets(events: pd.DataFrame, types: int, sample: int) -> list[str]:
    """CPU seconds per series: the engine's ``select`` and statsforecast's AutoETS."""
    import json
    import os

    sys.path.insert(0, str(ROOT))
    from steward.forecast.runs import weeks_for
    from steward.forecast.selection import select
    from tests.benchmarks.bench_forecast_competitions import RUNNER, statsforecast_python

    series = weekly_demand(events, types)
    # Types are numbered by popularity: every k-th covers weekly and yearly borrowing.
    keys = [f"type-{i}" for i in range(0, types, max(1, types // sample))][:sample]
    h = weeks_for(90)
    engine = {}
    for key in keys:
        started = time.process_time()
        select(series[key], h, nonnegative=True)
        engine[key] = time.process_time() - started
    python = statsforecast_python()
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "in.json", Path(tmp) / "out.json"
        payload = [{"key": k, "y": series[k].tolist(), "h": h, "m": 52} for k in keys]
        src.write_text(json.dumps(payload), encoding="utf-8")
        env = {**os.environ, "NUMBA_NUM_THREADS": "1"}
        subprocess.run([str(python), str(RUNNER), str(src), str(dst)], env=env, check=True)
        sf = {row["key"]: row for row in json.loads(dst.read_text(encoding="utf-8"))}
    ets = {k: sf[k]["autoets"]["cpu"] for k in keys}
    theta = {k: sf[k]["autotheta"]["cpu"] for k in keys}
    mean = {
        name: float(np.mean(list(d.values())))
        for name, d in (("engine", engine), ("AutoETS", ets), ("AutoTheta", theta))
    }
    sparse = [k for k in keys if (series[k] > 0).mean() < 0.2]
    lines = [
        f"engine CPU per series on {len(keys)} weekly demand series "
        f"({len(sparse)} borrowed in under a fifth of weeks), {len(series[keys[0]])} weeks, h={h}:",
        f"  engine {mean['engine']:.3f} s, AutoETS {mean['AutoETS']:.3f} s "
        f"({mean['engine'] / mean['AutoETS']:.1f}x; target <= 1.5x), "
        f"AutoTheta {mean['AutoTheta']:.3f} s",
    ]
    if sparse:
        lines.append(
            f"  intermittent ones: engine {np.mean([engine[k] for k in sparse]):.3f} s, "
            f"AutoETS {np.mean([ets[k] for k in sparse]):.3f} s"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--types", type=int, default=600)
    parser.add_argument("--loans", type=int, default=50_000)
    parser.add_argument("--sample", type=int, default=60, help="series for the CPU comparison")
    parser.add_argument("--engine-only", action="store_true", help="only the CPU comparison")
    parser.add_argument(
        "--no-engine", action="store_true", help="skip the CPU comparison with statsforecast"
    )
    args, _ = parser.parse_known_args()
    if args.engine_only:
        for line in engine_vs_autoets(library(args.types, args.loans), args.types, args.sample):
            print(line)
        return
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
    if args.no_engine:
        return
    for line in engine_vs_autoets(events, args.types, args.sample):
        print(line)


if __name__ == "__main__":
    main()
