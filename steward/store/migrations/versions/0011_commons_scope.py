"""commons scope for alerts and outbox messages; dead letters in the outbox

Every alert and every notification belongs to one commons, so a steward sees and
acts on their own commons' alerts only. Alerts about a resource or a member take
that commons here; alerts about a collector get theirs from the configuration at
the next evaluation. ``outbox.dead_at`` marks a message whose retries ran out.

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.add_column(sa.Column("commons_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_alert_commons_id_commons", "commons", ["commons_id"], ["id"]
        )
        batch_op.create_index("ix_alert_commons_id", ["commons_id"])
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("commons_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("dead_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(
            "fk_outbox_commons_id_commons", "commons", ["commons_id"], ["id"]
        )
        batch_op.create_index("ix_outbox_commons_id", ["commons_id"])
    op.execute(
        "UPDATE alert SET commons_id = (SELECT resource.commons_id FROM resource"
        " WHERE resource.id = alert.resource_id) WHERE resource_id IS NOT NULL"
    )
    op.execute(
        "UPDATE alert SET commons_id = (SELECT member.commons_id FROM member"
        " WHERE member.id = alert.member_id) WHERE commons_id IS NULL AND member_id IS NOT NULL"
    )
    op.execute(
        "UPDATE outbox SET commons_id = (SELECT alert.commons_id FROM alert"
        " WHERE alert.id = outbox.alert_id) WHERE alert_id IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_commons_id")
        batch_op.drop_constraint("fk_outbox_commons_id_commons", type_="foreignkey")
        batch_op.drop_column("dead_at")
        batch_op.drop_column("commons_id")
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.drop_index("ix_alert_commons_id")
        batch_op.drop_constraint("fk_alert_commons_id_commons", type_="foreignkey")
        batch_op.drop_column("commons_id")
