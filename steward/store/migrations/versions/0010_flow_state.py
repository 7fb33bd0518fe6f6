"""flow_state (per-resource ledger watermark: flows and forecasts skip unchanged data),
scheduler_lease (one scheduler for sure on PostgreSQL) and job_run.runner

Revision ID: 0010
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from steward.store.types import UTCDateTime

revision: str = "0010"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "flow_state",
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.Column("event_max_id", sa.BigInteger(), nullable=False),
        sa.Column("readings", sa.BigInteger(), nullable=False),
        sa.Column("reading_max_id", sa.BigInteger(), nullable=False),
        sa.Column("changes", sa.BigInteger(), nullable=False),
        sa.Column("change_max_id", sa.BigInteger(), nullable=False),
        sa.Column("flows_through", sa.Date(), nullable=True),
        sa.Column("forecast_inputs", sa.String(length=200), nullable=True),
        sa.Column("forecast_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["resource_id"], ["resource.id"], name=op.f("fk_flow_state_resource_id_resource")
        ),
        sa.PrimaryKeyConstraint("resource_id", name=op.f("pk_flow_state")),
    )
    op.create_table(
        "scheduler_lease",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("holder", sa.String(length=128), nullable=False),
        sa.Column("expires_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_scheduler_lease")),
    )
    with op.batch_alter_table("job_run", schema=None) as batch_op:
        batch_op.add_column(sa.Column("runner", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("job_run", schema=None) as batch_op:
        batch_op.drop_column("runner")
    op.drop_table("scheduler_lease")
    op.drop_table("flow_state")
