"""Rows a fresh user's import let through: impossible dates, readings on pools, ids used
twice, members of another commons. Each is quarantined with a reason that names its fix,
seen as `steward import` shows it."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from steward import collectors
from steward.importer import ImportOptions, RecordKind, import_file
from steward.ledger import (
    CLOCK_SKEW,
    Batch,
    Ledger,
    NewCapacityChange,
    NewEvent,
    NewPool,
    NewReading,
    TimeWindow,
)
from steward.store.models import CapacityChange, Event, QuarantinedRow, Reading
from steward.workspace import open_workspace

from .support import MakeWorkspace, csv_collector
from .support import in_process as steward
from .test_mqtt_sql import broker_up, mqtt_collector, publish

HEADER = "external_id,resource,kind,quantity,occurred_at,member\n"


@pytest.fixture
def config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A workspace with a stock and a pool in 'shed' and a second commons, 'garden'."""
    assert steward(capsys, "init", str(tmp_path), "--slug", "shed")[0] == 0
    path = tmp_path / "steward.yaml"
    data = yaml.safe_load(path.read_text())
    data["commons"][0]["timezone"] = "America/Los_Angeles"
    data["commons"][0]["resources"] = [
        {"slug": "fund", "name": "Fund", "kind": "stock"},
        {"slug": "drill", "name": "Drills", "kind": "pool", "capacity": 3},
    ]
    data["commons"].append(
        {
            "slug": "garden",
            "name": "Garden",
            "resources": [{"slug": "tank", "name": "Tank", "kind": "stock", "capacity": 100}],
        }
    )
    path.write_text(yaml.safe_dump(data))
    return path


def set_history_starts(config: Path, day: str) -> None:
    data = yaml.safe_load(config.read_text())
    data["commons"][0]["history_starts"] = day
    config.write_text(yaml.safe_dump(data))


def quarantined(config: Path) -> dict[str, str]:
    """Reason by row ("FILE:LINE") of every unresolved quarantined row."""
    ws = open_workspace(config)
    try:
        with ws.store.read() as conn:
            rows = conn.execute(select(QuarantinedRow.location, QuarantinedRow.reason)).all()
    finally:
        ws.close()
    return {r.location: r.reason for r in rows}


def event_ids(config: Path) -> list[str]:
    ws = open_workspace(config)
    try:
        with ws.store.read() as conn:
            return sorted(conn.scalars(select(Event.external_id)))
    finally:
        ws.close()


def iso(at: datetime) -> str:
    return at.isoformat(timespec="seconds")


# -- 1. dates a clock cannot have meant ----------------------------------------------


def test_rows_dated_in_the_future_or_before_the_commons_history_are_quarantined(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    now = datetime.now(UTC)
    path = tmp_path / "typos.csv"
    path.write_text(
        HEADER + "1,fund,replenish,100,2062-01-01T10:00:00Z,\n"
        "2,fund,use,5,1926-01-02T10:00:00Z,\n"
        f"3,fund,use,1,{iso(now - timedelta(days=1))},\n"
        f"4,fund,use,1,{iso(now + CLOCK_SKEW / 5)},\n"  # a clock a minute ahead: fine
        f"5,fund,use,1,{iso(now + timedelta(hours=8))},\n"  # local time written as UTC
    )
    code, out, err = steward(capsys, "-c", str(config), "import", "events", str(path))
    assert code == 0, out + err
    assert "5 rows read: 2 accepted, 0 duplicates, 3 quarantined" in out
    reasons = quarantined(config)
    assert set(reasons) == {"typos.csv:2", "typos.csv:3", "typos.csv:6"}
    future = reasons["typos.csv:2"]
    assert (
        "occurred_at '2062-01-01T10:00:00Z' is in the future" in future
    )  # as written in the file, not in UTC
    assert "plus 5 minutes allowed for clock skew" in future
    assert "fix the time where it was written, or the timezone" in future
    assert "is in the future" in reasons["typos.csv:6"]
    past = reasons["typos.csv:3"]
    assert "occurred_at '1926-01-02T10:00:00Z' is before the history of commons 'shed'" in past
    assert "starts '2000-01-01' (Steward's default)" in past
    assert "set history_starts: 1926-01-02 (or earlier) under commons 'shed'" in past
    # The summary groups them by what went wrong, not by each date.
    assert "quarantined 2 x occurred_at '...' is in the future" in out
    assert event_ids(config) == ["3", "4"]

    # Run again: nothing new is recorded, and each refused row stays quarantined once.
    code, out, _ = steward(capsys, "-c", str(config), "import", "events", str(path))
    assert "5 rows read: 0 accepted, 2 duplicates, 3 quarantined" in out
    assert len(quarantined(config)) == 3


def test_history_starts_admits_real_old_history_and_is_read_in_the_commons_timezone(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    set_history_starts(config, "1995-06-01")
    path = tmp_path / "ledger-book.csv"
    # The shed is in Los Angeles: its history starts at 1995-06-01T07:00Z.
    path.write_text(
        HEADER + "1,fund,replenish,100,1995-06-01T06:59:00Z,\n"
        "2,fund,replenish,100,1995-06-01T07:00:00Z,\n"
        "3,fund,replenish,100,1998-03-01T10:00:00Z,\n"
    )
    code, out, err = steward(capsys, "-c", str(config), "import", "events", str(path))
    assert code == 0, out + err
    assert "3 rows read: 2 accepted" in out
    reason = quarantined(config)["ledger-book.csv:2"]
    assert "which starts '1995-06-01' (its history_starts)" in reason
    assert "set history_starts: 1995-05-31 (or earlier)" in reason  # its local date


def test_the_real_myturn_history_and_the_demo_are_inside_the_default_window() -> None:
    """The default start (2000) leaves years of room before the oldest real export."""
    assert TimeWindow().start("any") == (date(2000, 1, 1), False)


def test_every_collector_records_through_the_window(
    make_workspace: MakeWorkspace, tmp_path: Path
) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "feed.csv").write_text(
        "external_id,resource,kind,quantity,occurred_at\n"
        "e1,fund,use,1,2024-05-01T10:00:00Z\n"
        "e2,fund,use,1,2204-05-01T10:00:00Z\n"
        "e3,fund,use,1,1970-01-01T00:00:00Z\n"
    )
    ws = make_workspace([csv_collector()])
    report = collectors.run(ws, "ledger")
    assert (report.accepted, report.quarantined) == (1, 2), report
    with ws.store.read() as conn:
        reasons = sorted(conn.scalars(select(QuarantinedRow.reason)))
    assert "'1970-01-01T00:00:00+00:00' is before the history of commons 'town'" in reasons[0]
    assert "'2204-05-01T10:00:00+00:00' is in the future" in reasons[1]


def test_a_run_as_of_a_given_moment_judges_the_future_from_it(
    make_workspace: MakeWorkspace, tmp_path: Path
) -> None:
    """A demo or benchmark built as it stood at a fixed moment ahead of the clock keeps
    its last rows; the moment is passed down, the clock is not consulted."""
    (tmp_path / "src").mkdir()
    soon = datetime.now(UTC) + timedelta(hours=6)
    (tmp_path / "src" / "feed.csv").write_text(
        "external_id,resource,kind,quantity,occurred_at\n"
        f"e1,fund,use,1,{soon - timedelta(hours=1):%Y-%m-%dT%H:%M:%SZ}\n"
        f"e2,fund,use,1,{soon + timedelta(hours=1):%Y-%m-%dT%H:%M:%SZ}\n"
    )
    ws = make_workspace([csv_collector()])
    report = collectors.run(ws, "ledger", now=soon)
    assert (report.accepted, report.quarantined) == (1, 1), report


def test_readings_capacity_changes_and_planned_rows(make_workspace: MakeWorkspace) -> None:
    """Sensor readings and capacity changes are checked too; a planned change is exempt."""
    ws = make_workspace([])
    now = datetime(2026, 6, 1, 12, tzinfo=UTC)
    later = now + timedelta(days=30)
    batch = Batch(
        "sensor",
        readings=[
            NewReading("tank", 10, now - timedelta(minutes=1), "r1"),
            NewReading("tank", 10, now + timedelta(hours=1), "r2"),
        ],
        capacity_changes=[
            NewCapacityChange("drill", 1, later, "c1", note="bought", scheduled=True),
            NewCapacityChange("drill", 1, later, "c2", note="bought"),
        ],
    )
    with ws.store.write() as conn:
        result = Ledger(conn).record(batch, now=now)
    assert (result.accepted, result.quarantined) == (2, 2)
    with ws.store.read() as conn:
        assert list(conn.scalars(select(Reading.external_id))) == ["r1"]
        assert list(conn.scalars(select(CapacityChange.external_id))) == ["c1"]
        reasons = sorted(conn.scalars(select(QuarantinedRow.reason)))
    assert reasons[0].startswith("effective_at '2026-07-01T12:00:00+00:00' is in the future")
    assert reasons[1].startswith("observed_at '2026-06-01T13:00:00+00:00' is in the future")


# -- 2. a pool takes no readings ---------------------------------------------------


def test_a_reading_on_a_pool_is_quarantined_naming_what_a_pool_takes(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "levels.csv"
    path.write_text("external_id,resource,value,observed_at\nr1,drill,2,2025-01-01T10:00:00Z\n")
    code, out, err = steward(capsys, "-c", str(config), "import", "readings", str(path))
    assert code == 3, out + err
    reason = quarantined(config)["levels.csv:2"]
    assert reason.startswith("resource 'drill' is a pool")
    assert "use (checkout), replenish (return) and adjust events and capacity changes" in reason


# -- 3. one id, two rows -----------------------------------------------------------


def test_an_id_repeated_in_a_file_is_recorded_once_and_counted(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "twice.csv"
    row = "7,fund,use,5,2025-01-02T10:00:00Z,\n"
    path.write_text(HEADER + "6,fund,use,1,2025-01-01T10:00:00Z,\n" + row + row)
    code, out, err = steward(capsys, "-c", str(config), "import", "events", str(path))
    assert code == 0, out + err
    assert "3 rows read: 2 accepted, 1 duplicate, 0 quarantined" in out
    assert "1 of the duplicates repeats an earlier row of this file" in out
    assert "twice.csv:4 repeats twice.csv:3" in out
    assert event_ids(config) == ["6", "7"]
    # Imported again: every row is already there, nothing new is recorded.
    code, out, _ = steward(capsys, "-c", str(config), "import", "events", str(path))
    assert "3 rows read: 0 accepted, 3 duplicates, 0 quarantined" in out
    assert event_ids(config) == ["6", "7"]


def test_an_id_used_twice_with_different_contents_records_neither_row(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "clash.csv"
    path.write_text(
        HEADER + "6,fund,use,1,2025-01-01T10:00:00Z,\n"
        "7,fund,use,5,2025-01-02T10:00:00Z,\n"
        "8,fund,use,2,2025-01-02T11:00:00Z,\n"
        "7,fund,use,6,2025-01-02T10:00:00Z,\n"
    )
    code, out, err = steward(capsys, "-c", str(config), "import", "events", str(path))
    assert code == 0, out + err
    assert "4 rows read: 2 accepted, 0 duplicates, 2 quarantined" in out
    reasons = quarantined(config)
    assert reasons["clash.csv:5"].startswith(
        "conflict: external id '7' first appears on clash.csv:3 with different contents "
        "(quantity 5 there, 6 here); neither row is recorded"
    )
    assert reasons["clash.csv:3"].startswith(
        "conflict: external id '7' appears again on clash.csv:5 with different contents "
        "(quantity 6 there, 5 here)"
    )
    assert event_ids(config) == ["6", "8"]
    # Again: the same two rows stay quarantined (once), nothing else moves.
    code, out, _ = steward(capsys, "-c", str(config), "import", "events", str(path))
    assert "4 rows read: 0 accepted, 2 duplicates, 2 quarantined" in out
    assert len(quarantined(config)) == 2


def test_a_row_refused_for_its_own_reason_keeps_it_and_its_twin_names_the_clash(
    make_workspace: MakeWorkspace,
) -> None:
    ws = make_workspace([])
    at = datetime(2025, 1, 2, 10, tzinfo=UTC)
    batch = Batch(
        "src",
        events=[
            NewEvent("fund", "use", "abc", at, "7", row="f:2"),
            NewEvent("fund", "use", 5, at, "7", row="f:3"),
        ],
    )
    with ws.store.write() as conn:
        result = Ledger(conn).record(batch)
    assert (result.accepted, result.quarantined, result.conflicts) == (0, 2, 1)
    with ws.store.read() as conn:
        reasons = dict(conn.execute(select(QuarantinedRow.location, QuarantinedRow.reason)).all())
    assert reasons["f:2"] == "quantity 'abc' is not a number"
    assert reasons["f:3"].startswith("conflict: external id '7' first appears on f:2")


def test_a_reimport_that_changes_a_recorded_row_names_what_the_ledger_holds(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "export.csv"
    path.write_text(HEADER + "6,fund,use,1,2025-01-01T10:00:00Z,\n")
    assert steward(capsys, "-c", str(config), "import", "events", str(path))[0] == 0
    path.write_text(
        HEADER + "6,fund,use,1.50,2025-01-01T10:00:00Z,\n7,fund,use,2,2025-01-02T10:00:00Z,\n"
    )
    code, out, err = steward(capsys, "-c", str(config), "import", "events", str(path))
    assert code == 0, out + err
    assert "2 rows read: 1 accepted, 0 duplicates, 1 quarantined" in out
    reason = quarantined(config)["export.csv:2"]
    assert reason.startswith(
        "conflict: external id '6' is already in the ledger with different contents "
        "(quantity 1 stored, 1.5 here); the ledger is never overwritten"
    )
    ws = open_workspace(config)
    try:
        with ws.store.read() as conn:
            stored = conn.scalar(select(Event.quantity).where(Event.external_id == "6"))
    finally:
        ws.close()
    assert stored is not None and float(stored) == 1.0  # the ledger kept what it had


# -- 4. a member of another commons --------------------------------------------------


def test_a_member_of_another_commons_is_named_with_their_commons(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    members = tmp_path / "members.csv"
    members.write_text("code,name,commons\nann,Ann,garden\n")
    assert steward(capsys, "-c", str(config), "import", "members", str(members))[0] == 0
    path = tmp_path / "loans.csv"
    path.write_text(
        HEADER + "1,fund,use,1,2025-01-01T10:00:00Z,ann\n2,fund,use,1,2025-01-01T10:00:00Z,bob\n"
    )
    code, out, err = steward(capsys, "-c", str(config), "import", "events", str(path))
    assert code == 3, out + err
    reasons = quarantined(config)
    assert reasons["loans.csv:2"].startswith(
        "member 'ann' belongs to commons 'garden', not to 'shed', the commons of resource 'fund'"
    )
    assert "import them as a member of 'shed'" in reasons["loans.csv:2"]
    assert reasons["loans.csv:3"] == (
        "unknown member 'bob'; the member column takes member codes as the members file "
        "gives them (not sign-in names); if it is one, import members first"
    )


@pytest.mark.skipif(not broker_up(), reason="needs the Mosquitto broker on 127.0.0.1:1883")
def test_a_sensor_with_its_clock_unset_or_ahead_is_quarantined(
    make_workspace: MakeWorkspace,
) -> None:
    """A sensor that booted without network time sends 1970; one with a wrong zone, hours ahead."""
    topic = f"steward-test/{uuid.uuid4().hex}"
    ws = make_workspace([mqtt_collector(topic, f"steward-test-{uuid.uuid4().hex[:12]}")])
    assert collectors.run(ws, "sensors").status == "ok"  # opens the broker's session
    ahead = int((datetime.now(UTC) + timedelta(hours=3)).timestamp())
    publish(
        f"{topic}/tank",
        [
            '{"value": 50, "at": 1714557600, "id": "ok"}',
            '{"value": 51, "at": 5, "id": "unset"}',
            f'{{"value": 52, "at": {ahead}, "id": "ahead"}}',
        ],
    )
    report = collectors.run(ws, "sensors")
    assert (report.accepted, report.quarantined) == (1, 2), report
    with ws.store.read() as conn:
        reasons = sorted(conn.scalars(select(QuarantinedRow.reason)))
    assert reasons[0].startswith("observed_at '1970-01-01T00:00:05+00:00' is before the history")
    assert "is in the future" in reasons[1]


def test_a_collector_quarantines_a_scheduled_cell_that_is_neither_yes_nor_no(
    make_workspace: MakeWorkspace, tmp_path: Path
) -> None:
    """'planned?' read as not planned would put a pledged grant in the past's ledger."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "feed.csv").write_text(
        "external_id,resource,kind,quantity,occurred_at,scheduled\n"
        "e1,fund,use,1,2024-05-01T10:00:00Z,no\n"
        "e2,fund,use,1,2024-05-02T10:00:00Z,planned?\n"
    )
    ws = make_workspace([csv_collector()])
    report = collectors.run(ws, "ledger")
    assert (report.accepted, report.quarantined) == (1, 1), report
    with ws.store.read() as conn:
        reasons = list(conn.scalars(select(QuarantinedRow.reason)))
    assert reasons == [
        "scheduled 'planned?' is neither yes nor no; write true/false, yes/no or 1/0 "
        "(empty: not planned)"
    ]


# -- reversals, whole units of a pool, the --timezone option ----------------------------

REV_HEADER = "external_id,resource,kind,quantity,occurred_at,member,reverses\n"


def ledger_state(config: Path) -> dict[str, object]:
    """Stored quantity by external id, the fund's level, and drills on loan and capacity."""
    from steward import flows
    from steward.store import catalog

    ws = open_workspace(config)
    try:
        with ws.store.read() as conn:
            fund = catalog.resource(conn, "fund")
            drill = catalog.resource(conn, "drill")
            assert fund is not None and drill is not None
            return {
                "quantity": dict(conn.execute(select(Event.external_id, Event.quantity)).all()),
                "fund": flows.level(conn, fund),
                "on_loan": flows.on_loan(conn, drill),
                "capacity": flows.capacity(conn, drill),
            }
    finally:
        ws.close()


@pytest.mark.parametrize("amount", ["5", "5.5"])
def test_a_reversal_imported_later_takes_the_quantity_it_cancels(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], amount: str
) -> None:
    """The file's quantity column is read as float64; the cancelled event's stored
    Decimal must go in as a number of that column, not crash the import."""
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    first.write_text(REV_HEADER + f"k1,fund,replenish,{amount},2026-11-20T10:00:00+00:00,,\n")
    # The reversal's own quantity (and kind) are the cancelled event's, whatever it says.
    second.write_text(REV_HEADER + "k2,fund,replenish,5,2026-11-21T10:00:00+00:00,,k1\n")
    for path in (first, second):
        code, out, err = steward(
            capsys, "-c", str(config), "import", "events", str(path), "--source", "corr"
        )
        assert code == 0, out + err
        assert "1 row read: 1 accepted" in out, out + err
    state = ledger_state(config)
    assert state["quantity"] == {"k1": Decimal(amount), "k2": Decimal(amount)}
    assert state["fund"] == 0


def test_a_reversal_of_a_checkout_from_another_file_frees_the_units(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_file, undo = tmp_path / "loans.csv", tmp_path / "undo.csv"
    out_file.write_text(REV_HEADER + "b1,drill,use,2,2026-11-20T10:00:00+00:00,,\n")
    undo.write_text(REV_HEADER + "r1,drill,use,2,2026-11-21T10:00:00+00:00,,b1\n")
    assert steward(capsys, "-c", str(config), "import", "events", str(out_file))[0] == 0
    assert ledger_state(config)["on_loan"] == 2

    # Under its own file's source the id is unknown: the reason names where it is.
    code, out, _ = steward(capsys, "-c", str(config), "import", "events", str(undo))
    assert code == 3, out
    reason = quarantined(config)["undo.csv:2"]
    assert "reverses 'b1', which is not in the ledger of source 'import:undo.csv'" in reason
    assert "it is in the ledger of source 'import:loans.csv'" in reason
    assert "import this file with --source import:loans.csv" in reason

    code, out, err = steward(
        capsys, "-c", str(config), "import", "events", str(undo), "--source", "import:loans.csv"
    )
    assert code == 0, out + err
    assert "1 row read: 1 accepted" in out
    state = ledger_state(config)
    assert state["on_loan"] == 0
    assert state["quantity"] == {"b1": Decimal(2), "r1": Decimal(2)}


def test_a_reversal_of_an_id_held_nowhere_says_how_to_import_one(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "stray.csv"
    path.write_text(REV_HEADER + "r1,fund,use,2,2026-11-21T10:00:00+00:00,,nope\n")
    assert steward(capsys, "-c", str(config), "import", "events", str(path))[0] == 3
    reason = quarantined(config)["stray.csv:2"]
    assert "--source <the source of the event it cancels>" in reason


def test_a_pool_counts_whole_units(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = tmp_path / "loans.csv"
    events.write_text(
        HEADER + "1,drill,use,1.5,2026-11-20T10:00:00Z,\n"
        "2,drill,replenish,1.5,2026-11-20T11:00:00Z,\n"
        "3,drill,use,1,2026-11-20T12:00:00Z,\n"
        "4,fund,use,1.5,2026-11-20T12:00:00Z,\n"  # a stock takes fractions
    )
    code, out, err = steward(capsys, "-c", str(config), "import", "events", str(events))
    assert code == 0, out + err
    assert "4 rows read: 2 accepted, 0 duplicates, 2 quarantined" in out
    reasons = quarantined(config)
    assert reasons["loans.csv:2"] == (
        "quantity 1.5 is not a whole number, and 'drill' is a pool, which counts whole "
        "units lent and returned: fix the quantity (or the resource column)"
    )
    assert "not a whole number" in reasons["loans.csv:3"]
    assert ledger_state(config)["on_loan"] == 1

    changes = tmp_path / "capacity.csv"
    changes.write_text(
        "external_id,resource,delta,effective_at\n"
        "c1,drill,1.5,2026-11-20T10:00:00Z\n"
        "c2,drill,-10,2026-11-20T10:00:00Z\n"
        "c3,drill,-2,2026-11-21T10:00:00Z\n"
        "c4,drill,-2,2026-11-22T10:00:00Z\n"  # after c3: would leave -1
        "c5,fund,1.5,2026-11-22T10:00:00Z\n"  # no capacity: not judged here
    )
    code, out, err = steward(capsys, "-c", str(config), "import", "capacity", str(changes))
    assert code == 0, out + err
    assert "5 rows read: 2 accepted, 0 duplicates, 3 quarantined" in out
    reasons = quarantined(config)
    assert "delta 1.5 is not a whole number, and 'drill' is a pool" in reasons["capacity.csv:2"]
    assert reasons["capacity.csv:3"].startswith(
        "delta -10 would leave pool 'drill' a capacity of -7 units, below 0 (it has 3 on "
        "2026-11-20T10:00:00+00:00"
    )
    assert "a capacity of -1 units, below 0 (it has 1 on" in reasons["capacity.csv:5"]
    assert ledger_state(config)["capacity"] == 1

    # Recorded changes count: a later file cannot take the rest below zero either.
    more = tmp_path / "more.csv"
    more.write_text("external_id,resource,delta,effective_at\nm1,drill,-2,2026-11-23T10:00:00Z\n")
    code, out, _ = steward(capsys, "-c", str(config), "import", "capacity", str(more))
    assert code == 3, out
    assert "a capacity of -1 units, below 0 (it has 1 on" in quarantined(config)["more.csv:2"]
    # Replayed, the accepted change is a duplicate and the refused ones stay refused once.
    code, out, _ = steward(capsys, "-c", str(config), "import", "capacity", str(changes))
    assert "5 rows read: 0 accepted, 2 duplicates, 3 quarantined" in out


def test_an_unknown_timezone_option_is_refused_before_the_file_is_read(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "never-read.csv"
    code, out, err = steward(
        capsys, "-c", str(config), "import", "events", str(missing), "--timezone", "Mars/Olympus"
    )
    assert code == 1
    assert "unexpected error" not in out + err
    assert "--timezone 'Mars/Olympus' is not a timezone Steward knows" in err
    assert "e.g. --timezone Europe/Paris" in err


def test_a_timezone_option_unlike_the_commons_own_is_said_plainly(
    config: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """--timezone may be right (a file exported in UTC) or a slip (every time an hour or
    more off, silently): not refused, but the summary names both zones, the option
    that reads the file as the commons keeps it, and how to undo what was recorded."""
    monkeypatch.setenv("COLUMNS", "80")
    path = tmp_path / "sheet.csv"
    path.write_text(
        HEADER + "s1,fund,replenish,5,2026-11-20T10:00:00,\n"
        "s2,fund,use,1,2026-11-20T11:00:00,\n"
        "g1,tank,replenish,9,2026-11-20T10:00:00,\n"
    )
    code, out, err = steward(
        capsys, "-c", str(config), "import", "events", str(path), "--timezone", "UTC"
    )
    assert code == 0 and "3 rows read: 3 accepted" in out, out + err
    assert all(len(line) <= 80 for line in out.splitlines()), out
    said = " ".join(out.split())
    # The shed keeps Los Angeles; the garden keeps UTC, as read: not named.
    assert (
        "Times without an offset were read as UTC in 2 rows of Our commons, which keeps "
        "America/Los_Angeles." in said
    ), said
    assert "Garden keeps" not in said
    # Steward has no undo: a re-import with the other zone refuses the recorded rows as
    # changed rows, so the summary names the reversal route, with the --source it needs.
    assert "If that is wrong, re-import with --timezone America/Los_Angeles" in said
    assert "the ids already recorded would be refused as changed, so first import" in said
    assert "reversals (a reverses column naming each id, with --source import:sheet.csv)" in said
    code, again, _ = steward(
        capsys,
        "-c",
        str(config),
        "import",
        "events",
        str(path),
        "--timezone",
        "America/Los_Angeles",
    )
    # As the summary said: the recorded ids, read at other times, are refused as changed
    # (the garden's too: the option is the file's, not a commons').
    assert code == 3 and "0 accepted, 0 duplicates, 3 quarantined" in again, again
    assert "is already in the ledger with" in quarantined(config)["sheet.csv:2"]
    again = " ".join(again.split())
    assert "read as America/Los_Angeles in 1 row of Garden, which keeps UTC." in again
    assert "first import their reversals" in again
    # A zone the commons keeps, or rows that all carry an offset: nothing to say.
    path.write_text(HEADER + "s3,fund,replenish,5,2026-11-21T10:00:00-08:00,\n")
    out = steward(capsys, "-c", str(config), "import", "events", str(path), "--timezone", "UTC")[1]
    assert "1 accepted" in out and "were read as" not in out, out
    path.write_text(HEADER + "s4,fund,replenish,5,2026-11-21T10:00:00,\n")
    out = steward(
        capsys,
        "-c",
        str(config),
        "import",
        "events",
        str(path),
        "--timezone",
        "America/Los_Angeles",
    )[1]
    assert "1 accepted" in out and "were read as" not in out, out


@pytest.mark.parametrize("kind", ["readings", "capacity"])
def test_rows_read_in_another_zone_are_counted_by_resource_on_each_store(
    make_workspace: MakeWorkspace, tmp_path: Path, kind: RecordKind
) -> None:
    """Readings and capacity changes too; only rows without an offset, and not those
    refused for their time; the undo named is the kind's own."""
    from steward.commands.importing import other_zone

    ws = make_workspace([])  # 'town', Europe/London: the tank and the drill pool
    resource, value = ("tank", "300") if kind == "readings" else ("drill", "1")
    head = "external_id,resource,value,observed_at\n"
    if kind == "capacity":
        head = "external_id,resource,delta,effective_at\n"
    path = tmp_path / "rows.csv"
    path.write_text(
        head + f"a,{resource},{value},2026-11-20T10:00:00\n"
        f"b,{resource},{value},2026-11-20T11:00:00+00:00\n"
        f"c,{resource},{value},20/11/2026 12:00\n"
    )
    opts = ImportOptions(kind, "sheet", "Europe/Paris")
    result = import_file(ws.store, path, opts)
    assert (result.accepted, result.quarantined) == (2, 1)
    assert result.read_in_timezone == {resource: 1}
    said = other_zone(ws, opts, result)
    assert said.startswith(
        "Times without an offset were read as Europe/Paris in 1 row of Town commons, "
        "which keeps Europe/London. If that is wrong, re-import with --timezone Europe/London"
    ), said
    undo = "opposite delta" if kind == "capacity" else "no command that removes a recorded"
    assert undo in said, said
    same = ImportOptions(kind, "sheet", "Europe/London")
    assert other_zone(ws, same, import_file(ws.store, path, same)) == ""


# -- 4. numbers that are none -----------------------------------------------------


def test_infinity_and_nan_are_said_to_be_no_numbers(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "sheet.csv"
    path.write_text(
        HEADER + "1,fund,use,Infinity,2025-01-01T10:00:00Z,\n"
        "2,fund,use,-inf,2025-01-01T10:00:00Z,\n"
        "3,fund,use,NaN,2025-01-01T10:00:00Z,\n"
        "4,fund,use,1_000,2025-01-01T10:00:00Z,\n"
    )
    code, out, err = steward(capsys, "-c", str(config), "import", "events", str(path))
    assert code == 3, out + err
    reasons = quarantined(config)
    for line, text in (("2", "Infinity"), ("3", "-inf"), ("4", "NaN")):
        reason = reasons[f"sheet.csv:{line}"]
        assert reason.startswith(f"quantity '{text}' is not a number but a program's word")
        assert "write the quantity in digits (e.g. 12 or 12.5)" in reason
        assert "too large" not in reason and "--decimal" not in reason
    assert "digits 0-9" in reasons["sheet.csv:5"]


def test_infinity_handed_over_as_a_number_is_no_number(make_workspace: MakeWorkspace) -> None:
    """A JSON payload or a float column hands the ledger inf itself: not "too large"."""
    ws = make_workspace([])
    at = datetime(2026, 6, 1, 12, tzinfo=UTC)
    batch = Batch(
        "sensor",
        readings=[NewReading("tank", float("inf"), at, "r1")],
        events=[NewEvent("fund", "use", Decimal("-Infinity"), at, "e1")],
    )
    with ws.store.write() as conn:
        result = Ledger(conn).record(batch, now=at)
    assert result.quarantined == 2
    with ws.store.read() as conn:
        got = sorted(conn.scalars(select(QuarantinedRow.reason)))
    assert got[0].startswith("quantity '-Infinity' is not a number but a program's word")
    assert got[1].startswith("value 'inf' is not a number but a program's word")


# -- 5. capacity on both timelines ------------------------------------------------


def day(n: int) -> str:
    """A moment ``n`` days from now (negative: ago), to the second, in UTC."""
    return iso(datetime.now(UTC).replace(microsecond=0) + timedelta(days=n))


CAPACITY = "external_id,resource,delta,effective_at,scheduled\n"


def test_a_planned_capacity_change_cannot_take_a_pool_below_0(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The shed has 3 drills. A planned retirement is judged as the forecast counts
    capacity: recorded changes plus the plans between now and then."""
    path = tmp_path / "plans.csv"
    path.write_text(
        CAPACITY + f"c1,drill,-1,{day(-10)},\n"  # 2 drills now
        f"p1,drill,-1,{day(30)},yes\n"  # 1 planned for next month
        f"p2,drill,-2,{day(60)},yes\n"  # would leave -1
        f"p3,drill,2,{day(90)},yes\n"  # two bought later: fine
        f"p4,drill,-3,{day(120)},yes\n"  # 1 + 2 - 3 = 0: fine
    )
    code, out, err = steward(capsys, "-c", str(config), "import", "capacity", str(path))
    assert code == 0, out + err
    assert "5 rows read: 4 accepted, 0 duplicates, 1 quarantined" in out
    reason = quarantined(config)["plans.csv:4"]
    assert reason.startswith(
        "planned delta -2 would leave pool 'drill' a capacity of -1 units, below 0 (it has 1 "
    )
    assert "the changes recorded by then and the planned ones between now and then" in reason
    # Planned changes do not count as recorded: the drills are 2 today.
    assert ledger_state(config)["capacity"] == 2


def test_a_change_dated_before_recorded_ones_is_refused_naming_the_row_it_would_break(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = tmp_path / "first.csv"
    first.write_text(
        CAPACITY + f"c1,drill,-1,{day(-20)},\n"
        f"c2,drill,-2,{day(-10)},\n"  # 3 - 1 - 2 = 0 from 10 days ago
        f"p1,drill,2,{day(30)},yes\n"
        f"p2,drill,-2,{day(60)},yes\n"  # back to 0 in two months
    )
    code, out, err = steward(capsys, "-c", str(config), "import", "capacity", str(first))
    assert code == 0 and "4 accepted" in out, out + err

    late = tmp_path / "late.csv"
    late.write_text(
        CAPACITY + f"c0,drill,-1,{day(-30)},\n"  # alone 2 then, but c2 would leave -1
        f"c3,drill,1,{day(-5)},\n"  # after every recorded change: fine
        f"p0,drill,-2,{day(40)},yes\n"  # 3 then (c3 counts), but p2 would leave -1
    )
    code, out, err = steward(capsys, "-c", str(config), "import", "capacity", str(late))
    assert code == 0, out + err
    assert "3 rows read: 1 accepted, 0 duplicates, 2 quarantined" in out
    reasons = quarantined(config)
    assert reasons["late.csv:2"].startswith(f"delta -1 on {day(-30)[:10]}"), reasons["late.csv:2"]
    assert (
        "would leave pool 'drill' below 0 later: the change 'c2' of source "
        f"'import:first.csv' (-2 on {day(-10)[:10]}"
    ) in reasons["late.csv:2"]
    assert "would then leave -1 units" in reasons["late.csv:2"]
    assert "fix this change, or that one if it is wrong" in reasons["late.csv:2"]
    assert "the planned change 'p2' of source 'import:first.csv' (-2 on" in reasons["late.csv:4"]
    assert ledger_state(config)["capacity"] == 1
    # Replayed: the refused rows stay quarantined once, the accepted one is a duplicate.
    code, out, _ = steward(capsys, "-c", str(config), "import", "capacity", str(late))
    assert "3 rows read: 0 accepted, 1 duplicate, 2 quarantined" in out
    assert len(quarantined(config)) == 2


def test_a_pool_a_source_created_counts_its_units_from_0(make_workspace: MakeWorkspace) -> None:
    """A pool without a configured capacity (a MyTurn item type) cannot lose a unit it
    never gained."""
    ws = make_workspace([])
    now = datetime(2026, 6, 1, 12, tzinfo=UTC)
    batch = Batch(
        "inventory",
        pools=[NewPool("town", "ladder", "Ladders")],
        capacity_changes=[
            NewCapacityChange("ladder", 1, now - timedelta(days=9), "item:1:acquired"),
            NewCapacityChange("ladder", -1, now - timedelta(days=5), "item:1:disabled"),
            NewCapacityChange("ladder", -1, now - timedelta(days=4), "item:2:disabled"),
        ],
    )
    with ws.store.write() as conn:
        result = Ledger(conn).record(batch, now=now)
    assert (result.accepted, result.quarantined) == (2, 1)
    with ws.store.read() as conn:
        reason = conn.scalars(select(QuarantinedRow.reason)).one()
    assert reason.startswith("delta -1 would leave pool 'ladder' a capacity of -1 units")


# -- 6. plans within reach ---------------------------------------------------------


def test_a_planned_row_beyond_the_plans_horizon_is_quarantined(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "plans.csv"
    path.write_text(
        "external_id,resource,kind,quantity,occurred_at,scheduled\n"
        "1,fund,use,5,2062-01-01T10:00:00Z,yes\n"  # 2026 typed as 2062
        f"2,fund,replenish,500,{day(700)},yes\n"  # a pledge for in two years: fine
        f"3,fund,replenish,500,{day(800)},yes\n"
    )
    code, out, err = steward(capsys, "-c", str(config), "import", "events", str(path))
    assert code == 0, out + err
    assert "3 rows read: 1 accepted, 0 duplicates, 2 quarantined" in out
    reason = quarantined(config)["plans.csv:2"]
    assert reason == (
        "occurred_at '2062-01-01T10:00:00Z' of a planned row is further ahead than "
        "commons 'shed' takes plans (Steward's default, 730 days: the longest forecast "
        "horizon): a mistyped year? fix the date at the source; if the plan is real, raise "
        "plans_ahead_days under commons 'shed' in the configuration"
    )
    assert "of a planned row is further ahead" in quarantined(config)["plans.csv:4"]
    # Replayed: stays quarantined once (the reason holds no clock reading).
    steward(capsys, "-c", str(config), "import", "events", str(path))
    assert len(quarantined(config)) == 2

    # The option moves the limit, and the reason names the configured one.
    data = yaml.safe_load(config.read_text())
    data["commons"][0]["plans_ahead_days"] = 1000
    config.write_text(yaml.safe_dump(data))
    code, out, _ = steward(capsys, "-c", str(config), "import", "events", str(path))
    assert "3 rows read: 1 accepted, 1 duplicate, 1 quarantined" in out
    later = [r for r in quarantined(config).values() if "its plans_ahead_days" in r]
    assert later and "(its plans_ahead_days, 1000 days)" in later[0]
    assert "3" in event_ids(config)


def test_planned_capacity_changes_and_collectors_keep_to_the_horizon(
    make_workspace: MakeWorkspace,
) -> None:
    ws = make_workspace([])
    now = datetime(2026, 6, 1, 12, tzinfo=UTC)
    batch = Batch(
        "plans",
        capacity_changes=[
            NewCapacityChange("drill", 1, now + timedelta(days=365), "c1", scheduled=True),
            NewCapacityChange("drill", 1, now + timedelta(days=731), "c2", scheduled=True),
        ],
    )
    with ws.store.write() as conn:
        result = Ledger(conn).record(batch, now=now)
    assert (result.accepted, result.quarantined) == (1, 1)
    with ws.store.read() as conn:
        reason = conn.scalars(select(QuarantinedRow.reason)).one()
    assert reason.startswith("effective_at '2028-06-01T12:00:00+00:00' of a planned row")
    assert "raise plans_ahead_days under commons 'town'" in reason


def test_the_default_plans_horizon_is_the_longest_forecast_horizon() -> None:
    from steward.config import ForecastConfig
    from steward.ledger import DEFAULT_PLANS_AHEAD_DAYS

    longest = max(
        m.le for m in ForecastConfig.model_fields["horizon_days"].metadata if hasattr(m, "le")
    )
    assert longest == DEFAULT_PLANS_AHEAD_DAYS


# -- 7. a loan comes back once ------------------------------------------------------


def test_a_loan_cannot_come_back_more_often_than_it_went_out(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    loans = "external_id,resource,kind,quantity,occurred_at,loan_ref\n"
    out = tmp_path / "out.csv"
    out.write_text(
        loans + "o1,drill,use,2,2026-11-05T10:00:00Z,L1\no2,drill,use,1,2026-11-05T11:00:00Z,L2\n"
    )
    code, out_text, err = steward(capsys, "-c", str(config), "import", "events", str(out))
    assert code == 0, out_text + err
    back = tmp_path / "back.csv"
    back.write_text(
        loans + "b1,drill,replenish,1,2026-11-06T10:00:00Z,L1\n"  # one of two drills back
        "b2,drill,replenish,1,2026-11-07T10:00:00Z,L1\n"  # the other: fine
        "b3,drill,replenish,1,2026-11-08T10:00:00Z,L1\n"  # a third: never went out
        "b4,drill,replenish,1,2026-11-06T10:00:00Z,L2\n"
    )
    code, out_text, err = steward(capsys, "-c", str(config), "import", "events", str(back))
    assert code == 0, out_text + err
    assert "4 rows read: 3 accepted, 0 duplicates, 1 quarantined" in out_text
    assert quarantined(config)["back.csv:4"] == (
        "return of loan 'L1' at 2026-11-08T10:00:00+00:00 brings back 1 units, but 2 went out "
        "by then and 2 came back already (returns 'b1', 'b2'): the same return recorded "
        "twice? keep one; if the loan went out again, record that checkout first"
    )
    assert ledger_state(config)["on_loan"] == 0
    # The same return again under a new id, from a later file: refused too.
    again = tmp_path / "again.csv"
    again.write_text(loans + "b4-copy,drill,replenish,1,2026-11-06T10:00:00Z,L2\n")
    code, out_text, _ = steward(capsys, "-c", str(config), "import", "events", str(again))
    assert code == 3, out_text
    assert "(returns 'b4')" in quarantined(config)["again.csv:2"]
    assert ledger_state(config)["on_loan"] == 0
    # A return reversed (entered wrongly) leaves room for the right one, even in one file.
    fix = tmp_path / "fix.csv"
    fix.write_text(
        "external_id,resource,kind,quantity,occurred_at,loan_ref,reverses\n"
        "b2-undo,drill,replenish,1,2026-11-09T10:00:00Z,,b2\n"
        "b2-right,drill,replenish,1,2026-11-09T10:00:00Z,L1,\n"
    )
    code, out_text, err = steward(
        capsys, "-c", str(config), "import", "events", str(fix), "--source", "import:back.csv"
    )
    assert code == 0 and "2 rows read: 2 accepted" in out_text, out_text + err
    assert ledger_state(config)["on_loan"] == 0


def test_a_refused_time_is_quoted_as_the_file_writes_it(
    make_workspace: MakeWorkspace, tmp_path: Path
) -> None:
    """It quoted the UTC moment ('2062-12-30T17:00:00+00:00'), which a volunteer
    searching the file for '2062-12-30T12:00:00-05:00' does not find."""
    ws = make_workspace([])
    path = tmp_path / "later.csv"
    path.write_text(HEADER + "1,fund,replenish,100,2062-12-30T12:00:00-05:00,\n")
    result = import_file(ws.store, path, ImportOptions("events", "later"))
    assert result.quarantined == 1
    with ws.store.read() as conn:
        (reason,) = conn.scalars(select(QuarantinedRow.reason))
    assert reason.startswith("occurred_at '2062-12-30T12:00:00-05:00' is in the future"), reason
