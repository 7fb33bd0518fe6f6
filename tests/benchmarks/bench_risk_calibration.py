"""Calibration of the published risk figures: ``python tests/benchmarks/bench_risk_calibration.py``.

Rolling-origin backtest (steward.forecast.risk_backtest) on two stores:

- the MyTurn sample (../shared/data/myturn/, loans of 2018-2019, one pool per
  item type): the 30 busiest item types and 10 rare ones, origins every
  ``--every`` days from March 2018 (no stock: see the note below);
- the demo federation (``steward demo --no-serve``): every pool and stock;
  stocks are forecast every ``--stock-every`` days (one case per origin). The
  demo is generated at a fixed moment with a fixed seed (``--demo-now``,
  ``--demo-seed``; printed with its figures): built at the current time, as
  ``steward demo`` does, its history and so its figures would shift every day.

The MyTurn sample has no stock: its money in (2019 only) has no balance, no
spending and no reserve, and a stock built on an opening level chosen here
would score an invented figure.

Printed per store and kind: the reliability table (predicted against observed
frequency per 10% bin, with its number of cases), the Brier score and its skill
against climatology, and the two targets of issue #9: skill > 0, and no bin of
at least 50 pool-days off by more than 0.15. Climatology is each resource's
frequency of the event before each origin (steward.forecast.risk_backtest);
the base rate of the scored period itself, the reference until issue #9's
calibration work, knew how often the event would happen and is printed beside
it for comparison only.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import pandas as pd  # noqa: E402
import yaml  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from steward import collectors  # noqa: E402
from steward.collectors.parsing import slugify  # noqa: E402
from steward.forecast.reliability import MIN_BIN_CASES, Reliability  # noqa: E402
from steward.forecast.risk_backtest import (  # noqa: E402
    POOL_EVENT,
    STOCK_EVENT,
    RiskBacktest,
    backtest_risks,
    store_calibration,
)
from steward.store.engine import Store  # noqa: E402
from steward.store.schema import upgrade  # noqa: E402
from steward.workspace import Workspace, open_workspace  # noqa: E402

MYTURN = ROOT.parent / "shared" / "data" / "myturn"


def myturn_workspace(folder: Path, busiest: int, rare: int) -> Workspace:
    """A store of the MyTurn loans with one pool per chosen item type."""
    inventory = pd.read_csv(MYTURN / "inventory-snapshot.csv", dtype=str, keep_default_na=False)
    loans = pd.concat(
        [pd.read_csv(MYTURN / f"loans-{y}.csv", dtype=str) for y in (2018, 2019)],
        ignore_index=True,
    )
    types = inventory.set_index("Item ID")["Item Type"]
    counts = loans["Item ID"].map(types).value_counts()
    chosen = list(counts.index[:busiest]) + list(counts[counts >= 2].index[::-1][:rare])
    mapping = {t: slugify(t) for t in chosen}
    config: dict[str, Any] = {
        "database": {"url": "sqlite:///calibration.db"},
        "commons": [
            {
                "slug": "library",
                "name": "Tool library",
                "timezone": "America/Los_Angeles",
                "resources": [
                    {"slug": s, "name": t, "kind": "pool"} for t, s in sorted(mapping.items())
                ],
            }
        ],
        "collectors": [
            {
                "name": "myturn",
                "kind": "myturn",
                "commons": "library",
                "inventory": str(MYTURN / "inventory-snapshot.csv"),
                "loans": str(MYTURN / "loans-201[89].csv"),
                "item_types": mapping,
            }
        ],
    }
    path = folder / "steward.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    store = Store(f"sqlite:///{folder / 'calibration.db'}", check_schema=False)
    upgrade(store.engine)
    store.dispose()
    ws = open_workspace(path)
    collectors.run(ws, "myturn")
    return ws


#: The demo's fixed moment: its two years of history end here (see ``--demo-now``).
DEMO_NOW = "2026-12-01T12:00:00+00:00"


def demo_workspace(folder: Path, now: datetime, seed: int) -> Workspace:
    """The demo federation generated as it stood at ``now`` with random ``seed``."""
    from steward.commands.demo import build

    return open_workspace(build(folder, now=now, seed=seed))


def moment(text: str) -> datetime:
    """An ISO timestamp for ``--demo-now``; one without a zone is read as UTC."""
    try:
        t = datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO date-time: {text!r}") from exc
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


def print_reliability(label: str, rel: Reliability | None, unit: str) -> None:
    if rel is None:
        print(f"{label}: no cases")
        return
    print(f"{label}: {rel.cases} {unit}, base rate {rel.base_rate:.3f}")
    filled = [b for b in rel.bins if b.cases]
    mean_predicted = sum(b.predicted * b.cases for b in filled) / max(rel.cases, 1)
    # A bias the bins hide: every bin a little under adds up.
    print(f"  mean predicted {mean_predicted:.3f} against observed {rel.base_rate:.3f}")
    rows = [
        {
            "bin": f"{b.lo:.0%}-{b.hi:.0%}",
            "cases": b.cases,
            "predicted": round(b.predicted, 3),
            "observed": round(b.observed, 3),
            "gap": round(abs(b.predicted - b.observed), 3),
        }
        for b in rel.bins
        if b.cases
    ]
    print(pd.DataFrame(rows).to_string(index=False))
    skill = rel.brier_skill
    gap = rel.worst_gap()
    if skill != skill:  # NaN: the event never (or always) happened, so no skill to measure
        verdict = "undefined: the event never or always happened in this period"
    else:
        verdict = f"{skill:+.3f} ({'ok' if skill > 0 else 'MISS'}: target > 0)"
    print(
        f"  Brier {rel.brier:.4f}, climatology (past frequency) {rel.brier_climatology:.4f}, "
        f"skill {verdict}"
    )
    hindsight = (
        1.0 - rel.brier / rel.base_rate / (1.0 - rel.base_rate)
        if 0 < rel.base_rate < 1
        else float("nan")
    )
    print(f"  (skill against the scored period's own base rate, hindsight: {hindsight:+.3f})")
    if unit == "pool-days":
        verdict = "ok" if not gap > 0.15 else "MISS"
        print(
            f"  largest gap in a bin of >= {MIN_BIN_CASES} pool-days: {gap:.3f} ({verdict}: <= 0.15)"
        )


def report(
    name: str, ws: Workspace, start: datetime, end: datetime, every: int, stock_every: int
) -> None:
    started, cpu = time.perf_counter(), time.process_time()
    result: RiskBacktest = backtest_risks(
        ws, start=start, end=end, every_days=every, stock_every_days=stock_every
    )
    with ws.store.write() as conn:
        written = store_calibration(conn, result)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(
        f"\n== {name}: origins {start.date()}..{end.date()} every {every} days for pools, "
        f"every {stock_every} for stocks ({len(result.origins)} in all), horizon "
        f"{ws.settings.forecast.horizon_days} days, {written} resources stored, "
        f"{seconds:.0f} s wall, {cpu:.0f} CPU s"
    )
    print_reliability(
        "pools (P(all units out) per pool-day)", result.pooled(POOL_EVENT), "pool-days"
    )
    print_reliability(
        "stocks (P(below reserve within the horizon))", result.pooled(STOCK_EVENT), "forecasts"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--every", type=int, default=56, help="days between pools' origins")
    parser.add_argument("--stock-every", type=int, default=7, help="days between stocks' origins")
    parser.add_argument("--busiest", type=int, default=30)
    parser.add_argument("--rare", type=int, default=10)
    parser.add_argument(
        "--demo-seed", type=int, default=None, help="the demo's random seed (default: steward's)"
    )
    parser.add_argument(
        "--demo-now",
        type=moment,
        default=moment(DEMO_NOW),
        help=f"moment the demo's history ends, ISO (default {DEMO_NOW})",
    )
    parser.add_argument(
        "--only", choices=("myturn", "demo"), default=None, help="run one store only"
    )
    args, _ = parser.parse_known_args()
    pd.set_option("display.width", 200)
    from steward.demo import SEED

    seed = SEED if args.demo_seed is None else args.demo_seed
    with tempfile.TemporaryDirectory() as tmp:
        if args.only != "demo":
            folder = Path(tmp) / "myturn"
            folder.mkdir()
            ws = myturn_workspace(folder, args.busiest, args.rare)
            try:
                report(
                    "MyTurn sample 2018-2019",
                    ws,
                    datetime(2018, 3, 1, tzinfo=UTC),
                    datetime(2019, 12, 31, tzinfo=UTC),
                    args.every,
                    args.stock_every,
                )
            finally:
                ws.close()
        if args.only == "myturn":
            return
        demo = demo_workspace(Path(tmp) / "demo", args.demo_now, seed)
        try:
            with demo.store.read() as conn:
                from sqlalchemy import func, select

                from steward.store.models import Event

                first, last = conn.execute(
                    select(func.min(Event.occurred_at), func.max(Event.occurred_at))
                ).one()
            start = pd.Timestamp(first).tz_convert(UTC) + pd.Timedelta(days=90)
            report(
                f"demo (generated at {args.demo_now.isoformat()}, seed {seed})",
                demo,
                start.to_pydatetime(),
                pd.Timestamp(last).to_pydatetime(),
                args.every,
                args.stock_every,
            )
        finally:
            demo.close()


if __name__ == "__main__":
    main()
