"""Overdue loans: members with overdue items, the items, days overdue and contact, as CSV (stewards).

What tool-library staff work through by phone or bulk email. Counted by age
(<7, 7-14, 14-30, 30-60, 60+ days) as lending software does. A loan is overdue
from its due date (MyTurn's Due Date, or a source's ``due_at``); loans without
one are never counted.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import streamlit as st

from dashboards import data, overdue_table, session, sign_in_form
from steward.exports import csv_bytes

with session.shown_errors():
    config = session.config_path()
    scope = sign_in_form.gate("Overdue loans")
    scope.require_steward()
    st.title("Overdue loans")
    tz = data.commons_timezone(config, scope)
    today = datetime.now(ZoneInfo(tz)).date()
    day = st.date_input("As of", value=today, max_value=today, format="YYYY-MM-DD")
    # Today means now; a past day means the end of that day in the commons' timezone.
    as_of = (
        None
        if day == today
        else datetime.combine(day + timedelta(days=1), time.min, ZoneInfo(tz)).astimezone(UTC)
    )
    ages = data.overdue_by_age(config, scope, as_of)
    cols = st.columns(len(ages))
    for col, (label, count) in zip(cols, ages.items(), strict=True):
        col.metric(f"{label} days overdue", f"{int(count)}")
    loans = data.overdue_loans(config, scope, as_of)
    if loans.empty:
        st.success("No loan is past its due date.")
        st.stop()
    by_member = overdue_table.per_member(loans)
    st.subheader(f"{len(by_member)} members with overdue items", anchor=False)
    search = st.text_input("Find a member", placeholder="name, member number or email")
    needle = search.strip()
    if needle:
        hit = (
            by_member["Member"].str.contains(needle, case=False, regex=False)
            | by_member["Member no."].str.contains(needle, case=False, regex=False)
            | by_member["Email"].str.contains(needle, case=False, regex=False)
        )
        by_member = by_member.loc[hit]
    st.dataframe(
        by_member,
        hide_index=True,
        width="stretch",
        column_config={"Overdue items": st.column_config.TextColumn(width="large")},
    )
    per_loan = overdue_table.per_loan(loans, tz)
    stamp = day.isoformat()
    st.download_button(
        "Download overdue loans (CSV)",
        data=csv_bytes(per_loan),
        file_name=f"overdue-loans-{stamp}.csv",
        mime="text/csv",
        icon=":material/download:",
    )
    st.subheader("Every overdue loan", anchor=False)
    st.dataframe(per_loan, hide_index=True, width="stretch")
    st.caption(f"Days in {tz}. A loan counts as overdue from the end of its due day.")
