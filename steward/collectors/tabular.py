"""Map tables of text (CSV rows, JSON records, SQL rows) to ledger batches.

Shared by the csv, http and sql collectors: one column mapping (steward field ->
source column), constants for fields the source lacks, vectorised parsing of
money and dates, and a specific reason for every row that cannot be read. Rows
that pass go to the ledger as a DataFrame (its fast path); the source's own
columns ride along prefixed ``source:`` so a row the ledger refuses is
quarantined with what the source really sent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

import pandas as pd
from pydantic import Field, model_validator

from steward import numbers
from steward.collectors import parsing
from steward.collectors.base import Collector
from steward.collectors.source_formats import SourceFormats
from steward.ledger import AS_WRITTEN, CURRENCY_MARK, WEIGHT_HINT, Batch, NewMember, Rejected

RecordKind = Literal["events", "readings", "members", "capacity"]

#: Steward fields per record kind: (required, optional). Default header = field name.
FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "events": (
        ("external_id", "resource", "kind", "quantity", "occurred_at"),
        ("member", "loan_ref", "reverses", "scheduled", "due_at", "quantity_in", "quantity_out"),
    ),
    "readings": (("external_id", "resource", "value", "observed_at"), ()),
    "members": (("code", "name"), ("email", "weight")),
    "capacity": (("external_id", "resource", "delta", "effective_at"), ("note", "scheduled")),
}
RAW_PREFIX = "source:"


class MappingOptions(SourceFormats):
    """How a table's columns become ledger records (shared by csv, http and sql)."""

    record: RecordKind = "events"
    #: Steward field -> the source's column name (default: the same name).
    columns: dict[str, str] = Field(default_factory=dict)
    #: Constant values for fields the source has no column for (e.g. kind: use).
    defaults: dict[str, str] = Field(default_factory=dict)
    #: Events: the sign of ``quantity`` gives the kind (negative: use, positive: replenish).
    signed: bool = False

    @model_validator(mode="after")
    def _known_fields(self) -> MappingOptions:
        required, optional = FIELDS[self.record]
        known = set(required) | set(optional)
        for option in ("columns", "defaults"):
            unknown = sorted(set(getattr(self, option)) - known)
            if unknown:
                raise ValueError(
                    f"{option} names unknown field(s) {unknown} for record {self.record!r}; "
                    f"fields are: {', '.join([*required, *optional])}"
                )
        return self


@dataclass
class Table:
    """Rows of text from one place in a source, with a stable key per row."""

    frame: pd.DataFrame  # the source's columns, as text
    keys: list[str]  # e.g. "sources/fund/2024.csv:12"
    where: str  # what to name in errors, e.g. the file
    #: Cells that held numbers, not text (JSON numbers, SQL numerics): no locale applies.
    native: pd.DataFrame | None = None


def native_numbers(frame: pd.DataFrame) -> pd.DataFrame:
    """Which cells are numbers (not text) before the frame is made text."""

    def number(value: object) -> bool:
        return isinstance(value, int | float | Decimal) and not isinstance(value, bool)

    return pd.DataFrame(
        {
            c: (
                frame[c].notna()
                if frame[c].dtype.kind in "iuf"
                else frame[c].map(number).astype(bool)
            )
            for c in frame.columns
        },
        index=frame.index,
    )


class Mapper:
    """Turns :class:`Table` s into batches according to :class:`MappingOptions`."""

    def __init__(
        self, options: MappingOptions, *, commons: str | None, timezone: str, where: str
    ) -> None:
        self.options = options
        self.commons = commons
        self.timezone = options.timezone or timezone
        self.where = where

    def batch(self, source: str, tables: Sequence[Table], rejected: Sequence[Rejected]) -> Batch:
        frames: list[pd.DataFrame] = []
        members: list[NewMember] = []
        refused: list[Rejected] = list(rejected)
        for table in tables:
            if table.frame.empty:
                continue
            good, bad, people = self._map(table)
            refused.extend(bad)
            members.extend(people)
            if good is not None and len(good):
                frames.append(good)
        frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        record = self.options.record
        batch = Batch(
            source=source,
            rejected=refused,
            members=members,
            decimal_setting=f"set `decimal: '{{mark}}'` in {self.where}",
        )
        if record == "events":
            if "due_at" in frame:
                due = frame["due_at"].notna()
                batch.loan_terms = pd.DataFrame(
                    {
                        "resource": frame.loc[due, "resource"],
                        "loan_ref": frame.loc[due, "loan_ref"],
                        "starts_at": frame.loc[due, "occurred_at"],
                        "due_at": frame.loc[due, "due_at"],
                        "external_id": frame.loc[due, "external_id"] + ":due",
                        "row": frame.loc[due, "row"],
                    }
                )
                frame = frame.drop(columns="due_at")
            batch.events = frame
        elif record == "readings":
            batch.readings = frame
        elif record == "capacity":
            batch.capacity_changes = frame
        return batch

    # -- mapping --------------------------------------------------------------------

    def fits(self, header: list[str]) -> bool:
        """Whether a line with these fields names every column the mapping needs."""
        return not self._columns(pd.DataFrame(columns=list(dict.fromkeys(header))))[1]

    def _columns(self, frame: pd.DataFrame) -> tuple[dict[str, str], list[str]]:
        """Source column of each field present, and the required fields missing."""
        by_name = {str(c).strip().lstrip("\ufeff").lower(): str(c) for c in frame.columns}
        required, optional = FIELDS[self.options.record]
        found: dict[str, str] = {}
        missing: list[str] = []
        for name in (*required, *optional):
            wanted = self.options.columns.get(name, name)
            column = by_name.get(wanted.strip().lower())
            if column is not None:
                found[name] = column
            elif name in required and name not in self.options.defaults:
                missing.append(name)
        # A signed amount, or a pair of in/out columns, gives the kind (and the quantity).
        derived = set()
        if self.options.record == "events" and (self.options.signed or self._in_out(found)):
            derived.add("kind")
        if self.options.record == "events" and self._in_out(found):
            derived.add("quantity")
        return found, [m for m in missing if m not in derived]

    def _in_out(self, found: dict[str, str]) -> bool:
        return "quantity_in" in found or "quantity_out" in found

    def _map(self, table: Table) -> tuple[pd.DataFrame | None, list[Rejected], list[NewMember]]:
        frame = table.frame.reset_index(drop=True)
        keys = pd.Series(table.keys, dtype=object)
        found, missing = self._columns(frame)
        if missing:
            header = ", ".join(map(str, frame.columns)) or "(none)"
            names = ", ".join(repr(self.options.columns.get(m, m)) for m in missing)
            why = (
                f"{table.where}: column(s) {names} missing (the header has: {header}); "
                f"map them under `columns:` in {self.where}"
            )
            return None, _rejects(frame, keys, pd.Series(why, index=frame.index)), []

        def text(name: str) -> pd.Series:
            if name in found:
                return frame[found[name]].astype("string").str.strip()
            default = self.options.defaults.get(name)
            return pd.Series(default, index=frame.index, dtype="string")

        reason = pd.Series("", index=frame.index, dtype=object)

        def flag(mask: pd.Series, why: pd.Series | str) -> None:
            mask = mask.fillna(False).astype(bool) & (reason == "")
            if mask.any():
                reason[mask] = why if isinstance(why, str) else why[mask]

        record = self.options.record
        if record == "members":
            native_weight = None
            if table.native is not None and found.get("weight") in table.native:
                native_weight = table.native[found["weight"]].reset_index(drop=True)
            return self._members(frame, keys, text, reason, flag, native_weight)

        value_field, time_field = {
            "events": ("quantity", "occurred_at"),
            "readings": ("value", "observed_at"),
            "capacity": ("delta", "effective_at"),
        }[record]
        out = pd.DataFrame(index=frame.index)
        ext = text("external_id")
        flag(parsing.is_missing(ext), "missing external_id: every row needs a stable id")
        out["external_id"] = ext
        resource = text("resource")
        flag(parsing.is_missing(resource), "missing resource")
        out["resource"] = resource
        kind = text("kind").str.lower()
        native = {
            name: table.native[column].reset_index(drop=True)
            for name, column in found.items()
            if table.native is not None and column in table.native
        }
        if record == "events" and self._in_out(found):
            number, kind = self._in_out_amounts(found, text, flag, native)
            marks = numbers.currency_marks(text("quantity_in").fillna(""))
            out[CURRENCY_MARK] = marks.where(
                marks != "", numbers.currency_marks(text("quantity_out").fillna(""))
            )
            given_in = ~parsing.is_missing(text("quantity_in"))
            out[AS_WRITTEN] = text("quantity_in").where(given_in, text("quantity_out"))
        else:
            out[CURRENCY_MARK] = numbers.currency_marks(text(value_field))
            out[AS_WRITTEN] = text(value_field)
            number, why = self._number(text(value_field), value_field, native.get(value_field))
            flag(why != "", why)
            if record == "events" and self.options.signed:
                flag(number == 0, f"{value_field} 0 moves nothing: neither a use nor a replenish")
                kind = (
                    pd.Series(pd.NA, index=frame.index, dtype="string")
                    .mask(number < 0, "use")
                    .mask(number > 0, "replenish")
                )
                number = number.abs()
        out[value_field] = number
        scheduled = (
            parsing.truthy(text("scheduled"))
            if record != "readings"
            else pd.Series(False, index=frame.index)
        )
        if record != "readings":
            odd = parsing.neither_yes_nor_no(text("scheduled"))
            flag(
                odd,
                "scheduled "
                + text("scheduled").map(repr)
                + " is neither yes nor no; write true/false, yes/no or 1/0 (empty: not planned)",
            )
        stamps, late = parsing.timestamps(
            text(time_field),
            self.timezone,
            date_format=self.options.date_format,
        )
        flag(late != "", late)
        out[time_field] = stamps
        if record == "events":
            out["kind"] = kind
            for name in ("member", "loan_ref", "reverses"):
                values = text(name)
                out[name] = values.where(~parsing.is_missing(values), None).astype(object)
            out["scheduled"] = scheduled
            if "due_at" in found:
                out["due_at"] = self._due(text("due_at"), out, flag)
        if record == "capacity":
            out["note"] = text("note").fillna("")
            out["scheduled"] = scheduled
        out["row"] = keys
        for column in frame.columns:
            out[RAW_PREFIX + str(column)] = frame[column]
        bad = reason != ""
        rejects = _rejects(frame.loc[bad], keys[bad], reason[bad])
        return out.loc[~bad].reset_index(drop=True), rejects, []

    def _in_out_amounts(
        self, found: dict[str, str], text: Any, flag: Any, native: dict[str, pd.Series]
    ) -> tuple[pd.Series, pd.Series]:
        """A bank's "Money in" / "Money out" pair: the filled one gives kind and amount.

        An amount out may be written negative (``-200.00``): it is a use either way.
        """
        got_in, why_in = self._number(text("quantity_in"), "quantity_in", native.get("quantity_in"))
        got_out, why_out = self._number(
            text("quantity_out"), "quantity_out", native.get("quantity_out")
        )
        has_in = ~parsing.is_missing(text("quantity_in")) & (got_in.fillna(1) != 0)
        has_out = ~parsing.is_missing(text("quantity_out")) & (got_out.fillna(1) != 0)
        names = " / ".join(repr(found.get(n, n)) for n in ("quantity_in", "quantity_out"))
        flag(has_in & has_out, f"both {names} have an amount: which one moved?")
        flag(~has_in & ~has_out, f"no amount in {names}")
        flag(has_in & (why_in != ""), why_in)
        flag(has_in & (got_in < 0), f"{found.get('quantity_in')!r} is negative: money in?")
        flag(has_out & (why_out != ""), why_out)
        number = got_in.where(has_in, got_out).abs()
        kind = pd.Series("use", index=number.index, dtype="string").mask(has_in, "replenish")
        return number, kind

    def _number(
        self, values: pd.Series, field: str, native: pd.Series | None = None
    ) -> tuple[pd.Series, pd.Series]:
        """A field's numbers; ``native`` marks those that were numbers, not text, at the source."""
        return numbers.parse(
            values,
            self.options.number_format,
            field=field,
            setting=f"in {self.where}",
            native=native,
        )

    def _due(self, values: pd.Series, out: pd.DataFrame, flag: Any) -> pd.Series:
        """A loan's due date: the moment it is overdue; a date alone means the end of it."""
        given = ~parsing.is_missing(values)
        day_only = values.str.fullmatch(r"\d{4}-\d\d-\d\d", na=False).astype(bool)
        due = pd.Series(pd.NaT, index=values.index, dtype="datetime64[us, UTC]")
        why = pd.Series("", index=values.index, dtype=object)
        if day_only.any():
            # Midnight starting the next day, local: named by text so DST is handled.
            next_day = pd.to_datetime(values[day_only]) + pd.Timedelta(days=1)
            due[day_only], why[day_only] = parsing.timestamps(
                next_day.dt.strftime("%Y-%m-%d 00:00"), self.timezone
            )
        timed = given & ~day_only
        if timed.any():
            due[timed], why[timed] = parsing.timestamps(
                values[timed],
                self.timezone,
                date_format=self.options.date_format,
            )
        flag(given & (why != ""), "due_at: " + why)
        flag(given & (out["kind"] != "use"), "due_at belongs on a loan's checkout (kind use)")
        flag(given & out["loan_ref"].isna(), "due_at needs the loan's loan_ref")
        return due.where(given)

    def _members(
        self,
        frame: pd.DataFrame,
        keys: pd.Series,
        text: Any,
        reason: pd.Series,
        flag: Any,
        native_weight: pd.Series | None = None,
    ) -> tuple[None, list[Rejected], list[NewMember]]:
        if self.commons is None:
            why = f"members need a commons: add `commons:` to {self.where}"
            return None, _rejects(frame, keys, pd.Series(why, index=frame.index)), []
        code, name, email = text("code"), text("name"), text("email")
        weight_text = text("weight")
        weight, why = self._number(weight_text, "weight", native_weight)
        flag(parsing.is_missing(code), "missing member code")
        flag(parsing.is_missing(name), "missing member name")
        given = ~parsing.is_missing(weight_text)
        flag(given & (why != ""), why)
        flag(
            given & (weight < 0),
            "weight " + weight.map(lambda v: f"{v:g}") + f" is negative; {WEIGHT_HINT}",
        )
        flag(code.str.len() > 64, "member code is longer than 64 characters")
        members: list[NewMember] = []
        ok = reason == ""
        for c, n, e, w, has_w, key in zip(
            code[ok], name[ok], email[ok], weight[ok], given[ok], keys[ok], strict=True
        ):
            members.append(
                NewMember(
                    commons=self.commons,
                    code=str(c),
                    name=str(n),
                    email=None if e is pd.NA or not e else str(e),
                    weight=_decimal(w) if has_w else None,
                    row=str(key),
                )
            )
        return None, _rejects(frame.loc[~ok], keys[~ok], reason[~ok]), members


def _decimal(value: float) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return Decimal(1)


def _rejects(frame: pd.DataFrame, keys: pd.Series, reasons: pd.Series) -> list[Rejected]:
    records = frame.astype(object).where(frame.notna(), None).to_dict("records")
    return [
        Rejected(row=str(k), raw={str(c): v for c, v in r.items()}, reason=str(why))
        for k, r, why in zip(keys, records, reasons, strict=True)
    ]


def table_from_raws(raws: Sequence[tuple[str, Mapping[str, Any]]], where: str) -> Table:
    """Rebuild a table from quarantined raw rows (for a retry after a config fix)."""
    records = []
    for _, raw in raws:
        own = {k[len(RAW_PREFIX) :]: v for k, v in raw.items() if k.startswith(RAW_PREFIX)}
        records.append(own or dict(raw))
    frame = pd.DataFrame.from_records(records).astype("string") if records else pd.DataFrame()
    return Table(frame=frame, keys=[key for key, _ in raws], where=where)


class TabularCollector(Collector):
    """A collector of tables (csv, http, sql): one column mapping, one way to remap."""

    options: MappingOptions

    def _mapper(self) -> Mapper:
        commons = self.context.commons
        return Mapper(
            self.options,
            commons=commons.slug if commons else None,
            timezone=commons.timezone if commons else "UTC",
            where=self.context.where,
        )

    def remap(self, raws: Sequence[tuple[str, dict[str, Any]]]) -> Batch | None:
        """Map quarantined raw rows again with today's mapping."""
        return self._mapper().batch(self.name, [table_from_raws(raws, "quarantine")], [])
