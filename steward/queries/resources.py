"""Which resources a scope may see."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from steward import availability, flows
from steward.access import Scope
from steward.errors import AccessDenied, InputError
from steward.store import catalog
from steward.store.catalog import ResourceInfo


def visible(scope: Scope, conn: Connection) -> list[ResourceInfo]:
    """Stewards and members see their commons' resources; the public sees every commons'."""
    found = catalog.resources(conn)
    if scope.role == "public":
        return found
    return [r for r in found if r.commons_id == scope.commons_id]


def one(scope: Scope, conn: Connection, slug: str) -> ResourceInfo:
    """A resource the scope may see, by slug; InputError if unknown, AccessDenied if not theirs."""
    res = catalog.resource(conn, slug)
    if res is None:
        raise InputError(f"no resource {slug!r}", hint="pick a resource from the list")
    if scope.role != "public" and res.commons_id != scope.commons_id:
        raise AccessDenied(f"resource {slug!r} belongs to another commons")
    return res


def stewarded(scope: Scope, conn: Connection, slug: str) -> ResourceInfo:
    """A resource of the steward's own commons (AccessDenied for anyone else)."""
    res = one(scope, conn, slug)
    scope.require_steward(res.commons_id)
    return res


def pool_units(scope: Scope, conn: Connection, slug: str, now: datetime) -> availability.Units:
    """A pool's units at ``now`` as status, forecast and quota budget count them
    (:func:`steward.availability.units`): stewards of its commons only."""
    return availability.units(conn, stewarded(scope, conn, slug), now)


def overbooked(
    scope: Scope, conn: Connection, slug: str, at: datetime | None = None
) -> dict[str, Any] | None:
    """A steward's finding for a pool with more units out than units, else None.

    The shape of :attr:`steward.status.ResourceStatus.overbooked` (checkouts that
    found every unit out, first and last, worst and current excess, the fix).
    AccessDenied for anyone but a steward of the pool's commons.
    """
    from steward.status import overbooked_finding

    res = stewarded(scope, conn, slug)
    if str(res.kind) != "pool":
        return None
    found = flows.overbooked_many(conn, [res], at).get(res.id)
    return None if found is None else overbooked_finding(found)
