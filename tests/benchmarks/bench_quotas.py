"""Quota math speed: allocation for many members, stock budgets over many paths."""

from __future__ import annotations

import time

import numpy as np

from steward.quotas import Claimant, allocate, sustainable_stock_budget


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
    rep = rng.gamma(1.0, 10.0, size=(1000, 90))
    use = rng.gamma(2.0, 5.0, size=(1000, 90))
    timed(
        "stock budget 1000 paths x 90 days, no capacity",
        lambda: sustainable_stock_budget(800, use, rep, 100, None, 0.1, 7),
    )
    timed(
        "stock budget 1000 paths x 90 days, capacity 1000",
        lambda: sustainable_stock_budget(800, use, rep, 100, 1000, 0.1, 7),
    )


if __name__ == "__main__":
    main()
