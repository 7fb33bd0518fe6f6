"""How often the anomaly rule would fire on ordinary days: ``python tests/benchmarks/bench_anomaly_rate.py``.

The anomaly rule (steward.alerts.rules.anomaly) fires when today's level (stock) or
units on loan (pool) is outside the forecast's widest (90%) band by more than
``margin`` of the band's width, and for a pool by more than one unit. Its default
margin (0.5) was chosen on the demo; this checks it on the MyTurn sample too.

At origins every ``--every`` days, every resource is forecast as ``steward
forecast`` would have done then (the rolling-origin machinery of
steward.forecast.risk_backtest.project_at), and each of the next ``--days`` days' observed
end-of-day value is set beside that day's band. Printed per store and kind:
resource-days, the share outside the band at all (a calibrated 90% band: about 10%)
and the share the rule would raise (it should be rare: each is an alert to a
steward), for margins 0, 0.25, 0.5 and 1.

The stores are the two bench_risk_calibration builds: MyTurn loans of 2018-2019
(30 busiest and 10 rare item types) and the demo at a fixed moment and seed.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1]))

from bench_risk_calibration import DEMO_NOW, demo_workspace, moment, myturn_workspace  # noqa: E402

from steward import flows  # noqa: E402
from steward.alerts.options import Anomaly  # noqa: E402
from steward.forecast.risk_backtest import origins_between, project_at  # noqa: E402
from steward.store import catalog  # noqa: E402
from steward.workspace import Workspace  # noqa: E402

MARGINS = (0.0, 0.25, 0.5, 1.0)


def _band(paths: dict, day: int) -> tuple[float, float] | None:
    """The lowest and highest stored quantile of horizon day ``day`` (0 = first)."""
    qcols = sorted((float(k[1:]), k) for k in paths if k.startswith("q") and k[1:] != "")
    if len(qcols) < 2:
        return None
    return float(paths[qcols[0][1]][day]), float(paths[qcols[-1][1]][day])


def misses(
    ws: Workspace, start: datetime, end: datetime, every: int, days: int
) -> dict[str, dict[str, list]]:
    """Per kind: ``{"outside": [...], "width": [...], "slug": [...]}``, one per resource-day.

    ``outside`` is how far the observed value lay outside the band (0 inside);
    the rule fires when it exceeds margin x width (and 1 unit for a pool).
    """
    with ws.store.read() as conn:
        infos = catalog.resources(conn)
        ledgers = {r.slug: flows.read_ledger(conn, r) for r in infos}
        actual = {
            r.slug: flows.daily_flows(conn, r, until=end, ledger=ledgers[r.slug]) for r in infos
        }
    rng = np.random.default_rng(0)
    out: dict[str, dict[str, list[float]]] = {}
    # Only the first ``days`` of each horizon are scored: origins run up to end - days.
    origins = origins_between(start, end, days, every)
    for i, origin in enumerate(origins):
        for slug, got in project_at(ws, infos, origin, ledgers, rng):
            seen = actual[slug]["level"].reindex(got.dates[:days])
            kept = out.setdefault(str(got.inp.res.kind), {"outside": [], "width": [], "slug": []})
            for d, value in enumerate(seen.to_numpy()):
                band = _band(got.paths, d)
                if band is None or value != value:
                    continue
                low, high = band
                kept["outside"].append(max(low - value, value - high, 0.0))
                kept["width"].append(high - low)
                kept["slug"].append(slug)
        print(f"  origin {i + 1}/{len(origins)} {origin:%Y-%m-%d}", flush=True)
    return out


def _fires(outside: np.ndarray, width: np.ndarray, kind: str, m: float) -> np.ndarray:
    margin = m * width
    return outside > (np.maximum(margin, 1.0) if kind == "pool" else margin)


def report(label: str, found: dict[str, dict[str, list]]) -> None:
    print(f"\n{label}")
    head = " ".join(f"{'fires m=' + str(m):>12}" for m in MARGINS)
    print(f"{'kind / resource':24} {'days':>6} {'outside':>8} {head}")
    for kind, k in sorted(found.items()):
        outside, width, slugs = np.array(k["outside"]), np.array(k["width"]), np.array(k["slug"])
        if not len(outside):
            continue
        groups = [(kind, np.ones(len(outside), dtype=bool))]
        # Per resource: stocks all, pools the five that would fire most.
        by = sorted(
            set(slugs), key=lambda s: -np.mean(_fires(outside, width, kind, 0.5)[slugs == s])
        )
        groups += [(f"  {s}", slugs == s) for s in (by if kind == "stock" else by[:5])]
        for name, mask in groups:
            o, w = outside[mask], width[mask]
            cells = " ".join(f"{np.mean(_fires(o, w, kind, m)):>12.1%}" for m in MARGINS)
            print(f"{name:24} {len(o):>6,} {np.mean(o > 0):>8.1%} {cells}")
    print(
        f"(stored bands run from the 5% to the 95% quantile: a calibrated one is missed on "
        f"10% of days; rule default margin {Anomaly().margin}; a pool must also be off by "
        "more than 1 unit)"
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--every", type=int, default=28, help="days between origins")
    parser.add_argument("--days", type=int, default=3, help="horizon days scored per origin")
    parser.add_argument("--demo-now", type=moment, default=moment(DEMO_NOW))
    parser.add_argument("--only", choices=("myturn", "demo"), default=None)
    args, _ = parser.parse_known_args(argv)
    started = time.process_time()
    with tempfile.TemporaryDirectory() as tmp:
        if args.only != "demo":
            folder = Path(tmp) / "myturn"
            folder.mkdir()
            ws = myturn_workspace(folder, 30, 10)
            try:
                found = misses(
                    ws,
                    datetime(2018, 3, 1, tzinfo=UTC),
                    datetime(2019, 12, 31, tzinfo=UTC),
                    args.every,
                    args.days,
                )
            finally:
                ws.close()
            report("MyTurn sample 2018-2019 (pools; not used to choose the margin)", found)
        if args.only != "myturn":
            from steward.demo import SEED

            demo = demo_workspace(Path(tmp) / "demo", args.demo_now, SEED)
            try:
                end = args.demo_now
                start = end - pd.Timedelta(days=365)
                found = misses(demo, start, end, args.every, args.days)
            finally:
                demo.close()
            report(f"demo (generated at {args.demo_now.isoformat()}; chose the margin)", found)
    print(f"CPU {time.process_time() - started:.1f} s (this process)")


if __name__ == "__main__":
    main()
