"""Data sources: collector health, last runs, quarantined rows with reasons, retry (stewards)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboards import data, session, sign_in_form, tables
from dashboards.tables import safe_table
from dashboards.text import duration, local_time
from steward.display import counted
from steward.queries import sources

COLLECTORS = {
    "source": "Source",
    "health": "Health",
    "last_success_at": "Last success",
    "last_error_at": "Last failure",
    "last_error": "Error",
    "consecutive_failures": "Failures in a row",
    "rows_read": "Rows read",
    "accepted": "Recorded",
    "duplicates": "Already recorded",
    "quarantined": "Quarantined",
}
RUNS = {
    "run": "Run",
    "source": "Source",
    "started_at": "Started",
    "finished_at": "Finished",
    "status": "Outcome",
    "rows_read": "Rows read",
    "accepted": "Recorded",
    "duplicates": "Already recorded",
    "quarantined": "Quarantined",
    "error": "Error",
}
QUARANTINE = {
    "source": "Source",
    "location": "Where",
    "reason": "Why it was not recorded",
    "raw": "The row as received",
    "created_at": "When",
}

with session.shown_errors():
    config = session.config_path()
    scope = sign_in_form.gate("Data sources")
    scope.require_steward()
    st.title("Data sources")
    tz = data.commons_timezone(config, scope)
    st.caption(f"Times in {tz}.")
    status = data.collector_status(config, scope)
    st.subheader("Collectors", anchor=False)
    if status.empty:
        st.info("No collectors are configured for your commons.")
    else:
        st.dataframe(tables.times(status, COLLECTORS, tz), hide_index=True, width="stretch")

    newest = data.newest_data(config, scope)
    if newest:
        st.subheader("Newest data", anchor=False)
        st.caption(
            "When each source's newest event or reading happened and was recorded: a "
            "collector that runs fine but reads nothing new (a dead sensor) shows here, "
            "not in its last success."
        )
        st.dataframe(
            safe_table(
                pd.DataFrame(
                    [
                        {
                            "Source": n.source,
                            "Newest": f"{n.what} of {local_time(n.happened_at, tz)}",
                            "Recorded": local_time(n.arrived_at, tz),
                            "About": n.resource,
                            "Usually every": duration(n.usual_gap) if n.usual_gap else "",
                            "Stale": "stale" if n.stale else "",
                        }
                        for n in newest
                    ]
                )
            ),
            hide_index=True,
            width="stretch",
        )

    st.subheader("Last runs", anchor=False)
    runs = data.collector_runs(config, scope)
    if runs.empty:
        st.caption("No collector has run yet.")
    else:
        st.dataframe(tables.times(runs, RUNS, tz), hide_index=True, width="stretch")

    st.subheader("Quarantined rows", anchor=False)
    rows = data.quarantined(config, scope)
    stray = data.unattributed_quarantine(config, scope)
    if rows.empty and not stray:
        st.caption("Nothing in quarantine: every row read became an event or a duplicate.")
    if stray:
        # Rows of hand imports that name no known resource belong to no commons: a
        # count only (they may name another commons' members).
        st.warning(
            f"{counted(stray, 'quarantined row')} from hand imports "
            f"{'names' if stray == 1 else 'name'} no resource Steward knows (a typo in the "
            "resource column?); `steward quarantine list` on the monitor's host shows "
            f"{'it' if stray == 1 else 'them'} with the reason."
        )
    if not rows.empty:
        st.caption(
            "Rows a source sent that could not be recorded, kept with the reason: your "
            "collectors' and hand imports' that name your resources."
        )
        st.dataframe(tables.times(rows, QUARANTINE, tz), hide_index=True, width="stretch")
        retry = sources.retry_function()
        # A retry maps a collector's kept rows again; a hand import's are fixed in its
        # file and imported again.
        mine = [
            str(s) for s in rows["source"].unique() if str(s) in data.source_names(config, scope)
        ]
        if (
            retry is not None
            and mine
            and st.button("Retry quarantined rows", icon=":material/replay:")
        ):
            ws = session.workspace(config)
            results = [retry(ws, source) for source in mine]
            data.quarantined.clear()
            for result in results:
                st.success(result)
