"""quota_budget (a period's budget, need and deficit); who/when/why of acks and silences

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import steward.store.types

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _quantity(name: str, nullable: bool) -> sa.Column:
    return sa.Column(name, steward.store.types.Quantity(precision=24, scale=6), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "quota_budget",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("period_start", steward.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("period_end", steward.store.types.UTCDateTime(timezone=True), nullable=False),
        _quantity("opening_amount", False),
        _quantity("amount", False),
        _quantity("need", True),
        _quantity("single_use", True),
        _quantity("gap_per_month", True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("basis", sa.Text(), nullable=False),
        sa.Column("remedy", sa.Text(), nullable=True),
        sa.Column("computed_at", steward.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["resource_id"], ["resource.id"], name=op.f("fk_quota_budget_resource_id_resource")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quota_budget")),
        sa.UniqueConstraint(
            "resource_id", "period_start", name=op.f("uq_quota_budget_resource_id_period_start")
        ),
    )
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.add_column(sa.Column("acknowledged_note", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("silenced_at", steward.store.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("silenced_by", sa.String(length=128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.drop_column("silenced_by")
        batch_op.drop_column("silenced_at")
        batch_op.drop_column("acknowledged_note")
    op.drop_table("quota_budget")
