"""Two weeks of the demo on a controlled clock: alert volume, quotas, deficits.

The simulator's rows (``demo.generate`` for the history, ``demo.append_live`` for
the live weeks), collected and run through the whole pipeline 12 times. The
forecast engine is narrowed to its seasonal-naive baseline (serial, few paths)
so the test runs in CI time; every other step is the production code.
"""

from __future__ import annotations

import socket
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from rich.console import Console
from sqlalchemy import select

import steward.collectors.base as collector_base
import steward.forecast as forecast_engine
from steward import demo
from steward.config import load
from steward.demo_inbox import PORT, Inbox
from steward.pipeline import run_pipeline
from steward.store import schema
from steward.store.engine import Store
from steward.store.models import Alert, OutboxMessage, Quota, QuotaBudget, Resource
from steward.workspace import Workspace, open_workspace

pytestmark = pytest.mark.xdist_group("demo_volume")

T0 = datetime(2026, 5, 4, 7, 0, tzinfo=UTC)  # a Monday morning in spring
RUNS = 12
EVERY = timedelta(days=14) / (RUNS - 1)  # 12 runs spread over two weeks
TICKS_PER_RUN = 8


class _Clock(datetime):
    """``datetime`` whose ``now()`` is the simulated instant (collectors stamp runs with it)."""

    current = T0

    @classmethod
    def now(cls, tz: Any = None) -> _Clock:  # type: ignore[override]
        return cls.current  # type: ignore[return-value]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def timeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    mp = pytest.MonkeyPatch()
    mp.setattr(collector_base, "datetime", _Clock)
    # Runs import the engine lazily (`from steward.forecast import forecast_many` at
    # call time), so the package's attribute is what a run picks up.
    real = forecast_engine.forecast_many

    def baseline(series: Any, h: int, **kw: Any) -> Any:
        kw |= {"executor": "serial", "candidates": ("seasonal_naive",)}
        return real(series, h, combine=False, calibrate=False, origins=2, **kw)

    mp.setattr(forecast_engine, "forecast_many", baseline)
    root = tmp_path_factory.mktemp("volume")
    config = demo.generate(root, now=T0)
    port = _free_port()
    text = config.read_text(encoding="utf-8").replace(f":{PORT}/", f":{port}/")
    config.write_text(text.replace("paths: 500", "paths: 200"), encoding="utf-8")
    store = Store(load(config).database_url, check_schema=False)
    schema.upgrade(store.engine)
    store.dispose()
    ws = open_workspace(config)
    rng = np.random.default_rng(11)
    snapshots: list[dict[str, Any]] = []
    with Inbox(root / "notifications.jsonl", Console(quiet=True), port=port):
        _Clock.current = T0
        demo.ingest(ws)
        for i in range(RUNS):
            now = T0 + i * EVERY
            if i:
                for k in range(TICKS_PER_RUN):
                    at = now - EVERY + (k + 1) * EVERY / TICKS_PER_RUN
                    demo.append_live(root, rng, at, i * TICKS_PER_RUN + k)
                _Clock.current = now
                demo.ingest(ws)
            run_pipeline(ws, now=now)
            snapshots.append(_snapshot(ws, now))
    mp.undo()
    yield {"ws": ws, "snapshots": snapshots}
    ws.close()


def _snapshot(ws: Workspace, now: datetime) -> dict[str, Any]:
    with ws.store.read() as conn:
        firing = conn.execute(
            select(Alert.rule, Alert.audience, Alert.resource_id).where(Alert.state == "firing")
        ).all()
        quotas = conn.execute(
            select(
                Quota.member_id,
                Quota.resource_id,
                Quota.period_start,
                Quota.allocation,
                Quota.used,
                Quota.status,
            ).where(Quota.period_start <= now, Quota.period_end > now)
        ).all()
        budgets = conn.execute(
            select(QuotaBudget.resource_id, QuotaBudget.single_use, QuotaBudget.state).where(
                QuotaBudget.period_start <= now, QuotaBudget.period_end > now
            )
        ).all()
        sent = conn.execute(select(OutboxMessage.created_at)).scalars().all()
        slugs = dict(conn.execute(select(Resource.id, Resource.slug)).all())
    return {
        "now": now,
        "firing": [tuple(f) for f in firing],
        "quotas": [tuple(q) for q in quotas],
        "budgets": {b.resource_id: (b.single_use, b.state) for b in budgets},
        "sent": list(sent),
        "slugs": slugs,
    }


def test_at_most_15_alerts_firing_at_any_time(timeline: dict[str, Any]) -> None:
    counts = [len(s["firing"]) for s in timeline["snapshots"]]
    assert len(counts) >= 12
    worst = max(timeline["snapshots"], key=lambda s: len(s["firing"]))
    assert max(counts) <= 15, (counts, Counter((r, a) for r, a, _ in worst["firing"]))


def test_at_most_30_notifications_per_simulated_day(timeline: dict[str, Any]) -> None:
    sent = timeline["snapshots"][-1]["sent"]
    per_day = Counter((t - T0) // timedelta(days=1) for t in sent)
    assert sent and max(per_day.values()) <= 30, sorted(per_day.items())


def test_no_member_message_for_a_resource_with_a_deficit_alert(
    timeline: dict[str, Any],
) -> None:
    deficits_seen = 0
    for snap in timeline["snapshots"]:
        deficit = {rid for rule, _, rid in snap["firing"] if rule == "deficit"}
        deficits_seen += len(deficit)
        members = {rid for rule, aud, rid in snap["firing"] if aud == "members"}
        assert not deficit & members
    assert deficits_seen, "the demo's fund should run a deficit at some point"


def test_no_enforced_quota_is_smaller_than_one_ordinary_use(timeline: dict[str, Any]) -> None:
    checked = 0
    for snap in timeline["snapshots"]:
        for _member, rid, _start, allocation, _used, status in snap["quotas"]:
            single = snap["budgets"][rid][0]
            if status != "suspended" and single is not None:
                assert allocation >= single
                checked += 1
            if single is not None and allocation < single:
                assert status == "suspended"
    assert timeline["snapshots"][-1]["quotas"]


def test_a_member_within_quota_who_uses_nothing_more_stays_within(
    timeline: dict[str, Any],
) -> None:
    first: dict[tuple[int, int, datetime], tuple[Any, Any]] = {}
    followed: defaultdict[str, int] = defaultdict(int)
    for snap in timeline["snapshots"]:
        for member, rid, start, allocation, used, _status in snap["quotas"]:
            key = (member, rid, start)
            if key not in first:
                first[key] = (allocation, used)
                continue
            told, used0 = first[key]
            assert allocation == told  # the running period's quota never moves
            if used == used0 and used0 <= told:
                assert used <= allocation
                followed[snap["slugs"][rid]] += 1
    assert followed
