"""The `steward` command, run as a user runs it: a real process, real files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

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
