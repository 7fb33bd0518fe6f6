"""Helpers the quota tests share: recording into the garden and its drills' weekly budget."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from steward.ledger import Batch, Ledger, NewEvent, NewLoanTerm
from steward.quotas import period_bounds
from steward.quotas.resource_budget import Budget, pool_period_budget
from steward.quotas.tracking import policy_for
from steward.store import catalog
from steward.workspace import Workspace

NOW = datetime(2025, 3, 12, 11, 0, tzinfo=UTC)  # Wednesday, noon in Paris


def record(
    ws: Workspace, events: Sequence[NewEvent] = (), terms: Sequence[NewLoanTerm] = ()
) -> None:
    """Record ``events`` and loan ``terms`` in one batch; every row must be accepted."""
    with ws.store.write() as conn:
        result = Ledger(conn).record(Batch("books", events=events, loan_terms=terms))
        assert result.quarantined == 0, result.reasons


def drill_budget(ws: Workspace, now: datetime = NOW) -> Budget:
    """The garden drills' budget for the week (Paris) holding ``now``."""
    bounds = period_bounds(now, "Europe/Paris", "week")
    with ws.store.read() as conn:
        drill = catalog.resource(conn, "drill")
        return pool_period_budget(conn, drill, policy_for(ws.settings, "drill"), bounds, now)
