"""flow_state: rewrite every stock's stored daily levels once, capped at its capacity

A stock with a capacity overflows: rain on a full tank is lost. The stored
daily levels (charts, the overview's tiles) summed every event instead, so a
10,000 L tank showed up to 10,026 L on 99 of the demo's 731 days, while status,
drift and the budget, worked out from the ledger, capped it. New flows are
capped; this clears each stock's "written through" day so the next pipeline run
rewrites its whole history the same way rather than only from the next new event.
Only the derived flows are redone; the ledger is untouched.

Revision ID: 0017
Revises: 0016
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "UPDATE flow_state SET flows_through = NULL "
        "WHERE resource_id IN (SELECT id FROM resource WHERE kind = 'stock')"
    )


def downgrade() -> None:
    # Nothing to undo: the flows are derived, and an older Steward rewrites
    # them from its own rule when the ledger next changes.
    pass
