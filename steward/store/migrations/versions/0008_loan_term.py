"""loan_term: each loan's due date, from its checkout and each renewal on

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from steward.store.types import UTCDateTime

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "loan_term",
        sa.Column("id", big_id, nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("loan_ref", sa.String(length=200), nullable=False),
        sa.Column("starts_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("ingested_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("payload_hash", sa.String(length=32), nullable=False),
        sa.Column("run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.ForeignKeyConstraint(
            ["resource_id"], ["resource.id"], name=op.f("fk_loan_term_resource_id_resource")
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["collector_run.id"], name=op.f("fk_loan_term_run_id_collector_run")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loan_term")),
        sa.UniqueConstraint("source", "external_id", name=op.f("uq_loan_term_source_external_id")),
    )
    op.create_index("ix_loan_term_loan", "loan_term", ["resource_id", "loan_ref"])


def downgrade() -> None:
    op.drop_index("ix_loan_term_loan", table_name="loan_term")
    op.drop_table("loan_term")
