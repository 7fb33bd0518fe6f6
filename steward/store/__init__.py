"""The store: tables, engine, schema versions and the queries built on them."""

from steward.store.engine import Store, make_engine

__all__ = ["Store", "make_engine"]
