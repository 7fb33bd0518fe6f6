"""collector skipped rows: source rows that by design carry nothing for the ledger

(e.g. a MyTurn "Check Out" activity line, a renewal folded into its loan), counted
apart so accepted + duplicates + quarantined stays the count of ledger rows.

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ("collector_run", "collector_state"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("skipped", sa.Integer(), nullable=False, server_default="0")
            )


def downgrade() -> None:
    for table in ("collector_run", "collector_state"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("skipped")
