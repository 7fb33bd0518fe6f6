"""How often a feed that never died is called stale, and how long a dead one goes unnoticed.

The stale badge (Overview, Sources page, `steward sources`) flags a source whose newest
row is older than STALE_FLOOR, STALE_GAPS mean gaps and LONGEST_GAP_FACTOR longest
gaps of the month before it (steward.queries.sources). Replayed here on row times
alone, hour by hour, for the rule without and with the longest-gap term:

- the MyTurn sample's loans (checkouts and returns, 2018-2019; a real library's
  opening hours): the data that chose the longest-gap term;
- the demo's loans and its rain tank's daily readings (generated): the check.

Printed per feed: the share of hours a live feed is flagged (every one is a false
flag), and the hours of silence before a feed cut at 200 random moments is flagged.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from steward import demo  # noqa: E402
from steward.queries.sources import (  # noqa: E402
    GAP_MIN_ROWS,
    GAP_WINDOW,
    LONGEST_GAP_FACTOR,
    STALE_FLOOR,
    STALE_GAPS,
)

MYTURN = ROOT.parent / "shared" / "data" / "myturn"
HOUR = 3600


def _seconds(times: pd.Series) -> np.ndarray:
    return np.sort(times.dropna().to_numpy().astype("datetime64[s]").astype("int64"))


def myturn_loans() -> np.ndarray:
    """Checkout and return times of the MyTurn sample (local times, as exported)."""
    frames = [pd.read_csv(MYTURN / f"loans-{year}.csv") for year in (2018, 2019)]
    loans = pd.concat(frames)
    fmt = "%m/%d/%Y %I:%M %p"
    return _seconds(
        pd.concat(
            [
                pd.to_datetime(loans["Checked Out"], format=fmt, errors="coerce"),
                pd.to_datetime(loans["Checked In"], format=fmt, errors="coerce"),
            ]
        )
    )


def demo_rows(folder: Path, name: str, column: str) -> np.ndarray:
    rows = pd.read_csv(folder / name)
    return _seconds(pd.to_datetime(rows[column], utc=True).dt.tz_localize(None))


def thresholds(times: np.ndarray, newest_at: int) -> tuple[float, float] | None:
    """Silence (s) after which the feed is stale: without and with the longest-gap term."""
    i = np.searchsorted(times, newest_at, side="right") - 1
    newest = times[i]
    window = times[
        np.searchsorted(times, newest - GAP_WINDOW.total_seconds(), side="right") : i + 1
    ]
    if len(window) < GAP_MIN_ROWS:
        return None
    gap = (newest - window[0]) / (len(window) - 1)
    old = max(STALE_FLOOR.total_seconds(), STALE_GAPS * gap)
    return old, max(old, LONGEST_GAP_FACTOR * float(np.diff(window).max()))


def false_flags(times: np.ndarray) -> tuple[int, int, int]:
    """Hours replayed, and hours flagged by each rule, while the feed is alive."""
    hours = np.arange(times[0] + 30 * 86400, times[-1], HOUR)
    old = new = 0
    for now in hours:
        newest = times[np.searchsorted(times, now, side="right") - 1]
        limits = thresholds(times, newest)
        if limits is None:
            continue
        old += now - newest > limits[0]
        new += now - newest > limits[1]
    return len(hours), old, new


def delays(times: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Hours of silence before a feed cut at 200 random moments is flagged, per rule."""
    cuts = rng.uniform(times[0] + 40 * 86400, times[-1] - 86400, 200)
    found = [thresholds(times, int(cut)) for cut in cuts]
    return np.array([f for f in found if f is not None]) / HOUR


def main() -> None:
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        demo.generate(folder)
        feeds = {
            "MyTurn loans (chose the rule)": myturn_loans(),
            "demo loans (check)": demo_rows(
                folder / "sources" / "toolshed", "loans.csv", "occurred_at"
            ),
            "demo tank sensor (check)": demo_rows(
                folder / "sources" / "garden", "tank-readings.csv", "observed_at"
            ),
        }
    print(
        f"stale after max({STALE_FLOOR}, {STALE_GAPS} mean gaps[, {LONGEST_GAP_FACTOR} x longest gap]) "
        f"of the {GAP_WINDOW.days} days before the newest row"
    )
    print(
        f"{'feed':32} {'live hours flagged':>26} {'hours to flag a dead feed (median / 90%)':>44}"
    )
    print(f"{'':32} {'before':>12} {'after':>13} {'before':>21} {'after':>22}")
    for name, times in feeds.items():
        started = time.process_time()
        hours, old, new = false_flags(times)
        lag = delays(times, rng)
        print(
            f"{name:32} {old / hours:>11.1%} {new / hours:>13.1%} "
            f"{np.median(lag[:, 0]):>12.1f} / {np.quantile(lag[:, 0], 0.9):>6.1f} "
            f"{np.median(lag[:, 1]):>12.1f} / {np.quantile(lag[:, 1], 0.9):>6.1f}"
            f"   ({hours:,} hours, {time.process_time() - started:.1f} CPU-s)"
        )


if __name__ == "__main__":
    main()
