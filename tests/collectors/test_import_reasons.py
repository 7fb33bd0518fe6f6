"""A quarantined row's reason names the fix that fits the mistake: the resource a typo
meant, the day that does not exist, the date that is not ISO 8601, the unit written
beside a number, the zero that records nothing; and the summary cuts none mid-word."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from steward import numbers
from steward.importer import ImportOptions, import_file
from steward.store.models import QuarantinedRow

from .support import MakeWorkspace

#: More resources than a reason lists, so 'drill-cordless' falls past the cut.
RESOURCES = [
    {"slug": slug, "name": name, "kind": "stock", "unit": "cup"}
    for slug, name in [
        ("air-compressor", "Air compressor"),
        ("bike-pump", "Bike pump"),
        ("camping-stove", "Camping stove"),
        ("canoe", "Canoe"),
        ("carpet-cleaner", "Carpet cleaner"),
        ("chainsaw", "Chainsaw"),
        ("circular-saw", "Circular saw"),
        ("dehydrator", "Dehydrator"),
        ("drill-cordless", "Cordless drills"),
        ("flour", "Flour"),
    ]
]
EVENTS = "external_id,resource,kind,quantity,occurred_at,member\n"
WHEN = "2026-11-20T10:00:00+00:00"


def row(resource: str = "flour", quantity: str = "3", when: str = WHEN, member: str = "") -> str:
    return f'1,{resource},replenish,"{quantity}",{when},{member}\n'


#: (case, row, --timezone, words the reason must hold, words it must not hold)
CASES: list[tuple[str, str, str | None, tuple[str, ...], tuple[str, ...]]] = [
    (
        "a typo in a slug",
        row(resource="drill-cordles"),
        None,
        (
            "unknown resource 'drill-cordles'; did you mean 'drill-cordless'?",
            "If so, fix the resource column; if not, define it under commons[].resources",
        ),
        (),
    ),
    (
        "a display name instead of the slug",
        row(resource="Cordless drills"),
        None,
        (
            "unknown resource 'Cordless drills'; did you mean 'drill-cordless'?",
            "'Cordless drills' is its name",
        ),
        (),
    ),
    (
        "a display name in another case",
        row(resource="cordless DRILLS"),
        None,
        ("did you mean 'drill-cordless'?",),
        (),
    ),
    (
        "nothing close: define it, naming how many the list leaves out",
        row(resource="kayak"),
        None,
        ("unknown resource 'kayak'; define it under commons[].resources", "and 2 more"),
        ("did you mean",),
    ),
    (
        "a typo in a member code",
        row(member="anne-marei"),
        None,
        ("unknown member 'anne-marei'; did you mean 'anne-marie'?", "import members first"),
        (),
    ),
    (
        "a day February does not have, with an offset",
        row(when="2026-02-30T10:00:00+00:00"),
        None,
        ("occurred_at '2026-02-30T10:00:00+00:00'", "30 February 2026 does not exist"),
        ("write ISO 8601",),
    ),
    (
        "a day February does not have, local time with --timezone",
        row(when="2026-02-30T10:00:00"),
        "Europe/London",
        ("occurred_at '2026-02-30T10:00:00'", "30 February 2026 does not exist"),
        ("timezone",),
    ),
    (
        "a 31st of a 30-day month",
        row(when="2026-11-31T10:00:00Z"),
        None,
        ("31 November 2026 does not exist",),
        (),
    ),
    (
        "a day-first date with --timezone declared",
        row(when="30/11/2026 13:00"),
        "Europe/London",
        (
            "occurred_at '30/11/2026 13:00' is not ISO 8601",
            "30/11 or 11/30",
            "write it as 2026-11-30T13:00",
        ),
        ("--timezone", "has no timezone", "declare"),
    ),
    (
        "a day-first date and no timezone: both fixes named",
        row(when="30/11/2026 13:00"),
        None,
        (
            "occurred_at '30/11/2026 13:00' is not ISO 8601",
            "write it as 2026-11-30T13:00",
            "--timezone",
        ),
        (),
    ),
    (
        "a month-first date",
        row(when="11/30/2026 1:05"),
        "Europe/London",
        ("is not ISO 8601", "write it as 2026-11-30T01:05"),
        (),
    ),
    (
        "a date that could be either: both readings, no guess",
        row(when="03/04/2026 13:00"),
        "Europe/London",
        ("is not ISO 8601", "2026-04-03T13:00 (3 April) or 2026-03-04T13:00 (4 March)"),
        ("write it as 2026",),
    ),
    (
        "a unit after the number",
        row(quantity="3 cup"),
        None,
        ("quantity '3 cup'", "only the number", "write 3, not '3 cup'"),
        ("thousands", "grouped"),
    ),
    (
        "a plural unit after the number",
        row(quantity="2 cups"),
        None,
        ("write 2, not '2 cups'",),
        ("thousands",),
    ),
    (
        "a unit letter after the number",
        row(quantity="4 L"),
        None,
        ("write 4, not '4 L'",),
        ("thousands",),
    ),
    (
        "digits grouped with spaces keep their hint",
        row(quantity="1 234"),
        None,
        ("thousands: ' '",),
        ("only the number",),
    ),
    (
        "a zero quantity records nothing",
        row(quantity="0"),
        None,
        ("quantity 0 records nothing", "leave the row out"),
        ("reversal",),
    ),
    (
        "a negative quantity still names a reversal",
        row(quantity="-2"),
        None,
        ("quantity -2 must be > 0; record a reversal or the opposite kind instead",),
        (),
    ),
]


@pytest.mark.parametrize(
    ("case", "line", "timezone", "words", "absent"), CASES, ids=[c[0] for c in CASES]
)
def test_a_bad_row_gets_the_reason_that_fits_it(
    make_workspace: MakeWorkspace,
    tmp_path: Path,
    case: str,
    line: str,
    timezone: str | None,
    words: tuple[str, ...],
    absent: tuple[str, ...],
) -> None:
    ws = make_workspace([], resources=RESOURCES)
    members = tmp_path / "members.csv"
    members.write_text("code,name\nanne-marie,Anne-Marie\nbob,Bob\n")
    import_file(ws.store, members, ImportOptions("members", "people", commons="town"))
    path = tmp_path / "ev.csv"
    path.write_text(EVENTS + line)
    result = import_file(
        ws.store,
        path,
        ImportOptions("events", "sheet", timezone, number_format=numbers.UNDECLARED),
    )
    with ws.store.read() as conn:
        reasons = list(
            conn.scalars(select(QuarantinedRow.reason).where(QuarantinedRow.source == "sheet"))
        )
    assert (result.accepted, result.quarantined) == (0, 1), reasons
    (reason,) = reasons
    for word in words:
        assert word in reason, reason
    for word in absent:
        assert word not in reason, reason


def test_the_summary_cuts_reasons_at_a_word_and_counts_in_words(
    make_workspace: MakeWorkspace,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from .test_import_trust import steward

    ws = make_workspace([], resources=RESOURCES)
    monkeypatch.setenv("COLUMNS", "80")
    path = tmp_path / "ev.csv"
    path.write_text(EVENTS + '1,flour,replenish,"1,5",2026-11-20T10:00:00Z,\n')
    config = str(tmp_path / "steward.yaml")
    assert steward(capsys, "-c", config, "import", "events", str(path), "--decimal", ".")[0] == 3
    path.write_text(
        EVENTS + '1,flour,replenish,"1,5",2026-11-20T10:00:00Z,\n2,flour,use,1,' + WHEN + ",\n"
    )
    code, out, err = steward(capsys, "-c", config, "import", "events", str(path), "--decimal", ".")
    assert code == 0, out + err
    assert "2 rows read: 1 accepted, 0 duplicates, 1 quarantined" in out
    assert "1 of 2 rows was quarantined" in " ".join(out.split())
    # The old cut ended "...decimal point ('...') and o": now after a word, marked.
    (line,) = [x for x in out.splitlines() if "quarantined 1 x" in x]
    assert len(line) <= 80, line  # one line at the terminal's width: it said 97 characters
    shown = line.split(" x ", 1)[1]
    with ws.store.read() as conn:
        (reason,) = conn.scalars(select(QuarantinedRow.reason))
    full = re.sub(r"'([^']*)'", lambda m: m[0] if len(m[1]) <= 3 else "'...'", reason)
    assert len(shown) <= 80 and shown.endswith("…"), shown
    assert full.startswith(shown[:-1]) and full[len(shown) - 1] in " ,;:(", (shown, full)
    code, out, err = steward(capsys, "-c", config, "import", "events", str(path), "--decimal", ".")
    assert "2 rows read: 0 accepted, 1 duplicate, 1 quarantined" in out


def test_an_offset_without_minutes_among_local_times_is_refused_alone(
    make_workspace: MakeWorkspace, tmp_path: Path
) -> None:
    """It used to fail the whole import on mixed offsets once --timezone was given."""
    ws = make_workspace([], resources=RESOURCES)
    path = tmp_path / "ev.csv"
    path.write_text(
        EVENTS
        + row(when="2026-11-20T10:00+02")
        + row(when="2026-11-20 10:00").replace("1,", "2,", 1)
    )
    result = import_file(ws.store, path, ImportOptions("events", "sheet", "Europe/London"))
    with ws.store.read() as conn:
        (reason,) = conn.scalars(select(QuarantinedRow.reason))
    assert (result.accepted, result.quarantined) == (1, 1), reason
    assert "ends in an offset without minutes; write it in full (+02:00, not +02)" in reason
    assert "--timezone" not in reason


def test_a_file_imported_again_under_another_name_is_not_counted_twice(
    make_workspace: MakeWorkspace, tmp_path: Path
) -> None:
    """`volunteer1-v2.csv` after `volunteer1.csv`: another source, so every row counted
    twice without a word. Refused, naming the option that imports it as the first file."""
    ws = make_workspace([], resources=RESOURCES)
    first, second = tmp_path / "volunteer1.csv", tmp_path / "volunteer1-v2.csv"
    first.write_text(EVENTS + row(quantity="12.5") + "2,flour,use,3," + WHEN + ",\n")
    second.write_text(first.read_text() + "3,flour,use,4," + WHEN + ",\n")
    opts = ImportOptions("events", "import:volunteer1.csv")
    assert import_file(ws.store, first, opts).accepted == 2
    again = import_file(ws.store, second, ImportOptions("events", "import:volunteer1-v2.csv"))
    # Row 3 is new; rows 1 and 2 were recorded from the first file.
    assert (again.accepted, again.quarantined) == (1, 2), again.reasons
    with ws.store.read() as conn:
        reasons = list(
            conn.scalars(
                select(QuarantinedRow.reason).where(
                    QuarantinedRow.source == "import:volunteer1-v2.csv"
                )
            )
        )
    assert len(reasons) == 2
    for reason in reasons:
        assert reason.startswith("already recorded from import:volunteer1.csv: external id")
        assert "keep its name or pass --source import:volunteer1.csv" in reason
        assert "give it an id of its own" in reason
    # As the reason says: under the first file's source rows 1 and 2 are replays (and
    # row 3, recorded from the second file by now, is refused the same way).
    settled = import_file(ws.store, second, opts)
    assert (settled.accepted, settled.duplicates, settled.quarantined) == (0, 2, 1)
    # The same id with other contents (another event numbered alike) is not refused.
    other = tmp_path / "other.csv"
    other.write_text(EVENTS + row(quantity="7"))
    assert import_file(ws.store, other, ImportOptions("events", "import:other.csv")).accepted == 1


def test_the_summary_keeps_a_short_mark_that_is_the_point(
    make_workspace: MakeWorkspace, tmp_path: Path
) -> None:
    """Every quoted value became '...': "with decimal '...'" hid the ',' a volunteer
    needed; and a pattern of one value matched from one quote pair into the next."""
    ws = make_workspace([], resources=RESOURCES)
    path = tmp_path / "ev.csv"
    path.write_text(EVENTS + row(quantity="1,250"))
    result = import_file(ws.store, path, ImportOptions("events", "sheet"))
    (key,) = result.reasons
    assert key.startswith("quantity '...' reads as 1250 with decimal '.' and as 1.25"), key


def test_a_row_refused_again_in_other_words_is_listed_once(
    make_workspace: MakeWorkspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same row, refused for the same cause in other words (the configuration gained
    a resource, so the list the reason counts changed), is one row in quarantine with
    today's reason: it was listed once per wording, the steward's count doubling."""
    from .test_import_trust import steward

    ws = make_workspace([], resources=RESOURCES)
    path = tmp_path / "ev.csv"
    path.write_text(EVENTS + row(resource="kayak") + "2,flour,use,1," + WHEN + ",\n")
    config = str(tmp_path / "steward.yaml")
    assert steward(capsys, "-c", config, "import", "events", str(path))[0] == 0
    with ws.store.read() as conn:
        (before,) = conn.scalars(select(QuarantinedRow.reason))
    ws = make_workspace(
        [],
        resources=[
            *RESOURCES,
            {"slug": "ladder", "name": "Ladder", "kind": "stock", "unit": "cup"},
        ],
    )
    code, out, err = steward(capsys, "-c", config, "import", "events", str(path))
    assert code == 0 and "1 duplicate, 1 quarantined" in out, out + err
    with ws.store.read() as conn:
        rows = conn.execute(select(QuarantinedRow.reason, QuarantinedRow.resolved_at)).all()
    assert len(rows) == 1 and rows[0].resolved_at is None
    assert rows[0].reason != before and "and 3 more" in rows[0].reason, (before, rows)
    listed = steward(capsys, "-c", config, "quarantine", "list")[1]
    assert "(1 shown)" in listed and listed.count("ev.csv:2") == 1, listed
