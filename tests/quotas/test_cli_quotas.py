"""`steward quotas` shows one signed figure for what is left, and why a quota is suspended."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from rich.console import Console
from typer.testing import CliRunner

from steward.cli import app
from steward.commands.quotas import quota_tables
from steward.ledger import Batch, Ledger
from steward.quotas.explain import left_text
from steward.workspace import open_workspace
from tests.quotas.conftest import GARDEN, MEMBERS


def _render(*tables: Any) -> str:
    console = Console(width=100, record=True)
    for table in tables:
        console.print(table)
    return console.export_text()


def test_left_is_signed_and_says_over_by() -> None:
    over = SimpleNamespace(
        allocation=Decimal("25"), used=Decimal("75.79"), projected=Decimal(80), status="review"
    )
    within = SimpleNamespace(
        allocation=Decimal("25"), used=Decimal("5"), projected=Decimal(9), status="ok"
    )
    held = SimpleNamespace(
        allocation=Decimal(0), used=Decimal("12"), projected=Decimal(12), status="suspended"
    )
    found = [
        (q, code, "A Member", "mutual-aid-fund", "USD", "Mutual-aid fund", "stock")
        for q, code in ((over, "F0001"), (within, "F0002"), (held, "F0003"))
    ]
    text = _render(*quota_tables(found))
    assert "over by 50.79" in text and "20" in text and "—" in text
    # A USD table writes money to the cent, though its cells carry no unit.
    assert "│ 25.00 │ 75.79 │" in text and "20.00" in text
    assert left_text(Decimal(25), Decimal("75.79"), "USD") == "over by 50.79 USD"
    assert left_text(25, 5) == "20"


def test_cli_says_why_quotas_are_suspended(
    db_url: str, store: Any, settings_factory: Callable[..., Path]
) -> None:
    # A tank with members but no recorded use: its budget cannot be computed yet.
    ws = open_workspace(settings_factory(GARDEN, db_url=db_url))
    with ws.store.write() as conn:
        Ledger(conn).record(Batch("members", members=MEMBERS))
    ws.close()
    out = CliRunner().invoke(app, ["--config", str(ws.config.path), "quotas", "--resource", "tank"])
    assert out.exit_code == 0, out.output
    text = " ".join(out.output.split())
    assert "suspended" in text
    assert "tank: suspended: Quotas on Rain tank are suspended for the week of" in text
    assert "its sustainable budget cannot be computed yet" in text
