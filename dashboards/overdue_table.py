"""Overdue loans as a steward works through them: by member, with items, days and contact."""

from __future__ import annotations

import pandas as pd

from dashboards.tables import local_day
from steward.exports import spreadsheet_safe

#: Columns of the per-loan table and its CSV download, in order.
LOAN_COLUMNS = [
    "Member",
    "Member no.",
    "Email",
    "Item",
    "Loan",
    "Checked out",
    "Due",
    "Days overdue",
]


def per_loan(frame: pd.DataFrame, tz: str) -> pd.DataFrame:
    """One row per overdue loan (from :func:`steward.queries.overdue.overdue_loans`), spreadsheet-safe."""
    shown = pd.DataFrame(
        {
            "Member": frame["member_name"].fillna("(no member recorded)"),
            "Member no.": frame["member"].fillna(""),
            "Email": frame["email"].fillna(""),
            "Item": frame["resource_name"],
            "Loan": frame["loan_ref"],
            "Checked out": [local_day(v, tz) for v in frame["checked_out_at"]],
            "Due": [local_day(v, tz) for v in frame["due_at"]],
            "Days overdue": frame["days_overdue"].astype("float64").apply(int),
        },
        columns=LOAN_COLUMNS,
    )
    return spreadsheet_safe(shown)


def per_member(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per member with overdue items: who, contact, how many, which, longest overdue."""
    if frame.empty:
        return pd.DataFrame(
            columns=["Member", "Member no.", "Email", "Items", "Overdue items", "Most days overdue"]
        )
    rows = []
    for (code, name, email), group in frame.groupby(
        [
            frame["member"].fillna(""),
            frame["member_name"].fillna("(no member recorded)"),
            frame["email"].fillna(""),
        ],
        sort=False,
    ):
        items = [f"{r.resource_name} ({int(r.days_overdue)} days)" for r in group.itertuples()]
        rows.append(
            {
                "Member": name,
                "Member no.": code,
                "Email": email,
                "Items": len(group),
                "Overdue items": "; ".join(items),
                "Most days overdue": int(group["days_overdue"].max()),
            }
        )
    table = pd.DataFrame(rows).sort_values(["Most days overdue", "Items"], ascending=False)
    return spreadsheet_safe(table.reset_index(drop=True))
