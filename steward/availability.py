"""How many units a pool has to lend on a day: the one answer status, forecast,
quota budget and the resource page give.

A pool's recorded capacity is its configured units plus the capacity changes
effective by then (:func:`steward.flows.capacity`). A loan more than
``LOST_AFTER_DAYS`` past due is not coming back at the usual pace: it counts as a
unit the pool has lost (and no longer as one on loan) until it is returned or a
steward records the loss as a capacity change. So the units available are the
recorded capacity less those loans, and wherever the two differ the reason goes
with the figure ("6 units recorded, 1 counted lost: on loan 64 days past due, since
28 Sep 2026").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Connection

from steward import flows
from steward.display import counted, local_day
from steward.store.catalog import ResourceInfo

#: A pool's loan this many days past due counts as lost capacity.
LOST_AFTER_DAYS = 30


@dataclass(frozen=True)
class Units:
    """A pool's units at one moment.

    ``recorded``: capacity as recorded (None: the pool has no capacity on record);
    ``on_loan``: units checked out and not returned; ``lost``: loans more than
    LOST_AFTER_DAYS past due, at most the recorded units (the rest stay on loan);
    ``lost_due``: the due date (UTC) of each, oldest first (when the cap applies,
    the oldest ones are the ones counted lost).
    """

    recorded: Decimal | None
    on_loan: Decimal
    lost: int = 0
    lost_due: tuple[datetime, ...] = ()

    def __post_init__(self) -> None:
        # A pool loses no more units than it has: with more loans out than units (loans
        # recorded beyond them, a finding of its own), the rest stay on loan, so no
        # figure shows fewer than 0 units to lend.
        if self.recorded is not None and self.lost > max(int(self.recorded), 0):
            object.__setattr__(self, "lost", max(int(self.recorded), 0))
        # The reason dates and counts only the loans counted lost (the oldest).
        if len(self.lost_due) > self.lost:
            object.__setattr__(self, "lost_due", tuple(sorted(self.lost_due))[: self.lost])

    @property
    def available(self) -> Decimal | None:
        """Units the pool can lend: recorded capacity less the loans counted lost."""
        return None if self.recorded is None else self.recorded - self.lost

    @property
    def lending(self) -> Decimal:
        """Units on loan that are expected back (the lost ones left out)."""
        return self.on_loan - self.lost

    def reason(self, tz: str, now: datetime, *, dated: bool = True) -> str:
        """Why ``available`` differs from the recorded capacity, in words; "" when it does not.

        e.g. "6 units recorded, 1 counted lost: on loan 64 days past due, since 28
        Sep 2026" (no parentheses: pages and messages put it in theirs). ``tz``: the commons' timezone (IANA name) for the date;
        ``now``: the moment the days past due are counted to (tz-aware). ``dated``
        False leaves the due date and the days out ("6 units recorded, 1 counted
        lost: on loan more than 30 days past due"): the public page says how many,
        and a date could point at the member who holds the loan.
        """
        if not self.lost or self.recorded is None:
            return ""
        if not dated:
            return (
                f"{counted(int(self.recorded), 'unit')} recorded, {self.lost} counted lost: "
                f"on loan more than {LOST_AFTER_DAYS} days past due"
            )
        oldest = min(self.lost_due)
        since = local_day(oldest, tz)
        if self.lost == 1:
            days = int((now - oldest).total_seconds() // 86400)
            late = f"1 counted lost: on loan {days} days past due, since {since.day} {since:%b %Y}"
        else:
            late = (
                f"{self.lost} counted lost: on loan more than {LOST_AFTER_DAYS} days past due, "
                f"the oldest since {since.day} {since:%b %Y}"
            )
        return f"{counted(int(self.recorded), 'unit')} recorded, {late}"


def lost_loans(
    conn: Connection, pool_ids: Sequence[int], now: datetime
) -> dict[int, tuple[datetime, ...]]:
    """Per pool id, the due dates of its loans more than LOST_AFTER_DAYS past due at
    ``now``, oldest first (absent: none). A query per 400 pools: the ids are bound
    twice, within old SQLite builds' 999 parameters."""
    # The loan book checks only the loans that can be open (the same answer as reading
    # every loan); pandas is loaded here, not when `steward status` starts.
    from steward.loan_book import open_loans_now

    ids = list(pool_ids)
    out: dict[int, tuple[datetime, ...]] = {}
    for i in range(0, len(ids), 400):
        loans = open_loans_now(conn, ids[i : i + 400], as_of=now)
        late = loans.loc[loans["days_overdue"] > LOST_AFTER_DAYS].sort_values("due_at")
        for rid, part in late.groupby("resource_id"):
            out[int(rid)] = tuple(t.to_pydatetime() for t in part["due_at"])
    return out


def units(
    conn: Connection, res: ResourceInfo, at: datetime, lost: tuple[datetime, ...] | None = None
) -> Units:
    """The pool's units at ``at`` (see :class:`Units`); ``at`` is tz-aware.

    ``lost``: the pool's entry of :func:`lost_loans` at ``at`` when already read for
    many pools at once (absent: none); None reads it here.
    """
    due = lost_loans(conn, [res.id], at).get(res.id, ()) if lost is None else lost
    return Units(flows.capacity(conn, res, at), flows.on_loan(conn, res, at), len(due), due)
