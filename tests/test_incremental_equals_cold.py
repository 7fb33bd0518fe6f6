"""An incremental pipeline run stores what a cold run on the same data stores.

Two stores get the same ledger. One is run once, gets a late batch (a gift dated
back, a new loan), and is run again: its stored flows are patched and the
resources whose inputs did not change are skipped. The other gets everything at
once and is run cold. Their forecasts, quota budgets, quotas and alerts must match.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from steward.forecast import runs
from steward.ledger import Batch, Ledger, NewEvent
from steward.pipeline import run_pipeline
from steward.store import catalog
from steward.store.engine import Store
from steward.store.models import Alert, DailyFlow, ForecastRun, Quota, QuotaBudget
from steward.store.schema import upgrade
from steward.workspace import Workspace, open_workspace

T0 = datetime(2025, 1, 6, 18, tzinfo=UTC)
NOW = T0 + timedelta(days=150)
LATER = NOW + timedelta(hours=2)


def _history(days: int) -> Batch:
    events = []
    for d in range(days):
        at = T0 + timedelta(days=d)
        if d % 3 != 2:  # the drills are out two days in three
            ref = f"loan{d}"
            events += [
                NewEvent("drill", "use", 1, at, f"{ref}-out", loan_ref=ref),
                NewEvent(
                    "drill", "replenish", 1, at + timedelta(days=3), f"{ref}-back", loan_ref=ref
                ),
            ]
        events += [
            NewEvent("fund", "replenish", 20 + d % 7, at, f"g{d}"),
            NewEvent("fund", "use", 18 + d % 5, at + timedelta(hours=3), f"s{d}"),
            NewEvent("tank", "use", 30 + d % 4, at, f"t{d}"),
            NewEvent("tank", "replenish", 35, at + timedelta(hours=5), f"r{d}"),
        ]
    return Batch("test", events=events)


def _late() -> Batch:
    """Recorded between the two runs: touches the fund and the drills, not the tank."""
    return Batch(
        "test",
        events=[
            NewEvent("fund", "replenish", 400, T0 + timedelta(days=120), "late-gift"),
            NewEvent("drill", "use", 1, NOW + timedelta(hours=1), "late-out", loan_ref="late"),
        ],
    )


def _record(ws: Workspace, batch: Batch) -> None:
    with ws.store.write() as conn:
        Ledger(conn).record(batch)


def _open(url: str, config: dict[str, Any], directory: Path) -> Workspace:
    store = Store(url, check_schema=False)
    upgrade(store.engine)
    store.dispose()
    directory.mkdir()
    path = directory / "steward.yaml"
    path.write_text(yaml.safe_dump({**config, "database": {"url": url}}, sort_keys=False))
    return open_workspace(path)


def _stored(ws: Workspace) -> dict[str, Any]:
    """What the pipeline leaves behind, by resource slug, without ids and timestamps."""
    with ws.store.read() as conn:
        slugs = {r.id: r.slug for r in catalog.resources(conn)}
        runs: dict[str, Any] = {}
        for run in conn.execute(select(ForecastRun).order_by(ForecastRun.id)).mappings():
            # The latest run of each resource; a skipped one keeps its earlier run.
            runs[slugs[run["resource_id"]]] = {
                k: run[k] for k in ("method", "reason", "scores", "risk", "paths")
            }
        budgets = sorted(
            (slugs[b.resource_id], b.period_start, b.amount, b.need, b.state, b.basis, b.remedy)
            for b in conn.execute(select(QuotaBudget)).all()
        )
        quotas = sorted(
            tuple(str(v) for k, v in q._mapping.items() if k not in ("id", "computed_at"))
            for q in conn.execute(select(Quota)).all()
        )
        alerts = sorted(
            (a.fingerprint, a.rule, a.state, a.summary) for a in conn.execute(select(Alert)).all()
        )
        daily = sorted(
            (slugs[f.resource_id], *(str(v) for k, v in f._mapping.items() if k != "resource_id"))
            for f in conn.execute(select(DailyFlow)).all()
        )
    return {"runs": runs, "budgets": budgets, "quotas": quotas, "alerts": alerts, "daily": daily}


def test_an_incremental_run_stores_what_a_cold_run_stores(
    db_url: str,
    second_db_url: str,
    settings_factory: Callable[..., Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The test commons (a pool and two stocks), each with a monthly quota policy.
    config = yaml.safe_load(settings_factory().read_text())
    for res in config["commons"][0]["resources"]:
        res["quota"] = {"period": "month"}
    warm = _open(db_url, config, tmp_path / "warm")
    cold = _open(second_db_url, config, tmp_path / "cold")
    try:
        _record(warm, _history(150))
        # The incremental store goes through in batches of two resources: a batch
        # boundary must not change what is stored.
        monkeypatch.setattr(runs, "BATCH_RESOURCES", 2)
        run_pipeline(warm, now=NOW)
        _record(warm, _late())
        incremental = run_pipeline(warm, now=LATER)
        assert set(incremental.forecast.skipped) == {"tank"}  # only its inputs are unchanged

        monkeypatch.setattr(runs, "BATCH_RESOURCES", 100)
        _record(cold, _history(150))
        _record(cold, _late())
        first = run_pipeline(cold, now=LATER)
        assert first.forecast.skipped == {} and first.forecast.runs == 3

        got, want = _stored(warm), _stored(cold)
        assert got["runs"] == want["runs"]
        assert got["budgets"] == want["budgets"] and want["budgets"]
        assert got["quotas"] == want["quotas"]
        assert got["alerts"] == want["alerts"]
        assert got["daily"] == want["daily"] and want["daily"]
    finally:
        warm.close()
        cold.close()
