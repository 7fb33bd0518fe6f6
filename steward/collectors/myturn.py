"""MyTurn (tool-library lending software) exports: inventory, loans and transactions.

* Inventory: each item type is a pool (``item_types`` maps types to resource slugs,
  or ``auto`` derives the slug from the type's name); a pool the configuration does
  not declare is created, named after its item type. A pool whose capacity the
  configuration declares keeps it: the inventory's items for it are skipped, so
  units are never counted twice. Each item adds one unit at
  its *Date Created*; an item whose status includes *Disabled* removes it again at
  its *Date Last Edited*: disabling is a staff edit, while *Date Last Updated* also
  moves on system activity (loans, syncs) long after the item left the shelf.
* Loans: a loan row is a checkout ``use`` and, once checked in, a ``replenish``,
  linked by a loan reference. A renewal appears as a new row starting when the
  previous one was checked in: it extends that loan (same reference, no new
  demand), so the return is recorded at the end of the chain. Every row records
  its *Due Date* as a loan term: a renewal's due date replaces the earlier one.
  A renewal whose first row is not in the exports (it began in an earlier year)
  starts its loan at the renewal. A loan still out is a checkout now; a later
  export showing its check-in (or its renewal) adds the return. A row read twice
  (overlapping exports) is one row.
* Transactions: payments (cash, card, PayPal, transfers, checks) replenish the
  money stock ``money_resource``, refunds use it; fee lines, store credit,
  activity lines (check out, return, membership change) and payment lines
  with no amount carry no money and are skipped.

Exports are re-read whole when any file changed: they are small, and every record
has a stable external id, so a replay only finds duplicates. Columns are found
by header name, ignoring case and spacing (``Payment method`` one year,
``Payment Method`` the next); a file that lacks a column has its rows
quarantined with the reason, and the other files are still read.
"""

from __future__ import annotations

import glob
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from steward import numbers
from steward.collectors import parsing
from steward.collectors.base import Chunk, Collector
from steward.errors import SourceError
from steward.ledger import (
    Batch,
    NewCapacityChange,
    NewEvent,
    NewLoanTerm,
    NewMember,
    NewPool,
    Rejected,
)

SOURCE_ID = "myturn"
PAYMENT_METHODS = frozenset(
    {"cash", "check", "paypal (external)", "external credit/debit", "external bank transfer"}
)
LOAN_COLUMNS = ("Membership ID", "Item ID", "Checked Out", "Checked In", "Renewal")
INVENTORY_COLUMNS = ("Item ID", "Item Type", "Status(es)", "Date Created", "Date Last Edited")
TRANSACTION_COLUMNS = ("Transaction ID", "Member ID", "Date", "Payment method", "Payment Amount")
OPTIONAL_COLUMNS = ("Item Name", "Due Date", "Name")


class MyTurnOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Files (globs allowed), relative to the config file's folder.
    inventory: str
    loans: str | None = None
    transactions: str | None = None
    #: Item type -> pool slug, or "auto" (slug from the type name, after ``prefix``).
    item_types: dict[str, str] | Literal["auto"] = "auto"
    prefix: str = ""
    #: Pool for item types not in ``item_types``; unset: such rows are quarantined.
    other: str | None = None
    #: Stock that payments replenish; unset: transactions are not read.
    money_resource: str | None = None
    timezone: str = "America/Los_Angeles"
    date_format: str = "%m/%d/%Y %I:%M %p"
    #: strftime format of the loans' *Due Date* (a day: the loan is due by its end).
    due_date_format: str = "%m/%d/%Y"
    #: A renewal continues a loan checked in at most this many minutes before it began.
    renewal_gap_minutes: int = Field(default=10, ge=0)


@dataclass
class _Export:
    frame: pd.DataFrame
    keys: list[str]
    #: Rows of files that lack a required column, each with the reason.
    refused: list[Rejected]


class MyTurnCollector(Collector):
    kind = "myturn"
    Options = MyTurnOptions
    options: MyTurnOptions

    def _files(self, pattern: str | None) -> list[Path]:
        if pattern is None:
            return []
        target = self.context.loaded.resolve(pattern)
        found = sorted(Path(p) for p in glob.glob(str(target)))
        if not found:
            raise SourceError(
                f"{self.context.where}: no file matches {target}",
                hint="check the path (relative to the config file's folder)",
            )
        return found

    def read(self, cursor: str | None) -> Iterator[Chunk]:
        inventory = self._files(self.options.inventory)
        loans = self._files(self.options.loans)
        money = self._files(self.options.transactions) if self.options.money_resource else []
        stamp = _fingerprint([*inventory, *loans, *money])
        if stamp == cursor:
            return
        commons = self.context.commons_slug()
        items = self._read(inventory, INVENTORY_COLUMNS)
        loan_rows = self._read(loans, LOAN_COLUMNS)
        txns = self._read(money, TRANSACTION_COLUMNS)
        ids = pd.concat(
            [loan_rows.frame["Membership ID"], txns.frame.get("Member ID", pd.Series(dtype=str))]
        )
        codes = sorted({c.strip() for c in ids if isinstance(c, str) and c.strip()}, key=_natural)
        members = [
            NewMember(
                commons=commons,
                code=code,
                name=f"MyTurn member {code}",
                external_ids=((SOURCE_ID, code),),
                create_only=True,
            )
            for code in codes
        ]
        # Every chunk but the last keeps the old cursor: a crash re-reads everything.
        yield Chunk(Batch(self.name, members=members), cursor)
        type_of = dict(
            zip(items.frame["Item ID"].str.strip(), items.frame["Item Type"], strict=True)
        )
        inventory_batch, declared = self._inventory(items, commons)
        yield Chunk(inventory_batch, cursor if loans or money else stamp, skipped=declared)
        if loans:
            batch, skipped = self._loans(loan_rows, type_of)
            yield Chunk(batch, cursor if money else stamp, skipped=skipped)
        if money:
            batch, skipped = self._transactions(txns)
            yield Chunk(batch, stamp, skipped=skipped)

    # -- reading ---------------------------------------------------------------------

    def _read(self, files: list[Path], required: tuple[str, ...]) -> _Export:
        frames: list[pd.DataFrame] = []
        keys: list[str] = []
        refused: list[Rejected] = []
        for path in files:
            try:
                frame = pd.read_csv(
                    path, dtype=str, keep_default_na=False, na_filter=False, encoding="utf-8-sig"
                )
            except (OSError, ValueError, UnicodeDecodeError) as exc:
                raise SourceError(f"{self.context.where}: cannot read {path}: {exc}") from exc
            frame.columns = _canonical([str(c) for c in frame.columns])
            rows = [f"{path.name}#{i + 1}" for i in range(len(frame))]
            missing = [c for c in required if c not in frame.columns]
            if missing:
                why = (
                    f"{path.name} lacks column(s) {missing} (it has: {', '.join(frame.columns)}); "
                    "export it again from MyTurn with those columns included"
                )
                records = frame.to_dict("records")
                refused.extend(Rejected(k, r, why) for k, r in zip(rows, records, strict=True))
                continue
            frames.append(frame)
            keys.extend(rows)
        if not frames:
            return _Export(pd.DataFrame(columns=list(required)), [], refused)
        return _Export(pd.concat(frames, ignore_index=True), keys, refused)

    def _pool(self, item_type: str) -> str | None:
        if self.options.item_types == "auto":
            return parsing.slugify(item_type, prefix=self.options.prefix)
        return self.options.item_types.get(item_type, self.options.other)

    def _times(self, values: pd.Series) -> tuple[pd.Series, pd.Series]:
        """MyTurn writes US dates with AM/PM in the library's zone, or ISO with an offset."""
        iso = values.str.contains("T", regex=False, na=False)
        stamps = pd.Series(pd.NaT, index=values.index, dtype="datetime64[us, UTC]")
        why = pd.Series("", index=values.index, dtype=object)
        for mask, fmt in ((iso, None), (~iso, self.options.date_format)):
            if mask.any():
                got, reason = parsing.timestamps(
                    values[mask], self.options.timezone, date_format=fmt
                )
                stamps[mask] = got
                why[mask] = reason
        return stamps, why

    # -- mapping ---------------------------------------------------------------------

    def _declared_capacity(self) -> set[str]:
        """Pools whose capacity the configuration declares: that figure wins."""
        return {
            res.slug
            for commons in self.context.loaded.settings.commons
            for res in commons.resources
            if res.kind == "pool" and res.capacity is not None
        }

    def _inventory(self, items: _Export, commons: str) -> tuple[Batch, int]:
        """Capacity changes per item, the pools they need, and items left to declared pools."""
        frame = items.frame
        declared = self._declared_capacity()
        pools: dict[str, NewPool] = {}
        skipped = 0
        created, why_created = self._times(frame["Date Created"])
        edited, why_edited = self._times(frame["Date Last Edited"])
        disabled = frame["Status(es)"].str.contains("Disabled", case=False, na=False)
        changes: list[NewCapacityChange] = []
        rejected: list[Rejected] = []
        for i, key in enumerate(items.keys):
            item = str(frame.at[i, "Item ID"]).strip()
            raw = {k: frame.at[i, k] for k in INVENTORY_COLUMNS}
            pool = self._pool(str(frame.at[i, "Item Type"]))
            reason = why_created[i] or (why_edited[i] if disabled[i] else "")
            if pool is None:
                reason = _unmapped(frame.at[i, "Item Type"], item)
            if reason or pool is None:
                rejected.append(Rejected(key, raw, reason))
                continue
            if pool in declared:
                skipped += 1  # the configured capacity counts this pool's units
                continue
            pools.setdefault(pool, NewPool(commons, pool, str(frame.at[i, "Item Type"]).strip()))
            added = created[i].to_pydatetime()
            changes.append(
                NewCapacityChange(
                    pool, 1, added, f"item:{item}:acquired", "acquired", row=key, raw=raw
                )
            )
            if disabled[i]:
                # An item edited before its creation stamp (imported records) leaves no earlier.
                gone = max(added, edited[i].to_pydatetime())
                changes.append(
                    NewCapacityChange(
                        pool, -1, gone, f"item:{item}:disabled", "disabled", row=key, raw=raw
                    )
                )
        rejected.extend(items.refused)
        batch = Batch(
            self.name, capacity_changes=changes, rejected=rejected, pools=list(pools.values())
        )
        return batch, skipped

    def _due(self, values: pd.Series) -> tuple[pd.Series, pd.Series]:
        """When each loan row falls due: the end of a date-only due date, local time."""
        blank = parsing.is_missing(values)
        iso = values.str.contains("T", regex=False, na=False) & ~blank
        due = pd.Series(pd.NaT, index=values.index, dtype="datetime64[us, UTC]")
        why = pd.Series("", index=values.index, dtype=object)
        zone = self.options.timezone
        if iso.any():
            due[iso], why[iso] = parsing.timestamps(values[iso], zone)
        dated = ~blank & ~iso
        if dated.any():
            fmt = self.options.due_date_format
            day = pd.to_datetime(values[dated].str.strip(), format=fmt, errors="coerce")
            after = (day + pd.Timedelta(days=1)).dt.tz_localize(
                zone, ambiguous="NaT", nonexistent="shift_forward"
            )
            due[dated] = after.dt.tz_convert("UTC")
            failed = day.isna()
            why[failed[failed].index] = (
                "Due Date "
                + values[failed[failed].index].map(repr)
                + f" is not a date; set due_date_format (now {fmt!r}) to match it"
            )
        return due, why

    def _loans(self, loans: _Export, type_of: dict[str, str]) -> tuple[Batch, int]:
        frame = loans.frame
        out_at, why_out = self._times(frame["Checked Out"])
        blank_in = parsing.is_missing(frame["Checked In"])
        in_at, why_in = self._times(frame["Checked In"].where(~blank_in, "2000-01-01T00:00:00Z"))
        in_at = in_at.where(~blank_in)
        due_text = frame.get("Due Date", pd.Series("", index=frame.index, dtype=object))
        due_at, why_due = self._due(due_text.astype(str))
        renewal = frame["Renewal"].str.strip().str.lower().eq("renewal")
        rejected: list[Rejected] = []
        usable: list[int] = []
        for i, key in enumerate(loans.keys):
            item = str(frame.at[i, "Item ID"]).strip()
            reason = why_out[i] or ("" if blank_in[i] else why_in[i]) or why_due[i]
            if not reason and item not in type_of:
                reason = f"item {item!r} is not in the inventory export; export the inventory again"
            elif not reason and self._pool(type_of[item]) is None:
                reason = _unmapped(type_of[item], item)
            if not reason and not str(frame.at[i, "Membership ID"]).strip():
                reason = "missing Membership ID"
            if reason:
                rejected.append(Rejected(key, frame.loc[i].to_dict(), reason))
            else:
                usable.append(i)
        rows = _LoanRows(frame, loans.keys, out_at, in_at, renewal)
        originals, copy_of = rows.copies(usable)
        gap = pd.Timedelta(minutes=self.options.renewal_gap_minutes)
        events: list[NewEvent] = []
        terms: list[NewLoanTerm] = []
        carried: dict[int, tuple[list[NewEvent], list[NewLoanTerm]]] = {}
        for chain in rows.chains(originals, gap):
            first, last = chain[0], chain[-1]
            item = str(frame.at[first, "Item ID"]).strip()
            pool = self._pool(type_of[item])
            assert pool is not None
            started = out_at[first]
            ref = f"{item}@{started.strftime('%Y-%m-%dT%H:%M:%SZ')}"
            member = str(frame.at[first, "Membership ID"]).strip()
            attributes: dict[str, Any] = {
                "item_id": item,
                "item": frame.get("Item Name", {}).get(first, ""),
            }
            if renewal[first]:
                attributes["renewal_without_original"] = True
            for k, i in enumerate(chain):
                mine: tuple[list[NewEvent], list[NewLoanTerm]] = ([], [])
                carried[i] = mine
                if k == 0:
                    mine[0].append(
                        NewEvent(
                            resource=pool,
                            kind="use",
                            quantity=1,
                            occurred_at=started.to_pydatetime(),
                            external_id=f"loan:{ref}",
                            member=member,
                            loan_ref=ref,
                            attributes=attributes,
                            row=loans.keys[i],
                            raw=frame.loc[i].to_dict(),
                        )
                    )
                if i == last and not pd.isna(in_at[last]):
                    mine[0].append(
                        NewEvent(
                            resource=pool,
                            kind="replenish",
                            quantity=1,
                            occurred_at=in_at[last].to_pydatetime(),
                            external_id=f"loan:{ref}:return",
                            member=member,
                            loan_ref=ref,
                            attributes={"item_id": item},
                            row=loans.keys[i],
                            raw=frame.loc[i].to_dict(),
                        )
                    )
                if not pd.isna(due_at[i]):
                    # A renewal's term starts at the renewal and replaces the earlier one.
                    mine[1].append(
                        NewLoanTerm(
                            resource=pool,
                            loan_ref=ref,
                            starts_at=out_at[i].to_pydatetime(),
                            due_at=due_at[i].to_pydatetime(),
                            external_id=f"loan:{ref}:due:{k}",
                            row=loans.keys[i],
                            raw=frame.loc[i].to_dict(),
                        )
                    )
        # A copy of a row (a re-export, an overlapping file) carries what its original
        # carries, so the ledger counts it as a duplicate rather than a second loan.
        for i, original in copy_of.items():
            got = carried[original]
            key, raw = loans.keys[i], frame.loc[i].to_dict()
            carried[i] = (
                [replace(e, row=key, raw=raw) for e in got[0]],
                [replace(t, row=key, raw=raw) for t in got[1]],
            )
        skipped = 0
        for got_events, got_terms in carried.values():
            events.extend(got_events)
            terms.extend(got_terms)
            skipped += not got_events and not got_terms
        rejected.extend(loans.refused)
        batch = Batch(self.name, events=events, rejected=rejected, loan_terms=terms)
        return batch, skipped

    def _transactions(self, txns: _Export) -> tuple[Batch, int]:
        frame = txns.frame
        method = frame["Payment method"].str.strip()
        is_payment = method.str.lower().isin(PAYMENT_METHODS)
        amount = numbers.parse(frame["Payment Amount"], numbers.US)[0]
        stamps, why = self._times(frame["Date"])
        events: list[NewEvent] = []
        rejected: list[Rejected] = []
        skipped = 0
        seen: dict[tuple[str, str], int] = {}
        assert self.options.money_resource is not None
        no_amount = parsing.is_missing(frame["Payment Amount"])
        for i, key in enumerate(txns.keys):
            if not is_payment[i] or no_amount[i]:
                skipped += 1  # fee lines, store credit, activity, no amount: no money moved
                continue
            txn = str(frame.at[i, "Transaction ID"]).strip()
            raw = frame.loc[i].to_dict()
            reason = why[i]
            if not reason and pd.isna(amount[i]):
                reason = f"Payment Amount {frame.at[i, 'Payment Amount']!r} is not a number"
            if not reason and not txn:
                reason = "missing Transaction ID"
            if reason:
                rejected.append(Rejected(key, raw, reason))
                continue
            if amount[i] == 0:
                skipped += 1
                continue
            n = seen.get((txn, method[i]), 0) + 1
            seen[(txn, method[i])] = n
            member = str(frame.at[i, "Member ID"]).strip() or None
            events.append(
                NewEvent(
                    resource=self.options.money_resource,
                    kind="replenish" if amount[i] > 0 else "use",
                    quantity=abs(float(amount[i])),
                    occurred_at=stamps[i].to_pydatetime(),
                    external_id=f"txn:{txn}:{method[i]}:{n}",
                    member=member,
                    attributes={"method": method[i], "transaction": txn},
                    row=key,
                    raw=raw,
                )
            )
        rejected.extend(txns.refused)
        return Batch(self.name, events=events, rejected=rejected), skipped


def _canonical(columns: list[str]) -> list[str]:
    """Header names as this module spells them, whatever their case and spacing."""
    known = {
        _fold(c): c
        for c in (*LOAN_COLUMNS, *INVENTORY_COLUMNS, *TRANSACTION_COLUMNS, *OPTIONAL_COLUMNS)
    }
    return [known.get(_fold(c), c.strip()) for c in columns]


def _fold(name: str) -> str:
    return " ".join(name.split()).casefold()


class _LoanRows:
    """Loan rows across export files: which are copies, and which form one loan."""

    def __init__(
        self,
        frame: pd.DataFrame,
        keys: list[str],
        out_at: pd.Series,
        in_at: pd.Series,
        renewal: pd.Series,
    ) -> None:
        self.who = [
            (str(m).strip(), str(i).strip())
            for m, i in zip(frame["Membership ID"], frame["Item ID"], strict=True)
        ]
        self.file = [key.rsplit("#", 1)[0] for key in keys]
        self.out_at, self.in_at, self.renewal = out_at, in_at, renewal

    def copies(self, usable: list[int]) -> tuple[list[int], dict[int, int]]:
        """Rows that are new, and each copy -> the row it repeats.

        The same row read twice (a re-export, ``loans-checked-out.csv`` beside the
        year's file) is one row. A row still open in one file and returned in
        another is the same loan row exported before and after its return: the
        returned copy wins. Within one file, an open and a returned row are two rows.
        """
        first: dict[tuple[Any, ...], int] = {}
        copy_of: dict[int, int] = {}
        closed_by_start: dict[tuple[Any, ...], int] = {}
        # Returned rows first, so an open copy finds the returned one whatever the order.
        ordered = sorted(usable, key=lambda i: (pd.isna(self.in_at[i]), i))
        for i in ordered:
            start = (*self.who[i], self.out_at[i], bool(self.renewal[i]))
            exact = (*start, None if pd.isna(self.in_at[i]) else self.in_at[i])
            if exact in first:
                copy_of[i] = first[exact]
                continue
            if pd.isna(self.in_at[i]):
                later = closed_by_start.get(start)
                if later is not None and self.file[later] != self.file[i]:
                    copy_of[i] = later
                    continue
            else:
                closed_by_start.setdefault(start, i)
            first[exact] = i
        return [i for i in usable if i not in copy_of], copy_of

    def chains(self, rows: list[int], gap: pd.Timedelta) -> list[list[int]]:
        """Group rows into loans: a renewal continues the same member's loan of the item
        that was checked in when it began (up to ``gap`` earlier), or failing that one
        still open in an older export (it was returned when renewed)."""
        out_at, in_at = self.out_at, self.in_at
        order = sorted(
            rows,
            key=lambda i: (
                out_at[i],
                pd.isna(in_at[i]),
                in_at[i] if not pd.isna(in_at[i]) else out_at[i],
                i,
            ),
        )
        chains: list[list[int]] = []
        ended: dict[tuple[str, str], list[tuple[pd.Timestamp, int]]] = {}
        still_open: dict[tuple[str, str], list[int]] = {}
        for i in order:
            who = self.who[i]
            chain = None
            if self.renewal[i]:
                chain = _take_ended(ended.get(who), out_at[i], gap)
                if chain is None and still_open.get(who):
                    chain = still_open[who].pop()
            if chain is None:
                chain = len(chains)
                chains.append([])
            chains[chain].append(i)
            if pd.isna(in_at[i]):
                still_open.setdefault(who, []).append(chain)
            else:
                ended.setdefault(who, []).append((in_at[i], chain))
        return chains


def _take_ended(
    ended: list[tuple[pd.Timestamp, int]] | None, start: pd.Timestamp, gap: pd.Timedelta
) -> int | None:
    """The loan checked in latest within ``gap`` before ``start``, removed from ``ended``."""
    if not ended:
        return None
    best = None
    for n, (end, _) in enumerate(ended):
        if start - gap <= end <= start and (best is None or end >= ended[best][0]):
            best = n
    return None if best is None else ended.pop(best)[1]


def _unmapped(item_type: object, item: str) -> str:
    return (
        f"item type {item_type!r} (item {item}) is not mapped to a pool; "
        "add it under item_types or set `other:`"
    )


def _natural(code: str) -> tuple[int, str]:
    return (int(code), "") if code.isdigit() else (1 << 62, code)


def _fingerprint(files: list[Path]) -> str:
    parts = []
    for path in files:
        st = path.stat()
        parts.append((path.name, st.st_size, st.st_mtime_ns))
    return hashlib.blake2b(json.dumps(parts).encode(), digest_size=12).hexdigest()
