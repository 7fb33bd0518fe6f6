"""Keep the store's commons and resources in step with the configuration.

Config is the source of truth for what is monitored; the ledger is the source of
truth for what happened. Resources are never deleted (their history stays).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, insert, select, update

from steward.config import Settings
from steward.store.models import Commons, Resource, ResourceKind


@dataclass(frozen=True)
class ResourceInfo:
    id: int
    slug: str
    name: str
    kind: ResourceKind
    unit: str
    capacity: Decimal | None
    reserve: Decimal | None
    initial_level: Decimal
    commons_id: int
    commons_slug: str
    timezone: str
    currency: str


def sync(conn: Connection, settings: Settings) -> None:
    """Insert or update every commons and resource named in the configuration.

    The stored rows are read once and only those that differ are written: every
    command opens the workspace, and a statement per resource (hundreds in a tool
    library) cost seconds and held the write lock for nothing.
    """
    commons_rows = {
        row.slug: row
        for row in conn.execute(
            select(Commons.id, Commons.slug, Commons.name, Commons.timezone, Commons.currency)
        ).all()
    }
    columns = ("commons_id", "name", "kind", "unit", "capacity", "reserve", "initial_level")
    resource_rows = {
        row.slug: row
        for row in conn.execute(
            select(
                Resource.id,
                Resource.slug,
                Resource.attributes,
                *(getattr(Resource, c) for c in columns),
            )
        ).all()
    }
    for commons in settings.commons:
        values = {
            "name": commons.name,
            "timezone": commons.timezone,
            "currency": commons.currency,
        }
        found = commons_rows.get(commons.slug)
        if found is None:
            cid = conn.execute(
                insert(Commons).returning(Commons.id), {"slug": commons.slug, **values}
            ).scalar_one()
        else:
            cid = found.id
            if _differs(found, values):
                conn.execute(update(Commons).where(Commons.id == cid).values(**values))
        for res in commons.resources:
            fields = {
                "commons_id": cid,
                "name": res.name,
                "kind": ResourceKind(res.kind),
                "unit": res.unit,
                "capacity": res.capacity,
                "reserve": res.reserve,
                "initial_level": res.initial_level,
                "attributes": res.attributes,
            }
            row = resource_rows.get(res.slug)
            if row is None:
                conn.execute(insert(Resource), {"slug": res.slug, **fields})
            elif _differs(row, fields):
                conn.execute(update(Resource).where(Resource.id == row.id).values(**fields))


def _differs(row: Any, values: dict[str, Any]) -> bool:
    """Whether a stored row differs from ``values`` (None only equals None)."""
    for name, value in values.items():
        stored = getattr(row, name)
        if (stored is None) != (value is None) or stored != value:
            return True
    return False


def resources(conn: Connection, slugs: list[str] | None = None) -> list[ResourceInfo]:
    stmt = (
        select(
            Resource.id,
            Resource.slug,
            Resource.name,
            Resource.kind,
            Resource.unit,
            Resource.capacity,
            Resource.reserve,
            Resource.initial_level,
            Resource.commons_id,
            Commons.slug.label("commons_slug"),
            Commons.timezone,
            Commons.currency,
        )
        .join(Commons, Commons.id == Resource.commons_id)
        .order_by(Commons.slug, Resource.slug)
    )
    if slugs:
        stmt = stmt.where(Resource.slug.in_(slugs))
    return [ResourceInfo(**row._mapping) for row in conn.execute(stmt).all()]


def resource(conn: Connection, slug: str) -> ResourceInfo | None:
    found = resources(conn, [slug])
    return found[0] if found else None
