"""Data sources: collector health, last runs, quarantined rows with reasons, retry (stewards)."""

from __future__ import annotations

import streamlit as st

from dashboards import data, session
from steward.exports import spreadsheet_safe
from steward.queries import sources

st.title("Data sources")
with session.shown_errors():
    config = session.config_path()
    scope = session.scope()
    scope.require_steward()
    status = data.collector_status(config, scope)
    st.subheader("Collectors", anchor=False)
    if status.empty:
        st.info("No collectors are configured for your commons.")
    else:
        st.dataframe(spreadsheet_safe(status), hide_index=True, width="stretch")

    st.subheader("Last runs", anchor=False)
    runs = data.collector_runs(config, scope)
    if runs.empty:
        st.caption("No collector has run yet.")
    else:
        st.dataframe(spreadsheet_safe(runs), hide_index=True, width="stretch")

    st.subheader("Quarantined rows", anchor=False)
    rows = data.quarantined(config, scope)
    if rows.empty:
        st.caption("Nothing in quarantine: every row read became an event or a duplicate.")
    else:
        st.caption("Rows a source sent that could not be recorded, kept with the reason.")
        st.dataframe(spreadsheet_safe(rows), hide_index=True, width="stretch")
        retry = sources.retry_function()
        if retry is not None and st.button("Retry quarantined rows", icon=":material/replay:"):
            ws = session.workspace(config)
            results = [retry(ws, str(source)) for source in rows["source"].unique()]
            data.quarantined.clear()
            for result in results:
                st.success(result)
