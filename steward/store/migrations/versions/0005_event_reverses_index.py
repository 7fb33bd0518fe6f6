"""index event.reverses_id: with foreign keys on, deleting events scanned the table per row

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_event_reverses",
        "event",
        ["reverses_id"],
        sqlite_where=sa.text("reverses_id IS NOT NULL"),
        postgresql_where=sa.text("reverses_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_event_reverses", table_name="event")
