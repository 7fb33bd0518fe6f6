"""event: loan and member indexes only over rows that have a loan or a member

Every secondary index is written on every insert. Most events (funds, tanks,
meters) name no loan and no member, yet each added an entry to both indexes;
as partial indexes they cost such events nothing, and every query that uses
them (a loan or a member by value) implies the condition.

Revision ID: 0014
Revises: 0012
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_event_loan", table_name="event")
    op.create_index(
        "ix_event_loan",
        "event",
        ["resource_id", "loan_ref"],
        sqlite_where=sa.text("loan_ref IS NOT NULL"),
        postgresql_where=sa.text("loan_ref IS NOT NULL"),
    )
    op.drop_index("ix_event_member_id", table_name="event")
    op.create_index(
        "ix_event_member_id",
        "event",
        ["member_id"],
        sqlite_where=sa.text("member_id IS NOT NULL"),
        postgresql_where=sa.text("member_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_event_member_id", table_name="event")
    op.create_index("ix_event_member_id", "event", ["member_id"])
    op.drop_index("ix_event_loan", table_name="event")
    op.create_index("ix_event_loan", "event", ["resource_id", "loan_ref"])
