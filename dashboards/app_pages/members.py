"""Members: usage and quota compliance per member, worst status first (stewards)."""

from __future__ import annotations

import streamlit as st

from dashboards import data, session
from steward.exports import spreadsheet_safe

st.title("Members")
with session.shown_errors():
    config = session.config_path()
    scope = session.scope()
    scope.require_steward()
    table = data.member_usage(config, scope)
    if table.empty:
        st.info("No member has used a resource or received a quota yet.")
        st.stop()
    statuses = sorted(set(table["status"]))
    chosen = st.multiselect("Quota status", statuses, default=statuses)
    shown = table.loc[table["status"].isin(chosen)]
    counts = table["status"].value_counts()
    st.caption(" · ".join(f"{n} {s}" for s, n in counts.items()))
    st.dataframe(
        spreadsheet_safe(shown),
        hide_index=True,
        width="stretch",
        column_config={
            "member": "Member",
            "name": "Name",
            "resource": "Resource",
            "used_30d": st.column_config.NumberColumn("Used (30 days)", format="%.2f"),
            "allocation": st.column_config.NumberColumn("Quota", format="%.2f"),
            "used": st.column_config.NumberColumn("Used (period)", format="%.2f"),
            "remaining": st.column_config.NumberColumn("Remaining", format="%.2f"),
            "projected": st.column_config.NumberColumn("Projected at pace", format="%.2f"),
            "status": "Status",
            "explanation": st.column_config.TextColumn("Why", width="large"),
        },
    )
