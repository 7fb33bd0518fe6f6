"""Text a source sends must fit the store: lengths and characters, checked per row.

SQLite stores a 300-character name in a ``VARCHAR(200)`` column without a word;
PostgreSQL refuses it ("value too long"), and refuses a NUL byte in any text,
failing the whole batch and every rerun. :func:`screen_rows` and
:func:`screen_members` run before anything touches the database, on both
backends, and turn each offending row into a :class:`~steward.ledger.Rejected`
with its reason, so the row is quarantined and the rest of the batch goes on.
Limits are the model columns' own lengths, so the check and the schema agree.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import pandas as pd

from steward.store.models import CapacityChange, Event, Member, MemberExternalId, Reading

if TYPE_CHECKING:
    from steward.ledger import NewMember, Rejected

#: Control characters no name or id may hold (tab, newline and carriage return are text).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _length(column: Any) -> int:
    return int(column.type.length)


#: Text field -> the column length it is stored in, per record kind.
EVENT_TEXT = {
    "external_id": _length(Event.external_id),
    "loan_ref": _length(Event.loan_ref),
    "member": _length(Member.code),
    "reverses": _length(Event.external_id),
}
READING_TEXT = {"external_id": _length(Reading.external_id)}
CAPACITY_TEXT = {
    "external_id": _length(CapacityChange.external_id),
    "note": _length(CapacityChange.reason),
}
MEMBER_TEXT = {
    "code": _length(Member.code),
    "name": _length(Member.name),
    "email": _length(Member.email),
}
EXTERNAL_ID = _length(MemberExternalId.external_id)


def problem(field: str, value: object, limit: int) -> str | None:
    """Why ``value`` cannot be stored in ``field`` (at most ``limit`` characters), or None."""
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    text = str(value)
    bad = _CONTROL.search(text)
    if bad:
        return (
            f"{field} contains the control character U+{ord(bad.group()):04X} "
            f"at position {bad.start() + 1}; remove it at the source"
        )
    if len(text) > limit:
        return f"{field} is {len(text)} characters long (at most {limit}); shorten it at the source"
    return None


def scrub(value: Any) -> Any:
    """A raw row fit to keep in quarantine: NUL bytes written as ``<U+0000>``, and
    infinities and NaN as text (``"inf"``): PostgreSQL's JSON holds neither, and one such
    value would refuse the whole batch rather than quarantine its row."""
    if isinstance(value, str):
        return value.replace("\x00", "<U+0000>")
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, Mapping):
        return {scrub(k): scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(v) for v in value]
    return value


def screen_rows(
    frame: pd.DataFrame, limits: Mapping[str, int], raw_of: Any
) -> tuple[pd.DataFrame, list[Rejected]]:
    """Split ``frame`` (a ledger frame with a ``row`` column) into rows that fit and rejects.

    ``raw_of(row)`` gives a rejected row's raw form when it has none of its own.
    """
    from steward.ledger import Rejected

    if frame.empty:
        return frame, []
    reasons = pd.Series("", index=frame.index, dtype=object)
    for field, limit in limits.items():
        if field not in frame.columns:
            continue
        column = frame[field]
        text = column.astype("string")
        suspect = text.str.len().gt(limit).fillna(False) | text.str.contains(
            _CONTROL.pattern, regex=True
        ).fillna(False)
        for idx in frame.index[suspect.to_numpy(dtype=bool)]:
            if not reasons.at[idx]:
                reasons.at[idx] = problem(field, column.at[idx], limit) or ""
    bad = reasons != ""
    if not bad.any():
        return frame, []
    rejected = []
    for idx in frame.index[bad.to_numpy(dtype=bool)]:
        raw = frame.at[idx, "raw"] if "raw" in frame.columns else None
        row = frame.loc[idx]
        rejected.append(
            Rejected(
                str(row["row"]),
                scrub(raw if isinstance(raw, dict) else raw_of(row)),
                str(reasons.at[idx]),
            )
        )
    return frame.loc[~bad].reset_index(drop=True), rejected


def screen_members(
    members: Sequence[NewMember],
) -> tuple[list[NewMember], list[Rejected]]:
    """Members whose code, name, email and external ids fit; the others as rejects."""
    from steward.ledger import Rejected

    kept, rejected = [], []
    for m in members:
        why = next(
            (
                p
                for p in (
                    *(problem(f, getattr(m, f), limit) for f, limit in MEMBER_TEXT.items()),
                    *(problem("external id", ext, EXTERNAL_ID) for _, ext in m.external_ids),
                )
                if p
            ),
            None,
        )
        if why is None:
            kept.append(m)
        else:
            raw = {
                k: v for k, v in asdict(m).items() if k not in ("weight", "row", "create_only")
            } | {"weight": str(m.weight)}
            rejected.append(Rejected(m.row or f"member {str(m.code)[:80]}", scrub(raw), why))
    return kept, rejected
