"""event: a member's events by time, so a member's page reads only the days it shows

The member index held the member id alone: the member's page (use in the last
30 days, use per day over 180 days, the newest 200 events) read every event the
member ever had, then filtered and sorted them. With the time in the index each
read is a range of it, and the newest events are its last entries. It replaces
the old index (still partial: events of shared stocks name no member), so an
insert writes no more index entries than before.

Revision ID: 0016
Revises: 0014
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_event_member_id", table_name="event")
    op.create_index(
        "ix_event_member_time",
        "event",
        ["member_id", "occurred_at"],
        sqlite_where=sa.text("member_id IS NOT NULL"),
        postgresql_where=sa.text("member_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_event_member_time", table_name="event")
    op.create_index(
        "ix_event_member_id",
        "event",
        ["member_id"],
        sqlite_where=sa.text("member_id IS NOT NULL"),
        postgresql_where=sa.text("member_id IS NOT NULL"),
    )
