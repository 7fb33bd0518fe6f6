"""Helpers shared by the collector tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from steward.workspace import Workspace

RESOURCES: list[dict[str, Any]] = [
    {"slug": "fund", "name": "Fund", "kind": "stock", "unit": "USD"},
    {"slug": "drill", "name": "Drills", "kind": "pool", "capacity": 5},
    {"slug": "tank", "name": "Tank", "kind": "stock", "unit": "L", "capacity": 5000},
]

MakeWorkspace = Callable[..., Workspace]


def in_process(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``steward ARGS`` through ``steward.cli.main`` in this process: (exit code, out, err)."""
    from steward.cli import main

    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def write_config(
    folder: Path,
    db_url: str,
    collectors: list[dict[str, Any]],
    resources: list[dict[str, Any]] | None = None,
    timezone: str = "Europe/London",
) -> Path:
    body = {
        "database": {"url": db_url},
        "commons": [
            {
                "slug": "town",
                "name": "Town commons",
                "timezone": timezone,
                "resources": resources if resources is not None else RESOURCES,
            }
        ],
        "collectors": collectors,
    }
    path = folder / "steward.yaml"
    path.write_text(yaml.safe_dump(body, sort_keys=False), encoding="utf-8")
    return path


def csv_collector(path: str = "src", **options: Any) -> dict[str, Any]:
    return {"name": "ledger", "kind": "csv", "commons": "town", "path": path, **options}
