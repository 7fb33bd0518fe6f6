"""MyTurn weekly benchmark: ``python tests/benchmarks/bench_forecast_myturn.py``.

A real tool library's exports (../shared/data/myturn/), weekly as ``steward
forecast`` sees them (nonnegative flows, weeks ending Sunday):

- library-wide new loans (renewals extend a loan, they are not new demand) and
  the new loans of each of the 20 busiest item types: train on 2018, forecast
  the 52 weeks of 2019;
- money in (payments received): the export holds 2019 only, so train on its
  first 26 weeks and forecast the last 26.

The engine is compared with the mean of the last 52 weeks and seasonal naive
(plain naive for money in, whose training half-year holds no season). MASE is
scaled by the training period's in-sample naive error (seasonal naive needs more
than one year), the same scale for every method of a series.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from steward.forecast.models import Naive, SeasonalNaive, WindowMean  # noqa: E402
from steward.forecast.parallel import forecast_many  # noqa: E402
from steward.forecast.selection import Selection, mase, mase_scale  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "myturn"
WEEKS = pd.date_range("2018-01-07", "2019-12-29", freq="W-SUN")


def _when(text: pd.Series) -> pd.Series:
    return pd.to_datetime(text, format="%m/%d/%Y %I:%M %p", errors="coerce")


def weekly_loans(top: int) -> pd.DataFrame:
    """New loans per week: ``library`` and the ``top`` busiest item types of 2018."""
    frames = [pd.read_csv(DATA / f"loans-{year}.csv", dtype=str) for year in (2018, 2019)]
    loans = pd.concat(frames, ignore_index=True)
    loans = loans[loans["Renewal"].fillna("").str.strip() == ""]
    loans["out"] = _when(loans["Checked Out"])
    inventory = pd.read_csv(DATA / "inventory-snapshot.csv", dtype=str)
    types = inventory.set_index(inventory["Item ID"].str.strip())["Item Type"].str.strip()
    loans["type"] = loans["Item ID"].str.strip().map(types)
    loans = loans.dropna(subset=["out"])
    week = pd.Grouper(key="out", freq="W-SUN")
    out = {"library": loans.groupby(week).size().reindex(WEEKS, fill_value=0)}
    busiest = loans.loc[loans["out"].dt.year == 2018, "type"].value_counts().index[:top]
    by_type = (
        loans[loans["type"].isin(busiest)]
        .groupby(["type", week])
        .size()
        .unstack(0)
        .reindex(WEEKS, fill_value=0)
        .fillna(0)
    )
    for name in busiest:
        out[f"type: {name}"] = by_type[name]
    frame = pd.DataFrame(out).astype(float)
    frame.index.freq = "W-SUN"
    return frame


def weekly_money_in() -> pd.Series:
    """Payments received per week of 2019 (the export's "Payment Amount" rows).

    Refunds, written in accounting style as "(1.00)", are money out and left out.
    """
    tx = pd.read_csv(DATA / "transactions-2019.csv", dtype=str)
    text = tx["Payment Amount"].str.replace(r"[$,]", "", regex=True).str.strip()
    amount = pd.to_numeric(text.where(~text.str.startswith("(", na=False)), errors="raise")
    paid = pd.DataFrame({"when": _when(tx["Date"]), "amount": amount}).dropna()
    paid = paid[paid["amount"] > 0]
    weeks = pd.date_range("2019-01-06", "2019-12-29", freq="W-SUN")
    y = paid.groupby(pd.Grouper(key="when", freq="W-SUN"))["amount"].sum()
    return y.reindex(weeks, fill_value=0.0).rename("money in").asfreq("W-SUN")


def _score(train: pd.Series, test: pd.Series, sel: Selection | Exception) -> dict[str, float]:
    h, actual = len(test), test.to_numpy()
    scale = mase_scale(train.to_numpy(), 52)
    row: dict[str, float] = {}
    seasonal = SeasonalNaive(52) if len(train) >= 52 else Naive()
    for label, model in (("mean52", WindowMean(52)), ("snaive", seasonal)):
        row[label] = mase(actual, model.fit(train).point(h), scale)
    if isinstance(sel, Selection):
        row["engine"] = mase(actual, sel.forecaster.point(h), scale)
    else:
        row["engine"] = float("nan")
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--top", type=int, default=20, help="number of busiest item types")
    args, _ = parser.parse_known_args()
    loans = weekly_loans(args.top)
    money = weekly_money_in()
    cases: dict[str, tuple[pd.Series, pd.Series]] = {
        name: (loans[name].loc[:"2018-12-31"], loans[name].loc["2019-01-01":])
        for name in loans.columns
    }
    cases["money in"] = (money.iloc[:26], money.iloc[26:])
    started = time.process_time()
    results: dict[str, Selection | Exception] = {}
    for h in sorted({len(test) for _, test in cases.values()}):
        batch = {k: train for k, (train, test) in cases.items() if len(test) == h}
        results.update(forecast_many(batch, h, nonnegative=True, workers=2))
    elapsed = time.process_time() - started
    rows = {k: _score(train, test, results[k]) for k, (train, test) in cases.items()}
    table = pd.DataFrame(rows).T
    table["method"] = [
        r.method[:48] if isinstance(r, Selection) else f"error: {r}"
        for r in (results[k] for k in table.index)
    ]
    pd.set_option("display.width", 200)
    print(table.round(3).to_string())
    types = table.loc[[k for k in table.index if k.startswith("type: ")]]
    groups = {
        "library-wide loans": table.loc[["library"]],
        f"the {len(types)} busiest item types (mean)": types,
        "money in": table.loc[["money in"]],
    }
    print("\nMASE (lower is better; engine must beat both baselines on each line)")
    for label, part in groups.items():
        e, w, s = (float(part[c].mean()) for c in ("engine", "mean52", "snaive"))
        verdict = "beats both" if e < w and e < s else "MISS"
        print(f"  {label:36s} engine {e:.3f}  mean52 {w:.3f}  snaive {s:.3f}  {verdict}")
    wins = float(np.mean(types["engine"] < np.minimum(types["mean52"], types["snaive"])))
    print(f"  item types where the engine beats both: {wins:.0%}")
    print(f"parent CPU {elapsed:.1f} s for {len(cases)} series")


if __name__ == "__main__":
    main()
