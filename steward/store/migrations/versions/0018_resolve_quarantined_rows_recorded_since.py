"""quarantined_row: settle the open rows that were recorded later, before this rule existed

Recording a row now settles the earlier quarantined rows of the
same source and id (``Ledger._resolve_quarantined``), and ``steward quarantine
list`` shows only open ones. Rows quarantined and fixed (the file corrected and
imported again) before that stayed open and still asked for action. This
settles them once, by the same rule: an open row whose raw ``external_id`` was
recorded as an event, reading or loan term of the same source *after* the row
was quarantined. A record that was there before (a row refused for clashing with
a stored id) settles nothing. Capacity changes keep no time of recording, so a
quarantined capacity change stays open; ``steward quarantine retry`` settles it.

Revision ID: 0018
Revises: 0017
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from steward.store.types import UTCDateTime

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_QUARANTINED = sa.table(
    "quarantined_row",
    sa.column("id", sa.BigInteger),
    sa.column("source", sa.String),
    sa.column("raw", sa.JSON),
    sa.column("created_at", UTCDateTime()),
    sa.column("resolved_at", UTCDateTime()),
    sa.column("resolution", sa.Text),
)
#: The records a quarantined row can become, with their time of recording.
_RECORDS = {
    name: sa.table(
        name,
        sa.column("source", sa.String),
        sa.column("external_id", sa.String),
        sa.column("ingested_at", UTCDateTime()),
    )
    for name in ("event", "reading", "loan_term")
}
_CHUNK = 400  # ids bound per query: within old SQLite builds' 999 parameters


def upgrade() -> None:
    conn = op.get_bind()
    key = _QUARANTINED.c.raw["external_id"].as_string()
    open_rows: dict[str, list[tuple[int, str, datetime]]] = {}
    for row_id, source, ext, created in conn.execute(
        sa.select(_QUARANTINED.c.id, _QUARANTINED.c.source, key, _QUARANTINED.c.created_at).where(
            _QUARANTINED.c.resolved_at.is_(None)
        )
    ):
        if ext is not None and created is not None:
            open_rows.setdefault(source, []).append((row_id, str(ext), created))
    now = datetime.now(UTC)
    settled = []
    for source, rows in open_rows.items():
        ids = sorted({ext for _, ext, _ in rows})
        recorded: dict[str, tuple[str, datetime]] = {}
        for name, table in _RECORDS.items():
            for i in range(0, len(ids), _CHUNK):
                for ext, at in conn.execute(
                    sa.select(table.c.external_id, table.c.ingested_at).where(
                        table.c.source == source, table.c.external_id.in_(ids[i : i + _CHUNK])
                    )
                ):
                    recorded.setdefault(str(ext), (name, at))
        for row_id, ext, created in rows:
            found = recorded.get(ext)
            if found is not None and found[1] > created:
                settled.append(
                    {
                        "row_id": row_id,
                        "at": now,
                        "note": f"recorded later: {found[0]} {ext!r} of source {source!r} "
                        "(settled when the database was upgraded)",
                    }
                )
    if settled:
        conn.execute(
            sa.update(_QUARANTINED)
            .where(_QUARANTINED.c.id == sa.bindparam("row_id"))
            .values(resolved_at=sa.bindparam("at"), resolution=sa.bindparam("note")),
            settled,
        )


def downgrade() -> None:
    # Nothing to undo: a settled row was recorded; an older Steward lists it again
    # only if this note is removed by hand.
    pass
