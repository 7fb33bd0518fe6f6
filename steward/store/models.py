"""The store's tables, as typed SQLAlchemy 2 models.

The ledger tables (event, reading, capacity_change) are append-only: corrections are
reversing rows, never updates or deletes. Everything downstream (forecasts, quotas,
alerts) is derived and can be recomputed from them.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from steward.store.types import Quantity, UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BIGINT autoincrement on PostgreSQL; SQLite only autoincrements INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        Decimal: Quantity(),
        dict[str, Any]: JSON(),
    }


class ResourceKind(enum.StrEnum):
    STOCK = "stock"
    POOL = "pool"


class EventKind(enum.StrEnum):
    USE = "use"
    REPLENISH = "replenish"
    ADJUST = "adjust"


class Role(enum.StrEnum):
    STEWARD = "steward"
    MEMBER = "member"


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    return Enum(
        cls,
        name=name,
        native_enum=False,
        length=16,
        validate_strings=True,
        values_callable=lambda e: [m.value for m in e],
    )


class Commons(Base):
    __tablename__ = "commons"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(String(8))

    resources: Mapped[list[Resource]] = relationship(back_populates="commons")


class Member(Base):
    __tablename__ = "member"
    __table_args__ = (UniqueConstraint("commons_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    commons_id: Mapped[int] = mapped_column(ForeignKey("commons.id"))
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    weight: Mapped[Decimal] = mapped_column(default=Decimal(1))
    status: Mapped[str] = mapped_column(String(16), default="active")
    joined_at: Mapped[datetime | None]


class MemberExternalId(Base):
    """A member's id in one source (e.g. a MyTurn membership id)."""

    __tablename__ = "member_external_id"
    __table_args__ = (UniqueConstraint("commons_id", "source", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    commons_id: Mapped[int] = mapped_column(ForeignKey("commons.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    source: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(128))


class Resource(Base):
    __tablename__ = "resource"
    __table_args__ = (
        UniqueConstraint("slug"),
        CheckConstraint("kind in ('stock', 'pool')", name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    commons_id: Mapped[int] = mapped_column(ForeignKey("commons.id"))
    slug: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[ResourceKind] = mapped_column(_enum(ResourceKind, "resource_kind"))
    unit: Mapped[str] = mapped_column(String(32))
    #: Base capacity; capacity changes add to it over time.
    capacity: Mapped[Decimal | None]
    reserve: Mapped[Decimal | None]
    #: Level before the first event, for a stock with no reading yet.
    initial_level: Mapped[Decimal] = mapped_column(default=Decimal(0))
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)

    commons: Mapped[Commons] = relationship(back_populates="resources")


class CapacityChange(Base):
    """Units bought, retired or sent to repair (negative delta) from a moment on."""

    __tablename__ = "capacity_change"
    __table_args__ = (UniqueConstraint("source", "external_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resource.id"), index=True)
    effective_at: Mapped[datetime]
    delta: Mapped[Decimal]
    reason: Mapped[str] = mapped_column(String(200), default="")
    source: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(200))
    #: Scheduled changes (a planned purchase) are in the future when recorded.
    scheduled: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Digest of the payload, to tell a replay (same) from a conflict (different).
    payload_hash: Mapped[str] = mapped_column(String(32), default="")


class Event(Base):
    """One append-only ledger entry."""

    __tablename__ = "event"
    __table_args__ = (
        UniqueConstraint("source", "external_id"),
        # Every index is written on every insert, so each one below earns its place
        # (a bulk import pays for all of them; see migration 0014):
        # (source, external_id) above: replays and conflicts, reversals' targets;
        # resource and time: levels, flows, drift, status and the dashboard's windows.
        Index("ix_event_resource_time", "resource_id", "occurred_at"),
        # Loans by name (a return's checkout, open loans). Partial: most events
        # (funds, tanks, meters) belong to no loan and cost this index nothing.
        Index(
            "ix_event_loan",
            "resource_id",
            "loan_ref",
            sqlite_where=text("loan_ref IS NOT NULL"),
            postgresql_where=text("loan_ref IS NOT NULL"),
        ),
        # A member's usage and history by time (their page reads windows and the
        # newest rows), and the member foreign key. Partial for the same reason:
        # events of shared stocks name no member.
        Index(
            "ix_event_member_time",
            "member_id",
            "occurred_at",
            sqlite_where=text("member_id IS NOT NULL"),
            postgresql_where=text("member_id IS NOT NULL"),
        ),
        # The self-reference needs an index, or deleting n events (foreign keys on)
        # scans the table n times. Partial: most events reverse nothing.
        Index(
            "ix_event_reverses",
            "reverses_id",
            sqlite_where=text("reverses_id IS NOT NULL"),
            postgresql_where=text("reverses_id IS NOT NULL"),
        ),
        CheckConstraint("kind in ('use', 'replenish', 'adjust')", name="kind"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resource.id"))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    kind: Mapped[EventKind] = mapped_column(_enum(EventKind, "event_kind"))
    #: Always > 0 for use and replenish; an adjust is signed (+ raises the level).
    quantity: Mapped[Decimal]
    occurred_at: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(200))
    ingested_at: Mapped[datetime]
    loan_ref: Mapped[str | None] = mapped_column(String(200))
    #: A reversal cancels the event it names; it is never edited away.
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("event.id"))
    #: Scheduled events (a pledged grant, a planned refill) are projections, not history.
    scheduled: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Digest of the payload, to tell a replay (same) from a conflict (different).
    payload_hash: Mapped[str] = mapped_column(String(32))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("collector_run.id"))
    attributes: Mapped[dict[str, Any] | None]


class LoanTerm(Base):
    """When a loan is due, from a moment on: its checkout, then each renewal.

    Append-only like the ledger: a renewal adds a term rather than editing the
    old one, so the due date a loan had at any moment stays answerable (the
    term with the latest ``starts_at`` not after that moment). ``due_at`` is the
    first instant the loan is overdue (for a date-only due date, the end of that
    day in the commons' timezone).
    """

    __tablename__ = "loan_term"
    __table_args__ = (
        UniqueConstraint("source", "external_id"),
        Index("ix_loan_term_loan", "resource_id", "loan_ref"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resource.id"))
    loan_ref: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime]
    due_at: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(200))
    ingested_at: Mapped[datetime]
    payload_hash: Mapped[str] = mapped_column(String(32))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("collector_run.id"))


class Reading(Base):
    """An observed level (a tank sensor, a bank balance) that anchors the ledger."""

    __tablename__ = "reading"
    __table_args__ = (
        UniqueConstraint("source", "external_id"),
        Index("ix_reading_resource_time", "resource_id", "observed_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resource.id"))
    observed_at: Mapped[datetime]
    value: Mapped[Decimal]
    source: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(200))
    ingested_at: Mapped[datetime]
    payload_hash: Mapped[str] = mapped_column(String(32))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("collector_run.id"))


class QuarantinedRow(Base):
    """A source row that could not become an event, kept raw with its reason."""

    __tablename__ = "quarantined_row"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source: Mapped[str] = mapped_column(String(64), index=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("collector_run.id"))
    location: Mapped[str] = mapped_column(String(500), default="")
    #: Digest of location and raw row (not the reason, whose wording may change): a
    #: replayed bad row is not stored twice. Rows stored before also digested the reason.
    fingerprint: Mapped[str] = mapped_column(String(32), index=True)
    reason: Mapped[str] = mapped_column(Text)
    raw: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    #: Set when a retry turned the row into an event (or re-quarantined it anew).
    resolved_at: Mapped[datetime | None]
    resolution: Mapped[str | None] = mapped_column(Text)


class CollectorRun(Base):
    __tablename__ = "collector_run"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source: Mapped[str] = mapped_column(String(64), index=True)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16))  # running, ok, failed
    rows_read: Mapped[int] = mapped_column(default=0)
    accepted: Mapped[int] = mapped_column(default=0)
    duplicates: Mapped[int] = mapped_column(default=0)
    quarantined: Mapped[int] = mapped_column(default=0)
    #: Rows read that by design carry nothing for the ledger (activity lines, renewals).
    skipped: Mapped[int] = mapped_column(default=0, server_default="0")
    cursor: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)


class CollectorState(Base):
    """A collector's cursor and health, updated in the same transaction as its rows."""

    __tablename__ = "collector_state"

    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    cursor: Mapped[str | None] = mapped_column(Text)
    last_success_at: Mapped[datetime | None]
    last_error_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    consecutive_failures: Mapped[int] = mapped_column(default=0)
    rows_read: Mapped[int] = mapped_column(default=0)
    accepted: Mapped[int] = mapped_column(default=0)
    duplicates: Mapped[int] = mapped_column(default=0)
    quarantined: Mapped[int] = mapped_column(default=0)
    skipped: Mapped[int] = mapped_column(default=0, server_default="0")


class JobRun(Base):
    """A scheduled job's execution, or a missed one, as the scheduler saw it."""

    __tablename__ = "job_run"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    job: Mapped[str] = mapped_column(String(128), index=True)
    scheduled_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16))  # ok, failed, missed
    error: Mapped[str | None] = mapped_column(Text)
    #: The `steward run` process that ran it (host:pid).
    runner: Mapped[str | None] = mapped_column(String(64))


class ForecastRun(Base):
    __tablename__ = "forecast_run"
    __table_args__ = (Index("ix_forecast_run_resource_created", "resource_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resource.id"))
    created_at: Mapped[datetime]
    data_cutoff: Mapped[datetime | None]
    horizon_days: Mapped[int]
    method: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(Text, default="")
    scores: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: Headline risk figures (p_below_reserve, date_p50, p_over_capacity, ...).
    risk: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: Quantile paths: {"dates": [...], "mean": [...], "q0.1": [...], ...}.
    paths: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: Accuracy against what actually happened, filled in once the horizon has passed.
    accuracy: Mapped[dict[str, Any] | None]


class RiskCalibration(Base):
    """How often a resource's published risk figures came true, from a rolling-origin
    backtest (see steward.forecast.risk_backtest): reliability bins and Brier scores
    per event ("all_units_out" for pools, "below_reserve" for stocks). Derived data,
    replaced whole by the next backtest of the resource."""

    __tablename__ = "risk_calibration"
    __table_args__ = (UniqueConstraint("resource_id", "event"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resource.id"))
    event: Mapped[str] = mapped_column(String(32))
    computed_at: Mapped[datetime]
    period_start: Mapped[datetime]
    period_end: Mapped[datetime]
    origins: Mapped[int]
    #: steward.forecast.reliability.Reliability.to_json(): cases, base rate, Brier, bins.
    figures: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Quota(Base):
    __tablename__ = "quota"
    __table_args__ = (UniqueConstraint("member_id", "resource_id", "period_start"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resource.id"))
    period_start: Mapped[datetime]
    period_end: Mapped[datetime]
    allocation: Mapped[Decimal]
    used: Mapped[Decimal]
    projected: Mapped[Decimal]
    policy: Mapped[str] = mapped_column(String(32))
    explanation: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="ok")  # ok, nudged, warned, review
    computed_at: Mapped[datetime]


class QuotaBudget(Base):
    """A resource's sustainable budget for one quota period, and whether it covers need.

    ``opening_amount`` is the budget the period's quotas were set from (members were
    told); ``amount`` is the latest computation, which applies from the next period.
    ``state``: ``ok``, ``deficit`` (ordinary need above the budget) or ``stop``.
    """

    __tablename__ = "quota_budget"
    __table_args__ = (UniqueConstraint("resource_id", "period_start"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resource.id"))
    period_start: Mapped[datetime]
    period_end: Mapped[datetime]
    opening_amount: Mapped[Decimal]
    amount: Mapped[Decimal]
    need: Mapped[Decimal | None]
    single_use: Mapped[Decimal | None]
    gap_per_month: Mapped[Decimal | None]
    state: Mapped[str] = mapped_column(String(16))
    basis: Mapped[str] = mapped_column(Text)
    remedy: Mapped[str | None] = mapped_column(Text)
    computed_at: Mapped[datetime]


class Alert(Base):
    __tablename__ = "alert"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64), index=True)
    rule: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(16))
    audience: Mapped[str] = mapped_column(String(16), default="stewards")
    resource_id: Mapped[int | None] = mapped_column(ForeignKey("resource.id"))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    source: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))  # pending, firing, resolved
    summary: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    first_seen_at: Mapped[datetime]
    fired_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    last_evaluated_at: Mapped[datetime]
    last_notified_at: Mapped[datetime | None]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(128))
    silenced_until: Mapped[datetime | None]
    silence_reason: Mapped[str | None] = mapped_column(Text)
    #: Who and why, shown wherever the alert appears (list, dashboard, notifications).
    acknowledged_note: Mapped[str | None] = mapped_column(Text)
    silenced_at: Mapped[datetime | None]
    silenced_by: Mapped[str | None] = mapped_column(String(128))
    #: The one commons the alert belongs to: only its stewards see it or act on it.
    commons_id: Mapped[int | None] = mapped_column(ForeignKey("commons.id"), index=True)


class AlertHistory(Base):
    """Every state change, acknowledgement and silence, for the record."""

    __tablename__ = "alert_history"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alert.id"), index=True)
    at: Mapped[datetime]
    action: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str | None] = mapped_column(String(128))
    note: Mapped[str | None] = mapped_column(Text)


class OutboxMessage(Base):
    """A notification to deliver; unique per (alert, route, state change)."""

    __tablename__ = "outbox"
    __table_args__ = (UniqueConstraint("dedupe_key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(200))
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alert.id"))
    route: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    #: The commons whose stewards see this message (and its dead letter).
    commons_id: Mapped[int | None] = mapped_column(ForeignKey("commons.id"), index=True)
    #: Set when the retries ran out: a dead letter, never sent again by itself.
    dead_at: Mapped[datetime | None]


class Account(Base):
    """A dashboard login: a steward of a commons, or a member."""

    __tablename__ = "account"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(128), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(256))
    role: Mapped[Role] = mapped_column(_enum(Role, "account_role"))
    commons_id: Mapped[int | None] = mapped_column(ForeignKey("commons.id"))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    email: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime]
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)


class DailyFlow(Base):
    """Per-resource daily aggregates, precomputed by the pipeline for fast pages."""

    __tablename__ = "daily_flow"

    resource_id: Mapped[int] = mapped_column(ForeignKey("resource.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    used: Mapped[Decimal]
    replenished: Mapped[Decimal]
    adjusted: Mapped[Decimal]
    #: Stock: level at the end of the day. Pool: units on loan at the end of the day.
    level: Mapped[Decimal]
    #: Pool only: units checked out that day, and capacity that day.
    demand: Mapped[Decimal | None]
    capacity: Mapped[Decimal | None]


class FlowState(Base):
    """What the ledger held for a resource when its flows (and forecast) were last derived.

    Per ledger table, the row count and the highest id seen: the ledger is
    append-only, so a changed count means new rows, and when the new count equals
    the old count plus the rows above the old highest id, those rows are exactly
    what changed (a row that committed late under a lower id breaks the equality
    and forces a full recompute instead of being missed).
    """

    __tablename__ = "flow_state"

    resource_id: Mapped[int] = mapped_column(ForeignKey("resource.id"), primary_key=True)
    events: Mapped[int] = mapped_column(BigInteger)
    event_max_id: Mapped[int] = mapped_column(BigInteger)
    readings: Mapped[int] = mapped_column(BigInteger)
    reading_max_id: Mapped[int] = mapped_column(BigInteger)
    changes: Mapped[int] = mapped_column(BigInteger)
    change_max_id: Mapped[int] = mapped_column(BigInteger)
    #: Last local day written to daily_flow.
    flows_through: Mapped[date | None] = mapped_column(Date)
    #: The inputs the last stored forecast run was made from (see forecast/runs.py).
    forecast_inputs: Mapped[str | None] = mapped_column(String(200))
    forecast_at: Mapped[datetime | None]


class SchedulerLease(Base):
    """Who may run scheduled jobs, until when (PostgreSQL; see steward/scheduler_lease.py)."""

    __tablename__ = "scheduler_lease"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime]


class AppSecret(Base):
    """A key the application generated once and keeps, such as the session signing key.

    Used only when the environment does not provide one (STEWARD_SECRET_KEY).
    """

    __tablename__ = "app_secret"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime]


class DashboardSession(Base):
    """A signed-in dashboard session (the browser keeps only a signed cookie naming it).

    Revocable: signing out sets ``revoked_at``. ``password_mark`` is a keyed digest
    of the password hash the session was issued under, so a changed password ends it.
    """

    __tablename__ = "dashboard_session"

    #: SHA-256 of the random session id: a copy of this table gives no usable cookie.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    password_mark: Mapped[str] = mapped_column(String(64))


class LoanBook(Base):
    """Per pool: how far the pipeline read the ledger when it listed the pool's open loans.

    The live loan views (overdue loans, a member's loans) check only the loans
    listed in :class:`BookedLoan` and those named by events recorded after
    ``event_max_id``, instead of every checkout the pool ever had (see
    steward/loan_book.py).
    """

    __tablename__ = "loan_book"

    resource_id: Mapped[int] = mapped_column(ForeignKey("resource.id"), primary_key=True)
    #: The highest event id when the list was made.
    event_max_id: Mapped[int] = mapped_column(BigInteger)
    #: The moment the list answers for: loans open then, or checked out after it.
    as_of: Mapped[datetime]


class BookedLoan(Base):
    """A loan of a pool that was open at its :class:`LoanBook`'s moment, or checked out after it."""

    __tablename__ = "booked_loan"

    resource_id: Mapped[int] = mapped_column(ForeignKey("resource.id"), primary_key=True)
    loan_ref: Mapped[str] = mapped_column(String(200), primary_key=True)
