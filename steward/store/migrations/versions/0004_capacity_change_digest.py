"""capacity_change keeps a payload digest, so a changed row under an old id is a conflict

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("capacity_change", schema=None) as batch_op:
        # "" marks rows recorded before digests: they are treated as replays.
        batch_op.add_column(
            sa.Column("payload_hash", sa.String(length=32), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("capacity_change", schema=None) as batch_op:
        batch_op.drop_column("payload_hash")
