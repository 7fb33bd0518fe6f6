"""The append-only ledger: record batches of events, readings and capacity changes.

A batch is recorded in the caller's transaction, all or nothing. Each source row
(one loan row may carry a checkout and a return) is judged as a whole:

* every record new and valid            -> accepted
* every record already in the ledger     -> duplicate (same source, external id, payload)
* any record invalid or conflicting      -> the whole row is quarantined with its reasons

so ``accepted + updated + duplicates + quarantined == rows read`` and no row is
half-written. The same external id with a different payload is a conflict:
quarantined, never overwritten. Corrections are reversing events (see
:func:`reversal`).

Members are the exception to "never overwritten": a roster row for a member code
the commons already has, with a different name, email or weight, updates the
member (counted ``updated``); the same row again is a duplicate. Two rows of one
batch for the same code with different contents: the first is recorded, the later
ones are quarantined as conflicts.

Validation is vectorised with pandas so a million-row import stays fast.
"""

from __future__ import annotations

import bisect
import difflib
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
import pandas as pd
from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy import text as sql_text

from steward import numbers, text_checks, written_dates
from steward.display import clipped
from steward.errors import LedgerError
from steward.store import bulk
from steward.store.models import (
    CapacityChange,
    Commons,
    Event,
    LoanTerm,
    Member,
    MemberExternalId,
    QuarantinedRow,
    Reading,
    Resource,
)
from steward.store.types import SCALE

if TYPE_CHECKING:
    from steward.config import Settings

KINDS = ("use", "replenish", "adjust")
#: A quarantine reason: one text, a text per row, or a builder run on the flagged rows only.
Reason: TypeAlias = str | pd.Series | Callable[[pd.Series], pd.Series]
#: Rows a result names as examples of repeats within one read.
REPEAT_EXAMPLES = 3
#: Beyond this, float64 can no longer carry SCALE exact decimal places.
MAX_QUANTITY = 9e9
#: What to do about a negative member weight (quota shares are in proportion to it).
WEIGHT_HINT = "a member's weight (their share of weighted quotas) must be 0 or more"
#: A reading may exceed its stock's capacity by this share (sensor noise, a brim-full tank).
CAPACITY_TOLERANCE = 0.05
#: How far past this machine's clock a recorded moment may lie. A clock kept by NTP is
#: off by milliseconds and a sensor's cheap crystal drifts about a minute a month, so five
#: minutes covers honest clocks and the delay between a reading and its delivery; a
#: timezone declared wrong moves a moment by 15 minutes at least (Nepal's +05:45), most
#: often by whole hours, and is caught. Planned (``scheduled``) rows are exempt.
CLOCK_SKEW = timedelta(minutes=5)
#: Optional batch column: the currency symbol or code a value was written with
#: (readers fill it from :func:`steward.numbers.currency_marks`), checked against
#: the resource's unit.
CURRENCY_MARK = "currency_mark"
#: Optional batch column: the value as the source wrote it (``"1,234"``), quoted by
#: reasons that concern how it was read.
AS_WRITTEN = "as_written"
#: How a source declares its decimal mark, for reasons that name the fix; ``{mark}``
#: is replaced by the mark to declare (a :class:`Batch` may give its own).
DECIMAL_SETTING = "set the source's `decimal` option to '{mark}'"
#: The first day a commons' records may carry unless its ``history_starts`` says otherwise
#: (in the commons' timezone). It refuses the dates of clocks never set (1970, Excel's
#: 1900), two-digit years read in the wrong century (1926 for 2026) and their like.
DEFAULT_HISTORY_STARTS = date(2000, 1, 1)
#: How far ahead a planned (``scheduled``) row may lie unless its commons'
#: ``plans_ahead_days`` says otherwise: the longest forecast horizon Steward allows
#: (``forecast.horizon_days`` is at most 730), so every plan it admits is one a forecast
#: can use, while a year typed as 2062 for 2026 is refused.
DEFAULT_PLANS_AHEAD_DAYS = 730


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """When a record may have happened: from its commons' history start to now plus skew.

    ``history_starts`` maps a commons slug to its ``commons[].history_starts`` (a date,
    taken as the start of that day in the commons' timezone); a commons not in it starts
    on :data:`DEFAULT_HISTORY_STARTS`. A record's moment (``occurred_at``,
    ``observed_at``, ``effective_at``, a loan term's ``starts_at``) outside the window
    quarantines its row, with a reason naming the limit and the way to move it.
    Planned (``scheduled``) rows may lie ahead of now, up to their commons'
    ``plans_ahead`` days (``commons[].plans_ahead_days``; absent:
    :data:`DEFAULT_PLANS_AHEAD_DAYS`).
    """

    history_starts: Mapping[str, date] = field(default_factory=dict)
    skew: timedelta = CLOCK_SKEW
    plans_ahead: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def from_config(cls, settings: Settings) -> TimeWindow:
        """The window a configuration sets: each commons' ``history_starts`` and
        ``plans_ahead_days``."""
        return cls(
            {c.slug: c.history_starts for c in settings.commons if c.history_starts is not None},
            plans_ahead={
                c.slug: c.plans_ahead_days
                for c in settings.commons
                if c.plans_ahead_days is not None
            },
        )

    def start(self, commons: str) -> tuple[date, bool]:
        """(first day of ``commons``' records, whether its configuration set it)."""
        given = self.history_starts.get(commons)
        return (given, True) if given is not None else (DEFAULT_HISTORY_STARTS, False)

    def ahead(self, commons: str) -> tuple[int, bool]:
        """(days a plan of ``commons`` may lie ahead of now, whether its configuration set it)."""
        given = self.plans_ahead.get(commons)
        return (given, True) if given is not None else (DEFAULT_PLANS_AHEAD_DAYS, False)


@dataclass(frozen=True, slots=True)
class NewEvent:
    resource: str
    kind: str
    quantity: Decimal | float | str
    occurred_at: datetime | str
    external_id: str
    member: str | None = None
    loan_ref: str | None = None
    reverses: str | None = None
    scheduled: bool = False
    attributes: dict[str, Any] | None = None
    row: str | None = None
    raw: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class NewReading:
    resource: str
    value: Decimal | float | str
    observed_at: datetime | str
    external_id: str
    row: str | None = None
    raw: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class NewCapacityChange:
    resource: str
    delta: Decimal | float | str
    effective_at: datetime | str
    external_id: str
    note: str = ""
    scheduled: bool = False
    row: str | None = None
    raw: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class NewLoanTerm:
    """A loan's due date from ``starts_at`` on (its checkout or a renewal).

    ``due_at`` is the first instant the loan is overdue. The loan is named by
    resource and ``loan_ref``, as on its events.
    """

    resource: str
    loan_ref: str
    starts_at: datetime | str
    due_at: datetime | str
    external_id: str
    row: str | None = None
    raw: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class NewMember:
    """A member of ``commons`` by its ``code``, created or updated by the ledger.

    A code the commons has not got is created (``weight`` None: 1). A known code
    whose name, email or weight differ is updated to this row's values; a blank
    (None) email or weight leaves the recorded one as it is. ``row`` is where the row
    was read (``FILE:LINE``), named by conflicts and quarantine. ``create_only``: the
    source only knows the code (its names are stand-ins), so a recorded member is never
    changed by it.
    """

    commons: str
    code: str
    name: str
    email: str | None = None
    weight: Decimal | None = Decimal(1)
    external_ids: tuple[tuple[str, str], ...] = ()
    row: str | None = None
    create_only: bool = False


@dataclass(frozen=True, slots=True)
class NewPool:
    """A pool a source discovered (a lending inventory's item type), created if missing.

    A pool that already exists (declared in the configuration, or created before)
    is left as it is. Its capacity comes from the source's capacity changes.
    """

    commons: str
    slug: str
    name: str
    unit: str = "items"


@dataclass(frozen=True, slots=True)
class Rejected:
    """A source row the mapper could not read at all, with why."""

    row: str
    raw: dict[str, Any]
    reason: str


@dataclass
class Batch:
    """What one read of a source produced. Frames or record lists, or both."""

    source: str
    events: pd.DataFrame | Sequence[NewEvent] = ()
    readings: pd.DataFrame | Sequence[NewReading] = ()
    capacity_changes: pd.DataFrame | Sequence[NewCapacityChange] = ()
    members: Sequence[NewMember] = ()
    rejected: Sequence[Rejected] = ()
    loan_terms: pd.DataFrame | Sequence[NewLoanTerm] = ()
    pools: Sequence[NewPool] = ()
    #: How this source declares its decimal mark (see :data:`DECIMAL_SETTING`).
    decimal_setting: str = DECIMAL_SETTING

    def __post_init__(self) -> None:
        # A member whose text cannot be stored is a rejected row from the start,
        # so whoever counts the batch's members counts only those that will be kept.
        if self.members:
            kept, bad = text_checks.screen_members(self.members)
            if bad:
                self.members, self.rejected = kept, [*self.rejected, *bad]


@dataclass
class BatchResult:
    rows_read: int = 0
    accepted: int = 0
    #: Rows that changed a recorded member (name, email or weight): see :class:`NewMember`.
    updated: int = 0
    duplicates: int = 0
    quarantined: int = 0
    conflicts: int = 0
    events: int = 0
    readings: int = 0
    capacity_changes: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    #: Of the duplicates, rows that repeat an earlier row of the same read (recorded once).
    repeats: int = 0
    #: A few of them, "FILE:LINE repeats FILE:LINE".
    repeat_examples: list[str] = field(default_factory=list)

    def __add__(self, other: BatchResult) -> BatchResult:
        reasons = dict(self.reasons)
        for k, v in other.reasons.items():
            reasons[k] = reasons.get(k, 0) + v
        return BatchResult(
            rows_read=self.rows_read + other.rows_read,
            accepted=self.accepted + other.accepted,
            updated=self.updated + other.updated,
            duplicates=self.duplicates + other.duplicates,
            quarantined=self.quarantined + other.quarantined,
            conflicts=self.conflicts + other.conflicts,
            events=self.events + other.events,
            readings=self.readings + other.readings,
            capacity_changes=self.capacity_changes + other.capacity_changes,
            reasons=reasons,
            repeats=self.repeats + other.repeats,
            repeat_examples=[*self.repeat_examples, *other.repeat_examples][:REPEAT_EXAMPLES],
        )


def to_frame(records: pd.DataFrame | Sequence[Any], columns: Sequence[str]) -> pd.DataFrame:
    if isinstance(records, pd.DataFrame):
        frame = records.reset_index(drop=True).copy()
    else:
        frame = pd.DataFrame(
            [{c: getattr(r, c) for c in columns} for r in records], columns=list(columns)
        )
    for column in columns:
        if column not in frame.columns:
            frame[column] = None
    return frame


EVENT_FIELDS = tuple(NewEvent.__slots__)
READING_FIELDS = tuple(NewReading.__slots__)
CAPACITY_FIELDS = tuple(NewCapacityChange.__slots__)
TERM_FIELDS = tuple(NewLoanTerm.__slots__)


#: Distinct unknown member codes per batch that get a "did you mean" (see _Catalog).
MAX_GUESSES = 200


class _Catalog:
    """Resources and members by their public names, loaded once per batch."""

    def __init__(self, conn: Connection) -> None:
        rows = conn.execute(
            select(
                Resource.slug,
                Resource.id,
                Resource.kind,
                Resource.commons_id,
                Resource.capacity,
                Resource.unit,
                Resource.name,
            )
        ).all()
        #: Display names, case-folded, to their slug: a name in the resource column
        #: ("Cordless drills") is pointed at the slug it meant.
        self.resource_named = {" ".join(r.name.split()).casefold(): r.slug for r in rows}
        self.resource_unit = {r.slug: r.unit for r in rows}
        self.resource_capacity = {r.slug: float(r.capacity) for r in rows if r.capacity is not None}
        self.resource_id = {r.slug: r.id for r in rows}
        self.resource_kind = {r.slug: str(r.kind) for r in rows}
        self.resource_commons = {r.slug: r.commons_id for r in rows}
        commons = conn.execute(
            select(Commons.slug, Commons.id, Commons.timezone, Commons.currency)
        ).all()
        self.commons_id = {c.slug: c.id for c in commons}
        currency = {c.id: c.currency for c in commons}
        # Decimal places of each money resource (None: not money), read against its
        # commons' own currency so a unit like "cup" stays a unit of measure.
        self.resource_places = {
            r.slug: numbers.minor_units(r.unit, currency.get(r.commons_id)) for r in rows
        }
        self.commons_slug = {c.id: c.slug for c in commons}
        self.commons_zone = {c.id: c.timezone for c in commons}
        self._member_commons: dict[str, list[str]] | None = None
        self._codes_of: dict[int, list[str]] | None = None
        self._meant_member: dict[tuple[int, str], str | None] = {}
        self._meant_resource: dict[str, tuple[str, bool] | None] = {}
        self.member_id = {
            (cid, code): mid
            for mid, cid, code in conn.execute(
                select(Member.id, Member.commons_id, Member.code)
            ).all()
        }

    def commons_of_member(self, code: str) -> list[str]:
        """Slugs of the commons that have a member ``code`` (sorted)."""
        if self._member_commons is None:
            self._member_commons = {}
            for cid, c in self.member_id:
                self._member_commons.setdefault(c, []).append(self.commons_slug[cid])
        return sorted(self._member_commons.get(code, []))

    def meant_member(self, code: str, commons_id: int) -> str | None:
        """The member code of commons ``commons_id`` closest to ``code``, if one is close.

        Answers are kept: a file of bad rows often repeats one unknown code, and
        comparing it with every member again would cost per row, not per code. Past
        :data:`MAX_GUESSES` distinct codes a batch suggests nothing more (None): with
        thousands of members each comparison costs milliseconds.
        """
        key = (commons_id, code)
        if key not in self._meant_member:
            if len(self._meant_member) >= MAX_GUESSES:
                return None
            if self._codes_of is None:
                self._codes_of = {}
                for cid, c in self.member_id:
                    self._codes_of.setdefault(cid, []).append(c)
            codes = self._codes_of.get(commons_id, [])
            close = difflib.get_close_matches(code, codes, n=1)
            self._meant_member[key] = close[0] if close else None
        return self._meant_member[key]

    def known_resources(self) -> str:
        """The first configured slugs, and how many more there are."""
        names = sorted(self.resource_id)
        more = f" and {len(names) - 8} more" if len(names) > 8 else ""
        return (", ".join(names[:8]) + more) or "none configured"

    def meant_resource(self, written: str) -> tuple[str, bool] | None:
        """The slug ``written`` most likely meant, and whether it was that slug's name.

        A display name matches its slug whatever its case; else the closest slug
        (:func:`difflib.get_close_matches`), if one is close. None: nothing is.
        """
        text = " ".join(str(written).split())
        if text not in self._meant_resource:
            slug = self.resource_named.get(text.casefold())
            if slug is not None:
                self._meant_resource[text] = slug, True
            else:
                close = difflib.get_close_matches(text.lower(), list(self.resource_id), n=1)
                self._meant_resource[text] = (close[0], False) if close else None
        return self._meant_resource[text]

    def unknown_resource(self, written: object, fix: str) -> str:
        """Why ``written`` names no resource: the slug it likely meant first, then ``fix``."""
        if written is None or pd.isna(written):
            return f"unknown resource (blank); {fix} (known: {self.known_resources()})"
        meant = self.meant_resource(str(written))
        if meant is None:
            return f"unknown resource {str(written)!r}; {fix} (known: {self.known_resources()})"
        slug, by_name = meant
        named = f" ({str(written)!r} is its name; the column holds the slug)" if by_name else ""
        return (
            f"unknown resource {str(written)!r}; did you mean {slug!r}?{named} If so, fix "
            f"the resource column; if not, {fix} (known: {self.known_resources()})"
        )


class Ledger:
    """Records batches in the caller's transaction (see :meth:`steward.store.Store.write`)."""

    def __init__(
        self, conn: Connection, *, run_id: int | None = None, window: TimeWindow | None = None
    ) -> None:
        """``window``: when records may have happened (default: :class:`TimeWindow`'s)."""
        self.conn = conn
        self.dialect = conn.dialect.name
        self.run_id = run_id
        self.window = window or TimeWindow()
        self._now = datetime.now(UTC)

    def record(self, batch: Batch, *, now: datetime | None = None) -> BatchResult:
        now = now or datetime.now(UTC)
        self._now = now
        events = to_frame(batch.events, EVENT_FIELDS)
        readings = to_frame(batch.readings, READING_FIELDS)
        changes = to_frame(batch.capacity_changes, CAPACITY_FIELDS)
        terms = to_frame(batch.loan_terms, TERM_FIELDS)
        for frame, prefix in ((events, "e"), (readings, "r"), (changes, "c"), (terms, "t")):
            missing = frame["row"].isna()
            if missing.any():
                frame.loc[missing, "row"] = [f"{prefix}{i}" for i in np.flatnonzero(missing)]
            frame["row"] = frame["row"].astype(str)
        events, readings, changes, batch = self._screen_text(batch, events, readings, changes)
        members = self._upsert_members(batch.members)
        if members.rejected:
            batch = replace(batch, rejected=[*batch.rejected, *members.rejected])
        self._create_pools(batch.pools)
        catalog = _Catalog(self.conn)

        events = self._check_events(events, batch.source, catalog, batch.decimal_setting)
        readings = self._check_simple(
            readings,
            batch.source,
            catalog,
            "value",
            "observed_at",
            Reading,
            allow_negative=False,
            source_setting=batch.decimal_setting,
        )
        changes = self._check_simple(
            changes,
            batch.source,
            catalog,
            "delta",
            "effective_at",
            CapacityChange,
            allow_negative=True,
            source_setting=batch.decimal_setting,
        )
        terms = self._check_terms(terms, batch.source, catalog)

        # A row stands or falls as a whole.
        frames = (events, readings, changes, terms)
        parts = [f[["row", "status", "reason"]] for f in frames if len(f)]
        rejected_rows = {r.row for r in batch.rejected}
        result = BatchResult()
        if parts:
            judged = pd.concat(parts, ignore_index=True)
            bad = judged.loc[judged["status"] == "quarantine"]
            bad_rows = set(bad["row"]) | rejected_rows
            # Vectorised (a per-group lambda costs ~0.3 ms a row on a million rows).
            dup = judged["status"].isin(("duplicate", "repeat"))
            all_dup = dup.groupby(judged["row"], sort=False).all()
            n_rows = len(all_dup)
            judged_rows = all_dup.index
            result.rows_read = (
                n_rows + len(rejected_rows) - int(judged_rows.isin(rejected_rows).sum())
            )
            result.duplicates = int((all_dup.to_numpy() & ~judged_rows.isin(bad_rows)).sum())
            result.quarantined = len(bad_rows)
            result.accepted = result.rows_read - result.duplicates - result.quarantined
            result.conflicts = int(
                bad.loc[bad["reason"].str.startswith("conflict"), "row"].nunique()
            )
            if (judged["status"] == "repeat").any():
                self._count_repeats(frames, all_dup, bad_rows, result)
        else:
            bad_rows = rejected_rows
            result.rows_read = result.quarantined = len(rejected_rows)
        members.count(result)

        keep_e = events.loc[(events["status"] == "new") & ~events["row"].isin(bad_rows)]
        keep_r = readings.loc[(readings["status"] == "new") & ~readings["row"].isin(bad_rows)]
        keep_c = changes.loc[(changes["status"] == "new") & ~changes["row"].isin(bad_rows)]
        # Before this batch's own rows are quarantined: only earlier ones can be settled.
        self._resolve_quarantined(
            batch.source,
            {"event": keep_e, "reading": keep_r, "capacity change": keep_c},
            now,
        )
        self._quarantine(batch, bad_rows, frames, now, result)

        self._insert_events(keep_e, batch.source, now)
        self._insert_readings(keep_r, batch.source, now)
        self._insert_capacity(keep_c, batch.source)
        keep_t = terms.loc[(terms["status"] == "new") & ~terms["row"].isin(bad_rows)]
        self._insert_terms(keep_t, batch.source, now)
        result.events, result.readings, result.capacity_changes = (
            len(keep_e),
            len(keep_r),
            len(keep_c),
        )
        return result

    @staticmethod
    def _count_repeats(
        frames: Iterable[pd.DataFrame], all_dup: pd.Series, bad_rows: set[str], result: BatchResult
    ) -> None:
        """Count the duplicate rows that repeat an earlier row of this read, with examples."""
        pairs: dict[str, str] = {}
        for fr in frames:
            if len(fr) and "repeat_of" in fr:
                rep = fr.loc[fr["status"] == "repeat"]
                pairs.update(zip(rep["row"], rep["repeat_of"].astype(str), strict=True))
        rows = [r for r in pairs if all_dup.get(r, False) and r not in bad_rows]
        result.repeats = len(rows)
        result.repeat_examples = [f"{r} repeats {pairs[r]}" for r in rows[:REPEAT_EXAMPLES]]

    # -- validation -------------------------------------------------------------

    def _screen_text(
        self, batch: Batch, events: pd.DataFrame, readings: pd.DataFrame, changes: pd.DataFrame
    ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, Batch]:
        """Rows whose text cannot be stored (too long, control characters) become rejects.

        Runs before any query: PostgreSQL refuses a NUL byte even in a lookup.
        """
        events, bad_e = text_checks.screen_rows(events, text_checks.EVENT_TEXT, _raw_of)
        readings, bad_r = text_checks.screen_rows(readings, text_checks.READING_TEXT, _raw_of)
        changes, bad_c = text_checks.screen_rows(changes, text_checks.CAPACITY_TEXT, _raw_of)
        members, bad_m = text_checks.screen_members(batch.members)
        if members:
            members, unplaced = self._members_of_known_commons(members)
            bad_m = [*bad_m, *unplaced]
        rejects = [*bad_e, *bad_r, *bad_c, *bad_m]
        if rejects:
            batch = replace(batch, members=members, rejected=[*batch.rejected, *rejects])
        return events, readings, changes, batch

    def _members_of_known_commons(
        self, members: Sequence[NewMember]
    ) -> tuple[list[NewMember], list[Rejected]]:
        """Members whose commons is configured; the others as rejects naming the known ones.

        One member naming a commons that does not exist (a typo in a members file) is
        quarantined; the file's other members are still recorded.
        """
        known = set(self.conn.scalars(select(Commons.slug)))
        kept, rejected = [], []
        for m in members:
            if m.commons in known:
                kept.append(m)
                continue
            raw = {
                k: v for k, v in asdict(m).items() if k not in ("weight", "row", "create_only")
            } | {"weight": str(m.weight)}
            rejected.append(
                Rejected(
                    m.row or f"member {str(m.code)[:80]}",
                    text_checks.scrub(raw),
                    f"commons {m.commons!r} is not configured (known: "
                    f"{', '.join(sorted(known)) or 'none'}); fix the commons column, or "
                    "add the commons under commons[] in steward.yaml",
                )
            )
        return kept, rejected

    def _check_events(
        self,
        ev: pd.DataFrame,
        source: str,
        catalog: _Catalog,
        source_setting: str = DECIMAL_SETTING,
    ) -> pd.DataFrame:
        reason = pd.Series("", index=ev.index, dtype=object)

        def flag(mask: pd.Series, text: Reason) -> None:
            _flag(reason, mask, text)

        ext = ev["external_id"].astype("string").str.strip()
        ev["external_id"] = ext
        flag(ext.isna() | (ext == ""), "missing external id: every row needs a stable id")

        # Reversals take resource, kind and quantity from the event they cancel.
        ev["reverses"] = ev["reverses"].astype("string").replace("", pd.NA)
        ev["reverses_id"] = pd.Series(pd.NA, index=ev.index, dtype="Int64")
        is_rev = ev["reverses"].notna()
        if is_rev.any():
            self._resolve_reversals(ev, is_rev, source, flag)

        slug = ev["resource"].astype("string")
        ev["resource_id"] = slug.map(catalog.resource_id).astype("Int64")
        unknown = ev["resource_id"].isna()
        flag(unknown & _blank(slug), NO_RESOURCE)
        flag(
            unknown,
            lambda mask: slug[mask].map(
                lambda v: catalog.unknown_resource(v, "define it under commons[].resources")
            ),
        )
        kind = ev["kind"].astype("string").str.strip().str.lower()
        ev["kind"] = kind
        flag(
            ~kind.isin(KINDS),
            _say("unknown kind ", kind, "; expected use, replenish or adjust"),
        )

        _check_currency(ev, slug, "quantity", catalog, flag)
        qty = _numbers(ev["quantity"])
        flag(
            qty.isna(),
            _say("quantity ", ev["quantity"], " is not a number"),
        )
        flag(np.isinf(qty), _endless("quantity", ev["quantity"]))
        flag(qty.abs() > MAX_QUANTITY, f"quantity is larger than {MAX_QUANTITY:.0e}")
        # As written: -5, not -5.0; 0.0000001, not 1e-07. Built for flagged rows only:
        # formatting every quantity cost 2.5 CPU-s a million rows, for reasons most
        # imports never give.
        flag(
            ~_fits_scale(qty),
            _say_number("quantity ", qty, f" has more than {SCALE} decimal places; round it"),
        )
        _check_minor_units(ev, slug, "quantity", qty, catalog, flag, source_setting)
        flag(
            (kind != "adjust") & (qty == 0),
            _say(
                "quantity 0 records nothing: a ",
                kind,
                " of 0 changes no level; leave the row out",
                quote=False,
            ),
        )
        flag(
            (kind != "adjust") & (qty < 0),
            _say_number(
                "quantity ", qty, " must be > 0; record a reversal or the opposite kind instead"
            ),
        )
        flag((kind == "adjust") & (qty == 0), "an adjust of 0 changes nothing")
        flag(
            (slug.map(catalog.resource_kind) == "pool") & _fractional(qty),
            lambda mask: (
                "quantity "
                + qty[mask].map("{:g}".format)
                + " is not a whole number, and "
                + slug[mask].map(repr)
                + " is a pool, which counts whole units lent and returned: "
                "fix the quantity (or the resource column)"
            ),
        )
        ev["qty"] = qty

        ts, why = _timestamps(ev["occurred_at"], "occurred_at")
        flag(why != "", why)
        ev["ts"] = ts

        # Int64, not float: one unknown resource (NaN) would turn every id into "3.0".
        commons = slug.map(catalog.resource_commons).astype("Int64")
        self._check_when(
            ts,
            commons,
            "occurred_at",
            catalog,
            flag,
            planned=ev["scheduled"],
            written=ev["occurred_at"],
        )
        member = ev["member"].astype("string").str.strip().replace("", pd.NA)
        ev["member_id"] = pd.Series(pd.NA, index=ev.index, dtype="Int64")
        named = member.notna()
        if named.any():
            by_key = {f"{cid}\x1f{code}": mid for (cid, code), mid in catalog.member_id.items()}
            keys = commons[named].astype("string") + "\x1f" + member[named]
            ev.loc[named, "member_id"] = keys.map(by_key).astype("Int64")
        flag(
            member.notna() & ev["member_id"].isna(),
            lambda mask: _unknown_members(member, slug, commons, catalog, mask),
        )
        ev["member"] = member

        ev["hash"] = _digest(
            ev,
            [
                "resource",
                "kind",
                "qty",
                "ts",
                "member",
                "loan_ref",
                "reverses",
                "scheduled",
                "attributes",
            ],
        )
        ev["reason"] = reason
        ev["status"] = np.where(reason != "", "quarantine", "new")
        self._dedupe(ev, source, Event)
        self._check_recorded_elsewhere(ev, source)
        self._check_loans(ev, catalog)
        return ev

    def _check_recorded_elsewhere(self, ev: pd.DataFrame, source: str) -> None:
        """Refuse a row another source already recorded: same id, resource, moment and contents.

        Replays are told apart by source (``_dedupe``), so a file imported again under
        another name (``volunteer1-v2.csv`` after ``volunteer1.csv``: another
        ``import:`` source) or by hand beside the collector that reads it counted every
        row twice without a word. Such a row is almost surely the same event, but not
        for sure (two sources may number their rows alike), so it is quarantined, never
        dropped, and its reason names what settles it. Events another event reverses
        are left out: a steward who undid the first copy may record it again.

        The other sources are listed first by a loose index scan of the unique
        (source, external_id) index, one probe per source; the rows are then looked up
        on that index, 500 ids a query. A batch into a ledger no other source has
        written costs one probe. The payload digest covers resource and time.
        """
        new = (ev["status"] == "new") & ev["external_id"].notna() & (ev["external_id"] != "")
        if not new.any():
            return
        others = [s for s in self._sources() if s != source]
        if not others:
            return
        undone = select(Event.reverses_id).where(Event.reverses_id.is_not(None))
        found: dict[tuple[str, str], str] = {}
        for part in _chunks(list(dict.fromkeys(ev.loc[new, "external_id"])), 500):
            for other, ext_id, digest in self.conn.execute(
                select(Event.source, Event.external_id, Event.payload_hash).where(
                    Event.source.in_(others),
                    Event.external_id.in_(part),
                    Event.id.not_in(undone),
                )
            ):
                found.setdefault((ext_id, digest), other)
        if not found:
            return
        pairs = zip(ev.loc[new, "external_id"], ev.loc[new, "hash"], strict=True)
        where = pd.Series([found.get(pair) for pair in pairs], index=ev.index[new], dtype=object)
        where = where[where.notna()]
        for idx, other in where.items():
            ext_id = ev.at[idx, "external_id"]
            settle = (
                f"to import a corrected copy of that file, keep its name or pass --source {other}"
                if other.startswith("import:")
                else f"if this file is what {other} reads, let {other} record it"
            )
            ev.at[idx, "status"] = "quarantine"
            ev.at[idx, "reason"] = (
                f"already recorded from {other}: external id {ext_id!r} with the same "
                f"resource, time and contents; recorded again from {source} it would count "
                f"twice. {settle}; if it is another event, give it an id of its own"
            )

    def _sources(self) -> list[str]:
        """Every source the event table holds, by a loose index scan (a recursive
        ``MIN(source) > previous``): a few index probes, not a pass over the ledger."""
        found = sql_text(
            "WITH RECURSIVE s(source) AS ("
            " SELECT MIN(source) FROM event"
            " UNION ALL"
            " SELECT (SELECT MIN(e.source) FROM event e WHERE e.source > s.source)"
            " FROM s WHERE s.source IS NOT NULL"
            ") SELECT source FROM s WHERE source IS NOT NULL"
        )
        return list(self.conn.scalars(found))

    def _check_when(
        self,
        ts: pd.Series,
        commons: pd.Series,
        column: str,
        catalog: _Catalog,
        flag: Callable[[pd.Series, Reason], None],
        *,
        planned: pd.Series | None = None,
        written: pd.Series | None = None,
    ) -> None:
        """Flag moments after now plus the window's skew, or before their commons' history.

        ``ts``: parsed UTC moments (NaT where unreadable, already flagged); ``commons``:
        each row's commons id (Int64, NA for an unknown resource); ``planned``: rows
        exempt from the future limit (``scheduled``); ``written``: the values as the
        source gave them, which the reasons quote (a volunteer searches the file for
        '2026-12-30T12:00:00-05:00', not for its UTC '17:00:00+00:00'). Vectorised: a
        few comparisons a row; texts are built for flagged rows only.
        """
        as_given = ts if written is None else written

        def shown(mask: pd.Series) -> pd.Series:  # built for flagged rows only
            return _as_written(as_given[mask], ts[mask])

        limit = pd.Timestamp(self._now).tz_convert("UTC") + self.window.skew
        late = ts > limit
        if planned is not None:
            is_planned = planned.fillna(False).astype(bool)
            late &= ~is_planned
            if (late_plan := is_planned & (ts > limit)).any():
                self._check_plans(ts, commons, column, catalog, flag, late_plan, shown)
        if late.any():
            minutes = self.window.skew.total_seconds() / 60

            # The limit moves with the clock, so the reason names it without its value:
            # a replayed row keeps its reason rather than one reworded each read.
            def after(mask: pd.Series) -> pd.Series:
                return (
                    f"{column} '"
                    + shown(mask)
                    + "' is in the future: later than now by this machine's clock plus "
                    f"{minutes:g} minutes allowed for clock skew; a mistyped year, or a "
                    "clock or timezone set wrong at the source? fix the time where it was "
                    "written, or the timezone the source declares"
                )

            flag(late, after)
        if ts.notna().any() and ts.min() >= self._latest_start(catalog):
            return  # every moment is after every commons' start: the usual case
        for cid, slug in catalog.commons_slug.items():
            day, configured = self.window.start(slug)
            floor = pd.Timestamp(day).tz_localize(catalog.commons_zone[cid]).tz_convert("UTC")
            early = (commons == cid).fillna(False).astype(bool) & (ts < floor)
            if not early.any():
                continue
            source = "its history_starts" if configured else "Steward's default"

            def before(
                mask: pd.Series, slug: str = slug, day: date = day, src: str = source
            ) -> pd.Series:
                zone = catalog.commons_zone[catalog.commons_id[slug]]
                local = ts[mask].dt.tz_convert(zone)
                return (
                    f"{column} '"
                    + shown(mask)
                    + f"' is before the history of commons '{slug}', which starts "
                    f"'{day.isoformat()}' ({src}): a mistyped year, or a clock never set? "
                    "fix the date at the source; if this history is real, set history_starts: "
                    + local.dt.strftime("%Y-%m-%d")
                    + f" (or earlier) under commons '{slug}' in the configuration"
                )

            flag(early, before)

    def _check_plans(
        self,
        ts: pd.Series,
        commons: pd.Series,
        column: str,
        catalog: _Catalog,
        flag: Callable[[pd.Series, Reason], None],
        ahead: pd.Series,
        shown: Callable[[pd.Series], pd.Series],
    ) -> None:
        """Flag planned rows (``ahead``: those later than now) beyond their commons' horizon.

        As with the future limit, the reason names the limit in days, never as a date:
        a replayed row keeps its reason rather than one reworded each read.
        """
        now = pd.Timestamp(self._now).tz_convert("UTC")
        for cid, slug in catalog.commons_slug.items():
            days, configured = self.window.ahead(slug)
            far = ahead & (commons == cid).fillna(False).astype(bool)
            far &= ts > now + pd.Timedelta(days=days)
            if not far.any():
                continue
            limit = (
                f"its plans_ahead_days, {days} days"
                if configured
                else f"Steward's default, {days} days: the longest forecast horizon"
            )

            def beyond(mask: pd.Series, slug: str = slug, limit: str = limit) -> pd.Series:
                return (
                    f"{column} '"
                    + shown(mask)
                    + f"' of a planned row is further ahead than commons '{slug}' takes plans "
                    f"({limit}): a mistyped year? fix the date at the source; if the plan "
                    f"is real, raise plans_ahead_days under commons '{slug}' in the "
                    "configuration"
                )

            flag(far, beyond)

    def _latest_start(self, catalog: _Catalog) -> pd.Timestamp:
        """The latest of the commons' history starts, as a UTC instant (day ends at +14:00)."""
        days = [self.window.start(slug)[0] for slug in catalog.commons_slug.values()]
        latest = max(days, default=DEFAULT_HISTORY_STARTS)
        return pd.Timestamp(latest, tz="UTC") + pd.Timedelta(hours=14)

    def _resolve_reversals(
        self, ev: pd.DataFrame, is_rev: pd.Series, source: str, flag: Any
    ) -> None:
        wanted = list(dict.fromkeys(ev.loc[is_rev, "reverses"]))
        found = {}
        for chunk in _chunks(wanted, 500):
            found.update(
                {
                    row.external_id: row
                    for row in self.conn.execute(
                        select(
                            Event.id,
                            Event.external_id,
                            Event.resource_id,
                            Event.kind,
                            Event.quantity,
                            Event.reverses_id,
                            Resource.slug,
                        )
                        .join(Resource, Resource.id == Event.resource_id)
                        .where(Event.source == source, Event.external_id.in_(chunk))
                    ).all()
                }
            )
        missing = [ext for ext in wanted if ext not in found]
        elsewhere = self._sources_holding(missing, source) if missing else {}
        # The file's quantity column may be float64 (or string): a stored Decimal fits
        # neither, so it is written in the column's own type (a float64 holds any
        # quantity of SCALE decimal places as exactly as the file's own numbers do).
        numeric = pd.api.types.is_numeric_dtype(ev["quantity"].dtype)
        for i in np.flatnonzero(is_rev):
            idx = ev.index[i]
            wanted_id = ev.at[idx, "reverses"]
            target = found.get(wanted_id)
            if target is None:
                flag(
                    pd.Series(ev.index == idx, index=ev.index),
                    _not_in_source(wanted_id, source, elsewhere.get(wanted_id, [])),
                )
                continue
            if target.reverses_id is not None:
                flag(
                    pd.Series(ev.index == idx, index=ev.index),
                    "cannot reverse a reversal; record the original again instead",
                )
                continue
            ev.at[idx, "reverses_id"] = target.id
            ev.at[idx, "resource"] = target.slug
            ev.at[idx, "kind"] = str(target.kind)
            ev.at[idx, "quantity"] = float(target.quantity) if numeric else str(target.quantity)

    def _sources_holding(self, external_ids: list[str], source: str) -> dict[str, list[str]]:
        """The other sources whose ledgers hold each of ``external_ids``, sorted by name.

        ``source``: the importing source, left out. Ids found nowhere are absent. One
        indexed query per 500 ids.
        """
        held: dict[str, set[str]] = {}
        for chunk in _chunks(external_ids, 500):
            for row in self.conn.execute(
                select(Event.external_id, Event.source)
                .where(Event.source != source, Event.external_id.in_(chunk))
                .distinct()
            ):
                held.setdefault(row.external_id, set()).add(row.source)
        return {ext: sorted(names) for ext, names in held.items()}

    def _check_simple(
        self,
        fr: pd.DataFrame,
        source: str,
        catalog: _Catalog,
        value_col: str,
        time_col: str,
        model: type[Reading] | type[CapacityChange],
        *,
        allow_negative: bool,
        source_setting: str = DECIMAL_SETTING,
    ) -> pd.DataFrame:
        if fr.empty:
            return fr.assign(status=pd.Series(dtype=object), reason=pd.Series(dtype=object))
        reason = pd.Series("", index=fr.index, dtype=object)

        def flag(mask: pd.Series, text: Reason) -> None:
            _flag(reason, mask, text)

        slug = _check_identity(fr, catalog, flag)
        if model is Reading:
            flag(
                slug.map(catalog.resource_kind) == "pool",
                _say(
                    "resource ",
                    slug,
                    " is a pool (units lent and returned), and a pool takes no readings: "
                    "it takes use (checkout), replenish (return) and adjust events and "
                    "capacity changes; a reading is a measured level of a stock: check the "
                    "resource column (or the collector's topic or mapping)",
                ),
            )
        _check_currency(fr, slug, value_col, catalog, flag)
        val = _numbers(fr[value_col])
        flag(
            val.isna(),
            _say(f"{value_col} ", fr[value_col], " is not a number"),
        )
        flag(np.isinf(val), _endless(value_col, fr[value_col]))
        flag(val.abs() > MAX_QUANTITY, f"{value_col} is larger than {MAX_QUANTITY:.0e}")
        flag(
            ~_fits_scale(val),
            _say_number(f"{value_col} ", val, f" has more than {SCALE} decimal places; round it"),
        )
        _check_minor_units(fr, slug, value_col, val, catalog, flag, source_setting)
        if not allow_negative:
            flag(
                val < 0,
                _say(
                    f"{value_col} ", val, " is negative; a level cannot be below zero", quote=False
                ),
            )
            capacity = slug.map(catalog.resource_capacity).astype("float64")

            def above(mask: pd.Series) -> pd.Series:
                return (
                    f"{value_col} "
                    + val[mask].map("{:g}".format)
                    + " is above the capacity "
                    + capacity[mask].map("{:g}".format)
                    + " of "
                    + slug[mask].astype(str)
                    + f" (by more than {CAPACITY_TOLERANCE:.0%}): a sensor's error value? "
                    "fix the sensor, or the resource's capacity if it grew"
                )

            flag(val > capacity * (1 + CAPACITY_TOLERANCE), above)
        else:
            flag(val == 0, f"a {value_col} of 0 changes nothing")
        if model is CapacityChange:
            flag(
                (slug.map(catalog.resource_kind) == "pool") & _fractional(val),
                lambda mask: (
                    f"{value_col} "
                    + val[mask].map("{:g}".format)
                    + " is not a whole number, and "
                    + slug[mask].map(repr)
                    + " is a pool, which counts whole units: fix the change"
                ),
            )
        fr["qty"] = val
        ts, why = _timestamps(fr[time_col], time_col)
        flag(why != "", why)
        fr["ts"] = ts
        commons = slug.map(catalog.resource_commons).astype("Int64")
        planned = fr.get("scheduled")
        self._check_when(
            ts, commons, time_col, catalog, flag, planned=planned, written=fr[time_col]
        )
        fr["hash"] = _digest(fr, ["resource", "qty", "ts", *(["note"] if "note" in fr else [])])
        fr["reason"] = reason
        fr["status"] = np.where(reason != "", "quarantine", "new")
        self._dedupe(fr, source, model)
        if model is CapacityChange:
            self._check_pool_capacity(fr, catalog)
        return fr

    def _check_pool_capacity(self, fr: pd.DataFrame, catalog: _Catalog) -> None:
        """Quarantine a new capacity change that would leave a pool fewer than 0 units.

        ``fr``: checked capacity changes (``resource``, ``qty``, ``ts``, ``status``,
        ``reason``, optional ``scheduled``), updated in place. A pool's capacity starts
        at its configured capacity (0 if none: a pool a source created counts its
        units by their changes), and is read on two timelines, as flows and forecasts
        read it:

        * recorded: plus every recorded (unscheduled) change effective by a moment;
        * planned (what a forecast projects): plus, too, every planned change after
          now and by that moment.

        A recorded change is judged on the first, a planned one on the second. It must
        leave 0 or more at its moment and at every later change of its timeline: a -1
        dated before a recorded -1 is refused naming the later row it would break. This
        batch's rows are judged in time order, an accepted one counting for the next.
        One query per 500 pools changed.
        """
        planned = fr.get("scheduled")
        is_planned = (
            planned.fillna(False).astype(bool)
            if planned is not None
            else pd.Series(False, index=fr.index)
        )
        slug = fr["resource"].astype("string")
        new = (fr["status"] == "new") & (slug.map(catalog.resource_kind) == "pool")
        if not new.any():
            return
        now = pd.Timestamp(self._now).tz_convert("UTC")
        todo = fr.loc[new].sort_values("ts", kind="stable")
        names = slug[todo.index]
        stored: dict[int, list[tuple[pd.Timestamp, float, bool, tuple[str, str]]]] = {}
        wanted = sorted({catalog.resource_id[str(n)] for n in names.unique()})
        for chunk in _chunks(wanted, 500):
            for rid, at, d, plan, src, ext in self.conn.execute(
                select(
                    CapacityChange.resource_id,
                    CapacityChange.effective_at,
                    CapacityChange.delta,
                    CapacityChange.scheduled,
                    CapacityChange.source,
                    CapacityChange.external_id,
                ).where(CapacityChange.resource_id.in_(chunk))
            ):
                stored.setdefault(rid, []).append((_utc(at), float(d), bool(plan), (src, ext)))
        for name, rows in todo.groupby(names, sort=False):
            changes = stored.get(catalog.resource_id[str(name)], [])
            base = catalog.resource_capacity.get(str(name), 0.0)
            lines = {
                False: _Timeline(base, [c for c in changes if not c[2]]),
                True: _Timeline(base, [c for c in changes if not c[2] or c[0] > now]),
            }
            # This batch's accepted changes so far: all at or before the row being judged.
            extra = {False: 0.0, True: 0.0}
            for idx, at, delta, plan in zip(
                rows.index,
                rows["ts"],
                rows["qty"].astype("float64"),
                is_planned[rows.index].to_numpy(dtype=bool).tolist(),
                strict=True,
            ):
                counts = not plan or at > now  # a plan dated in the past counts nowhere
                why = lines[plan].refusal(name, at, delta, extra[plan], plan, check_later=counts)
                if not why and not plan:
                    # A recorded change counts for the forecast's timeline too: the plans
                    # after it must still leave 0 or more (3 drills, 3 to retire in March,
                    # 2 retired today: March would leave -1).
                    why = lines[True].plan_conflict(name, at, delta, extra[True])
                if why:
                    fr.at[idx, "status"] = "quarantine"
                    fr.at[idx, "reason"] = why
                    continue
                if counts:
                    extra[True] += delta
                if not plan:
                    extra[False] += delta

    def _check_terms(self, fr: pd.DataFrame, source: str, catalog: _Catalog) -> pd.DataFrame:
        """Due dates: a known resource, a loan reference and two aware timestamps."""
        if fr.empty:
            return fr.assign(status=pd.Series(dtype=object), reason=pd.Series(dtype=object))
        reason = pd.Series("", index=fr.index, dtype=object)

        def flag(mask: pd.Series, text: Reason) -> None:
            _flag(reason, mask, text)

        slug = _check_identity(fr, catalog, flag)
        ref = fr["loan_ref"].astype("string").str.strip()
        flag(ref.isna() | (ref == ""), "a due date needs the loan reference of its loan")
        fr["ts"], why = _timestamps(fr["starts_at"], "starts_at")
        flag(why != "", why)
        commons = slug.map(catalog.resource_commons).astype("Int64")
        self._check_when(fr["ts"], commons, "starts_at", catalog, flag, written=fr["starts_at"])
        fr["due_ts"], why = _timestamps(fr["due_at"], "due_at")
        flag(why != "", "due date: " + why)
        flag(
            fr["due_ts"] < fr["ts"],
            _say("due date ", fr["due_at"].astype("string"), " is before the loan began"),
        )
        # A due date in 2062 (a mistyped year) would keep the loan from ever being
        # overdue: no loan runs longer than its commons takes plans ahead.
        for cid, commons_slug in catalog.commons_slug.items():
            days, configured = self.window.ahead(commons_slug)
            mine = (commons == cid).fillna(False).astype(bool)
            far = mine & (fr["due_ts"] > fr["ts"] + pd.Timedelta(days=days)).fillna(False)
            limit = "its plans_ahead_days" if configured else "Steward's default"
            flag(
                far.astype(bool),
                _say(
                    "due date ",
                    fr["due_at"].astype("string"),
                    f" is more than {days} days after the loan began ({limit} for commons "
                    f"'{commons_slug}'): a mistyped year? fix the date at the source; if the "
                    f"loan is really that long, raise plans_ahead_days under commons "
                    f"'{commons_slug}'",
                ),
            )
        fr["hash"] = _digest(fr.assign(due=fr["due_ts"]), ["resource", "loan_ref", "ts", "due"])
        fr["reason"] = reason
        fr["status"] = np.where(reason != "", "quarantine", "new")
        self._dedupe(fr, source, LoanTerm)
        return fr

    def _dedupe(self, fr: pd.DataFrame, source: str, model: Any) -> None:
        """Mark replays as duplicates and changed payloads under an old id as conflicts.

        Within one read, a row repeating an earlier row's id with the same contents is a
        ``repeat`` (recorded once, counted apart); rows sharing an id with different
        contents are all quarantined, each naming the other's row, since nothing says
        which one is right. Against the ledger, a known id with the same contents is a
        ``duplicate`` and with different contents a conflict naming what is stored.
        """
        ext = fr["external_id"]
        has_id = ext.notna() & (ext != "")
        twice = has_id & ext.duplicated(keep=False)
        if twice.any():
            self._repeats(fr, twice)
        valid = fr["status"] == "new"
        ids = fr.loc[valid, "external_id"]
        existing = self._existing_hashes(model, source, ids)
        if not existing:
            return
        known = fr["external_id"].map(existing)
        hit = (fr["status"] == "new") & known.notna()
        # Rows stored before their table kept digests carry "": a known id is then a replay.
        same = hit & ((known == fr["hash"]) | (known == ""))
        fr.loc[same, "status"] = "duplicate"
        differ = hit & ~same
        if differ.any():
            stored = self._stored(model, source, list(fr.loc[differ, "external_id"]))
            fr.loc[differ, "status"] = "quarantine"
            fr.loc[differ, "reason"] = [
                f"conflict: external id {ext_id!r} is already in the ledger with different "
                f"contents ({_differences(stored.get(ext_id, {}), _shown(fr.loc[idx]), 'stored', 'here')}); "
                "the ledger is never overwritten: if this row is right, record a reversal of "
                "the stored one and this row under a new id"
                for idx, ext_id in zip(fr.index[differ], fr.loc[differ, "external_id"], strict=True)
            ]

    def _repeats(self, fr: pd.DataFrame, twice: pd.Series) -> None:
        """Judge rows whose external id occurs more than once in this read (see _dedupe)."""
        sub = fr.loc[twice, ["external_id", "hash", "row"]]
        kinds = sub.groupby("external_id", sort=False)["hash"].nunique()
        clash = sub["external_id"].map(kinds) > 1
        repeat = ~clash & sub["external_id"].duplicated(keep="first")
        rep_idx = sub.index[repeat.to_numpy(dtype=bool)]
        fr.loc[rep_idx[(fr.loc[rep_idx, "status"] == "new").to_numpy()], "status"] = "repeat"
        first_row = sub.drop_duplicates("external_id").set_index("external_id")["row"]
        fr.loc[rep_idx, "repeat_of"] = sub.loc[rep_idx, "external_id"].map(first_row)
        if not clash.any():
            return
        by_id: dict[str, list[Any]] = {}
        for idx, ext_id in zip(
            sub.index[clash.to_numpy()], sub.loc[clash, "external_id"], strict=True
        ):
            by_id.setdefault(ext_id, []).append(idx)
        for ext_id, rows in by_id.items():
            for idx in rows:
                # The first other row of this id whose contents differ from this one.
                other = next(o for o in rows if fr.at[o, "hash"] != fr.at[idx, "hash"])
                where = "first appears" if rows.index(other) < rows.index(idx) else "appears again"
                fr.at[idx, "status"] = "quarantine"
                if fr.at[idx, "reason"]:
                    continue  # refused for its own reason already; that one comes first
                fr.at[idx, "reason"] = (
                    f"conflict: external id {ext_id!r} {where} on {fr.at[other, 'row']} with "
                    f"different contents ({_differences(_shown(fr.loc[other]), _shown(fr.loc[idx]), 'there', 'here')}); "
                    "neither row is recorded, since nothing says which is right: keep the "
                    "right one, or give each its own id"
                )

    def _stored(self, model: Any, source: str, ids: list[str]) -> dict[str, dict[str, str]]:
        """What the ledger holds for ``ids`` of ``source``, shown as :func:`_shown` shows a row."""
        time_col = {
            Event: "occurred_at",
            Reading: "observed_at",
            CapacityChange: "effective_at",
            LoanTerm: "starts_at",
        }[model]
        value_col = {Event: "quantity", Reading: "value", CapacityChange: "delta"}.get(model)
        named: list[tuple[str, Any]] = [
            ("external_id", model.external_id),
            ("resource", Resource.slug),
            ("ts", getattr(model, time_col)),
        ]
        if value_col:
            named.append(("qty", getattr(model, value_col)))
        if model is Event:
            named += [("kind", Event.kind), ("loan_ref", Event.loan_ref), ("member", Member.code)]
        if model is LoanTerm:
            named += [("loan_ref", LoanTerm.loan_ref), ("due_ts", LoanTerm.due_at)]
        if model is CapacityChange:
            named.append(("note", CapacityChange.reason))
        stmt = select(*(c for _, c in named)).join(Resource, Resource.id == model.resource_id)
        if model is Event:
            stmt = stmt.outerjoin(Member, Member.id == Event.member_id)
        out: dict[str, dict[str, str]] = {}
        for chunk in _chunks(ids, 500):
            for row in self.conn.execute(
                stmt.where(model.source == source, model.external_id.in_(chunk))
            ).all():
                values = dict(zip((n for n, _ in named), row, strict=True))
                out[str(values.pop("external_id"))] = {
                    k: _show_value(k, v) for k, v in values.items()
                }
        return out

    def _existing_hashes(self, model: Any, source: str, id_series: pd.Series) -> dict[str, str]:
        if id_series.empty:
            return {}
        any_row = self.conn.execute(select(model.id).where(model.source == source).limit(1)).first()
        if any_row is None:
            return {}  # a source's first read: nothing to compare with
        ids = _strs(id_series.drop_duplicates())
        return bulk.stored_digests(self.conn, model.__tablename__, source, ids)

    def _check_loans(self, ev: pd.DataFrame, catalog: _Catalog) -> None:
        """A pool's return must follow its checkout (in this batch or already recorded)."""
        pools = {
            rid
            for slug, rid in catalog.resource_id.items()
            if catalog.resource_kind[slug] == "pool"
        }
        self._check_unnamed_returns(ev, pools)
        ret = (
            (ev["status"] != "quarantine")
            & (ev["kind"] == "replenish")
            & ev["loan_ref"].notna()
            & ev["resource_id"].isin(pools)
            & ev["reverses_id"].isna()
        )
        if not ret.any():
            return
        out = ev.loc[
            (ev["status"] != "quarantine")
            & (ev["kind"] == "use")
            & ev["loan_ref"].notna()
            & ev["reverses_id"].isna()
        ]
        checkout = {
            (int(r), str(ref)): t
            for r, ref, t in zip(out["resource_id"], out["loan_ref"], out["ts"], strict=True)
        }
        missing = [
            (int(r), str(ref))
            for r, ref in zip(ev.loc[ret, "resource_id"], ev.loc[ret, "loan_ref"], strict=True)
            if (int(r), str(ref)) not in checkout
        ]
        for chunk in _chunks(list(dict.fromkeys(missing)), 500):
            refs = [ref for _, ref in chunk]
            res = {r for r, _ in chunk}
            for rid, ref, at in self.conn.execute(
                select(Event.resource_id, Event.loan_ref, Event.occurred_at).where(
                    Event.kind == "use",
                    Event.reverses_id.is_(None),
                    Event.resource_id.in_(res),
                    Event.loan_ref.in_(refs),
                )
            ).all():
                checkout[(rid, str(ref))] = pd.Timestamp(at)
        for idx in ev.index[ret]:
            key = (int(ev.at[idx, "resource_id"]), str(ev.at[idx, "loan_ref"]))
            started = checkout.get(key)
            if started is None:
                why = f"return of loan {key[1]!r} has no checkout; record the checkout first"
            elif ev.at[idx, "ts"] < started:
                why = (
                    f"return of loan {key[1]!r} at {ev.at[idx, 'ts'].isoformat()} is before "
                    f"its checkout at {pd.Timestamp(started).isoformat()}"
                )
            else:
                continue
            ev.at[idx, "status"] = "quarantine"
            ev.at[idx, "reason"] = why
        self._check_returned_units(ev, ret & (ev["status"] != "quarantine"))

    def _check_unnamed_returns(self, ev: pd.DataFrame, pools: set[int]) -> None:
        """A checkout or return with no loan reference, on a pool whose loans carry one,
        is refused.

        A return: which loan came back cannot be told; counted, it would lower the
        units on loan while the open-loans list (and the member's usage) kept the loan
        it may have closed. A checkout: no return could ever be matched to it, so it
        would stay on loan for good, beyond the pool's units. A pool recorded as counts
        only (no loan references in this batch or stored) keeps its bare rows. One
        query, only for pools a batch lends or takes back without a reference.
        """
        bare = (
            (ev["status"] != "quarantine")
            & ev["kind"].isin(("use", "replenish"))
            & ev["loan_ref"].isna()
            & ev["resource_id"].isin(pools)
            & ev["reverses_id"].isna()
        )
        if not bare.any():
            return
        returned_to = {int(r) for r in ev.loc[bare, "resource_id"]}
        named = {
            int(r)
            for r in ev.loc[
                ev["loan_ref"].notna() & ev["resource_id"].isin(returned_to), "resource_id"
            ]
        }
        rest = sorted(returned_to - named)
        if rest:
            named |= {
                int(r)
                for r in self.conn.scalars(
                    select(Event.resource_id)
                    .where(Event.resource_id.in_(rest), Event.loan_ref.is_not(None))
                    .group_by(Event.resource_id)
                )
            }
        refused = bare & ev["resource_id"].isin(named)
        for idx in ev.index[refused]:
            ev.at[idx, "status"] = "quarantine"
            ev.at[idx, "reason"] = (
                "return with no loan_ref, on a pool whose loans carry one: which loan came "
                "back cannot be told; write the loan_ref of its checkout"
                if ev.at[idx, "kind"] == "replenish"
                else "checkout with no loan_ref, on a pool whose loans carry one: its "
                "return could never be matched to it; write the loan_ref its return will carry"
            )

    def _check_returned_units(self, ev: pd.DataFrame, ret: pd.Series) -> None:
        """A loan cannot bring back more units than went out by then.

        ``ret``: this batch's returns still standing. A second return of a loan (a
        re-export under a new id, a return keyed twice) would otherwise count the
        pool's units on loan below 0. Stored checkouts and returns of the loans
        concerned are read (less those reversed, here or in this batch) with this
        batch's new ones, in time order (at one moment, checkouts first); a return
        that brings the loan's balance below 0 is quarantined naming the returns
        before it, and does not count for the next.
        """
        if not ret.any():
            return
        keys = list(
            dict.fromkeys(
                zip(
                    ev.loc[ret, "resource_id"].astype(int),
                    ev.loc[ret, "loan_ref"].astype(str),
                    strict=True,
                )
            )
        )
        wanted_keys = set(keys)
        moves: dict[tuple[int, str], list[tuple[pd.Timestamp, int, float, str, Any]]] = {}
        undone = {int(i) for i in ev.loc[ev["status"] != "quarantine", "reverses_id"].dropna()}
        for chunk in _chunks(keys, 500):
            rows = self.conn.execute(
                select(
                    Event.id,
                    Event.resource_id,
                    Event.loan_ref,
                    Event.kind,
                    Event.quantity,
                    Event.occurred_at,
                    Event.external_id,
                ).where(
                    Event.kind.in_(("use", "replenish")),
                    Event.reverses_id.is_(None),
                    Event.scheduled.is_(False),
                    Event.resource_id.in_({r for r, _ in chunk}),
                    Event.loan_ref.in_([ref for _, ref in chunk]),
                )
            ).all()
            ids = [r.id for r in rows]
            for part in _chunks(ids, 500):
                undone.update(
                    self.conn.scalars(select(Event.reverses_id).where(Event.reverses_id.in_(part)))
                )
            wanted = set(chunk)
            for r in rows:
                key = (int(r.resource_id), str(r.loan_ref))
                if key in wanted and r.id not in undone:
                    # Checkouts sort before returns at one moment (order 0 and 1).
                    order = 0 if str(r.kind) == "use" else 1
                    moves.setdefault(key, []).append(
                        (_utc(r.occurred_at), order, float(r.quantity), str(r.external_id), None)
                    )
        mine = ev.loc[
            (ev["status"] == "new")
            & ~ev["scheduled"].fillna(False).astype(bool)  # plans lend nothing yet
            & ev["reverses_id"].isna()
            & ev["kind"].isin(("use", "replenish"))
            & ev["loan_ref"].notna()
            & ev["resource_id"].notna()
        ]
        for idx, rid, ref, kind, qty, at, ext in zip(
            mine.index,
            mine["resource_id"],
            mine["loan_ref"],
            mine["kind"],
            mine["qty"],
            mine["ts"],
            mine["external_id"],
            strict=True,
        ):
            key = (int(rid), str(ref))
            if key in wanted_keys:
                order = 0 if kind == "use" else 1
                moves.setdefault(key, []).append((at, order, float(qty), str(ext), idx))
        for (_, ref), loan in moves.items():
            out = back = 0.0
            returns: list[str] = []
            for at, order, qty, ext, idx in sorted(loan, key=lambda m: (m[0], m[1])):
                if order == 0:
                    out += qty
                    continue
                if idx is not None and back + qty > out + 1e-9 and ret.get(idx, False):
                    earlier = ", ".join(returns[-3:]) or "none"
                    ev.at[idx, "status"] = "quarantine"
                    ev.at[idx, "reason"] = (
                        f"return of loan {ref!r} at {at.isoformat()} brings back {qty:g} "
                        f"units, but {out:g} went out by then and {back:g} came back already "
                        f"(returns {earlier}): the same return recorded twice? keep one; if "
                        "the loan went out again, record that checkout first"
                    )
                    continue
                back += qty
                returns.append(repr(ext))

    # -- writing ------------------------------------------------------------------

    def _create_pools(self, pools: Sequence[NewPool]) -> None:
        if not pools:
            return
        commons = dict(self.conn.execute(select(Commons.slug, Commons.id)).all())
        known = set(self.conn.execute(select(Resource.slug)).scalars())
        rows = []
        for pool in pools:
            if pool.slug in known:
                continue
            cid = commons.get(pool.commons)
            if cid is None:
                raise LedgerError(f"pool {pool.slug!r} names unknown commons {pool.commons!r}")
            known.add(pool.slug)
            rows.append(
                {
                    "commons_id": cid,
                    "slug": pool.slug,
                    "name": pool.name[:200],
                    "kind": "pool",
                    "unit": pool.unit,
                    "capacity": None,
                    "reserve": None,
                    "initial_level": Decimal(0),
                    "attributes": {"created_by": "source"},
                }
            )
        if rows:
            self.conn.execute(insert(Resource), rows)

    def _upsert_members(self, members: Sequence[NewMember]) -> _MemberOutcome:
        """Create new members, update changed ones, and judge each row (see :class:`NewMember`).

        Runs in the batch's transaction, so a crash leaves no member half-updated. A
        later row of this batch for a code an earlier row gave with other contents is
        returned as a reject (quarantined as a conflict naming both rows); the first
        row is the one recorded.
        """
        out = _MemberOutcome()
        if not members:
            return out
        commons = dict(self.conn.execute(select(Commons.slug, Commons.id)).all())
        existing = {
            (cid, code): (mid, name, email, weight)
            for mid, cid, code, name, email, weight in self.conn.execute(
                select(
                    Member.id,
                    Member.commons_id,
                    Member.code,
                    Member.name,
                    Member.email,
                    Member.weight,
                )
            ).all()
        }
        ext_known = {
            (cid, src, ext)
            for cid, src, ext in self.conn.execute(
                select(
                    MemberExternalId.commons_id,
                    MemberExternalId.source,
                    MemberExternalId.external_id,
                )
            ).all()
        }
        # This batch's first row of each member: (its location, what it gave).
        first: dict[tuple[int, str], tuple[str, NewMember]] = {}
        for i, m in enumerate(members):
            cid = commons.get(m.commons)
            if cid is None:
                raise LedgerError(f"member {m.code!r} names unknown commons {m.commons!r}")
            row = m.row or f"member {str(m.code)[:80]} #{i + 1}"
            seen = first.get((cid, m.code))
            if seen is not None:
                differ = _member_differences(seen[1], m)
                if differ:
                    out.rejected.append(_member_conflict(row, m, seen[0], differ))
                else:
                    out.duplicates += 1
                    out.repeats.append(f"{row} repeats {seen[0]}")
                continue
            first[(cid, m.code)] = (row, m)
            known = existing.get((cid, m.code))
            if known is None:
                mid = self.conn.execute(
                    insert(Member).returning(Member.id),
                    {
                        "commons_id": cid,
                        "code": m.code,
                        "name": m.name,
                        "email": m.email,
                        "weight": Decimal(1) if m.weight is None else m.weight,
                        "status": "active",
                    },
                ).scalar_one()
                existing[(cid, m.code)] = (
                    mid,
                    m.name,
                    m.email,
                    Decimal(1) if m.weight is None else m.weight,
                )
                out.accepted += 1
            else:
                mid = known[0]
                changes = {} if m.create_only else _member_changes(known[1:], m)
                if changes:
                    self.conn.execute(update(Member).where(Member.id == mid).values(**changes))
                    out.updated += 1
                else:
                    out.duplicates += 1
            for src, ext in m.external_ids:
                if (cid, src, ext) not in ext_known:
                    self.conn.execute(
                        insert(MemberExternalId),
                        {"commons_id": cid, "member_id": mid, "source": src, "external_id": ext},
                    )
                    ext_known.add((cid, src, ext))
        return out

    def _quarantine(
        self,
        batch: Batch,
        bad_rows: set[str],
        frames: Iterable[pd.DataFrame],
        now: datetime,
        result: BatchResult,
    ) -> None:
        if not bad_rows:
            return
        reasons: dict[str, list[str]] = {}
        raws: dict[str, dict[str, Any]] = {}
        for r in batch.rejected:
            reasons.setdefault(r.row, []).append(r.reason)
            raws.setdefault(r.row, r.raw)
        for fr in frames:
            if fr.empty:
                continue
            sub = fr.loc[fr["row"].isin(bad_rows)]
            for idx in sub.index:
                row = sub.at[idx, "row"]
                if sub.at[idx, "reason"]:
                    reasons.setdefault(row, []).append(str(sub.at[idx, "reason"]))
                if row not in raws:
                    raw = sub.at[idx, "raw"]
                    raws[row] = raw if isinstance(raw, dict) else _raw_of(sub.loc[idx])
        entries = {}
        for row in bad_rows:
            why = "; ".join(
                dict.fromkeys(reasons.get(row) or ["another part of this row was refused"])
            )
            # Grouped by what went wrong, the row's own values left out: "quantity '...' is
            # not a number", not the bare field name the first quote used to leave. Marks
            # of up to 3 characters stay: "with decimal '...'" hid the ',' that was the point.
            key = clipped(_values_left_out(why.split("; ")[0]), REASON_KEY_CHARS)
            result.reasons[key] = result.reasons.get(key, 0) + 1
            why = why.replace("\x00", "<U+0000>")  # PostgreSQL text holds no NUL
            raw = json.dumps(text_checks.scrub(raws.get(row, {})), default=str, sort_keys=True)
            loc = text_checks.scrub(row)[:500]
            entries[_row_fingerprint(loc, raw)] = (loc, why, raw)
        known = self._requarantine(batch.source, entries, now)
        stamp = bulk.now_value(self.dialect, now)
        rows = [
            (batch.source, self.run_id, loc, digest, why, raw, stamp)
            for digest, (loc, why, raw) in entries.items()
            if digest not in known
        ]
        bulk.insert_rows(
            self.conn,
            QuarantinedRow.__tablename__,
            ("source", "run_id", "location", "fingerprint", "reason", "raw", "created_at"),
            rows,
        )

    def _requarantine(
        self, source: str, entries: Mapping[str, tuple[str, str, str]], now: datetime
    ) -> set[str]:
        """The fingerprints of ``entries`` already open in quarantine for ``source``.

        ``entries``: fingerprint (:func:`_row_fingerprint`) -> (location, reason, raw
        JSON) of the rows this batch quarantines. A row read again stays one row: the
        key is the row (its place and contents), not the reason's wording, so a reason
        reworded by a release, or worded otherwise for the same cause (a list of
        resources that grew), updates the stored reason instead of listing the row a
        second time. Rows stored under the former key (it digested the reason too) are
        recognised by their location and raw row and take the new key; where one row
        was stored once per wording, the oldest stays open and the others are settled
        with a resolution naming it (none is deleted: ``quarantine list --all`` shows
        them). A pass over the source's open rows, a query per 500 of them matched, and
        the changes in one executemany each.
        """
        # One pass over the source's open rows, small columns only (most often none);
        # an IN list per 500 locations scanned them all once per 500 (no index holds
        # location). Then reasons, and raw rows only for a key that did not match.
        places = {loc for loc, _, _ in entries.values()}
        same: dict[int, str] = {}  # row id -> key, for rows stored under their key
        other: list[int] = []  # rows at a place this batch quarantines, another key
        for row_id, fingerprint, loc in self.conn.execute(
            select(QuarantinedRow.id, QuarantinedRow.fingerprint, QuarantinedRow.location).where(
                QuarantinedRow.source == source, QuarantinedRow.resolved_at.is_(None)
            )
        ):
            if fingerprint in entries:
                same[row_id] = fingerprint
            elif loc in places:
                other.append(row_id)
        found: dict[str, list[tuple[int, str, str]]] = {}
        for chunk in _chunks(list(same), 500):
            for row_id, reason in self.conn.execute(
                select(QuarantinedRow.id, QuarantinedRow.reason).where(QuarantinedRow.id.in_(chunk))
            ):
                found.setdefault(same[row_id], []).append((row_id, same[row_id], reason))
        for chunk in _chunks(other, 500):
            for row_id, fingerprint, loc, raw, reason in self.conn.execute(
                select(
                    QuarantinedRow.id,
                    QuarantinedRow.fingerprint,
                    QuarantinedRow.location,
                    QuarantinedRow.raw,
                    QuarantinedRow.reason,
                ).where(QuarantinedRow.id.in_(chunk))
            ):
                key = _row_fingerprint(loc, json.dumps(raw, default=str, sort_keys=True))
                if key in entries:
                    found.setdefault(key, []).append((row_id, fingerprint, reason))
        reworded: list[dict[str, Any]] = []
        settled: list[dict[str, Any]] = []
        for key, stored in found.items():
            (keep, fingerprint, reason), *extra = sorted(stored)
            why = entries[key][1]
            if (fingerprint, reason) != (key, why):
                reworded.append({"row_id": keep, "fp": key, "why": why})
            settled.extend(
                {
                    "row_id": row_id,
                    "at": now,
                    "note": f"the same row as quarantined row #{keep}, listed again when "
                    "its reason was worded otherwise",
                }
                for row_id, _, _ in extra
            )
        by_id = update(QuarantinedRow).where(QuarantinedRow.id == bindparam("row_id"))
        if reworded:
            self.conn.execute(
                by_id.values(fingerprint=bindparam("fp"), reason=bindparam("why")), reworded
            )
        if settled:
            self.conn.execute(
                by_id.values(resolved_at=bindparam("at"), resolution=bindparam("note")), settled
            )
        return set(found)

    def _resolve_quarantined(
        self, source: str, recorded: Mapping[str, pd.DataFrame], now: datetime
    ) -> None:
        """Mark resolved the earlier quarantined rows of ``source`` this batch now records.

        ``recorded``: what each kind of record (``"event"``...) this batch records new,
        with its ``external_id``. A quarantined row is keyed by the ``external_id`` its
        raw row carries (``steward import`` rows, and rows a collector mapped); once a
        row with that source and id is recorded (the file fixed and imported again, or
        a later run), the old row needs no action: ``steward quarantine list`` hides it.
        Only new records settle a row: a duplicate or a conflict of a stored id never
        does, so a row refused for clashing with a stored id stays open. Rows whose raw
        carries no ``external_id`` (a MyTurn export line) are settled by
        ``steward quarantine retry``. One query, plus an update per row settled.
        """
        ids: dict[str, str] = {}
        for what, fr in recorded.items():
            if len(fr):
                ids.update(dict.fromkeys(_strs(fr["external_id"]), what))
        if not ids:
            return
        # One pass over the source's open rows (most often none), matched here: an
        # IN list per 500 ids would read every open row's JSON once per 500 ids.
        key = QuarantinedRow.raw["external_id"].as_string()
        settled = {
            row_id: ext
            for row_id, ext in self.conn.execute(
                select(QuarantinedRow.id, key).where(
                    QuarantinedRow.source == source, QuarantinedRow.resolved_at.is_(None)
                )
            )
            if ext is not None and str(ext) in ids
        }
        by = f"in run {self.run_id}" if self.run_id is not None else "by a later import"
        if not settled:
            return
        # One executemany: a statement per row cost 0.5 CPU-s per 2,000 rows settled.
        self.conn.execute(
            update(QuarantinedRow)
            .where(QuarantinedRow.id == bindparam("row_id"))
            .values(resolved_at=bindparam("at"), resolution=bindparam("note")),
            [
                {
                    "row_id": row_id,
                    "at": now,
                    "note": f"recorded later: {ids[str(ext)]} {str(ext)!r} of source "
                    f"{source!r} {by}",
                }
                for row_id, ext in settled.items()
            ],
        )

    def _insert_events(self, ev: pd.DataFrame, source: str, now: datetime) -> None:
        if ev.empty:
            return
        # Originals first, so reversals within the batch can point at them.
        for part in (ev.loc[ev["reverses"].isna()], ev.loc[ev["reverses"].notna()]):
            if part.empty:
                continue
            part = part.copy()
            unresolved = part["reverses_id"].isna() & part["reverses"].notna()
            if unresolved.any():
                ids = dict(
                    self.conn.execute(
                        select(Event.external_id, Event.id).where(
                            Event.source == source,
                            Event.external_id.in_(list(part.loc[unresolved, "reverses"])),
                        )
                    ).all()
                )
                part.loc[unresolved, "reverses_id"] = part.loc[unresolved, "reverses"].map(ids)
            attrs: list[str | None] = [None] * len(part)
            if part["attributes"].notna().any():
                attrs = [
                    None if not isinstance(a, dict) else json.dumps(a) for a in part["attributes"]
                ]
            n = len(part)
            self._insert(
                Event.__tablename__,
                {
                    "resource_id": part["resource_id"].to_numpy(dtype="int64"),
                    "member_id": _optional_ints(part["member_id"]),
                    "kind": _strs(part["kind"]),
                    "quantity": bulk.quantities(part["qty"], self.dialect),
                    "occurred_at": bulk.timestamps(part["ts"], self.dialect),
                    "source": [source] * n,
                    "external_id": _strs(part["external_id"]),
                    "ingested_at": [bulk.now_value(self.dialect, now)] * n,
                    "loan_ref": _optional_strs(part["loan_ref"]),
                    "reverses_id": _optional_ints(part["reverses_id"]),
                    "scheduled": part["scheduled"].fillna(False).astype(bool).to_numpy(),
                    "payload_hash": _strs(part["hash"]),
                    "run_id": [self.run_id] * n,
                    "attributes": attrs,
                },
                # The event table's one CHECK (models.Event, ck_event_kind).
                checks={"kind": KINDS},
            )

    def _insert_readings(self, fr: pd.DataFrame, source: str, now: datetime) -> None:
        if fr.empty:
            return
        n = len(fr)
        self._insert(
            Reading.__tablename__,
            {
                "resource_id": fr["resource_id"].to_numpy(dtype="int64"),
                "observed_at": bulk.timestamps(fr["ts"], self.dialect),
                "value": bulk.quantities(fr["qty"], self.dialect),
                "source": [source] * n,
                "external_id": _strs(fr["external_id"]),
                "ingested_at": [bulk.now_value(self.dialect, now)] * n,
                "payload_hash": _strs(fr["hash"]),
                "run_id": [self.run_id] * n,
            },
        )

    def _insert_terms(self, fr: pd.DataFrame, source: str, now: datetime) -> None:
        if fr.empty:
            return
        n = len(fr)
        self._insert(
            LoanTerm.__tablename__,
            {
                "resource_id": fr["resource_id"].to_numpy(dtype="int64"),
                "loan_ref": _strs(fr["loan_ref"].astype("string").str.strip()),
                "starts_at": bulk.timestamps(fr["ts"], self.dialect),
                "due_at": bulk.timestamps(fr["due_ts"], self.dialect),
                "source": [source] * n,
                "external_id": _strs(fr["external_id"]),
                "ingested_at": [bulk.now_value(self.dialect, now)] * n,
                "payload_hash": _strs(fr["hash"]),
                "run_id": [self.run_id] * n,
            },
        )

    def _insert_capacity(self, fr: pd.DataFrame, source: str) -> None:
        if fr.empty:
            return
        n = len(fr)
        self._insert(
            CapacityChange.__tablename__,
            {
                "resource_id": fr["resource_id"].to_numpy(dtype="int64"),
                "effective_at": bulk.timestamps(fr["ts"], self.dialect),
                "delta": bulk.quantities(fr["qty"], self.dialect),
                "reason": fr["note"].fillna("").astype(str).tolist(),
                "source": [source] * n,
                "external_id": _strs(fr["external_id"]),
                "scheduled": fr["scheduled"].fillna(False).astype(bool).to_numpy(),
                "payload_hash": _strs(fr["hash"]),
            },
        )

    def _insert(
        self,
        table: str,
        columns: dict[str, Any],
        *,
        checks: dict[str, Sequence[str]] | None = None,
    ) -> None:
        """Write rows judged new; refuse the batch if another writer recorded some meanwhile.

        Only PostgreSQL lets a concurrent transaction record the same ids between our
        lookup and our insert (SQLite writers hold the write lock throughout). The
        unique index refuses them; this batch's counts would be wrong, so the whole
        batch is refused (its transaction rolls back): run again, they count as
        duplicates.
        """
        try:
            bulk.insert_new(self.conn, table, columns, checks=checks)
        except bulk.AlreadyRecorded as exc:
            raise LedgerError(
                f"some {table} rows were recorded by another writer while this batch was "
                f"being checked ({exc}); nothing of this batch was kept",
                hint="run it again: the rows recorded meanwhile then count as duplicates "
                "(or conflicts)",
            ) from None


def reversal(conn: Connection, source: str, external_id: str, *, reason: str) -> NewEvent:
    """The event that cancels ``external_id`` of ``source`` (record it in a batch of that source)."""
    row = conn.execute(
        select(Event.external_id, Event.occurred_at, Resource.slug, Event.kind, Event.quantity)
        .join(Resource, Resource.id == Event.resource_id)
        .where(Event.source == source, Event.external_id == external_id)
    ).first()
    if row is None:
        raise LedgerError(
            f"no event {external_id!r} from source {source!r} to reverse",
            hint="check the id with `steward events --source` or the dashboard",
        )
    return NewEvent(
        resource=row.slug,
        kind=str(row.kind),
        quantity=row.quantity,
        occurred_at=datetime.now(UTC),
        external_id=f"{external_id}~reversal",
        reverses=external_id,
        attributes={"reason": reason},
    )


class _Timeline:
    """A pool's capacity changes on one timeline (see ``Ledger._check_pool_capacity``).

    ``changes``: (moment, delta, planned, (source, external id)) of stored rows. Levels
    after each change,
    and the lowest level from each change on, are computed once, so judging a new row
    costs a binary search, however many changes the pool has.
    """

    def __init__(
        self, base: float, changes: list[tuple[pd.Timestamp, float, bool, tuple[str, str]]]
    ) -> None:
        ordered = sorted(changes, key=lambda c: c[0])
        self.base = base
        self.times = [c[0] for c in ordered]
        self.deltas = np.array([c[1] for c in ordered], dtype=float)
        self.planned = [c[2] for c in ordered]
        self.labels = [c[3] for c in ordered]
        self.levels = base + np.cumsum(self.deltas)
        # Changes at one moment are simultaneous: each is judged by the level after all
        # of them, so a plan cancelled by its opposite at the same moment leaves no dip.
        for j in range(len(self.times) - 2, -1, -1):
            if self.times[j] == self.times[j + 1]:
                self.levels[j] = self.levels[j + 1]
        # lowest[i]: the lowest level at or after change i.
        self.lowest = np.minimum.accumulate(self.levels[::-1])[::-1]

    def refusal(
        self,
        pool: str,
        at: pd.Timestamp,
        delta: float,
        extra: float,
        planned: bool,
        *,
        check_later: bool,
    ) -> str:
        """Why a change of ``delta`` at ``at`` cannot be recorded ("" if it can).

        ``extra``: this batch's accepted changes on this timeline (all at or before ``at``).
        """
        i = bisect.bisect_right(self.times, at)
        before = (self.levels[i - 1] if i else self.base) + extra
        what = "planned delta" if planned else "delta"
        counted = (
            "its configured capacity, the changes recorded by then and the planned ones "
            "between now and then"
            if planned
            else "its configured capacity plus the changes recorded by then"
        )
        if before + delta < -1e-9:
            return (
                f"{what} {delta:g} would leave pool {pool!r} a capacity of {before + delta:g} "
                f"units, below 0 (it has {before:g} on {at.isoformat()}: {counted}); fix the "
                "change"
            )
        if not check_later or i >= len(self.times) or self.lowest[i] + extra + delta >= -1e-9:
            return ""
        k = i + int(np.argmax(self.levels[i:] + extra + delta < -1e-9))
        kind = "planned change" if self.planned[k] else "change"
        source, ext = self.labels[k]
        return (
            f"{what} {delta:g} on {at.isoformat()} would leave pool {pool!r} below 0 later: "
            f"the {kind} {ext!r} of source {source!r} ({self.deltas[k]:+g} on "
            f"{self.times[k].isoformat()}), recorded before this one, would then leave "
            f"{self.levels[k] + extra + delta:g} units ({counted}); fix this change, or "
            "that one if it is wrong"
        )

    def plan_conflict(self, pool: str, at: pd.Timestamp, delta: float, extra: float) -> str:
        """Why a recorded change of ``delta`` at ``at`` breaks a later plan ("" if none does).

        Called on the planned timeline (recorded changes plus plans after now) for a
        recorded change the recorded timeline accepted: the first planned change after
        ``at`` that would then leave the pool below 0 is named, with its date and id.
        """
        i = bisect.bisect_right(self.times, at)
        if i >= len(self.times) or self.lowest[i] + extra + delta >= -1e-9:
            return ""
        below = self.levels[i:] + extra + delta < -1e-9
        k = i + int(np.argmax(below))
        source, ext = self.labels[k]
        return (
            f"delta {delta:g} on {at.isoformat()} would leave pool {pool!r} below 0 "
            f"under a plan: the planned change {ext!r} of source {source!r} "
            f"({self.deltas[k]:+g} on {self.times[k].isoformat()}) would then leave "
            f"{self.levels[k] + extra + delta:g} units; reverse or replace that plan "
            "first (record its opposite as a planned change on the same date, e.g. "
            f"{-self.deltas[k]:+g}), then import this change again"
        )


def _check_identity(
    fr: pd.DataFrame, catalog: _Catalog, flag: Callable[[pd.Series, Reason], None]
) -> pd.Series:
    """Strip ``external_id``, map ``resource`` to ``resource_id`` and flag rows lacking either.

    Shared by readings, capacity changes and loan terms; returns the slugs (string Series).
    """
    ext = fr["external_id"].astype("string").str.strip()
    fr["external_id"] = ext
    flag(ext.isna() | (ext == ""), "missing external id: every row needs a stable id")
    slug = fr["resource"].astype("string")
    fr["resource_id"] = slug.map(catalog.resource_id).astype("Int64")
    flag(fr["resource_id"].isna() & _blank(slug), NO_RESOURCE)
    flag(
        fr["resource_id"].isna(),
        lambda mask: slug[mask].map(
            lambda v: catalog.unknown_resource(v, "define it under commons[].resources")
        ),
    )
    return slug


_SHOWN = ("resource", "kind", "qty", "ts", "member", "loan_ref", "due_ts", "note")
_LABEL = {"qty": "value", "ts": "time", "due_ts": "due", "loan_ref": "loan"}


def _show_value(column: str, value: Any) -> str:
    """One cell as a reason shows it: times in UTC ISO 8601, numbers without trailing zeros."""
    if (
        value is None
        or value is pd.NA
        or value is pd.NaT
        or (isinstance(value, float) and np.isnan(value))
    ):
        return "(blank)"
    if column in ("ts", "due_ts"):
        at = pd.Timestamp(value)
        at = at.tz_localize("UTC") if at.tzinfo is None else at.tz_convert("UTC")
        return at.isoformat()
    if column == "qty":
        return f"{float(value):.6f}".rstrip("0").rstrip(".")
    return str(value)


def _shown(row: pd.Series) -> dict[str, str]:
    """The fields of a ledger row that a conflict's reason compares, as shown."""
    return {c: _show_value(c, row[c]) for c in _SHOWN if c in row.index}


@dataclass
class _MemberOutcome:
    """How a batch's member rows were judged (see :meth:`Ledger._upsert_members`)."""

    accepted: int = 0
    updated: int = 0
    duplicates: int = 0
    #: "ROW repeats ROW" for each identical repeat within the batch (counted duplicates).
    repeats: list[str] = field(default_factory=list)
    #: Later rows of the batch that contradict an earlier row for the same member.
    rejected: list[Rejected] = field(default_factory=list)

    def count(self, result: BatchResult) -> None:
        """Add these rows to ``result`` (their conflicts are already among its rejects)."""
        judged = self.accepted + self.updated + self.duplicates
        result.rows_read += judged
        result.accepted += self.accepted
        result.updated += self.updated
        result.duplicates += self.duplicates
        result.conflicts += len(self.rejected)
        result.repeats += len(self.repeats)
        room = REPEAT_EXAMPLES - len(result.repeat_examples)
        result.repeat_examples += self.repeats[: max(room, 0)]


def _member_fields(m: NewMember) -> dict[str, str]:
    """What a member row gives, as text (a blank email or weight is not given)."""
    shown = {"name": repr(m.name)}
    if m.email is not None:
        shown["email"] = repr(m.email)
    if m.weight is not None:
        shown["weight"] = f"{Decimal(str(m.weight)).normalize():f}"
    return shown


def _member_differences(a: NewMember, b: NewMember) -> str:
    """``"name 'A' there, 'B' here; weight 1 there, 2 here"``; "" if they agree."""
    fa, fb = _member_fields(a), _member_fields(b)
    return "; ".join(
        f"{k} {fa.get(k, '(blank)')} there, {fb.get(k, '(blank)')} here"
        for k in ("name", "email", "weight")
        if fa.get(k) != fb.get(k)
    )


def _member_conflict(row: str, m: NewMember, first_row: str, differ: str) -> Rejected:
    """A later row for a member this batch already gave otherwise, quarantined."""
    raw = {k: v for k, v in asdict(m).items() if k not in ("weight", "row", "create_only")}
    raw["weight"] = None if m.weight is None else str(m.weight)
    return Rejected(
        row,
        text_checks.scrub(raw),
        f"conflict: member {m.code!r} first appears on {first_row} with different "
        f"contents ({differ}); only the first row is recorded: keep one row per member, "
        "the right one, and import the file again",
    )


def _member_changes(
    stored: tuple[str, str | None, Decimal], m: NewMember
) -> dict[str, str | Decimal]:
    """The columns ``m`` changes on the recorded member (name, email, weight as stored)."""
    name, email, weight = stored
    changes: dict[str, str | Decimal] = {}
    if m.name != name:
        changes["name"] = m.name
    if m.email is not None and m.email != email:
        changes["email"] = m.email
    if m.weight is not None and (weight is None or Decimal(str(m.weight)) != Decimal(str(weight))):
        changes["weight"] = Decimal(str(m.weight))
    return changes


def _differences(a: dict[str, str], b: dict[str, str], a_name: str, b_name: str) -> str:
    """``"value 5 stored, 7 here; time ..."``: the fields two rows disagree on."""
    labels = {**_LABEL, "qty": "quantity"} if "kind" in a else _LABEL
    parts = [
        f"{labels.get(k, k)} {a[k]} {a_name}, {b[k]} {b_name}"
        for k in _SHOWN
        if k in a and k in b and a[k] != b[k]
    ]
    return "; ".join(parts) or "other fields differ"


def _unknown_members(
    member: pd.Series, slug: pd.Series, commons: pd.Series, catalog: _Catalog, mask: pd.Series
) -> pd.Series:
    """Why each flagged member is not known, naming the commons it does belong to, if any."""
    out = []
    for code, res, cid in zip(member[mask], slug[mask], commons[mask], strict=True):
        here = catalog.commons_slug.get(int(cid)) if not pd.isna(cid) else None
        elsewhere = [c for c in catalog.commons_of_member(str(code)) if c != here]
        if here is None or not elsewhere:
            close = catalog.meant_member(str(code), int(cid)) if here is not None else None
            if close:
                out.append(
                    f"unknown member {code!r}; did you mean {close!r}? If so, fix the "
                    "member column; if not, import members first"
                )
            else:
                # A sign-in name ('ada') is the usual slip: the column takes member codes.
                out.append(
                    f"unknown member {code!r}; the member column takes member codes as "
                    "the members file gives them (not sign-in names); if it is one, "
                    "import members first"
                )
            continue
        out.append(
            f"member {code!r} belongs to commons {', '.join(map(repr, elsewhere))}, not to "
            f"{here!r}, the commons of resource {res!r}: if they use {here!r} too, import "
            f"them as a member of {here!r} (members file with commons {here}), else check "
            "the resource or member column"
        )
    return pd.Series(out, index=member.index[mask.to_numpy(dtype=bool)], dtype=object)


#: Longest reason a summary groups rows by: cut after a word, marked "…".
REASON_KEY_CHARS = 80

#: A row with no resource at all is most often a spreadsheet's total or note line:
#: "unknown resource '(blank)'; define it" sent people to the configuration.
NO_RESOURCE = (
    "no resource: the row's resource cell is blank (a total or a note line?); name the "
    "resource, or leave the line out of the export"
)


def _blank(values: pd.Series) -> pd.Series:
    return (values.isna() | (values.str.strip() == "")).fillna(True).astype(bool)


def _flag(reason: pd.Series, mask: pd.Series, text: Reason) -> None:
    """Give rows that have no reason yet this one; texts are built for those rows only."""
    mask = mask & (reason == "")
    if not mask.any():
        return
    if callable(text):
        reason.loc[mask] = text(mask)
    elif isinstance(text, str):
        reason.loc[mask] = text
    else:
        reason.loc[mask] = text.loc[mask]


def _check_currency(
    fr: pd.DataFrame,
    slug: pd.Series,
    value_col: str,
    catalog: _Catalog,
    flag: Callable[[pd.Series, Reason], None],
) -> None:
    """Flag values written in another currency than their resource counts.

    ``fr[CURRENCY_MARK]`` (when a reader supplied it) holds the symbol or code the
    value was written with (:func:`steward.numbers.currency_marks`); Steward
    converts no currencies, so ``€5`` on a USD fund is refused, not read as 5 USD.
    """
    if CURRENCY_MARK not in fr:
        return
    marks = fr[CURRENCY_MARK].fillna("").astype(object)
    units = slug.map(catalog.resource_unit)
    bad = numbers.foreign_currency(marks, units)

    def why(mask: pd.Series) -> pd.Series:
        unit = units[mask].fillna("?").astype(str)
        return (
            f"{value_col} is written in "
            + marks[mask].astype(str).map(repr)
            + " but resource "
            + slug[mask].astype(str).map(repr)
            + " counts "
            + unit
            + "; Steward converts no currencies: record the amount in "
            + unit
            + " (or correct the resource column)"
        )

    flag(bad, why)


def _check_minor_units(
    fr: pd.DataFrame,
    slug: pd.Series,
    field: str,
    values: pd.Series,
    catalog: _Catalog,
    flag: Callable[[pd.Series, Reason], None],
    setting: str,
) -> None:
    """Flag money with more decimals than its currency has (1.234 USD: USD has 2).

    A resource counts money when its unit is its commons' currency or an ISO code in
    capitals (Babel's CLDR data gives the places: :func:`steward.numbers.minor_units`). Such a value was most often read
    with the wrong decimal mark: ``1,234`` in a file declared ``--decimal ,`` is far
    more likely 1234 grouped by someone else than 1.234 USD. Refused, never rounded:
    the reason quotes the value as written (``fr[AS_WRITTEN]`` when a reader gave it)
    and names both fixes; ``setting`` (with ``{mark}``) says how to declare the mark.
    """
    places = slug.map(catalog.resource_places)
    money = places.notna()
    if not money.any():
        return
    scale = np.power(10.0, places[money].astype("float64").to_numpy())
    num = values[money].to_numpy(dtype="float64")
    with np.errstate(over="ignore", invalid="ignore"):
        scaled = num * scale
        finer = np.isfinite(scaled) & (np.abs(scaled - np.rint(scaled)) >= 1e-3)
    bad = pd.Series(False, index=fr.index)
    bad[money[money].index[finer]] = True
    if not bad.any():
        return
    units = slug.map(catalog.resource_unit)
    written = fr[AS_WRITTEN] if AS_WRITTEN in fr else pd.Series(None, index=fr.index)

    def why(mask: pd.Series) -> pd.Series:
        out = []
        for value, unit, p, text in zip(
            values[mask], units[mask], places[mask], written[mask], strict=True
        ):
            out.append(_money_places(field, float(value), str(unit), int(p), text, setting))
        return pd.Series(out, index=values.index[mask.to_numpy(dtype=bool)], dtype=object)

    flag(bad, why)


def _money_places(
    field: str, value: float, unit: str, places: int, written: object, setting: str
) -> str:
    """The reason for one money value finer than its currency (see _check_minor_units)."""
    shown = np.format_float_positional(value, trim="-")
    text = str(written).strip() if isinstance(written, str) and written.strip() else shown
    code = unit.strip().upper()
    decimals = len(shown.partition(".")[2])
    has = f"{code} has {places}" if places else f"{code} has none"
    head = f"{field} {text!r} has {decimals} decimal{'s' * (decimals != 1)} but {has}"
    rounding = f"round it to {places} decimals at the source" if places else "write it whole"
    # "1,234" read with a decimal comma: the mark may group thousands instead.
    grouped = re.fullmatch(r"[^.,0-9]*[1-9][0-9]{0,2}([.,])[0-9]{3}[^.,0-9]*", text)
    if grouped and decimals == 3:
        mark = grouped[1]
        other = "." if mark == "," else ","
        whole = np.format_float_positional(abs(value) * 1000, trim="-")
        return (
            f"{head}: if {mark!r} groups thousands here ({whole} {code}), write it "
            f"{whole} at the source, or, if the source writes {other!r} decimals "
            f"throughout, {setting.format(mark=other)}; if {shown} {code} is meant, "
            f"{rounding}"
        )
    return f"{head}; {rounding} (Steward does not round money)"


def _endless(field: str, values: pd.Series) -> Callable[[pd.Series], pd.Series]:
    """Reasons for ``Infinity`` or ``-inf`` handed over as a number (a JSON payload, a float
    column): not "too large", which would send the user after the decimal mark."""

    def build(mask: pd.Series) -> pd.Series:
        return values[mask].map(lambda v: numbers.not_finite(field, str(v)))

    return build


def _say(
    prefix: str, values: pd.Series, suffix: str, *, quote: bool = True
) -> Callable[[pd.Series], pd.Series]:
    def build(mask: pd.Series) -> pd.Series:
        shown = values[mask].astype("string").fillna("(blank)")
        return prefix + (shown.map(repr) if quote else shown) + suffix

    return build


def _say_number(prefix: str, values: pd.Series, suffix: str) -> Callable[[pd.Series], pd.Series]:
    """Like :func:`_say` for float64 numbers shown as written (``-5``, ``0.0000001``)."""

    def build(mask: pd.Series) -> pd.Series:
        shown = values[mask].map(lambda v: np.format_float_positional(v, trim="-"))
        return prefix + shown.astype("string").fillna("(blank)") + suffix

    return build


# -- helpers ----------------------------------------------------------------------


def _not_in_source(external_id: str, source: str, others: list[str]) -> str:
    """Why a reversal of ``external_id`` was refused under ``source``, and how to fix it.

    ``others``: the other sources holding that id. External ids are unique per source
    only, so a reversal must be imported under the source of the event it cancels.
    """
    why = f"reverses {external_id!r}, which is not in the ledger of source {source!r}"
    if len(others) == 1:
        return (
            f"{why}; it is in the ledger of source {others[0]!r}: import this file "
            f"with --source {others[0]} to reverse it there"
        )
    if others:
        return (
            f"{why}; it is in the ledgers of sources {', '.join(map(repr, others))}: "
            "import this file with --source <the source of the event it cancels>"
        )
    return (
        f"{why}; a reversal must be imported with --source <the source of the event it "
        "cancels>, and that event recorded first"
    )


def _as_written(values: pd.Series, ts: pd.Series) -> pd.Series:
    """Each moment as its source wrote it, for a reason to quote: text stripped, a
    datetime in ISO 8601 with its own offset; the parsed UTC moment where neither."""

    def one(value: Any, parsed: Any) -> str:
        if isinstance(value, str) and value.strip():
            return value.strip()
        if isinstance(value, datetime):
            return value.isoformat()
        return parsed.isoformat() if isinstance(parsed, pd.Timestamp) else str(value)

    return pd.Series(
        [one(v, t) for v, t in zip(values, ts, strict=True)], index=ts.index, dtype=object
    )


def _values_left_out(reason: str) -> str:
    """``reason`` with each quoted value longer than 3 characters written '...': the
    import summary's key, so rows refused for one cause count together, while a short
    mark that is the point stays ("with decimal ','")."""
    return re.sub(r"'([^']*)'", lambda m: m[0] if len(m[1]) <= 3 else "'...'", reason)


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _numbers(values: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        return values.astype("float64")
    text = values.map(lambda v: str(v) if isinstance(v, Decimal) else v)
    return pd.to_numeric(text, errors="coerce").astype("float64")


def _utc(at: datetime) -> pd.Timestamp:
    """A stored moment as an aware UTC timestamp (SQLite gives it back naive, in UTC)."""
    ts = pd.Timestamp(at)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _fractional(values: pd.Series) -> pd.Series:
    """True where a number has a fractional part (NaN: False, flagged elsewhere)."""
    num = values.to_numpy(dtype="float64")
    with np.errstate(invalid="ignore"):
        frac = np.isfinite(num) & (np.abs(num - np.rint(num)) > 1e-9)
    return pd.Series(frac, index=values.index)


def _fits_scale(values: pd.Series) -> pd.Series:
    # Huge values overflow here; they are refused as too large, so numpy's warning is noise.
    with np.errstate(over="ignore", invalid="ignore"):
        scaled = values.to_numpy(dtype="float64") * 10**SCALE
        ok = np.isnan(scaled) | (np.abs(scaled - np.rint(scaled)) < 1e-3)
    return pd.Series(ok, index=values.index)


_TZ_SUFFIX = r"(?:Z|[+-]\d\d:?\d\d)$"


def _unreadable_time(column: str, text: str) -> str:
    """Why ``text``, which ends in an offset, is no moment: a missing day, or not ISO."""
    day = written_dates.missing_day(text)
    if day:
        return f"{column} {text!r} is not a real date: {day}; check the day and the month"
    return (
        f"{column} {text!r} is not a date and time: write ISO 8601 with its offset "
        "(2024-05-01T10:00:00+02:00)"
    )


def _timestamps(values: pd.Series, column: str = "timestamp") -> tuple[pd.Series, pd.Series]:
    """Parse to UTC; naive or unreadable values get a reason (naming ``column``) instead."""
    why = pd.Series("", index=values.index, dtype=object)
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert("UTC"), why
    if pd.api.types.is_datetime64_dtype(values.dtype):
        why[:] = "timestamp has no timezone; declare the source's timezone in its config"
        return pd.Series(pd.NaT, index=values.index, dtype="datetime64[us, UTC]"), why
    parsed = pd.Series(pd.NaT, index=values.index, dtype="datetime64[us, UTC]")
    if pd.api.types.is_string_dtype(values.dtype):
        is_dt = pd.Series(False, index=values.index)
    else:
        is_dt = values.map(lambda v: isinstance(v, datetime))
    if is_dt.any():
        aware = values[is_dt].map(lambda v: v.tzinfo is not None)
        naive_idx = aware.index[~aware.to_numpy(dtype=bool)]
        why.loc[naive_idx] = values.loc[naive_idx].map(
            lambda v: (
                f"timestamp {v.isoformat()} has no timezone; declare the source's timezone in its config"
            )
        )
        ok_idx = aware.index[aware.to_numpy(dtype=bool)]
        if len(ok_idx):
            parsed.loc[ok_idx] = pd.to_datetime(list(values.loc[ok_idx]), utc=True)
    text = values[~is_dt].astype("string").str.strip()
    if len(text):
        blank = text.isna() | (text == "")
        why.loc[blank[blank].index] = "missing timestamp"
        has_tz = text.str.contains(_TZ_SUFFIX, regex=True, na=False)
        naive = ~blank & ~has_tz
        why.loc[naive[naive].index] = (
            "timestamp "
            + text[naive].map(repr)
            + " has no timezone; write it with an offset (2024-05-01T10:00:00+02:00) "
            "or declare the source's timezone"
        )
        good = ~blank & has_tz
        if good.any():
            got = pd.to_datetime(text[good], utc=True, errors="coerce", format="ISO8601")
            bad = got.isna()
            why.loc[bad[bad].index] = text[good][bad].map(lambda v: _unreadable_time(column, v))
            parsed.loc[got.index] = got
    return parsed, why


def _digest(fr: pd.DataFrame, columns: list[str]) -> pd.Series:
    parts = pd.DataFrame(index=fr.index)
    for c in columns:
        col = fr[c] if c in fr else pd.Series(None, index=fr.index)
        if c == "qty":
            with np.errstate(over="ignore", invalid="ignore"):  # huge rows are refused anyway
                scaled = np.rint(col.fillna(0).to_numpy(dtype="float64") * 10**SCALE)
                parts[c] = scaled.astype("int64")
        elif c == "ts":
            parts[c] = (
                col.astype("int64", errors="ignore") if col.notna().all() else col.astype(str)
            )
        elif c == "attributes":
            text_of = pd.Series("", index=fr.index, dtype=object)
            given = col.notna()
            if given.any():
                text_of[given] = col[given].map(
                    lambda a: (
                        json.dumps(a, sort_keys=True, default=str) if isinstance(a, dict) else ""
                    )
                )
            parts[c] = text_of
        else:
            parts[c] = col.astype("string").fillna("")
    hashed = pd.util.hash_pandas_object(parts, index=False).to_numpy(dtype="uint64")
    # 16 hex digits each, as f"{h:016x}" gives, without a Python call per row.
    hexed = np.frombuffer(hashed.astype(">u8").tobytes().hex().encode(), dtype="S16")
    return pd.Series(hexed.astype(str).astype(object), index=fr.index)


def _optional_ints(values: pd.Series) -> list[int | None]:
    return list(values.astype("Int64").to_numpy(dtype=object, na_value=None).tolist())


def _optional_strs(values: pd.Series) -> list[str | None]:
    return list(values.astype("string").to_numpy(dtype=object, na_value=None).tolist())


def _strs(values: pd.Series) -> list[str]:
    return list(values.astype("string").to_numpy(dtype=object).tolist())


def _row_fingerprint(location: str, raw: str) -> str:
    """A quarantined row's key: 32 hex digits of its location and raw row (JSON text).

    Not its reason: the same row refused again in other words is the same row.
    """
    return hashlib.blake2b(f"{location}\x1f{raw}".encode(), digest_size=16).hexdigest()


def _raw_of(row: pd.Series) -> dict[str, Any]:
    internal = {
        "status",
        "reason",
        "hash",
        "qty",
        "ts",
        "raw",
        "resource_id",
        "member_id",
        "reverses_id",
        "due_ts",
        "repeat_of",
        AS_WRITTEN,
    }
    return {str(c): _plain(row[c]) for c in row.index if c not in internal}


def _plain(value: Any) -> Any:
    """A JSON-safe form of a cell: no NaN, timestamps as ISO text, decimals as text."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, np.generic):
        return value.item()
    return value
