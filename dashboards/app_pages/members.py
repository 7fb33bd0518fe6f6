"""Members: usage and quota compliance per member, worst status first (stewards)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboards import data, session, sign_in_form
from dashboards.tables import safe_table
from dashboards.text import amount, quota_amount, quota_left
from steward.display import counted

with session.shown_errors():
    config = session.config_path()
    scope = sign_in_form.gate("Members")
    scope.require_steward()
    st.title("Members")
    table = data.member_usage(config, scope)
    if table.empty:
        st.info("No member has used a resource or received a quota yet.")
        st.stop()
    by_slug = {r.slug: r for r in data.visible_resources(config, scope)}

    def fmt(value: object, slug: str, *, quota: bool = True) -> str:
        """A figure in the resource's unit; a pool's quota figures are unit-days."""
        res = by_slug.get(slug)
        if value is None or pd.isna(value):  # type: ignore[call-overload]
            return ""
        unit, kind = (res.unit, str(res.kind)) if res else ("", "stock")
        if quota:
            return quota_amount(float(value), unit, kind=kind)  # type: ignore[arg-type]
        if kind == "pool":
            # A pool's 30-day figure counts units checked out, not days held: "0 units"
            # beside a drill held all month read as nothing borrowed.
            return counted(round(float(value)), "checkout")  # type: ignore[arg-type]
        return amount(float(value), unit, kind=kind)  # type: ignore[arg-type]

    def left(value: object, slug: str, status: str) -> str:
        """What is left of the quota, "over by ..." when over (as `steward quotas`)."""
        res = by_slug.get(slug)
        if value is None or pd.isna(value):  # type: ignore[call-overload]
            return ""
        unit, kind = (res.unit, str(res.kind)) if res else ("", "stock")
        return quota_left(float(value), unit, kind=kind, status=status)  # type: ignore[arg-type]

    shown = pd.DataFrame(
        {
            "Member": [
                f"{n} (no. {c})" for n, c in zip(table["name"], table["member"], strict=True)
            ],
            "Resource": [by_slug[s].name if s in by_slug else s for s in table["resource"]],
            "Used (30 days)": [
                fmt(v, s, quota=False)
                for v, s in zip(table["used_30d"], table["resource"], strict=True)
            ],
            "Quota": [
                fmt(v, s) for v, s in zip(table["allocation"], table["resource"], strict=True)
            ],
            "Used this period": [
                fmt(v, s) for v, s in zip(table["used"], table["resource"], strict=True)
            ],
            "Left": [
                left(v, s, st_)
                for v, s, st_ in zip(
                    table["remaining"], table["resource"], table["status"], strict=True
                )
            ],
            "At this pace": [
                fmt(v, s) for v, s in zip(table["projected"], table["resource"], strict=True)
            ],
            "Status": table["status"],
            "Why": table["explanation"].fillna(""),
        }
    )
    left, right = st.columns([2, 3])
    search = left.text_input("Find a member", placeholder="name or member number")
    statuses = list(dict.fromkeys(shown["Status"]))
    chosen = right.pills("Quota status", statuses, selection_mode="multi", default=statuses)
    picked = shown.loc[
        shown["Status"].isin(chosen or statuses)
        & shown["Member"].str.contains(search.strip(), case=False, regex=False)
    ]
    counts = shown["Status"].value_counts()
    st.caption(" · ".join(f"{n} {s}" for s, n in counts.items()))
    st.dataframe(
        safe_table(picked),
        hide_index=True,
        width="stretch",
        column_config={"Why": st.column_config.TextColumn(width="large")},
    )
