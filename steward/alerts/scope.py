"""Which commons an alert belongs to: every alert has exactly one.

An alert about a resource or a member belongs to that resource's or member's
commons; an alert about a collector to the commons the configuration gives the
collector (``collectors[].commons``, see :class:`steward.config.Settings`). Only
that commons' stewards see the alert, act on it, and receive it on their routes.
"""

from __future__ import annotations

from sqlalchemy import Connection, select

from steward.config import Settings
from steward.store.models import Commons, Member, Resource


class CommonsOf:
    """Looks up an alert subject's commons (ids), loaded once per evaluation."""

    def __init__(self, conn: Connection, settings: Settings) -> None:
        self._conn = conn
        commons = conn.execute(select(Commons.id, Commons.slug, Commons.timezone)).all()
        self._slugs = {cid: slug for cid, slug, _ in commons}
        self._zones = {cid: zone for cid, _, zone in commons}
        by_slug = {slug: cid for cid, slug in self._slugs.items()}
        self._resources = {
            rid: cid for rid, cid in conn.execute(select(Resource.id, Resource.commons_id))
        }
        self._sources = {
            c.name: by_slug[c.commons]
            for c in settings.collectors
            if c.commons is not None and c.commons in by_slug
        }

    def __call__(
        self, resource_id: int | None, member_id: int | None, source: str | None
    ) -> int | None:
        """The commons id of the subject, or None when nothing names one (then nobody sees it)."""
        if resource_id is not None:
            return self._resources.get(resource_id)
        if member_id is not None:
            return self._conn.execute(
                select(Member.commons_id).where(Member.id == member_id)
            ).scalar()
        if source is not None:
            return self._sources.get(source)
        return None

    def slug(self, commons_id: int | None) -> str | None:
        return None if commons_id is None else self._slugs.get(commons_id)

    def timezone(self, commons_id: int | None) -> str:
        """The commons' IANA timezone, for times in its messages; UTC when none is known."""
        return self._zones.get(commons_id, "UTC") if commons_id is not None else "UTC"

    def id(self, slug: str | None) -> int | None:
        return next((cid for cid, s in self._slugs.items() if s == slug), None)
