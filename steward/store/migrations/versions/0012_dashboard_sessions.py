"""dashboard sessions: revocable sign-ins that survive a reload (cookie names the row)

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import steward.store.types

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dashboard_session",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("created_at", steward.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", steward.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", steward.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("password_mark", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
            name=op.f("fk_dashboard_session_account_id_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dashboard_session")),
    )
    op.create_index(
        op.f("ix_dashboard_session_account_id"), "dashboard_session", ["account_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_dashboard_session_account_id"), table_name="dashboard_session")
    op.drop_table("dashboard_session")
