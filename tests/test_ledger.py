"""The ledger: idempotent, all-or-nothing, exact, and honest about what it refused."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, insert, select

from steward import flows
from steward.errors import LedgerError
from steward.ledger import (
    Batch,
    Ledger,
    NewEvent,
    NewMember,
    NewReading,
    Rejected,
    reversal,
)
from steward.store import catalog
from steward.store.engine import Store
from steward.store.models import Commons, Event, QuarantinedRow, Resource
from steward.workspace import Workspace

T0 = datetime(2025, 3, 1, 12, tzinfo=UTC)


def counts(store: Store) -> tuple[int, int]:
    with store.read() as conn:
        events = conn.execute(select(func.count()).select_from(Event)).scalar_one()
        quarantined = conn.execute(select(func.count()).select_from(QuarantinedRow)).scalar_one()
    return events, quarantined


def record(store: Store, batch: Batch) -> Any:
    with store.write() as conn:
        return Ledger(conn).record(batch)


def fund_events() -> list[NewEvent]:
    return [
        NewEvent("fund", "replenish", "250.10", T0, "a"),
        NewEvent("fund", "use", Decimal("40.05"), T0 + timedelta(hours=1), "b"),
        NewEvent("fund", "adjust", -3, T0 + timedelta(hours=2), "c"),
    ]


def test_recording_the_same_batch_twice_changes_nothing(workspace: Workspace) -> None:
    store = workspace.store
    first = record(store, Batch("src", events=fund_events()))
    assert (first.rows_read, first.accepted, first.duplicates) == (3, 3, 0)
    before = counts(store)
    second = record(store, Batch("src", events=fund_events()))
    assert (second.rows_read, second.accepted, second.duplicates, second.quarantined) == (
        3,
        0,
        3,
        0,
    )
    assert counts(store) == before
    with store.read() as conn:
        res = catalog.resource(conn, "fund")
        assert res is not None
        # 500 initial + 250.10 - 40.05 - 3, exactly.
        assert flows.level(conn, res) == Decimal("707.05")


def test_same_id_different_payload_is_a_conflict_never_an_overwrite(workspace: Workspace) -> None:
    store = workspace.store
    record(store, Batch("src", events=fund_events()))
    changed = [NewEvent("fund", "use", "41.00", T0 + timedelta(hours=1), "b")]
    result = record(store, Batch("src", events=changed))
    assert (result.quarantined, result.conflicts, result.accepted) == (1, 1, 0)
    with store.read() as conn:
        qty = conn.execute(select(Event.quantity).where(Event.external_id == "b")).scalar_one()
        reason = conn.execute(select(QuarantinedRow.reason)).scalar_one()
    assert qty == Decimal("40.05")
    assert "conflict" in reason and "'b'" in reason


def test_reversal_cancels_without_editing(workspace: Workspace) -> None:
    store = workspace.store
    record(store, Batch("src", events=fund_events()))
    with store.read() as conn:
        undo = reversal(conn, "src", "b", reason="entered twice")
    result = record(store, Batch("src", events=[undo]))
    assert result.accepted == 1
    with store.read() as conn:
        res = catalog.resource(conn, "fund")
        assert res is not None
        assert flows.level(conn, res) == Decimal("747.10")
        assert conn.execute(select(func.count()).select_from(Event)).scalar_one() == 4


BAD_EVENTS: list[tuple[str, NewEvent, str]] = [
    ("negative quantity", NewEvent("fund", "use", -5, T0, "x"), "must be > 0"),
    ("zero quantity", NewEvent("fund", "replenish", 0, T0, "x"), "quantity 0 records nothing"),
    ("non-numeric quantity", NewEvent("fund", "use", "lots", T0, "x"), "'lots' is not a number"),
    ("unknown resource", NewEvent("hammer", "use", 1, T0, "x"), "unknown resource 'hammer'"),
    # A spreadsheet's total line: no resource at all, not a resource to define.
    ("blank resource", NewEvent(" ", "use", 1, T0, "x"), "no resource: the row's resource cell"),
    ("unknown kind", NewEvent("fund", "borrow", 1, T0, "x"), "unknown kind 'borrow'"),
    ("naive timestamp", NewEvent("fund", "use", 1, "2025-03-01 10:00", "x"), "has no timezone"),
    ("naive datetime", NewEvent("fund", "use", 1, datetime(2025, 3, 1), "x"), "has no timezone"),
    ("not a date", NewEvent("fund", "use", 1, "yesterday+01:00", "x"), "not a date and time"),
    ("missing id", NewEvent("fund", "use", 1, T0, " "), "missing external id"),
    ("too precise", NewEvent("fund", "use", "0.0000001", T0, "x"), "more than 6 decimal places"),
    ("unknown member", NewEvent("fund", "use", 1, T0, "x", member="nobody"), "unknown member"),
    (
        "reverses nothing",
        NewEvent("fund", "use", 1, T0, "x", reverses="ghost"),
        "not in the ledger",
    ),
]


@pytest.mark.parametrize(
    ("event", "reason"), [c[1:] for c in BAD_EVENTS], ids=[c[0] for c in BAD_EVENTS]
)
def test_bad_events_are_quarantined_with_reason(
    workspace: Workspace, event: NewEvent, reason: str
) -> None:
    store = workspace.store
    good = NewEvent("fund", "use", 1, T0, "good")
    result = record(store, Batch("src", events=[good, event]))
    assert (result.rows_read, result.accepted, result.quarantined) == (2, 1, 1)
    with store.session() as session:
        row = session.scalars(select(QuarantinedRow)).one()
    assert reason in row.reason
    assert row.source == "src" and row.raw  # kept raw, with where it came from


def test_refused_numbers_are_quoted_as_written(workspace: Workspace) -> None:
    # Reasons format only the refused rows' numbers; they must still read as written.
    store = workspace.store
    result = record(
        store,
        Batch(
            "src",
            events=[
                NewEvent("fund", "use", "0.0000001", T0, "e1"),
                NewEvent("fund", "use", -5.0, T0, "e2"),
                NewEvent("fund", "use", 2, T0, "e3"),
            ],
            readings=[NewReading("tank", "0.0000001", T0, "r1")],
        ),
    )
    assert (result.accepted, result.quarantined) == (1, 3)
    with store.session() as session:
        reasons = sorted(session.scalars(select(QuarantinedRow.reason)))
    assert reasons == [
        "quantity -5 must be > 0; record a reversal or the opposite kind instead",
        "quantity 0.0000001 has more than 6 decimal places; round it",
        "value 0.0000001 has more than 6 decimal places; round it",
    ]


def test_an_unknown_resource_leaves_other_rows_members_known(workspace: Workspace) -> None:
    # One unknown resource made the commons ids float ("1.0"), so every member
    # of the file read as unknown: the bad row must cost only itself.
    store = workspace.store
    record(store, Batch("src", members=[NewMember("toolshed", "m1", "Member One")]))
    rows = [
        NewEvent("hammer", "use", 1, T0, "x", member="m1"),
        NewEvent("drill", "use", 1, T0, "good", member="m1", loan_ref="l1"),
    ]
    result = record(store, Batch("src", events=rows))
    assert (result.accepted, result.quarantined) == (1, 1)
    with store.session() as session:
        reasons = session.scalars(select(QuarantinedRow.reason)).all()
    assert len(reasons) == 1 and "unknown resource 'hammer'" in reasons[0]


def test_return_before_checkout_quarantines_the_whole_loan_row(workspace: Workspace) -> None:
    store = workspace.store
    loan = [
        NewEvent("drill", "use", 1, T0, "l1-out", loan_ref="l1", row="loans.csv:2"),
        NewEvent(
            "drill",
            "replenish",
            1,
            T0 - timedelta(days=1),
            "l1-in",
            loan_ref="l1",
            row="loans.csv:2",
        ),
    ]
    result = record(store, Batch("src", events=loan))
    assert (result.rows_read, result.quarantined, result.events) == (1, 1, 0)
    with store.session() as session:
        row = session.scalars(select(QuarantinedRow)).one()
    assert row.location == "loans.csv:2" and "before its checkout" in row.reason


def test_loan_returned_in_a_later_read(workspace: Workspace) -> None:
    store = workspace.store
    out = NewEvent("drill", "use", 1, T0, "l1-out", loan_ref="l1", row="r1")
    record(store, Batch("src", events=[out]))
    back = NewEvent(
        "drill", "replenish", 1, T0 + timedelta(days=3), "l1-in", loan_ref="l1", row="r1"
    )
    result = record(store, Batch("src", events=[out, back]))
    assert (result.accepted, result.duplicates) == (1, 0)  # partly new row = accepted
    with store.read() as conn:
        res = catalog.resource(conn, "drill")
        assert res is not None
        assert flows.on_loan(conn, res, T0 + timedelta(days=1)) == 1
        assert flows.on_loan(conn, res, T0 + timedelta(days=4)) == 0


def test_replayed_bad_rows_are_quarantined_once(workspace: Workspace) -> None:
    store = workspace.store
    bad = [NewEvent("fund", "use", -1, T0, "neg", row="f.csv:9")]
    for _ in range(3):
        assert record(store, Batch("src", events=bad)).quarantined == 1
    assert counts(store) == (0, 1)


def test_a_reworded_reason_keeps_its_row_quarantined_once(workspace: Workspace) -> None:
    """The row is the key, not the wording: a release that rewords a reason (or a
    reason formatted differently for the same cause) updates the stored reason."""
    store = workspace.store
    raw = {"external_id": "neg", "resource": "fund", "quantity": "-1"}
    for reason in ("quantity -1 is negative", "quantity '-1' is below 0: write a use instead"):
        result = record(store, Batch("src", rejected=[Rejected("f.csv:9", raw, reason)]))
        assert result.quarantined == 1
    with store.read() as conn:
        rows = conn.execute(select(QuarantinedRow.reason, QuarantinedRow.resolved_at)).all()
    assert [tuple(r) for r in rows] == [("quantity '-1' is below 0: write a use instead", None)]
    # Another row at that place (the file changed), or that row at another place, is another.
    other = {**raw, "quantity": "-2"}
    record(store, Batch("src", rejected=[Rejected("f.csv:9", other, "quantity -2 is negative")]))
    record(store, Batch("src", rejected=[Rejected("f.csv:10", raw, "quantity -1 is negative")]))
    assert counts(store) == (0, 3)


def test_rows_listed_twice_before_are_listed_once_when_read_again(workspace: Workspace) -> None:
    """Rows stored under the old key (it digested the reason too) and so stored once per
    wording: reading the row again keeps the oldest open, with today's reason, and
    settles the others, naming it; nothing is deleted."""
    store = workspace.store
    raw = {"external_id": "neg", "resource": "fund", "quantity": "-1"}
    with store.write() as conn:
        for n, reason in enumerate(("old wording", "older wording")):
            conn.execute(
                insert(QuarantinedRow).values(
                    source="src",
                    location="f.csv:9",
                    fingerprint=f"{n:032x}",
                    reason=reason,
                    raw=raw,
                    created_at=T0,
                )
            )
    record(store, Batch("src", rejected=[Rejected("f.csv:9", raw, "new wording")]))
    with store.read() as conn:
        rows = conn.execute(
            select(
                QuarantinedRow.id,
                QuarantinedRow.reason,
                QuarantinedRow.resolved_at,
                QuarantinedRow.resolution,
            ).order_by(QuarantinedRow.id)
        ).all()
    assert len(rows) == 2
    first, second = rows
    assert (first.reason, first.resolved_at, first.resolution) == ("new wording", None, None)
    assert second.resolved_at is not None
    assert f"#{first.id}" in str(second.resolution)
    # Read once more: still one open row, nothing added.
    record(store, Batch("src", rejected=[Rejected("f.csv:9", raw, "new wording")]))
    assert counts(store) == (0, 2)


class Boom(RuntimeError):
    pass


def test_interrupted_batch_leaves_nothing_behind(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = workspace.store
    from steward import ledger as ledger_mod

    def explode(*_args: Any, **_kwargs: Any) -> None:
        raise Boom("power cut")

    # Fail after events and quarantined rows were written, before readings are.
    monkeypatch.setattr(ledger_mod.Ledger, "_insert_readings", explode)
    batch = Batch(
        "src",
        events=[*fund_events(), NewEvent("fund", "use", -1, T0, "bad")],
        readings=[NewReading("tank", 400, T0, "r1")],
        members=[NewMember("toolshed", "m1", "Member One")],
    )
    with pytest.raises(Boom):
        record(store, batch)
    assert counts(store) == (0, 0)
    monkeypatch.undo()
    result = record(store, batch)
    # Four events and the new member (the ledger counts member rows too).
    assert (result.accepted, result.quarantined) == (5, 1)


def test_rows_recorded_meanwhile_by_another_writer_refuse_the_whole_batch(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The unique index, not the lookup, has the last word: nothing of the batch is kept."""
    store = workspace.store
    record(store, Batch("src", events=fund_events()[:1]))
    before = counts(store)
    from steward.store import bulk

    # As if another transaction committed "a" between this batch's lookup and its insert.
    monkeypatch.setattr(bulk, "stored_digests", lambda *_a, **_k: {})
    with pytest.raises(LedgerError, match="recorded by another writer"):
        record(store, Batch("src", events=[*fund_events(), NewEvent("fund", "use", 1, T0, "d")]))
    assert counts(store) == before
    monkeypatch.undo()
    result = record(
        store, Batch("src", events=[*fund_events(), NewEvent("fund", "use", 1, T0, "d")])
    )
    assert (result.accepted, result.duplicates) == (3, 1)


def test_readings_anchor_the_level(workspace: Workspace) -> None:
    store = workspace.store
    events = [
        NewEvent("tank", "replenish", 600, T0, "rain"),
        NewEvent("tank", "use", 50, T0 + timedelta(days=2), "water"),
    ]
    readings = [NewReading("tank", 520, T0 + timedelta(days=1), "sensor-1")]
    record(store, Batch("src", events=events, readings=readings))
    with store.read() as conn:
        res = catalog.resource(conn, "tank")
        assert res is not None
        assert flows.level(conn, res, T0 + timedelta(days=3)) == Decimal(470)
        assert flows.ledger_level(conn, res, T0 + timedelta(days=3)) == Decimal(550)
        daily = flows.daily_flows(conn, res, until=T0 + timedelta(days=3))
    assert daily["level"].iloc[-1] == pytest.approx(470)
    assert daily.index.freqstr == "D"


# -- property: the ledger's level always equals a plain model of it ------------------

op = st.one_of(
    st.tuples(
        st.just("event"),
        st.sampled_from(["use", "replenish", "adjust"]),
        st.decimals(min_value=Decimal("0.01"), max_value=Decimal("500"), places=2),
    ),
    st.tuples(st.just("replay"), st.integers(0, 50)),
    st.tuples(st.just("reverse"), st.integers(0, 50)),
)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(st.lists(op, min_size=1, max_size=8), min_size=1, max_size=5))
def test_level_matches_a_simple_model(store: Store, ops: list[list[tuple[Any, ...]]]) -> None:
    serial = next(_examples)
    slug = f"r{serial}"
    with store.write() as conn:
        cid = conn.execute(select(Commons.id).where(Commons.slug == "p")).scalar()
        if cid is None:
            cid = conn.execute(
                Commons.__table__.insert().returning(Commons.id),
                {"slug": "p", "name": "P", "timezone": "UTC", "currency": "EUR"},
            ).scalar_one()
        conn.execute(
            Resource.__table__.insert(),
            {
                "slug": slug,
                "name": slug,
                "kind": "stock",
                "unit": "EUR",
                "commons_id": cid,
                "initial_level": Decimal(0),
                "attributes": {},
            },
        )
    model: dict[str, Decimal] = {}  # external id -> signed effect, as recorded
    history: list[NewEvent] = []
    reversed_ids: set[str] = set()
    n = 0
    for batch_ops in ops:
        batch: list[NewEvent] = []
        expected: dict[str, Decimal] = {}
        for item in batch_ops:
            n += 1
            if item[0] == "event":
                _, kind, qty = item
                qty = -qty if kind == "adjust" and n % 2 else qty
                ev = NewEvent(slug, kind, qty, T0 + timedelta(minutes=n), f"{slug}-e{n}")
                batch.append(ev)
                sign = Decimal(-1) if kind == "use" else Decimal(1)
                expected[ev.external_id] = sign * Decimal(qty)
            elif item[0] == "replay" and history:
                batch.append(history[item[1] % len(history)])
            elif item[0] == "reverse" and history:
                target = history[item[1] % len(history)]
                if target.reverses is None and target.external_id not in reversed_ids:
                    reversed_ids.add(target.external_id)
                    batch.append(
                        NewEvent(
                            slug,
                            target.kind,
                            target.quantity,
                            T0,
                            f"{target.external_id}-rev",
                            reverses=target.external_id,
                        )
                    )
                    expected[f"{target.external_id}-rev"] = -model.get(
                        target.external_id, expected.get(target.external_id, Decimal(0))
                    )
        with store.write() as conn:
            Ledger(conn).record(Batch(f"prop-{serial}", events=batch))
        for ev in batch:
            if ev.external_id in expected and ev.external_id not in model:
                model[ev.external_id] = expected[ev.external_id]
                history.append(ev)
        with store.read() as conn:
            res = catalog.resource(conn, slug)
            assert res is not None
            assert flows.level(conn, res, T0 + timedelta(days=1)) == sum(model.values(), Decimal(0))


_examples = itertools.count()


def test_capacity_change_replay_and_conflict(workspace: Workspace) -> None:
    from steward.ledger import NewCapacityChange

    store = workspace.store
    bought = [NewCapacityChange("drill", 2, T0, "buy-1", note="bought two")]
    assert record(store, Batch("inv", capacity_changes=bought)).accepted == 1
    assert record(store, Batch("inv", capacity_changes=bought)).duplicates == 1
    changed = [NewCapacityChange("drill", 3, T0, "buy-1", note="bought three")]
    result = record(store, Batch("inv", capacity_changes=changed))
    assert (result.quarantined, result.conflicts) == (1, 1)
    with store.read() as conn:
        res = catalog.resource(conn, "drill")
        assert res is not None
        assert flows.capacity(conn, res, T0 + timedelta(days=1)) == Decimal(5)
