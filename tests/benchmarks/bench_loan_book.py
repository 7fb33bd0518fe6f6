"""The live loan and member reads as the ledger grows: every loan read vs the loan book.

On the demo (as ``steward demo`` serves it), then after adding 100,000 and
200,000 events of old, returned loans (checkout and return five days apart,
spread over eight years; one in 50 by the demo member ``ada``): CPU
milliseconds (best of three) of the open loans of the toolshed's pools read
from every loan (``open_loans``) and through the loan book
(``loan_book.open_loans_now``, as the overview's overdue counts read them), of
``ada``'s own loans both ways, and of her page's other reads (use this period,
use per day, newest events). Target: the book's figures stay flat while the
ledger grows.

    python tests/benchmarks/bench_loan_book.py [--dir DIR]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "benchmarks"))

from bench_dashboard_load import build_demo  # noqa: E402

from steward import loan_book  # noqa: E402
from steward.access import Scope  # noqa: E402
from steward.ledger import Batch, Ledger, NewEvent  # noqa: E402
from steward.queries import activity, overdue, usage  # noqa: E402
from steward.queries.loans import open_loans  # noqa: E402
from steward.store.models import Commons, Event, Member, Resource  # noqa: E402
from steward.workspace import Workspace, open_workspace  # noqa: E402

ROUND = 50_000  # loans per round: a checkout and a return each


def _cpu_ms(fn: Callable[[], Any]) -> float:
    best = float("inf")
    for _ in range(3):
        t = time.process_time()
        fn()
        best = min(best, 1000 * (time.process_time() - t))
    return best


def _report(ws: Workspace, label: str, steward: Scope, member: Scope) -> None:
    member_id = member.member_id
    with ws.store.read() as conn:
        pools = overdue._pool_ids(steward, conn)
        events = conn.scalar(select(func.count()).select_from(Event))
        cells = [
            _cpu_ms(lambda: open_loans(conn, pools)),
            _cpu_ms(lambda: loan_book.open_loans_now(conn, pools)),
            _cpu_ms(lambda: open_loans(conn, pools, member_id=member_id)),
            _cpu_ms(lambda: overdue.my_loans(member, conn)),
            _cpu_ms(lambda: usage.my_usage(member, conn)),
            _cpu_ms(lambda: usage.my_history(member, conn)),
            _cpu_ms(lambda: activity.my_events(member, conn)),
        ]
    print(f"{label:18} {events:>8} " + " ".join(f"{c:>10.1f}" for c in cells))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", type=Path, default=None)
    args, _ = parser.parse_known_args()
    root = args.dir or Path(tempfile.mkdtemp(prefix="steward-loanbook-"))
    config = root / "demo" / "steward.yaml"
    if not config.exists():
        build_demo(root / "demo")
    ws = open_workspace(config)
    now = datetime.now(UTC)
    with ws.store.read() as conn:
        commons = conn.scalar(select(Commons.id).where(Commons.slug == "toolshed"))
        ada = conn.execute(select(Member.id, Member.code).where(Member.code == "T0001")).one()
        slugs = list(
            conn.scalars(
                select(Resource.slug).where(Resource.kind == "pool", Resource.commons_id == commons)
            )
        )
    assert commons is not None
    steward, member = Scope.steward(commons), Scope.member(commons, ada.id)
    print("CPU ms, best of 3; open loans of the toolshed's pools, and ada's (member T0001)")
    print(
        f"{'ledger':18} {'events':>8} {'open full':>10} {'open book':>10} {'ada full':>10} "
        f"{'ada book':>10} {'my_usage':>10} {'daily use':>10} {'my_events':>10}"
    )
    try:
        with ws.store.write() as conn:
            loan_book.refresh(conn, now)
        _report(ws, "demo", steward, member)
        for n in range(2):
            rows = []
            for i in range(ROUND):
                out = now - timedelta(days=3000 - (i % 2900), hours=i % 7)
                ref = f"bench{n}-{i}"
                who = ada.code if i % 50 == 0 else None
                slug = slugs[i % len(slugs)]
                rows.append(
                    NewEvent(slug, "use", Decimal(1), out, f"o{n}-{i}", member=who, loan_ref=ref)
                )
                rows.append(
                    NewEvent(
                        slug,
                        "replenish",
                        Decimal(1),
                        out + timedelta(days=5),
                        f"b{n}-{i}",
                        loan_ref=ref,
                    )
                )
            with ws.store.write() as conn:
                Ledger(conn).record(Batch(source="bench", events=rows))
            with ws.store.write() as conn:
                loan_book.refresh(conn, now)
            ws.store.refresh_statistics()
            _report(ws, f"+{2 * ROUND * (n + 1) // 1000}k old events", steward, member)
    finally:
        ws.close()


if __name__ == "__main__":
    main()
