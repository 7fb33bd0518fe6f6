"""Read ORM objects inside a caller's Core transaction (a short-lived Session on it)."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Connection, Select
from sqlalchemy.orm import Session

T = TypeVar("T")


def entities(conn: Connection, stmt: Select[T]) -> list[T]:
    """The statement's entities, loaded through the caller's connection and transaction."""
    with Session(bind=conn) as session:
        return list(session.scalars(stmt).all())


def rows(conn: Connection, stmt: Any) -> list[Any]:
    """Rows mixing entities and columns, e.g. ``select(Quota, Member.code)``."""
    with Session(bind=conn) as session:
        return list(session.execute(stmt).all())
