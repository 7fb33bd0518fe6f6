"""My usage: per resource used, quota, remaining, projected at my pace, my history (members)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboards import charts, data, session
from dashboards.text import number, plain
from steward.exports import spreadsheet_safe

STATUS_COLOURS = {"ok": "green", "nudged": "blue", "warned": "orange", "review": "red"}
STATUS_ORDER = {"review": 0, "warned": 1, "nudged": 2, "ok": 3}
#: Cards for the most pressing resources; the rest go in one table (a federation has many).
MAX_CARDS = 12

st.title("My usage")
with session.shown_errors():
    config = session.config_path()
    scope = session.scope()
    scope.require_member()
    entries = data.my_usage(config, scope)
    if not entries:
        st.info("Your commons has no resources yet.")
    entries = sorted(entries, key=lambda e: (STATUS_ORDER.get(e.status or "", 4), -e.used, e.name))
    for entry in entries[:MAX_CARDS]:
        with st.container(border=True):
            badge = ""
            if entry.status:
                badge = f" :{STATUS_COLOURS.get(entry.status, 'gray')}-badge[{plain(entry.status)}]"
            st.markdown(f"**{plain(entry.name)}**{badge}")
            st.caption(plain(entry.period))
            cols = st.columns(4)
            cols[0].metric("Used", number(entry.used, entry.unit))
            cols[1].metric("My quota", number(entry.allocation, entry.unit))
            cols[2].metric("Remaining", number(entry.remaining, entry.unit))
            cols[3].metric("Projected at my pace", number(entry.projected, entry.unit))
            if entry.explanation:
                st.markdown(plain(entry.explanation))
            elif entry.allocation is None:
                st.caption("No quota for this resource yet.")
    if len(entries) > MAX_CARDS:
        st.dataframe(
            spreadsheet_safe(
                pd.DataFrame(
                    [
                        {
                            "resource": e.name,
                            "used": e.used,
                            "quota": e.allocation,
                            "remaining": e.remaining,
                            "projected": e.projected,
                            "unit": e.unit,
                            "status": e.status,
                            "period": e.period,
                        }
                        for e in entries[MAX_CARDS:]
                    ]
                )
            ),
            hide_index=True,
            width="stretch",
        )

    st.subheader("My history", anchor=False)
    daily = data.my_daily_use(config, scope)
    if len(daily):
        st.altair_chart(charts.use_chart(daily), width="stretch")
    events = data.my_events(config, scope)
    if events.empty:
        st.caption("You have no recorded use yet.")
    else:
        st.dataframe(
            spreadsheet_safe(events.drop(columns=["member"])), hide_index=True, width="stretch"
        )
