"""Numbers that could be read two ways, and states the ledger must not reach silently:
money with more decimals than its currency has, a recorded capacity change that breaks
a later plan, more loans than units, and quarantined rows fixed since."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from rich.text import Text
from sqlalchemy import select

from steward import availability, flows, numbers
from steward.commands.status import status_view
from steward.importer import ImportOptions, import_file
from steward.ledger import Batch, Ledger, NewCapacityChange, NewEvent, NewLoanTerm
from steward.status import all_statuses
from steward.store.catalog import resources
from steward.store.models import CapacityChange, Event, QuarantinedRow, Reading

from .support import MakeWorkspace

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
MONEY = [
    {"slug": "fund", "name": "Fund", "kind": "stock", "unit": "USD"},
    {"slug": "yen", "name": "Yen fund", "kind": "stock", "unit": "JPY"},
    {"slug": "tank", "name": "Tank", "kind": "stock", "unit": "L", "capacity": 5000},
    # Units that spell a currency code in lower case: cups are no Cuban pesos, but the
    # commons' own currency (USD) counts in any case.
    {"slug": "flour", "name": "Flour", "kind": "stock", "unit": "cup"},
    {"slug": "tin", "name": "Tin", "kind": "stock", "unit": " usd"},
]
POOLS = [{"slug": "drill", "name": "Drills", "kind": "pool", "capacity": 3}]


def change(ext: str, delta: int, days: int, planned: bool = False) -> NewCapacityChange:
    return NewCapacityChange("drill", delta, NOW + timedelta(days=days), ext, scheduled=planned)


# -- a recorded change that breaks a later plan ----------------------------------------

#: (stored first, then recorded, then: refused?, words the reason must hold)
PLAN_CASES: list[tuple[str, list[NewCapacityChange], NewCapacityChange, str | None]] = [
    (
        "3 drills, 3 to retire in March, 2 retired today: March would leave -2",
        [change("p-march", -3, 90, planned=True)],
        change("c-today", -2, 0),
        "the planned change 'p-march' of source 'shed' (-3 on 2027-03-01T12:00:00+00:00) "
        "would then leave -2 units; reverse or replace that plan first",
    ),
    (
        "a plan bought back later still dips below 0 in between",
        [change("p-march", -3, 90, planned=True), change("p-june", 3, 180, planned=True)],
        change("c-today", -1, -1),
        "the planned change 'p-march'",
    ),
    (
        "the plan leaves room: 3 - 1 - 2 = 0",
        [change("p-march", -2, 90, planned=True)],
        change("c-today", -1, 0),
        None,
    ),
    (
        "a plan cancelled by its opposite on the same date no longer counts",
        [change("p-march", -3, 90, planned=True), change("p-undo", 3, 90, planned=True)],
        change("c-today", -2, 0),
        None,
    ),
    (
        "a plan dated in the past counts nowhere",
        [change("p-old", -3, -30, planned=True)],
        change("c-today", -2, 0),
        None,
    ),
]


@pytest.mark.parametrize(
    ("stored", "recorded", "refused"),
    [c[1:] for c in PLAN_CASES],
    ids=[c[0] for c in PLAN_CASES],
)
def test_a_recorded_change_cannot_take_a_later_plan_below_0(
    make_workspace: MakeWorkspace,
    stored: list[NewCapacityChange],
    recorded: NewCapacityChange,
    refused: str | None,
) -> None:
    ws = make_workspace([], resources=POOLS)
    with ws.store.write() as conn:
        first = Ledger(conn).record(Batch("shed", capacity_changes=stored), now=NOW)
    assert first.accepted == len(stored)
    with ws.store.write() as conn:
        got = Ledger(conn).record(Batch("shed", capacity_changes=[recorded]), now=NOW)
    with ws.store.read() as conn:
        reasons = list(conn.scalars(select(QuarantinedRow.reason)))
        ids = set(conn.scalars(select(CapacityChange.external_id)))
    if refused is None:
        assert (got.accepted, got.quarantined) == (1, 0), reasons
        assert recorded.external_id in ids
        return
    assert (got.accepted, got.quarantined) == (0, 1)
    assert recorded.external_id not in ids
    (reason,) = reasons
    assert reason.startswith(f"delta {recorded.delta:g} on "), reason
    assert "below 0 under a plan" in reason
    assert refused in reason, reason


# -- money finer than its currency -------------------------------------------------

#: (file kind, resource, value as written, --decimal, recorded as (None: refused),
#:  words the reason must hold)
MONEY_CASES: list[tuple[str, str, str, str | None, float | None, tuple[str, ...]]] = [
    (
        "events",
        "fund",
        "1,234",
        ",",
        None,
        (
            "quantity '1,234' has 3 decimals but USD has 2: if ',' groups thousands here "
            "(1234 USD), write it 1234 at the source, or, if the source writes '.' "
            "decimals throughout, import with --decimal .; if 1.234 USD is meant, round "
            "it to 2 decimals at the source",
        ),
    ),
    ("events", "fund", "$1,234", ",", None, ("quantity '$1,234' has 3 decimals",)),
    ("events", "fund", "12,50", ",", 12.5, ()),
    ("events", "fund", "1.234,56", ",", 1234.56, ()),
    ("events", "fund", "1,234", ".", 1234.0, ()),
    (
        "events",
        "fund",
        "0,125",
        ",",
        None,
        ("'0,125' has 3 decimals but USD has 2; round it to 2 decimals at the source",),
    ),
    (
        "events",
        "fund",
        "2,5001",
        ",",
        None,
        ("has 4 decimals but USD has 2; round it", "Steward does not round money"),
    ),
    ("events", "yen", "1500", None, 1500.0, ()),
    ("events", "yen", "5.5", None, None, ("'5.5' has 1 decimal but JPY has none; write it whole",)),
    ("events", "tank", "1,234", ",", 1.234, ()),  # litres are no money
    ("events", "flour", "0.125", None, 0.125, ()),  # "cup" is a unit, not CUP
    ("events", "tin", "0.125", None, None, ("'0.125' has 3 decimals but USD has 2",)),
    (
        "readings",
        "fund",
        "1.234",
        ".",
        None,
        (
            "value '1.234' has 3 decimals",
            "if '.' groups thousands here (1234 USD)",
            "import with --decimal ,",
        ),
    ),
]


@pytest.mark.parametrize(
    ("kind", "resource", "written", "decimal", "recorded", "words"),
    MONEY_CASES,
    ids=[f"{c[0]}-{c[1]}-{c[2]}-decimal{c[3]}" for c in MONEY_CASES],
)
def test_money_with_more_decimals_than_its_currency_is_quarantined(
    make_workspace: MakeWorkspace,
    tmp_path: Path,
    kind: str,
    resource: str,
    written: str,
    decimal: str | None,
    recorded: float | None,
    words: tuple[str, ...],
) -> None:
    ws = make_workspace([], resources=MONEY)
    path = tmp_path / "money.csv"
    if kind == "events":
        path.write_text(
            "external_id,resource,kind,quantity,occurred_at\n"
            f'1,{resource},replenish,"{written}",2026-11-20T10:00:00Z\n'
        )
    else:
        path.write_text(
            f'external_id,resource,value,observed_at\n1,{resource},"{written}",2026-11-20T10:00:00Z\n'
        )
    fmt = numbers.NumberFormat(decimal=decimal) if decimal else numbers.UNDECLARED
    result = import_file(ws.store, path, ImportOptions(kind, "sheet", number_format=fmt))  # type: ignore[arg-type]
    model = Event if kind == "events" else Reading
    column = Event.quantity if kind == "events" else Reading.value
    with ws.store.read() as conn:
        reasons = list(conn.scalars(select(QuarantinedRow.reason)))
        stored = [float(v) for v in conn.scalars(select(column).select_from(model))]
    if recorded is not None:
        assert (result.accepted, result.quarantined) == (1, 0), reasons
        assert stored == [pytest.approx(recorded)]
        return
    assert (result.accepted, result.quarantined) == (0, 1)
    assert stored == []
    (reason,) = reasons
    for word in words:
        assert word in reason, reason


# -- quarantined rows recorded since ---------------------------------------------------

EVENTS = "external_id,resource,kind,quantity,occurred_at\n"


def _import(ws: Any, path: Path, source: str = "sheet", decimal: str | None = None) -> Any:
    fmt = numbers.NumberFormat(decimal=decimal) if decimal else numbers.UNDECLARED
    return import_file(ws.store, path, ImportOptions("events", source, number_format=fmt))


#: (first import, later import: (rows, source, --decimal), open afterwards,
#:  resolution words of the first row's quarantine)
RESOLVE_CASES: list[tuple[str, str, tuple[str, str, str | None], bool, str]] = [
    (
        "an ambiguous number, imported again with --decimal",
        '7,fund,replenish,"1,234",2026-11-20T10:00:00Z\n',
        ('7,fund,replenish,"1,234",2026-11-20T10:00:00Z\n', "sheet", "."),
        False,
        "recorded later: event '7' of source 'sheet' by a later import",
    ),
    (
        "a fixed row in a corrected file",
        "7,fund,replenish,lots,2026-11-20T10:00:00Z\n",
        ("7,fund,replenish,12,2026-11-20T10:00:00Z\n", "sheet", None),
        False,
        "recorded later: event '7'",
    ),
    (
        "the same id recorded by another source is another row",
        "7,fund,replenish,lots,2026-11-20T10:00:00Z\n",
        ("7,fund,replenish,12,2026-11-20T10:00:00Z\n", "other", None),
        True,
        "",
    ),
    (
        "another id of the same source settles nothing",
        "7,fund,replenish,lots,2026-11-20T10:00:00Z\n",
        ("8,fund,replenish,12,2026-11-20T10:00:00Z\n", "sheet", None),
        True,
        "",
    ),
]


@pytest.mark.parametrize(
    ("first", "later", "still_open", "resolution"),
    [c[1:] for c in RESOLVE_CASES],
    ids=[c[0] for c in RESOLVE_CASES],
)
def test_a_quarantined_row_recorded_since_is_resolved(
    make_workspace: MakeWorkspace,
    tmp_path: Path,
    first: str,
    later: tuple[str, str, str | None],
    still_open: bool,
    resolution: str,
) -> None:
    ws = make_workspace([], resources=MONEY)
    bad = tmp_path / "first.csv"
    bad.write_text(EVENTS + first)
    assert _import(ws, bad).quarantined == 1
    fixed = tmp_path / "fixed.csv"
    rows, source, decimal = later
    fixed.write_text(EVENTS + rows)
    assert _import(ws, fixed, source, decimal).accepted == 1
    with ws.store.read() as conn:
        (row,) = conn.execute(select(QuarantinedRow)).all()
    assert (row.resolved_at is None) == still_open
    assert (row.resolution or "") == resolution or resolution in (row.resolution or "")


def test_a_row_that_clashed_with_a_stored_id_stays_open(
    make_workspace: MakeWorkspace, tmp_path: Path
) -> None:
    """The stored row coming again (a duplicate) does not record the clashing one."""
    ws = make_workspace([], resources=MONEY)
    original = tmp_path / "original.csv"
    original.write_text(EVENTS + "7,fund,replenish,5,2026-11-20T10:00:00Z\n")
    clash = tmp_path / "clash.csv"
    clash.write_text(EVENTS + "7,fund,replenish,6,2026-11-20T10:00:00Z\n")
    assert _import(ws, original).accepted == 1
    assert _import(ws, clash).quarantined == 1
    assert _import(ws, original).duplicates == 1
    with ws.store.read() as conn:
        (row,) = conn.execute(select(QuarantinedRow)).all()
    assert row.resolved_at is None and row.reason.startswith("conflict")


def test_upgrading_settles_rows_fixed_before_rows_were_settled_on_recording(
    make_workspace: MakeWorkspace, tmp_path: Path
) -> None:
    """Migration 0018: rows quarantined and recorded since, by an older Steward, are
    settled once; a row that clashed with an id stored before it stays open."""
    from alembic import command
    from sqlalchemy import update

    from steward.store.schema import alembic_config

    ws = make_workspace([], resources=MONEY)
    (tmp_path / "a.csv").write_text(
        EVENTS + "7,fund,replenish,lots,2026-11-20T10:00:00Z\n"
        "9,fund,replenish,5,2026-11-20T10:00:00Z\n"
    )
    (tmp_path / "b.csv").write_text(
        EVENTS + "7,fund,replenish,12,2026-11-20T10:00:00Z\n"  # the fix of row 7
        "9,fund,replenish,6,2026-11-20T10:00:00Z\n"  # clashes with the stored 9
    )
    assert _import(ws, tmp_path / "a.csv").quarantined == 1
    assert _import(ws, tmp_path / "b.csv").quarantined == 1
    engine = ws.store.engine
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        # As an older Steward left them: every quarantined row open.
        conn.execute(update(QuarantinedRow).values(resolved_at=None, resolution=None))
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0017")
        command.upgrade(cfg, "0018")
    with ws.store.read() as conn:
        rows = {
            r.reason.split(" ")[0].rstrip(":"): r
            for r in conn.execute(select(QuarantinedRow)).all()
        }
    assert set(rows) == {"quantity", "conflict"}, list(rows)
    assert rows["quantity"].resolution == (
        "recorded later: event '7' of source 'sheet' (settled when the database was upgraded)"
    )
    assert rows["conflict"].resolved_at is None


def test_quarantine_list_hides_resolved_rows_and_all_shows_how(
    make_workspace: MakeWorkspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from steward.cli import main

    ws = make_workspace([], resources=MONEY)
    bad = tmp_path / "first.csv"
    bad.write_text(
        EVENTS + "7,fund,replenish,lots,2026-11-20T10:00:00Z\n"
        "8,fund,replenish,many,2026-11-20T10:00:00Z\n"
    )
    assert _import(ws, bad).quarantined == 2
    fixed = tmp_path / "fixed.csv"
    fixed.write_text(EVENTS + "7,fund,replenish,12,2026-11-20T10:00:00Z\n")
    assert _import(ws, fixed).accepted == 1

    def listed(*extra: str) -> str:
        try:
            main(["-c", str(tmp_path / "steward.yaml"), "quarantine", "list", *extra])
        except SystemExit as exc:
            assert exc.code in (0, None)
        return " ".join(capsys.readouterr().out.split())

    shown = listed()
    assert "'many'" in shown and "'lots'" not in shown
    assert "1 resolved row hidden (recorded since, or retried); --all shows them" in shown
    every = listed("--all")
    assert "'many'" in every and "'lots'" in every
    assert "recorded later: event '7' of source 'sheet' by a later import" in every


# -- more loans out than units ---------------------------------------------------------

T0 = NOW - timedelta(days=30)


def out_(ext: str, minutes: int, pool: str = "drill") -> NewEvent:
    return NewEvent(pool, "use", 1, T0 + timedelta(minutes=minutes), ext, loan_ref=ext)


def back(ext: str, minutes: int, pool: str = "drill") -> NewEvent:
    return NewEvent(
        pool, "replenish", 1, T0 + timedelta(minutes=minutes), f"{ext}-in", loan_ref=ext
    )


def unit(ext: str, delta: int, seconds: int, pool: str = "ladder") -> NewCapacityChange:
    return NewCapacityChange(pool, delta, T0 + timedelta(seconds=seconds), ext)


LENDING = [
    {"slug": "drill", "name": "Drills", "kind": "pool", "capacity": 2},
    {"slug": "ladder", "name": "Ladders", "kind": "pool"},
]

#: (events, capacity changes, expected (checkouts, worst, now) or None)
OVER_CASES: list[
    tuple[str, list[NewEvent], list[NewCapacityChange], tuple[int, int, int] | None]
] = [
    ("2 drills, 3 out", [out_("a", 0), out_("b", 1), out_("c", 2)], [], (1, 1, 1)),
    (
        "a return frees a unit in time",
        [out_("a", 0), out_("b", 1), back("a", 2), out_("c", 3)],
        [],
        None,
    ),
    (
        "the unit entered 18 s after its first checkout (the MyTurn sample, twice)",
        [out_("a", 0, "ladder")],
        [unit("item:1", 1, 18)],
        (1, 1, 0),
    ),
    (
        "the unit entered in the same second counts first",
        [out_("a", 0, "ladder")],
        [unit("item:1", 1, 0)],
        None,
    ),
    (
        "a unit retired while both were out",
        [out_("a", 0), out_("b", 1)],
        [unit("retired", -1, 600, "drill")],
        (0, 1, 1),
    ),
]


@pytest.mark.parametrize(
    ("events", "changes", "expected"),
    [c[1:] for c in OVER_CASES],
    ids=[c[0] for c in OVER_CASES],
)
def test_loans_beyond_the_units_are_recorded_and_found(
    make_workspace: MakeWorkspace,
    events: list[NewEvent],
    changes: list[NewCapacityChange],
    expected: tuple[int, int, int] | None,
) -> None:
    ws = make_workspace([], resources=LENDING)
    with ws.store.write() as conn:
        # Capacity first, as an inventory is read before its loans.
        Ledger(conn).record(Batch("lib", capacity_changes=changes), now=NOW)
        got = Ledger(conn).record(Batch("lib", events=events), now=NOW)
    assert (got.accepted, got.quarantined) == (len(events), 0)  # real loans are kept
    with ws.store.read() as conn:
        pools = [r for r in resources(conn) if r.kind == "pool"]
        found = flows.overbooked_many(conn, pools, NOW)
        statuses = {s.slug: s for s in all_statuses(conn, NOW)}
    pool = events[0].resource
    over = found.get(next(p.id for p in pools if p.slug == pool))
    if expected is None:
        assert over is None and statuses[pool].overbooked is None
        return
    assert over is not None
    assert (over.checkouts, int(over.worst), int(over.now)) == expected
    finding = statuses[pool].overbooked
    assert finding is not None
    fix = "record the capacity change" if expected[2] else "entered after the checkouts"
    assert fix in finding["fix"]
    view = " ".join(
        " ".join(
            str(part) if isinstance(part, Text) else _plain_table(part)
            for part in status_view(list(statuses.values()), {})
        ).split()
    )
    assert "Data to check: loans recorded beyond a pool's units" in view
    if expected[2]:
        assert f"{expected[2]} more than its units" in view


def _plain_table(table: Any) -> str:
    from rich.console import Console

    console = Console(width=200, record=True)
    console.print(table)
    return console.export_text()


#: (units, loans out long past due, expected (available, lost, lending))
LOST_CASES = [
    ("1 drill, 1 loan long past due: lost", 1, 1, (0, 1, 0)),
    ("1 drill, 2 loans long past due: no fewer than 0 to lend", 1, 2, (0, 1, 1)),
    ("2 drills, 1 loan long past due", 2, 1, (1, 1, 0)),
]


@pytest.mark.parametrize(
    ("capacity", "late", "expected"), [c[1:] for c in LOST_CASES], ids=[c[0] for c in LOST_CASES]
)
def test_no_more_units_are_lost_than_the_pool_has(
    make_workspace: MakeWorkspace, capacity: int, late: int, expected: tuple[int, int, int]
) -> None:
    ws = make_workspace([], resources=[{**LENDING[0], "capacity": capacity}])
    start = NOW - timedelta(days=60)
    with ws.store.write() as conn:
        got = Ledger(conn).record(
            Batch(
                "lib",
                events=[
                    NewEvent("drill", "use", 1, start, f"L{i}", loan_ref=f"L{i}")
                    for i in range(late)
                ],
                loan_terms=[
                    NewLoanTerm("drill", f"L{i}", start, start + timedelta(days=7), f"L{i}:due")
                    for i in range(late)
                ],
            ),
            now=NOW,
        )
    assert got.accepted == 2 * late  # a checkout and a due date each
    with ws.store.read() as conn:
        pool = next(r for r in resources(conn) if r.slug == "drill")
        units = availability.units(conn, pool, NOW)
        status = next(s for s in all_statuses(conn, NOW) if s.slug == "drill")
    assert (int(units.available or 0), units.lost, int(units.lending)) == expected
    assert len(units.lost_due) == units.lost  # the reason dates only the loans it counts
    assert status.capacity is not None and status.capacity >= 0
    # Pages build Units from figures they read themselves (the overview's tiles).
    built = availability.Units(Decimal(capacity), Decimal(late), late, units.lost_due)
    assert (int(built.available or 0), built.lost, int(built.lending)) == expected


# -- a return that names no loan -------------------------------------------------------


def test_a_return_naming_no_loan_is_refused_where_loans_carry_references(
    make_workspace: MakeWorkspace,
) -> None:
    """Which loan came back cannot be told: counted, it lowered the units on loan while
    the open-loans list kept the loan. A pool kept as counts only keeps its returns."""
    pools = [
        {"slug": "saw", "name": "Tile saws", "kind": "pool", "capacity": 1},
        {"slug": "barrow", "name": "Wheelbarrows", "kind": "pool", "capacity": 4},
    ]
    ws = make_workspace([], resources=pools)
    start = NOW - timedelta(days=3)
    with ws.store.write() as conn:
        first = Ledger(conn).record(
            Batch(
                "desk",
                events=[
                    NewEvent("saw", "use", 1, start, "s-out", loan_ref="S1"),
                    NewEvent("barrow", "use", 2, start, "b-out"),  # counts only
                ],
            ),
            now=NOW,
        )
        later = Ledger(conn).record(
            Batch(
                "desk",
                events=[
                    NewEvent("saw", "replenish", 1, NOW - timedelta(hours=1), "s-in"),
                    NewEvent("barrow", "replenish", 1, NOW - timedelta(hours=1), "b-in"),
                ],
            ),
            now=NOW,
        )
    assert first.accepted == 2
    assert (later.accepted, later.quarantined) == (1, 1), later.reasons
    with ws.store.read() as conn:
        (reason,) = conn.scalars(select(QuarantinedRow.reason))
        stored = set(conn.scalars(select(Event.external_id)))
    assert reason.startswith("return with no loan_ref, on a pool whose loans carry one")
    assert stored == {"s-out", "b-out", "b-in"}


def test_a_checkout_naming_no_loan_is_refused_where_loans_carry_references(
    make_workspace: MakeWorkspace,
) -> None:
    """Its return could never be matched: two such checkouts showed "4/2 on loan" for
    good. A pool kept as counts only keeps its bare checkouts."""
    pools = [
        {"slug": "jigsaw", "name": "Jigsaws", "kind": "pool", "capacity": 2},
        {"slug": "barrow", "name": "Wheelbarrows", "kind": "pool", "capacity": 4},
    ]
    ws = make_workspace([], resources=pools)
    start = NOW - timedelta(days=3)
    with ws.store.write() as conn:
        first = Ledger(conn).record(
            Batch("desk", events=[NewEvent("jigsaw", "use", 1, start, "j-1", loan_ref="J1")]),
            now=NOW,
        )
        later = Ledger(conn).record(
            Batch(
                "volunteer",
                events=[
                    NewEvent("jigsaw", "use", 1, NOW - timedelta(hours=2), "j-2"),
                    NewEvent("barrow", "use", 1, NOW - timedelta(hours=2), "b-1"),
                ],
            ),
            now=NOW,
        )
    assert first.accepted == 1
    assert (later.accepted, later.quarantined) == (1, 1), later.reasons
    with ws.store.read() as conn:
        (reason,) = conn.scalars(select(QuarantinedRow.reason))
        stored = set(conn.scalars(select(Event.external_id)))
    assert reason.startswith("checkout with no loan_ref, on a pool whose loans carry one")
    assert "write the loan_ref its return will carry" in reason
    assert stored == {"j-1", "b-1"}
