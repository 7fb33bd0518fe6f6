"""The `steward` command, run as a user runs it: a real process, real files."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest
import yaml
from collectors.support import in_process  # tests/ is on sys.path (rootdir)

from steward.demo import TOOL_TYPES

STEWARD = [sys.executable, "-m", "steward"]


def run(
    *args: str, cwd: Path | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [*STEWARD, *args], capture_output=True, text=True, cwd=cwd, timeout=300, check=False
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"steward {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("demo") / "ws"
    run("demo", "--dir", str(directory), "--no-serve")
    return directory


def test_demo_builds_the_federation_and_status_lists_every_resource(demo_dir: Path) -> None:
    out = run("--config", str(demo_dir / "steward.yaml"), "status", "--format", "json").stdout
    statuses = {r["slug"]: r for r in json.loads(out)["resources"]}
    expected = {slug for slug, *_ in TOOL_TYPES} | {"water-tank", "seed-bank", "mutual-aid-fund"}
    assert set(statuses) == expected
    for slug, status in statuses.items():
        assert status["has_data"], slug
        if status["kind"] == "stock":
            assert status["level"] is not None and status["level"] >= 0, slug
        else:
            assert status["on_loan"] is not None and status["capacity"] >= 1, slug
            assert status["on_loan"] <= status["capacity"], slug
    assert 2000 < statuses["mutual-aid-fund"]["level"] < 9000


def test_demo_sources_are_files_the_collectors_read(demo_dir: Path) -> None:
    config = yaml.safe_load((demo_dir / "steward.yaml").read_text(encoding="utf-8"))
    for collector in config["collectors"]:
        matches = list(demo_dir.glob(collector["path"]))
        assert matches, f"collector {collector['name']} reads nothing at {collector['path']}"


def test_a_demo_built_without_serving_can_be_signed_into(demo_dir: Path) -> None:
    """`steward demo --no-serve` then `steward dashboard`: the sign-in page needs the
    demo's accounts, which only the serving demo used to create."""
    out = run("-c", str(demo_dir / "steward.yaml"), "account", "list").stdout
    for username in ("steward", "garden-steward", "fund-steward", "ada", "bo"):
        assert re.search(rf"│ {username} +│", out), out


def test_rebuilding_the_demo_is_repeatable(demo_dir: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    run("demo", "--dir", str(again), "--no-serve")
    first = json.loads(
        run("-c", str(demo_dir / "steward.yaml"), "status", "--format", "json").stdout
    )
    second = json.loads(run("-c", str(again / "steward.yaml"), "status", "--format", "json").stdout)
    # Same seed, same history (the live part of "now" differs by seconds at most).
    assert [r["slug"] for r in first["resources"]] == [r["slug"] for r in second["resources"]]


def test_errors_are_one_clear_message_without_traceback(tmp_path: Path) -> None:
    proc = run("--config", str(tmp_path / "missing.yaml"), "status", check=False)
    assert proc.returncode == 1
    assert "configuration file" in proc.stderr and "does not exist" in proc.stderr
    assert "Traceback" not in proc.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "commons:\n  - slug: x\n    name: X\n    resources:\n      - {slug: a, name: A, kind: tank}\n"
    )
    proc = run("--config", str(bad), "check", check=False)
    assert proc.returncode == 1
    assert "commons[0].resources[0].kind" in proc.stderr and "Traceback" not in proc.stderr
    proc = run("--debug", "--config", str(bad), "check", check=False)
    assert "Traceback" in proc.stderr


def test_init_check_and_schema_guard(tmp_path: Path) -> None:
    run("init", str(tmp_path / "ws"), "--name", "Garden", "--slug", "garden")
    config = tmp_path / "ws" / "steward.yaml"
    out = run("--config", str(config), "check").stdout
    assert "valid" in out and "schema current" in out
    # A database without the schema is refused with the command that fixes it.
    data = yaml.safe_load(config.read_text())
    data["database"]["url"] = "sqlite:///other.db"
    config.write_text(yaml.safe_dump(data))
    proc = run("--config", str(config), "status", check=False)
    assert proc.returncode == 1 and "steward db upgrade" in proc.stderr
    assert "upgraded" in run("--config", str(config), "db", "upgrade").stdout
    run("--config", str(config), "status")


def test_import_counts_and_is_idempotent(tmp_path: Path) -> None:
    run("init", str(tmp_path), "--slug", "shed")
    config = tmp_path / "steward.yaml"
    data = yaml.safe_load(config.read_text())
    data["commons"][0]["resources"] = [{"slug": "fund", "name": "Fund", "kind": "stock"}]
    config.write_text(yaml.safe_dump(data))
    events = tmp_path / "events.csv"
    events.write_text(
        "external_id,resource,kind,quantity,occurred_at\n"
        "1,fund,replenish,100.50,2025-01-01T10:00:00+00:00\n"
        "2,fund,use,20,2025-01-02 10:00\n"
        "3,fund,use,-4,2025-01-03T10:00:00Z\n"
        "4,tank,use,1,2025-01-03T10:00:00Z\n",
        encoding="utf-8",
    )
    out = run(
        "-c", str(config), "import", "events", str(events), "--timezone", "Europe/Paris"
    ).stdout
    assert "4 rows read: 2 accepted, 0 duplicates, 2 quarantined" in out
    out = run(
        "-c", str(config), "import", "events", str(events), "--timezone", "Europe/Paris"
    ).stdout
    assert "4 rows read: 0 accepted, 2 duplicates, 2 quarantined" in out
    status = json.loads(run("-c", str(config), "status", "--format", "json").stdout)
    assert status["resources"][0]["level"] == pytest.approx(80.5)
    missing = tmp_path / "bad.csv"
    missing.write_text("id,qty\n1,2\n")
    proc = run("-c", str(config), "import", "events", str(missing), check=False)
    assert proc.returncode == 1 and "missing column(s) external_id" in proc.stderr


def test_import_that_records_nothing_fails_and_every_reason_names_its_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "steward.yaml"
    assert in_process(capsys, "init", str(tmp_path), "--slug", "shed")[0] == 0
    data = yaml.safe_load(config.read_text())
    data["commons"][0]["resources"] = [{"slug": "fund", "name": "Fund", "kind": "stock"}]
    config.write_text(yaml.safe_dump(data))
    header = "external_id,resource,kind,quantity,occurred_at\n"
    bad = tmp_path / "bad.csv"
    bad.write_text(
        header + "1,fund,use,abc,2025-01-01T10:00:00Z\n2,nope,use,1,2025-01-01T10:00:00Z\n"
    )
    code, out, err = in_process(capsys, "-c", str(config), "import", "events", str(bad))
    # Every row quarantined: nothing recorded, so not a success (documented exit status 3).
    assert code == 3, out + err
    assert "all 2 rows were quarantined; nothing was recorded" in err
    assert "steward quarantine list --source import:bad.csv" in err
    assert "quantity 'abc' is not a number" in out  # grouped by what, not "quantity"
    # The command it names runs as pasted, whatever the file's name (a browser's copy).
    copy = tmp_path / "bad (1).csv"
    copy.write_text(bad.read_text())
    err = in_process(capsys, "-c", str(config), "import", "events", str(copy))[2]
    assert "steward quarantine list --source 'import:bad (1).csv'" in err

    mixed = tmp_path / "mixed.csv"
    mixed.write_text(
        header + f"1,fund,use,1{'0' * 20},2025-01-01T10:00:00Z\n"
        f"2,fund,use,1{'0' * 400},2025-01-01T10:00:00Z\n"
        "3,fund,use,1,2025-01-02 10:00\n4,fund,use,2,2025-01-02T10:00:00Z\n"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # numpy's overflow warning leaked
        code, out, err = in_process(capsys, "-c", str(config), "import", "events", str(mixed))
    assert code == 0, out + err
    assert "3 of 4 rows were quarantined" in out
    assert "steward quarantine list --source import:mixed.csv" in out
    # The reason's zone is an example: the summary names the commons' own.
    assert "the commons' timezones, for --timezone: shed UTC" in out
    listed = in_process(
        capsys, "-c", str(config), "quarantine", "list", "--source", "import:mixed.csv"
    )[1]
    flat = " ".join(listed.replace("│", " ").split())
    # Written out in full (scientific notation is refused for its own reason):
    # 1e20 is past the limit; 1e400, past what a float holds, is quarantined too
    # (the list shortens its 401 digits, not the reason after them) and raised no
    # overflow warning.
    assert "quantity '100000000000000000000' is too large" in flat
    assert "mixed.csv:3" in flat
    assert "reason: quantity '1000000000" in flat and "(401 characters) is too large" in flat
    # The reason for a time without an offset names the option that settles it.
    assert "has no UTC offset; pass --timezone" in flat
    shown = in_process(capsys, "-c", str(config), "quarantine", "show", "1")[1]
    assert "None" not in shown.splitlines()[0]  # was "(run None)" for an import
    # When it was quarantined, with its year and zone (an import has no commons: UTC).
    assert re.search(r"^quarantined \d{1,2} \w{3} 20\d\d, \d\d:\d\d UTC$", shown, re.M), shown

    code, _, err = in_process(
        capsys, "-c", str(config), "import", "events", str(mixed), "--decimal", "x"
    )
    assert code == 1 and "--decimal 'x'" in err
    assert "None" not in err


def test_status_at_80_columns_shows_counts_whole_and_no_float_noise(demo_dir: Path) -> None:
    config = str(demo_dir / "steward.yaml")
    env_run = subprocess.run(
        [*STEWARD, "-c", config, "status"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
        env={**os.environ, "COLUMNS": "80"},
    )
    table = env_run.stdout
    assert all(len(line) <= 80 for line in table.splitlines())
    # Seed packets are counted: "611 packets", never "611.00 packets".
    assert re.search(r"\b\d[\d,]* packets", table)
    assert not re.search(r"\d\.\d+ +packets", table)
    assert "+0.00" not in table and "(+" not in table and "(-" not in table
    payload = run("-c", config, "status", "--format", "json").stdout
    # Ledger quantities have at most six decimals; a difference of floats printed 17 digits.
    assert not re.search(r"\d\.\d{7,}", payload), re.findall(r"-?\d+\.\d{7,}", payload)[:5]
    fund = {r["slug"]: r for r in json.loads(payload)["resources"]}["mutual-aid-fund"]
    assert fund["trend"] == round(fund["trend"], 2)


@pytest.mark.parametrize(
    "args", [("--help",), ("quotas", "--help"), ("demo", "--help"), ("alerts", "list", "--help")]
)
def test_help_shows_no_type_beside_flags(args: tuple[str, ...]) -> None:
    out = subprocess.run(
        [*STEWARD, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={**os.environ, "COLUMNS": "80"},
    ).stdout
    assert "--help" in out
    assert "<bool>" not in out and "BOOL" not in out, out


def test_quotas_for_one_member_show_only_what_concerns_them(demo_dir: Path) -> None:
    config = str(demo_dir / "steward.yaml")
    out = run("-c", config, "quotas", "--member", "T0001").stdout
    # Ada holds a quota on the drills only: the fund's, the tank's and the seed bank's
    # budget lines (and the fund's deficit) were printed after her table all the same.
    flat = " ".join(out.split())
    assert "Ada Park (T0001)" in flat
    assert "drill-cordless: budget" in flat
    for other in ("mutual-aid-fund", "water-tank", "seed-bank"):
        assert other not in flat, other
    # The drills' own budget lines stand: the quotas' sum and, when short, its deficit.
    assert "quotas add up to" in flat
    # The period the figures count is named with its days and year.
    assert re.search(r"quotas in unit-days for 1–\d\d \w{3} 20\d\d", flat), flat
    proc = run("-c", config, "quotas", "--member", "NOBODY", check=False)
    assert proc.returncode == 1 and "no member with code 'NOBODY'" in proc.stderr
    # A misspelt slug was "no quotas for this period", with a hint to configure them.
    proc = run("-c", config, "quotas", "--resource", "water-tanks", check=False)
    assert proc.returncode == 1 and "no resource 'water-tanks'" in proc.stderr
    assert "--resource takes one of:" in proc.stderr and "water-tank" in proc.stderr


def test_a_member_code_two_commons_share_is_refused_naming_commons(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "steward.yaml"
    assert in_process(capsys, "init", str(tmp_path), "--slug", "shed")[0] == 0
    data = yaml.safe_load(config.read_text())
    data["commons"].append({"slug": "garden", "name": "Garden"})
    config.write_text(yaml.safe_dump(data))
    members = tmp_path / "members.csv"
    for commons in ("shed", "garden"):
        members.write_text(f"code,name,commons\nada,Ada {commons},{commons}\n", encoding="utf-8")
        code, out, err = in_process(capsys, "-c", str(config), "import", "members", str(members))
        assert code == 0, out + err
    code, _, err = in_process(capsys, "-c", str(config), "quotas", "--member", "ada")
    assert code == 1
    assert "member code 'ada' is used in 2 commons: garden, shed" in err
    assert "--commons" in err


def test_sources_show_the_newest_data_beside_the_last_success(demo_dir: Path) -> None:
    config = str(demo_dir / "steward.yaml")
    out = subprocess.run(
        [*STEWARD, "-c", config, "sources"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
        env={**os.environ, "COLUMNS": "80"},
    ).stdout
    assert all(len(line) <= 80 for line in out.splitlines())
    assert "newest data" in out
    # The loans' newest checkout or return, in the toolshed's zone, with its year.
    loans = next(i for i, line in enumerate(out.splitlines()) if "toolshed-loans" in line)
    assert re.search(r"\d{1,2} \w{3} 20\d\d, \d\d:\d\d P[SD]T", out.splitlines()[loans + 1])
    assert "no events or readings" in out  # a member list delivers none


def test_status_says_its_order_and_puts_alerts_first(demo_dir: Path) -> None:
    config = str(demo_dir / "steward.yaml")
    out = run("-c", config, "status").stdout
    assert out.startswith("Resources most urgent first: below reserve now")


def test_forecast_at_80_columns_lists_the_outlook_most_urgent_first(
    demo_dir: Path, tmp_path: Path
) -> None:
    """Each outlook sentence wraps under its own start and the likeliest shortfall
    leads: in catalogue order, 33 pool sentences hid the two stocks heading below
    their reserves."""
    copy = tmp_path / "ws"
    shutil.copytree(demo_dir, copy)
    slugs = ["seed-bank", "jigsaw", "mutual-aid-fund", "water-tank"]
    proc = subprocess.run(
        [*STEWARD, "-c", str(copy / "steward.yaml"), "forecast", *slugs],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
        env={**os.environ, "COLUMNS": "80"},
    )
    lines = proc.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines), [x for x in lines if len(x) > 80]
    outlook = lines[lines.index("Outlook, most urgent first:") + 1 :]
    starts = [x for x in outlook if x.startswith("  ") and not x.startswith("    ")]
    assert len(starts) == 4, outlook
    chances = [int(re.match(r"  (\d+)% chance", x).group(1)) for x in starts]  # type: ignore[union-attr]
    assert chances == sorted(chances, reverse=True)
    # A wrapped sentence goes on under its own text, not at the margin.
    assert all(x.startswith("    ") for x in outlook if x not in starts)


def test_forecast_outlook_puts_a_firing_alert_before_a_higher_chance(
    demo_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The order the outlook states: firing alerts before higher chances. The alerts
    were not read, so a fund with a firing deficit alert at 24% sat below pools at
    29-48% with none. Here only jigsaw, at a lower chance than the tank, has one."""
    import steward.commands.forecast as command
    import steward.status
    from steward.store.catalog import resources

    copy = tmp_path / "ws"
    shutil.copytree(demo_dir, copy)
    config = str(copy / "steward.yaml")

    def only_jigsaw(conn: Any, now: Any) -> dict[int, list[str]]:
        return {resources(conn, ["jigsaw"])[0].id: ["warning"]}

    monkeypatch.setattr(steward.status, "firing_alerts", only_jigsaw)
    # The head of the list, and the rest counted (600 item types printed 600 sentences).
    monkeypatch.setattr(command, "OUTLOOK_LINES", 2)
    monkeypatch.setattr(command.console, "width", 80)
    code, out, err = in_process(
        capsys, "-c", config, "forecast", "seed-bank", "jigsaw", "water-tank"
    )
    assert code == 0, out + err
    outlook = out[out.index("Outlook, most urgent first:") :].splitlines()[1:]
    starts = [x for x in outlook if x.startswith("  ") and not x.startswith("    ")]
    chance = {
        name: int(re.match(r"  (\d+)%", x).group(1))
        for x in starts
        for name in ("Jigsaws", "Rain water tank")
        if name in x
    }  # type: ignore[union-attr]
    assert chance["Jigsaws"] < chance["Rain water tank"], starts
    assert ["Jigsaws" in starts[0], "Rain water tank" in starts[1]] == [True, True], starts
    assert starts[2:] == ["  ... and 1 more, less urgent: `steward status` lists every resource."]


def test_collect_printed_to_a_file_starts_with_its_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "steward.yaml"
    assert in_process(capsys, "init", str(tmp_path), "--slug", "shed")[0] == 0
    data = yaml.safe_load(config.read_text())
    data["commons"][0]["resources"] = [{"slug": "fund", "name": "Fund", "kind": "stock"}]
    data["collectors"] = [
        {"name": f"feed-{i}", "kind": "csv", "commons": "shed", "path": f"in-{i}.csv"}
        for i in range(3)
    ]
    config.write_text(yaml.safe_dump(data))
    for i in range(3):
        (tmp_path / f"in-{i}.csv").write_text(
            "external_id,resource,kind,quantity,occurred_at\n"
            f"{i},fund,replenish,10,2025-01-01T10:00:00+00:00\n",
            encoding="utf-8",
        )
    code, out, err = in_process(capsys, "-c", str(config), "collect")
    assert code == 0, out + err
    # The progress bar is for a terminal: in a log it left a blank line per collector.
    assert out.splitlines()[0].strip() == "Collected", out


def test_account_list_shows_a_long_email_whole_at_80_columns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from steward.commands import account

    monkeypatch.setattr(account.console, "width", 80)  # the console's width is fixed on import
    config = str(tmp_path / "steward.yaml")
    assert in_process(capsys, "init", str(tmp_path), "--slug", "riverside-garden")[0] == 0
    monkeypatch.setenv("NEW_PASSWORD", "a-Long pass phrase 9")
    email = "treasurer.mutual-aid@neighbours-fund.example.org"
    code, out, err = in_process(
        capsys, "-c", config, "account", "add", "treasurer", "--role", "steward",
        "--email", email, "--password-env", "NEW_PASSWORD",
    )  # fmt: skip
    assert code == 0, out + err
    out = in_process(capsys, "-c", config, "account", "list")[1]
    assert all(len(line) <= 80 for line in out.splitlines()), out
    assert "…" not in out
    column = "".join(
        line.split("│")[5].strip() for line in out.splitlines() if line.count("│") == 8
    )
    assert email in column, out


def test_a_time_reason_tells_an_offset_without_minutes_from_none() -> None:
    import pandas as pd

    from steward.importer import time_reasons

    why = time_reasons(
        pd.Series(
            ["2026-11-01T10:00+02", "2026-11-01", "2026-11-01 10:00", "2026-11-01T10:00+02:00"]
        ),
        None,
        "occurred_at",
    ).tolist()
    assert why[0].startswith("occurred_at '2026-11-01T10:00+02' ends in an offset without minutes")
    # A date alone ends in '-01', which is no offset: it has none.
    assert "has no UTC offset; pass --timezone" in why[1] and "has no UTC offset" in why[2]
    assert why[3] == ""


def test_thousands_without_decimal_is_said_in_the_options_words() -> None:
    from steward.errors import InputError
    from steward.importer import number_format

    with pytest.raises(InputError) as caught:
        number_format(None, ".")
    assert str(caught.value).startswith("--thousands '.' needs --decimal too")
    assert "None" not in str(caught.value) and "Value error" not in str(caught.value)
    assert caught.value.hint == "e.g. --decimal , --thousands ."


def test_log_lines_go_to_the_stderr_a_progress_bar_set_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A rich progress bar replaces sys.stderr while it draws: a handler holding the old
    stream glued log lines to the bar ("36/362026-12-01 14:28:41,236 INFO ...")."""
    import io
    import logging
    import sys

    from steward.cli import _StderrNow

    handler = _StderrNow()
    drawn = io.StringIO()
    monkeypatch.setattr(sys, "stderr", drawn)
    handler.emit(logging.LogRecord("steward", logging.INFO, "", 0, "collected", None, None))
    assert drawn.getvalue() == "collected\n"
