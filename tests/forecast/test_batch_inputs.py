"""A batch's forecast inputs equal, bit for bit, those built one resource at a time.

A forecast run builds daily flows, weekly series, weekday profiles and loans for
a batch of resources with one grouped operation each; the per-resource functions
(``daily_flows`` of one resource, ``runs._weekly``, ``runs.weekday_profile``,
``projection.day_ends_on_loan`` and ``checkout_batches``) are the reference. The
ledger has fractional quantities (where a compensated sum differs from a plain
one), reversals, members and checkouts without one, readings, capacity changes,
two timezones across a DST change, and a resource with nothing recorded.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
import pandas as pd

from steward.flows import EVENT_COLUMNS, LedgerFrames, read_ledger_batch, read_ledgers
from steward.flows_many import daily_flows_many
from steward.forecast import runs
from steward.forecast.batch_inputs import loan_facts, weekday_profiles, weekly_many
from steward.forecast.projection import checkout_batches, day_ends_on_loan
from steward.store import catalog
from steward.store.catalog import ResourceInfo
from steward.workspace import Workspace

NOW = datetime(2025, 4, 2, 15, 30, tzinfo=UTC)
ZONES = ("America/Los_Angeles", "Pacific/Auckland")


def _info(rid: int, kind: str, tz: str, capacity: str | None = "4") -> ResourceInfo:
    return ResourceInfo(
        rid, f"r{rid}", f"R{rid}", kind, "unit",  # type: ignore[arg-type]
        None if capacity is None else Decimal(capacity), None, Decimal("10.5"), 1, "c", tz, "USD",
    )  # fmt: skip


def _events(rng: np.random.Generator, infos: list[ResourceInfo]) -> pd.DataFrame:
    rows = []
    eid = 0
    start = pd.Timestamp("2024-01-03", tz="UTC")
    for res in infos[:-1]:  # the last one has nothing recorded
        for _ in range(400):
            eid += 1
            at = start + pd.Timedelta(seconds=int(rng.integers(0, 455 * 86400)))
            ref = f"L{res.id}-{int(rng.integers(0, 150))}" if res.kind == "pool" else None
            kind = rng.choice(["use", "replenish", "adjust"] if res.kind == "stock" else ["use"])
            member = None if rng.random() < 0.4 else float(rng.integers(1, 9))
            qty = (
                round(float(rng.gamma(2.0, 1.3)), 6)
                if res.kind == "stock"
                else rng.choice([1.0, 2.0, 0.3])
            )
            reverses = eid - 1 if rng.random() < 0.03 else None
            rows.append((res.id, eid, at, kind, qty, reverses, member, ref))
            if ref is not None and rng.random() < 0.8:
                eid += 1
                back = at + pd.Timedelta(hours=float(rng.gamma(2.0, 60.0)))
                rows.append((res.id, eid, back, "replenish", qty, None, member, ref))
    frame = pd.DataFrame(rows, columns=["resource_id", *EVENT_COLUMNS])
    frame["sign"] = np.where(frame["reverses_id"].isna(), 1.0, -1.0)
    return frame.sort_values("occurred_at", kind="stable").reset_index(drop=True)


def _ledgers(events: pd.DataFrame, infos: list[ResourceInfo]) -> dict[int, LedgerFrames]:
    out = {}
    for res in infos:
        ev = events.loc[events["resource_id"] == res.id].drop(columns="resource_id")
        readings = pd.DataFrame(columns=["id", "observed_at", "value"])
        changes = pd.DataFrame(columns=["id", "effective_at", "delta"])
        if res.kind == "stock" and res.id % 2:
            readings = pd.DataFrame(
                {
                    "id": [1, 2],
                    "observed_at": pd.to_datetime(["2024-02-10 20:00", "2024-09-01 07:00"]),
                    "value": [Decimal("40.25"), Decimal("12.5")],
                }
            )
        if res.kind == "pool" and res.id % 2:
            changes = pd.DataFrame(
                {
                    "id": [1, 2],
                    "effective_at": pd.to_datetime(["2023-12-01 00:00", "2024-06-03 18:00"]),
                    "delta": [Decimal("1"), Decimal("-2")],
                }
            )
        out[res.id] = LedgerFrames(ev.reset_index(drop=True), readings, changes)
    return out


def test_batch_inputs_equal_per_resource_ones() -> None:
    rng = np.random.default_rng(5)
    infos = [
        _info(i + 1, "pool" if i % 3 else "stock", ZONES[i % 2], None if i == 3 else "4")
        for i in range(9)
    ]
    events = _events(rng, infos)
    ledgers = _ledgers(events, infos)
    daily = daily_flows_many(events, ledgers, infos, NOW)
    assert daily[infos[-1].id].empty
    columns = {r.id: ("used", "replenished") if r.kind == "stock" else ("demand",) for r in infos}
    last = {r.id: runs._local_today(r, NOW) - pd.Timedelta(days=1) for r in infos}
    weekly = weekly_many(daily, columns, last, 200)
    pools = [r for r in infos if r.kind == "pool"]
    profiles = weekday_profiles({r.id: daily[r.id] for r in pools})
    loans = loan_facts(events, pools, pd.Timestamp(NOW))
    for res in infos:
        one = events.loc[events["resource_id"] == res.id]
        alone = daily_flows_many(one, {res.id: ledgers[res.id]}, [res], NOW)[res.id]
        pd.testing.assert_frame_equal(daily[res.id], alone, check_exact=True, check_freq=True)
        history = alone.loc[: last[res.id]].tail(200)
        want = runs._weekly(history[list(columns[res.id])])
        for name in columns[res.id]:
            if len(want):
                pd.testing.assert_series_equal(weekly[res.id][name], want[name], check_exact=True)
            else:
                assert weekly[res.id][name].empty
        if res.kind != "pool":
            continue
        assert np.array_equal(
            profiles[res.id], runs.weekday_profile(alone["demand"].fillna(0.0)), equal_nan=True
        )
        ev = ledgers[res.id].events
        ev = ev.loc[(ev["occurred_at"] <= pd.Timestamp(NOW)) & (ev["sign"] > 0)]
        refs = ev.loc[ev["loan_ref"].notna()]
        out = refs.loc[refs["kind"] == "use"].groupby("loan_ref")["occurred_at"].min()
        back = refs.loc[refs["kind"] == "replenish"].groupby("loan_ref")["occurred_at"].max()
        spans = pd.concat([out.rename("out"), back.rename("back")], axis=1)
        both = spans.dropna()
        durations = day_ends_on_loan(both["out"], both["back"], res.timezone).astype(float)
        still = spans.loc[spans["out"].notna() & spans["back"].isna(), "out"]
        ages = np.sort(
            day_ends_on_loan(still, pd.Series(pd.Timestamp(NOW), index=still.index), res.timezone)
        )
        uses = ev.loc[ev["kind"] == "use"]
        assert loans[res.id].durations.tobytes() == durations.tobytes()
        assert loans[res.id].ages.tobytes() == ages.tobytes()
        assert loans[res.id].batches.tobytes() == checkout_batches(uses, res.timezone).tobytes()


def test_one_resource_inputs_match_the_batch(workspace: Workspace) -> None:
    """``runs._inputs`` (one resource, as the risk backtest calls it) gives what the batch gives."""
    with workspace.store.read() as conn:
        infos = catalog.resources(conn)
        batch = read_ledger_batch(conn, [r.id for r in infos])
        many = runs._inputs_many(conn, infos, NOW, batch, {})
        ledgers = read_ledgers(conn, [r.id for r in infos])
        for res in infos:
            one = runs._inputs(conn, res, NOW, ledgers[res.id], 0)
            pd.testing.assert_frame_equal(one.flows, many[res.slug].flows, check_exact=True)
            assert one.durations.tobytes() == many[res.slug].durations.tobytes()
