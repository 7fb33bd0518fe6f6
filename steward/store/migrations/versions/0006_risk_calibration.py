"""risk_calibration: how often each resource's published risk figures came true

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import steward.store.types

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "risk_calibration",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("computed_at", steward.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("period_start", steward.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("period_end", steward.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("origins", sa.Integer(), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["resource.id"],
            name=op.f("fk_risk_calibration_resource_id_resource"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_calibration")),
        sa.UniqueConstraint(
            "resource_id", "event", name=op.f("uq_risk_calibration_resource_id_event")
        ),
    )


def downgrade() -> None:
    op.drop_table("risk_calibration")
