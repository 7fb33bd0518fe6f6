"""The loan book gives the same open loans as reading every loan, whatever is recorded after it."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pandas as pd
import pytest
from sqlalchemy import select

from steward import loan_book
from steward.ledger import Batch, Ledger, NewEvent, NewLoanTerm
from steward.queries.loans import open_loans
from steward.store.models import BookedLoan, Resource
from steward.workspace import open_workspace

from .fixtures import Federation

ONE = Decimal(1)
NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def _day(days: float) -> datetime:
    return NOW + timedelta(days=days)


def _out(ref: str, days: float, member: str | None = "alice") -> NewEvent:
    return NewEvent("drill", "use", ONE, _day(days), f"out-{ref}", member=member, loan_ref=ref)


def _back(ref: str, days: float) -> NewEvent:
    return NewEvent("drill", "replenish", ONE, _day(days), f"back-{ref}", loan_ref=ref)


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    key = ["resource_id", "loan_ref"]
    pd.testing.assert_frame_equal(
        a.sort_values(key).reset_index(drop=True), b.sort_values(key).reset_index(drop=True)
    )


def test_the_book_and_every_loan_agree_after_later_returns_reversals_and_backdated_loans(
    federation: Federation,
) -> None:
    ws = open_workspace(federation.config)
    try:
        with ws.store.write() as conn:
            Ledger(conn).record(
                Batch(
                    source="desk",
                    events=[
                        _out("B1", -20),
                        _out("B2", -15),
                        _back("B2", -10),
                        _out("B3", -12, member=None),
                        _out("B4", 5),  # recorded ahead of its day
                        _out("B5", -30),
                        _back("B5", -25),
                        _out("B7", -3),
                        _back("B7", 2),  # a return dated after the book's moment
                    ],
                    loan_terms=[NewLoanTerm("drill", "B1", _day(-20), _day(-6), "term-B1")],
                )
            )
            listed = loan_book.refresh(conn, NOW)
            pools = list(conn.scalars(select(Resource.id).where(Resource.kind == "pool")))
            booked = set(conn.scalars(select(BookedLoan.loan_ref)))
        assert {"B1", "B3", "B4", "B7"} <= booked and not {"B2", "B5"} & booked
        assert listed == len(booked)
        with ws.store.write() as conn:
            Ledger(conn).record(
                Batch(
                    source="desk",
                    events=[
                        _back("B3", -1),  # returned, recorded late
                        NewEvent(
                            "drill", "replenish", ONE, _day(-9), "undo-B2", reverses="back-B2"
                        ),
                        _out("B6", -40),  # a checkout recorded weeks late
                        NewEvent("drill", "use", ONE, _day(-20), "undo-B1", reverses="out-B1"),
                        _out("B8", 0.5),
                    ],
                )
            )
        with ws.store.read() as conn:
            # Moments before the book's too (the overview's trend reads a week ago):
            # loans returned since then (B2, B5) are open then and not in the book.
            for days in (-35, -26, -21, -14, -11, -9.5, -7, -2, 0.25, 1, 3, 6):
                at = _day(days)
                _same(
                    loan_book.open_loans_now(conn, pools, as_of=at),
                    open_loans(conn, pools, as_of=at),
                )
                mine = loan_book.open_loans_now(conn, pools, member_id=None, as_of=at)
                assert set(mine["loan_ref"]) == set(open_loans(conn, pools, as_of=at)["loan_ref"])
            now = loan_book.open_loans_now(conn, pools, as_of=_day(1))
        assert set(now["loan_ref"]) >= {"B2", "B6", "B7", "B8"}
        assert not {"B1", "B3", "B5"} & set(now["loan_ref"])
    finally:
        ws.close()


def test_a_moment_before_the_book_checks_only_the_listed_loans_and_later_returns(
    federation: Federation, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A week ago is read from the book, not from every loan the pools ever had."""
    ws = open_workspace(federation.config)
    try:
        with ws.store.write() as conn:
            Ledger(conn).record(
                Batch(
                    source="desk",
                    events=[
                        _out("W1", -60),
                        _back("W1", -50),  # returned long before: not looked at
                        _out("W2", -20),
                        _back("W2", -3),  # open a week ago, returned since
                        _out("W3", -10),  # open a week ago and now
                    ],
                )
            )
            loan_book.refresh(conn, NOW)
            pools = list(conn.scalars(select(Resource.id).where(Resource.kind == "pool")))
        asked: list[object] = []
        real = loan_book.open_loans

        def spy(*args: object, **kwargs: object) -> pd.DataFrame:
            asked.append(kwargs.get("loan_refs"))
            return real(*args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(loan_book, "open_loans", spy)
        with ws.store.read() as conn:
            week_ago = loan_book.open_loans_now(conn, pools, as_of=_day(-7))
        assert set(week_ago["loan_ref"]) == {"W2", "W3"}
        assert asked and all(refs is not None and "W1" not in refs for refs in asked)
    finally:
        ws.close()


def test_a_refresh_on_postgresql_waits_for_an_import_still_writing_below_its_mark(
    federation: Federation,
) -> None:
    """An uncommitted import holds a lower id than a later committed event.

    Were the mark read at once, the book would miss the import's loan and the
    pages, reading only events above the mark, would never see it.
    """
    ws = open_workspace(federation.config)
    try:
        if ws.store.engine.dialect.name != "postgresql":
            pytest.skip("SQLite commits one writer at a time: no id commits below the mark")
        importing = ws.store.engine.connect()
        pending = importing.begin()
        Ledger(importing).record(Batch(source="import", events=[_out("S1", -2)]))
        with ws.store.write() as conn:
            Ledger(conn).record(Batch(source="desk", events=[_out("Q1", -1)]))
        failures: list[Exception] = []

        def refresh() -> None:
            try:
                with ws.store.write() as conn:
                    loan_book.refresh(conn, NOW)
            except Exception as exc:  # noqa: BLE001 -- reported by the main thread
                failures.append(exc)

        worker = threading.Thread(target=refresh)
        worker.start()
        worker.join(0.5)
        waited = worker.is_alive()
        pending.commit()
        importing.close()
        worker.join(30)
        assert not failures and not worker.is_alive()
        assert waited, "the refresh read its mark while an import below it was uncommitted"
        with ws.store.read() as conn:
            pools = list(conn.scalars(select(Resource.id).where(Resource.kind == "pool")))
            booked = loan_book.open_loans_now(conn, pools, as_of=_day(0))
            _same(booked, open_loans(conn, pools, as_of=_day(0)))
        assert {"S1", "Q1"} <= set(booked["loan_ref"])
    finally:
        ws.close()
