"""Quota math speed: allocation for many members, the long-run stock budget."""

from __future__ import annotations

import time

import numpy as np

from steward.quotas import Claimant, allocate, long_run_stock_budget


def timed(label: str, fn, repeat: int = 3) -> None:
    best = min(_once(fn) for _ in range(repeat))
    print(f"{label:<55} {best * 1000:9.1f} ms")


def _once(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    rng = np.random.default_rng(1)
    for n in (100, 1000, 5000):
        claimants = [
            Claimant(f"m{i}", float(rng.uniform(0.5, 3)), float(rng.gamma(2, 20))) for i in range(n)
        ]
        for policy in ("equal", "weighted", "max_min_fair"):
            timed(
                f"allocate {policy} {n} members (floor+cap)",
                lambda p=policy, c=claimants: allocate(p, 10_000, c, floor=1, cap=80),
            )
    weeks = rng.gamma(1.0, 70.0, size=52)
    timed(
        "long-run stock budget, 52 weeks of replenishment",
        lambda: long_run_stock_budget(
            800, 100, weeks, horizon_days=240, risk_target=0.1, period_days=7
        ),
    )


if __name__ == "__main__":
    main()
