"""Steward's one exception tree.

Every error Steward raises on purpose derives from :class:`StewardError`, so the
CLI can print one clear message (what, where, how to fix) and exit non-zero
without a traceback. Library errors (SQLAlchemy, httpx, paho) are translated at
the edge where they happen, never leaked as-is to a user.

    StewardError
    ├── ConfigError              bad or missing configuration (file, key path, expectation)
    ├── StoreError               the database cannot be used
    │   ├── SchemaOutOfDate      the schema is behind the code: run `steward db upgrade`
    │   └── StoreLocked          another process holds the single-instance lock
    │       └── LockLost         this `steward run` lost the lock: it runs no more jobs
    ├── LedgerError              a batch cannot be recorded as a whole
    ├── InputError               a user-supplied file or value cannot be read
    ├── SourceError              a collector's source failed
    │   └── TransientSourceError timeouts, 5xx, broker unreachable: retried with backoff
    ├── ForecastError            a forecast cannot be produced for a series
    ├── QuotaError               a quota policy cannot be applied
    ├── AlertError               an alert rule, route or delivery is misconfigured
    │   └── DeliveryError        a notification was not accepted by its target
    └── AccessDenied             the access scope does not allow this read or action
"""

from __future__ import annotations


class StewardError(Exception):
    """Base of every error Steward raises on purpose.

    ``hint`` tells the user how to fix it; the CLI prints it below the message.
    """

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n  hint: {self.hint}"
        return self.message


class ConfigError(StewardError):
    """The configuration is missing, malformed or inconsistent."""


class StoreError(StewardError):
    """The database cannot be reached or used."""


class SchemaOutOfDate(StoreError):
    """The database schema is older (or newer) than this version of Steward."""


class StoreLocked(StoreError):
    """Another process already holds the single-instance lock."""


class LockLost(StoreLocked):
    """The scheduler's lock was lost (its database connection ended): no more jobs here."""


class LedgerError(StewardError):
    """A batch cannot be recorded; nothing of it was written."""


class InputError(StewardError):
    """A user-supplied file or value cannot be read."""


class SourceError(StewardError):
    """A collector's source failed in a way that retrying will not fix."""


class TransientSourceError(SourceError):
    """A source failed in a way that may pass: retried with backoff."""


class ForecastError(StewardError):
    """A forecast cannot be produced."""


class QuotaError(StewardError):
    """A quota policy cannot be applied."""


class AlertError(StewardError):
    """An alert rule or route is misconfigured."""


class DeliveryError(AlertError):
    """A notification target did not accept a message."""


class AccessDenied(StewardError):
    """The access scope does not allow this read or action."""
