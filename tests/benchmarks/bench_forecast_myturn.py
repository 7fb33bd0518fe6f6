"""MyTurn weekly demand benchmark: ``python tests/benchmarks/bench_forecast_myturn.py``.

Weekly checkout counts per item name (the most borrowed names) from a real tool
library's exports: train on 2018, forecast 2019, compare the engine with
seasonal naive (and naive, since one year is less than a weekly season).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import pandas as pd  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from steward.forecast.models import Naive, SeasonalNaive  # noqa: E402
from steward.forecast.parallel import forecast_many  # noqa: E402
from steward.forecast.selection import Selection, mase, mase_scale, smape  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "myturn"


def weekly_counts(top: int) -> pd.DataFrame:
    """Weekly checkouts (weeks ending Sunday) per item name, most borrowed first."""
    frames = [pd.read_csv(DATA / f"loans-{year}.csv", dtype=str) for year in (2018, 2019)]
    loans = pd.concat([f[["Item Name", "Checked Out"]] for f in frames], ignore_index=True)
    loans["out"] = pd.to_datetime(loans["Checked Out"], format="%m/%d/%Y %I:%M %p", errors="coerce")
    loans = loans.dropna(subset=["out", "Item Name"])
    loans["name"] = loans["Item Name"].str.strip()
    names = loans["name"].value_counts().index[:top]
    weeks = pd.date_range("2018-01-07", "2019-12-29", freq="W-SUN")
    counts = (
        loans[loans["name"].isin(names)]
        .groupby(["name", pd.Grouper(key="out", freq="W-SUN")])
        .size()
        .unstack(0)
        .reindex(weeks, fill_value=0)
        .fillna(0.0)
    )
    counts.index.freq = "W-SUN"
    return counts[names]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--top", type=int, default=30, help="number of item names")
    parser.add_argument("--h", type=int, default=52, help="weeks ahead from the end of 2018")
    args = parser.parse_args()
    counts = weekly_counts(args.top)
    train = counts.loc[:"2018-12-31"]
    test = counts.loc["2019-01-01":].iloc[: args.h]
    h = len(test)
    start = time.perf_counter()
    results = forecast_many({c: train[c] for c in counts.columns}, h, nonnegative=True)
    elapsed = time.perf_counter() - start
    rows = []
    for name in counts.columns:
        sel = results[name]
        y, actual = train[name], test[name].to_numpy()
        scale = mase_scale(y.to_numpy(), 52)
        row: dict[str, object] = {"item": name[:28], "zeros%": round(100 * float((y == 0).mean()))}
        for label, model in (("snaive", SeasonalNaive(52)), ("naive", Naive())):
            f = model.fit(y).predict(h)["mean"].to_numpy()
            row[f"{label}_mase"], row[f"{label}_smape"] = mase(actual, f, scale), smape(actual, f)
        if isinstance(sel, Selection):
            f = sel.forecaster.predict(h)["mean"].to_numpy()
            row["engine_mase"], row["engine_smape"] = mase(actual, f, scale), smape(actual, f)
            row["method"] = sel.method[:40]
        else:
            row["method"] = f"error: {sel}"
        rows.append(row)
    table = pd.DataFrame(rows).set_index("item")
    pd.set_option("display.width", 200)
    print(table.round(2).to_string())
    means = table.select_dtypes("number").drop(columns="zeros%").mean()
    print("\nmean over items:")
    print(means.round(3).to_string())
    wins = float((table["engine_mase"] < table["snaive_mase"]).mean())
    print(f"engine beats seasonal naive (MASE) on {wins:.0%} of items; wall time {elapsed:.1f} s")


if __name__ == "__main__":
    main()
