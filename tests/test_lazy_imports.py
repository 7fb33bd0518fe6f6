"""`steward --help` and commands that do not forecast never import the forecasting stack."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("pandas", "statsmodels", "scipy")
PROBE = """
import json, sys
from steward.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps([m for m in {heavy!r} if m in sys.modules]))
"""


def _loaded(*args: str) -> list[str]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=HEAVY), *args],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return list(json.loads(out.strip().splitlines()[-1]))


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("lazy")
    subprocess.run(
        [sys.executable, "-m", "steward", "init", str(directory)], check=True, capture_output=True
    )
    return directory / "steward.yaml"


def test_help_imports_no_forecasting_stack() -> None:
    assert _loaded("--help") == []


@pytest.mark.parametrize(
    "command", [["status"], ["status", "--format", "json"], ["check"], ["account", "list"]]
)
def test_commands_that_do_not_forecast_import_none_of_it(
    workspace: Path, command: list[str]
) -> None:
    assert _loaded("--config", str(workspace), *command) == []


def test_a_lazily_loaded_command_shows_its_own_help() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "steward", "forecast", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "steward forecast [OPTIONS] [resources]" in out and "--help" in out
