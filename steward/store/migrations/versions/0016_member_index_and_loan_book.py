"""event: a member's events by time; loan_book: the pools' open loans as the pipeline found them

A member's events by time, so a member's page reads only the days it shows.

The member index held the member id alone: the member's page (use in the last
30 days, use per day over 180 days, the newest 200 events) read every event the
member ever had, then filtered and sorted them. With the time in the index each
read is a range of it, and the newest events are its last entries. It replaces
the old index (still partial: events of shared stocks name no member), so an
insert writes no more index entries than before.

The loan book: the live loan views (overdue loans every few seconds on the
overview, a member's loans) found open loans among every checkout and return
a pool ever had. The pipeline now lists each pool's open loans with the highest
event id it read; a page checks those and the loans named by later events.

Revision ID: 0016
Revises: 0014
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from steward.store.types import UTCDateTime

revision: str = "0016"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "loan_book",
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("event_max_id", sa.BigInteger(), nullable=False),
        sa.Column("as_of", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["resource_id"], ["resource.id"], name=op.f("fk_loan_book_resource_id_resource")
        ),
        sa.PrimaryKeyConstraint("resource_id", name=op.f("pk_loan_book")),
    )
    op.create_table(
        "booked_loan",
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("loan_ref", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["resource_id"], ["resource.id"], name=op.f("fk_booked_loan_resource_id_resource")
        ),
        sa.PrimaryKeyConstraint("resource_id", "loan_ref", name=op.f("pk_booked_loan")),
    )
    op.drop_index("ix_event_member_id", table_name="event")
    op.create_index(
        "ix_event_member_time",
        "event",
        ["member_id", "occurred_at"],
        sqlite_where=sa.text("member_id IS NOT NULL"),
        postgresql_where=sa.text("member_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_table("booked_loan")
    op.drop_table("loan_book")
    op.drop_index("ix_event_member_time", table_name="event")
    op.create_index(
        "ix_event_member_id",
        "event",
        ["member_id"],
        sqlite_where=sa.text("member_id IS NOT NULL"),
        postgresql_where=sa.text("member_id IS NOT NULL"),
    )
