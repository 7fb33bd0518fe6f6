"""M3 and Tourism benchmark: ``python tests/benchmarks/bench_forecast_competitions.py``.

Every M3 (3,003) and Tourism (1,311) series goes through the engine's own path
(``select`` with the competition's horizon and season, see competitions.py) and
through statsforecast's AutoETS and AutoTheta, measured in the same run. The
table gives per frequency and overall: sMAPE, MASE, 80%/95% interval coverage
and CPU seconds per series, beside seasonal naive and Naive2.

statsforecast pins an older pandas than Steward, so it lives in its own virtual
environment under ``var/statsforecast-venv`` (created on first use with pip) and
runs in a subprocess: it is never a dependency of Steward. ``--limit N`` takes a
fixed subsample of N series of each set, ``--kinds quarterly,other`` only those
frequencies, ``--skip-statsforecast`` leaves statsforecast out.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from steward.forecast.selection import mase, mase_scale, smape  # noqa: E402
from tests.benchmarks import competitions  # noqa: E402

VENV = ROOT / "var" / "statsforecast-venv"
STATSFORECAST = "statsforecast==2.1.1"
RUNNER = Path(__file__).with_name("statsforecast_runner.py")
THETA_M3_PUBLISHED = {"yearly": 16.90, "quarterly": 8.96, "monthly": 13.85, "other": 4.41}


def statsforecast_python() -> Path:
    """The benchmark environment's python, created with statsforecast when missing."""
    python = VENV / "bin" / "python"
    ready = python.exists() and (
        subprocess.run([str(python), "-c", "import statsforecast"], check=False).returncode == 0
    )
    if not ready:
        print(f"creating {VENV.relative_to(ROOT)} with {STATSFORECAST} (once)", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", STATSFORECAST], check=True)
    return python


def run_statsforecast(data: list[competitions.Series], workers: int) -> dict[str, dict]:
    """AutoETS and AutoTheta forecasts per series key, from ``workers`` subprocesses."""
    python = statsforecast_python()
    with tempfile.TemporaryDirectory() as tmp:
        procs = []
        for i in range(workers):
            part = data[i::workers]
            src, dst = Path(tmp) / f"in{i}.json", Path(tmp) / f"out{i}.json"
            payload = [
                {"key": f"{s.dataset}:{s.key}", "y": s.y.tolist(), "h": s.h, "m": s.m} for s in part
            ]
            src.write_text(json.dumps(payload), encoding="utf-8")
            env = {**os.environ, "NUMBA_NUM_THREADS": "1"}
            procs.append(
                (subprocess.Popen([str(python), str(RUNNER), str(src), str(dst)], env=env), dst)
            )
        out: dict[str, dict] = {}
        for proc, dst in procs:
            if proc.wait() != 0:
                raise SystemExit("statsforecast runner failed")
            out.update({row["key"]: row for row in json.loads(dst.read_text(encoding="utf-8"))})
    return out


def score_statsforecast(data: list[competitions.Series], sf: dict[str, dict]) -> pd.DataFrame:
    rows = []
    for s in data:
        got = sf[f"{s.dataset}:{s.key}"]
        scale = mase_scale(s.y.to_numpy(), s.m)
        row: dict[str, object] = {"dataset": s.dataset, "key": s.key, "type": s.kind}
        for name in ("autoets", "autotheta"):
            fc = got[name]
            row[f"{name}_cpu"] = fc["cpu"]
            if "error" in fc:
                for col in ("smape", "mase", "cov80", "cov95"):
                    row[f"{name}_{col}"] = np.nan
                continue
            f = np.asarray(fc["mean"])
            row[f"{name}_smape"] = smape(s.actual, f)
            row[f"{name}_mase"] = mase(s.actual, f, scale)
            for level in (80, 95):
                lo, hi = np.asarray(fc[f"lo-{level}"]), np.asarray(fc[f"hi-{level}"])
                row[f"{name}_cov{level}"] = float(np.mean((s.actual >= lo) & (s.actual <= hi)))
        rows.append(row)
    return pd.DataFrame(rows)


def table(frame: pd.DataFrame) -> pd.DataFrame:
    """Means per frequency and overall; coverage in percent."""
    cols = [c for c in frame.columns if c not in ("dataset", "key", "type", "method", "repaired")]
    out = frame.groupby("type")[cols].mean()
    out.loc["all"] = frame[cols].mean()
    for c in out.columns:
        if "cov" in c:
            out[c] *= 100
    out["n"] = frame.groupby("type").size().reindex(out.index).fillna(len(frame)).astype(int)
    return out


def verdicts(name: str, t: pd.DataFrame, has_sf: bool) -> list[str]:
    """The issue's targets, each with its figure and a pass/MISS word."""
    lines = []

    def check(label: str, ok: bool, figure: str) -> None:
        lines.append(f"  {'ok  ' if ok else 'MISS'} {label}: {figure}")

    all_ = t.loc["all"]
    c80, c95 = all_["cov80"], all_["cov95"]
    check("80% coverage within 78-82 overall", 78 <= c80 <= 82, f"{c80:.1f}")
    check("95% coverage within 93-96 overall", 93 <= c95 <= 96, f"{c95:.1f}")
    low80 = t.drop(index="all")["cov80"].min()
    low95 = t.drop(index="all")["cov95"].min()
    check("no frequency under 75 (80%)", low80 >= 75, f"lowest {low80:.1f}")
    check("no frequency under 90 (95%)", low95 >= 90, f"lowest {low95:.1f}")
    if name == "tourism":
        targets = {"all": 1.95, "monthly": 1.50, "quarterly": 1.55}
        for kind, limit in targets.items():
            if kind in t.index:
                got = t.loc[kind, "mase"]
                check(f"Tourism MASE {kind} <= {limit}", got <= limit, f"{got:.3f}")
    if name == "m3":
        got = all_["smape"]
        check("M3 sMAPE <= 12.6", got <= 12.6, f"{got:.2f}")
        # Theta as published in the M3 competition (Makridakis and Hibon 2000); the
        # AutoTheta column above is statsforecast's, measured here.
        for kind in t.index.drop("all"):
            theta = THETA_M3_PUBLISHED.get(str(kind), np.nan)
            mine = t.loc[kind, "smape"]
            check(f"M3 {kind} better than Theta", mine < theta, f"{mine:.2f} vs {theta:.2f}")
    if has_sf:
        ratio = all_["cpu"] / all_["autoets_cpu"]
        check(
            "engine CPU per series <= 1.5x AutoETS",
            ratio <= 1.5,
            f"{all_['cpu']:.3f} s vs {all_['autoets_cpu']:.3f} s = {ratio:.1f}x",
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--limit", type=int, default=None, help="series per set (subsample)")
    parser.add_argument("--workers", type=int, default=2, help="processes")
    parser.add_argument("--skip-statsforecast", action="store_true")
    parser.add_argument("--sets", default="m3,tourism", help="comma-separated: m3, tourism")
    parser.add_argument(
        "--kinds",
        default=None,
        help="comma-separated frequencies: yearly, quarterly, monthly, other",
    )
    args, _ = parser.parse_known_args()
    pd.set_option("display.width", 250)
    pd.set_option("display.max_columns", 40)
    for name in args.sets.split(","):
        kinds = args.kinds.split(",") if args.kinds else None
        data = competitions.series(name, args.limit, kinds=kinds)
        started = time.perf_counter()
        engine = competitions.evaluate(data, workers=args.workers)
        wall = time.perf_counter() - started
        frame = engine
        has_sf = not args.skip_statsforecast
        if has_sf:
            sf = score_statsforecast(data, run_statsforecast(data, args.workers))
            frame = engine.merge(sf, on=["dataset", "key", "type"])
        t = table(frame)
        print(f"\n{name}: {len(data)} series, engine wall {wall:.0f} s on {args.workers} processes")
        groups = {
            "accuracy (sMAPE)": [c for c in t.columns if c.endswith("smape")],
            "accuracy (MASE)": [c for c in t.columns if c.endswith("mase")],
            "coverage % (80 / 95)": [c for c in t.columns if "cov" in c],
            "CPU s per series": [c for c in t.columns if c.endswith("cpu")],
        }
        for label, cols in groups.items():
            print(f"-- {label}")
            print(t[[*cols, "n"]].round(3).to_string())
        print("-- targets")
        print("\n".join(verdicts(name, t, has_sf)))
        repaired = float(engine["repaired"].mean())
        print(f"series whose input was repaired: {repaired:.0%}")
        top = engine["method"].str.split("(").str[0].value_counts().head(6)
        print("methods chosen: " + ", ".join(f"{k} {v}" for k, v in top.items()))


if __name__ == "__main__":
    main()
