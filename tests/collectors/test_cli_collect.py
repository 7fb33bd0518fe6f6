"""`steward collect`, `sources` and `quarantine list|show|retry`, run in-process like a user."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select
from typer.testing import CliRunner

from steward.cli import app
from steward.store.models import Event, QuarantinedRow

from .support import MakeWorkspace, csv_collector

H = "external_id,resource,kind,amount,occurred_at\n"


def invoke(config: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["--config", str(config), *args], catch_exceptions=True)
    return result.exit_code, result.output + (
        str(result.exception or "") if result.exit_code else ""
    )


def test_collect_sources_and_retry_after_fixing_the_mapping(
    make_workspace: MakeWorkspace, tmp_path: Path
) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.csv").write_text(
        H + "e1,fund,use,$4.00,2024-05-01\ne2,fund,use,2,2024-05-02\n"
    )
    ws = make_workspace([csv_collector()])
    config = ws.config.path
    code, out = invoke(config, "collect")
    assert code == 0, out
    assert "ledger" in out and "Collected" in out
    code, out = invoke(config, "sources")
    assert code == 0 and "csv" in out
    code, out = invoke(config, "quarantine", "list")
    assert code == 0 and "missing" in out  # the column the config does not map
    with ws.store.read() as conn:
        first_id = conn.execute(
            select(QuarantinedRow.id).where(QuarantinedRow.location == "src/a.csv:2")
        ).scalar_one()
    code, out = invoke(config, "quarantine", "show", str(first_id))
    assert code == 0 and '"amount": "$4.00"' in out
    # The steward fixes the mapping, then retries: the rows become events.
    body = yaml.safe_load(config.read_text())
    body["collectors"][0]["columns"] = {"quantity": "amount"}
    config.write_text(yaml.safe_dump(body))
    code, out = invoke(config, "quarantine", "retry", "ledger")
    assert code == 0, out
    assert "2 accepted" in out
    with ws.store.read() as conn:
        events = conn.execute(select(func.count()).select_from(Event)).scalar_one()
        open_rows = conn.execute(
            select(func.count())
            .select_from(QuarantinedRow)
            .where(QuarantinedRow.resolved_at.is_(None))
        ).scalar_one()
    assert (events, open_rows) == (2, 0)
    code, out = invoke(config, "quarantine", "retry", "ledger")
    assert "no quarantined rows" in out


def test_retry_of_a_row_still_bad_keeps_it_quarantined(
    make_workspace: MakeWorkspace, tmp_path: Path
) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.csv").write_text(
        "external_id,resource,kind,quantity,occurred_at\ne1,fund,use,-4,2024-05-01\n"
    )
    ws = make_workspace([csv_collector()])
    invoke(ws.config.path, "collect")
    code, out = invoke(ws.config.path, "quarantine", "retry", "ledger")
    assert code == 0 and "1 still quarantined" in out
    with ws.store.read() as conn:
        rows = conn.execute(select(QuarantinedRow.resolved_at, QuarantinedRow.reason)).all()
    assert len(rows) == 2 and sum(r.resolved_at is None for r in rows) == 1


def test_collect_reports_failures_and_unknown_names(
    make_workspace: MakeWorkspace, tmp_path: Path
) -> None:
    ws = make_workspace([csv_collector(path="missing/file.csv")])
    code, out = invoke(ws.config.path, "collect")
    assert code != 0 and "does not exist" in out
    code, out = invoke(ws.config.path, "collect", "nope")
    assert code != 0 and "no collector named 'nope'" in out


@pytest.mark.parametrize("option", ["--help"])
def test_commands_are_registered(option: str) -> None:
    out = CliRunner().invoke(app, [option]).output
    for command in ("collect", "sources", "quarantine", "run"):
        assert command in out
