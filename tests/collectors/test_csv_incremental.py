"""Drop folders and growing files: appended rows read once, rotation detected, replays add nothing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import func, select

from steward import collectors
from steward.errors import ConfigError
from steward.store.models import CollectorRun, CollectorState, Event, QuarantinedRow
from steward.workspace import Workspace

from .support import MakeWorkspace, csv_collector

H = "external_id,resource,kind,quantity,occurred_at\n"


def rows(start: int, stop: int) -> str:
    return "".join(
        f"e{i},fund,use,{i % 7 + 1},2024-05-01 10:{i % 60:02d}\n" for i in range(start, stop)
    )


def event_totals(ws: Workspace) -> tuple[int, int]:
    with ws.store.read() as conn:
        count = conn.execute(select(func.count()).select_from(Event)).scalar_one()
        total = conn.execute(select(func.coalesce(func.sum(Event.quantity), 0))).scalar_one()
    return int(count), int(total)


def test_appended_rows_are_read_incrementally(
    make_workspace: MakeWorkspace, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    path = src / "a.csv"
    path.write_text(H + rows(0, 10))
    ws = make_workspace([csv_collector()])
    first = collectors.run(ws, "ledger")
    assert (first.rows_read, first.accepted) == (10, 10)
    with path.open("a") as out:
        out.write(rows(10, 15))
    second = collectors.run(ws, "ledger")
    # Only the five new rows are read: the cursor kept the byte offset.
    assert (second.rows_read, second.accepted, second.duplicates) == (5, 5, 0)
    assert event_totals(ws)[0] == 15


def test_partial_last_line_is_completed_later(
    make_workspace: MakeWorkspace, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    path = src / "a.csv"
    path.write_text(H + rows(0, 3) + "e3,fund,use,")  # a writer mid-line
    ws = make_workspace([csv_collector()])
    first = collectors.run(ws, "ledger")
    assert (first.accepted, first.quarantined) == (3, 1)
    with path.open("a") as out:
        out.write("4,2024-05-01 10:03\n")
    second = collectors.run(ws, "ledger")
    assert (second.rows_read, second.accepted) == (1, 1)
    assert event_totals(ws)[0] == 4


def test_rotated_file_is_read_again_without_double_counting(
    make_workspace: MakeWorkspace, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    path = src / "a.csv"
    path.write_text(H + rows(0, 20))
    ws = make_workspace([csv_collector()])
    collectors.run(ws, "ledger")
    # Rotated: a new, shorter file under the same name, repeating two old rows.
    path.unlink()
    path.write_text(H + rows(18, 25))
    report = collectors.run(ws, "ledger")
    assert (report.rows_read, report.accepted, report.duplicates) == (7, 5, 2)
    assert event_totals(ws)[0] == 25


def test_truncated_and_rewritten_in_place(make_workspace: MakeWorkspace, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    path = src / "a.csv"
    path.write_text(H + rows(0, 20))
    ws = make_workspace([csv_collector()])
    collectors.run(ws, "ledger")
    path.write_text(H + rows(0, 5))  # same inode, shorter
    report = collectors.run(ws, "ledger")
    assert (report.rows_read, report.duplicates) == (5, 5)


def test_drop_folder_reads_files_in_name_order(
    make_workspace: MakeWorkspace, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "2024-02.csv").write_text(H + rows(10, 20))
    (src / "2024-01.csv").write_text(H + rows(0, 10))
    ws = make_workspace([csv_collector()])
    seen: list[str] = []
    collectors.run(
        ws, "ledger", on_chunk=lambda chunk, _r: seen.append(chunk.batch.events["row"][0])
    )
    assert seen == ["src/2024-01.csv:2", "src/2024-02.csv:2"]
    (src / "2024-03.csv").write_text(H + rows(20, 25))
    assert collectors.run(ws, "ledger").accepted == 5


def test_replay_ten_times_adds_nothing(make_workspace: MakeWorkspace, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.csv").write_text(H + rows(0, 50) + "bad,fund,use,-1,2024-05-01\n")
    ws = make_workspace([csv_collector()])
    collectors.run(ws, "ledger")
    before = event_totals(ws)
    for _ in range(10):
        again = collectors.run(ws, "ledger", from_start=True)
        assert (again.accepted, again.duplicates, again.quarantined) == (0, 50, 1)
    assert event_totals(ws) == before
    with ws.store.read() as conn:
        state = conn.execute(select(CollectorState)).one()
        runs = conn.execute(select(func.count()).select_from(CollectorRun)).scalar_one()
        stored = conn.execute(select(func.count()).select_from(QuarantinedRow)).scalar_one()
    assert stored == 1  # a replayed bad row is kept once
    assert runs == 11
    assert state.accepted == 50 and state.duplicates == 500


def test_unchanged_files_are_not_read_again(make_workspace: MakeWorkspace, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.csv").write_text(H + rows(0, 5))
    ws = make_workspace([csv_collector()])
    collectors.run(ws, "ledger")
    report = collectors.run(ws, "ledger")
    assert (report.rows_read, report.chunks) == (0, 0)


def test_bad_option_names_its_key(make_workspace: MakeWorkspace, tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    ws = make_workspace([csv_collector(record="loans")])
    with pytest.raises(ConfigError, match=r"collectors\[0\]\.record"):
        collectors.run(ws, "ledger")
    ws = make_workspace([csv_collector(colums={})])
    with pytest.raises(ConfigError, match=r"collectors\[0\]\.colums: is not a known setting"):
        collectors.run(ws, "ledger")
    ws = make_workspace([csv_collector(columns={"amount": "x"})])
    with pytest.raises(ConfigError, match="unknown field"):
        collectors.run(ws, "ledger")


def test_missing_path_is_a_failed_run(make_workspace: MakeWorkspace, tmp_path: Path) -> None:
    ws = make_workspace([csv_collector(path="nowhere.csv")])
    report = collectors.run(ws, "ledger")
    assert report.status == "failed"
    assert "does not exist" in (report.error or "")
    with ws.store.read() as conn:
        state = conn.execute(select(CollectorState)).one()
    assert state.consecutive_failures == 1


def test_members_readings_and_capacity(make_workspace: MakeWorkspace, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "members.csv").write_text(
        "code,name,email,weight\nm1,Ann,a@x.org,2\nm2,Bo,,\n,Nobody,,\nm3,Cy,,heavy\n"
    )
    (src / "tank.csv").write_text(
        "external_id,resource,value,observed_at\nr1,tank,1200,2024-05-01T08:00:00Z\nr2,tank,-3,2024-05-01T09:00:00Z\n"
    )
    (src / "cap.csv").write_text(
        "external_id,resource,delta,effective_at,note\nc1,drill,2,2024-01-01,bought\nc2,drill,-1,2024-02-01,broken\n"
    )
    ws = make_workspace(
        [
            {**csv_collector("src/members.csv", record="members"), "name": "people"},
            {**csv_collector("src/tank.csv", record="readings"), "name": "tank"},
            {**csv_collector("src/cap.csv", record="capacity"), "name": "cap"},
        ]
    )
    people = collectors.run(ws, "people")
    assert (people.rows_read, people.accepted, people.quarantined) == (4, 2, 2)
    assert collectors.run(ws, "people", from_start=True).duplicates == 2
    tank = collectors.run(ws, "tank")
    assert (tank.accepted, tank.quarantined) == (1, 1)
    cap = collectors.run(ws, "cap")
    assert cap.accepted == 2


def test_mtime_only_change_rereads_as_duplicates(
    make_workspace: MakeWorkspace, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    path = src / "a.csv"
    path.write_text(H + rows(0, 5))
    ws = make_workspace([csv_collector()])
    collectors.run(ws, "ledger")
    os.utime(path, ns=(1, 1))
    report = collectors.run(ws, "ledger")
    assert report.rows_read == 0  # same bytes: resumed at the end


class Interrupted(Exception):
    pass


def test_run_interrupted_mid_file_resumes_where_it_committed(
    make_workspace: MakeWorkspace, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.csv").write_text(H + rows(0, 10))
    ws = make_workspace([csv_collector(chunk_rows=3)])

    def stop(_chunk: object, report: object) -> None:
        raise Interrupted  # as if the process died right after the first commit

    with pytest.raises(Interrupted):
        collectors.run(ws, "ledger", on_chunk=stop)
    assert event_totals(ws)[0] == 3
    # The file did not change, but it was not finished: the next run reads the rest.
    rest = collectors.run(ws, "ledger")
    assert (rest.rows_read, rest.accepted) == (7, 7)
