"""Each member's use of a resource over an interval, read from the ledger.

Stock: the quantity used (reversals subtract). Pool: unit-days on loan: a loan
of 2 units for 3 days is 6 unit-days, counted for the part inside the interval,
open loans up to the interval's end. Returns without a member are attributed to
the member of the checkout with the same loan reference.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

import numpy as np
import pandas as pd
from sqlalchemy import Connection

from steward.flows import events_frame
from steward.store.catalog import ResourceInfo

_DAY_NS = 86_400 * 10**9


class MemberUsage:
    """A resource's member-attributed events, loaded once and queried per interval."""

    def __init__(self, conn: Connection, res: ResourceInfo) -> None:
        self.kind = str(res.kind)
        ev = events_frame(conn, res)
        if self.kind == "pool" and len(ev):
            by_loan = (
                ev.loc[ev["member_id"].notna() & ev["loan_ref"].notna()]
                .drop_duplicates("loan_ref")
                .set_index("loan_ref")["member_id"]
            )
            missing = ev["member_id"].isna() & ev["loan_ref"].notna()
            if missing.any():  # pandas 3 refuses even an empty str->int64 assignment
                ev["member_id"] = ev["member_id"].astype("float64")
                ev.loc[missing, "member_id"] = ev.loc[missing, "loan_ref"].map(by_loan)
        ev = ev.loc[ev["member_id"].notna()].copy()
        ev["member_id"] = ev["member_id"].astype("int64")
        ev["t"] = ev["occurred_at"].dt.as_unit("ns").astype("int64").to_numpy()
        if self.kind == "pool":
            direction = np.select(
                [ev["kind"] == "use", ev["kind"] == "replenish"], [1.0, -1.0], 0.0
            )
        else:
            direction = np.where(ev["kind"] == "use", 1.0, 0.0)
        ev["amount"] = ev["quantity"] * ev["sign"] * direction
        self.events = ev.loc[ev["amount"] != 0, ["member_id", "t", "amount", "loan_ref"]]

    def between(
        self, start: datetime, end: datetime, *, without: Collection[str] = ()
    ) -> dict[int, float]:
        """Use per member id in ``[start, end)`` (stock: the unit; pool: unit-days).

        ``without``: loan references whose events are left out (a pool's open loans
        that a projection counts on their own); ignored for a stock.
        """
        a, b = pd.Timestamp(start).value, pd.Timestamp(end).value
        ev = self.events
        if self.kind == "pool":
            if without:
                ev = ev.loc[~ev["loan_ref"].isin(list(without))]
            ev = ev.loc[ev["t"] < b]
            # Integral of units on loan over [a, b): each event counts from max(t, a) to b.
            days = (b - np.maximum(ev["t"].to_numpy(), a)) / _DAY_NS
            values = ev["amount"].to_numpy() * days
        else:
            ev = ev.loc[(ev["t"] >= a) & (ev["t"] < b)]
            values = ev["amount"].to_numpy()
        totals = pd.Series(values, index=ev["member_id"].to_numpy()).groupby(level=0).sum()
        return {
            int(k): max(float(v), 0.0)
            for k, v in zip(totals.index.to_numpy(), totals.to_numpy(), strict=True)
        }

    def on_loan(self, loan_refs: Collection[str], at: datetime) -> dict[str, float]:
        """Units still out at ``at`` per loan reference of a pool: its checkouts less its
        returns by then (the member-attributed events above). A reference without such
        events by then is absent; a stock gives ``{}``."""
        if self.kind != "pool" or not loan_refs:
            return {}
        ev = self.events
        ev = ev.loc[ev["loan_ref"].isin(list(loan_refs)) & (ev["t"] <= pd.Timestamp(at).value)]
        units = ev.groupby("loan_ref")["amount"].sum()
        return {str(k): float(v) for k, v in units.items()}

    def first_use(self) -> dict[int, datetime]:
        firsts = self.events.groupby("member_id")["t"].min()
        return {
            int(k): pd.Timestamp(int(v), tz="UTC").to_pydatetime()
            for k, v in zip(firsts.index.to_numpy(), firsts.to_numpy(), strict=True)
        }
