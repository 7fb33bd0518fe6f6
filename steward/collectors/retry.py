"""Give quarantined rows another go after the steward fixed the config."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, insert, select, update

from steward import collectors
from steward.errors import SourceError
from steward.ledger import Ledger, TimeWindow
from steward.store.models import CollectorRun, QuarantinedRow
from steward.workspace import Workspace


def retry_quarantined(ws: Workspace, source: str) -> str:
    """Give a collector's unresolved quarantined rows another go with today's config.

    Collectors that can map a raw row again (csv, http, sql, mqtt) do so in one
    transaction; the others re-read their whole source (duplicates are skipped).
    Either way a row that still fails is quarantined anew with its current reason.
    """
    collector = collectors.build(ws.config, source)
    now = datetime.now(UTC)
    with ws.store.read() as conn:
        rows = conn.execute(
            select(QuarantinedRow.id, QuarantinedRow.location, QuarantinedRow.raw).where(
                QuarantinedRow.source == source, QuarantinedRow.resolved_at.is_(None)
            )
        ).all()
    if not rows:
        return f"{source}: no quarantined rows to retry."
    batch = collector.remap([(r.location, r.raw) for r in rows])
    ids = [r.id for r in rows]
    if batch is None:
        marker = f"retried by re-reading the source at {now.isoformat()}"
        with ws.store.write() as conn:
            _resolve(conn, ids, now, marker)
        report = collectors.run(ws, source, from_start=True)
        if report.status != "ok":
            with ws.store.write() as conn:
                conn.execute(
                    update(QuarantinedRow)
                    .where(QuarantinedRow.id.in_(ids), QuarantinedRow.resolution == marker)
                    .values(resolved_at=None, resolution=None)
                )
            raise SourceError(f"retry of {source!r} failed: {report.error}")
        return (
            f"{source}: re-read {report.rows_read:,} rows; {report.accepted:,} accepted, "
            + (f"{report.updated:,} updated, " if report.updated else "")
            + f"{report.quarantined:,} quarantined again."
        )
    with ws.store.write() as conn:
        run_id = conn.execute(
            insert(CollectorRun)
            .values(source=source, started_at=now, status="running")
            .returning(CollectorRun.id)
        ).scalar_one()
        _resolve(conn, ids, now, f"mapped again in run {run_id}")
        window = TimeWindow.from_config(ws.settings)
        result = Ledger(conn, run_id=run_id, window=window).record(batch)
        again = set(
            conn.execute(
                select(QuarantinedRow.location).where(QuarantinedRow.run_id == run_id)
            ).scalars()
        )
        for row in rows:
            if row.location in again:
                conn.execute(
                    update(QuarantinedRow)
                    .where(QuarantinedRow.id == row.id)
                    .values(resolution=f"still refused in run {run_id} (see the newer row)")
                )
        conn.execute(
            update(CollectorRun)
            .where(CollectorRun.id == run_id)
            .values(
                status="ok",
                finished_at=datetime.now(UTC),
                rows_read=result.rows_read,
                accepted=result.accepted + result.updated,
                duplicates=result.duplicates,
                quarantined=result.quarantined,
            )
        )
    return (
        f"{source}: retried {len(rows):,} rows; {result.accepted:,} accepted, "
        + (f"{result.updated:,} updated, " if result.updated else "")
        + f"{result.duplicates:,} already recorded, {result.quarantined:,} still quarantined."
    )


def _resolve(conn: Connection, ids: list[int], now: datetime, note: str) -> None:
    for start in range(0, len(ids), 500):
        conn.execute(
            update(QuarantinedRow)
            .where(QuarantinedRow.id.in_(ids[start : start + 500]))
            .values(resolved_at=now, resolution=note)
        )
