"""Alerts: firing, pending, held back, resolved; acknowledge or silence (stewards).

An alert another alert held back (inhibition) is closed in the store but did not
resolve: it has its own "Held back" tab, naming what holds it, and is not counted
as resolved.
"""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import streamlit as st

from dashboards import data, session, sign_in_form, tables
from dashboards.text import plain

STATES = ("firing", "pending", "resolved")
#: Tab label per list; "held back" is split from the closed alerts.
TABS = {"firing": "Firing", "pending": "Pending", "held back": "Held back", "resolved": "Resolved"}
#: Severity, what, and who acknowledged or silenced it first: tables are read left to right.
HEADERS = {
    "id": "No.",
    "severity": "Severity",
    "held_back": "Held back by",
    "resource": "Resource",
    "summary": "What",
    "status": "Acknowledged / silenced (who, when, why)",
    "rule": "Rule",
    "first_seen_at": "First seen",
    "fired_at": "Fired",
    "resolved_at": "Resolved",
    "silenced_until": "Silenced until",
}
#: Alerts written out in full under a tab's table (the table cuts its cells to the width).
IN_FULL = 30
#: Times an alert states in full, in this order: (column, words).
WHEN = (
    ("first_seen_at", "First seen"),
    ("fired_at", "Fired"),
    ("resolved_at", "Resolved"),
)
#: The undelivered messages' table in words; a route's "#0" (its first URL) is dropped.
OUTBOX_HEADERS = {
    "id": "No.",
    "state": "State",
    "route": "To",
    "title": "Message",
    # What to act on before the counts: past the grid's edge it was cut to "jso".
    "last_error": "Last error",
    "next_attempt_at": "Next attempt",
    "attempts": "Attempts",
    "dead_at": "Gave up",
}
ACTIONS = ("Acknowledge", "Silence")
SILENCE_HOURS = {"1 hour": 1, "4 hours": 4, "1 day": 24, "1 week": 168}


def in_full(frame: pd.DataFrame, state: str, tz: str) -> None:
    """Each alert of ``frame`` written out whole: what, when, how sure, what to do.

    The table above cuts "What" to its column's width, and the times and the advice
    sat past its right edge or nowhere: a steward could not read what an alert said
    or what to do about it. Firing and pending alerts stand open; closed ones fold.
    """
    st.subheader("In full", anchor=False)
    for row in list(frame.itertuples())[:IN_FULL]:
        title = f"#{row.id} {row.severity} · {row.resource or row.rule} · {row.rule}"
        box = (
            st.container(border=True)
            if state in ("firing", "pending")
            else st.expander(plain(title))
        )
        with box:
            if state in ("firing", "pending"):
                st.markdown(f"**{plain(title)}**")
            st.markdown(plain(row.summary))
            times = {
                words: tables.local_time_of(getattr(row, col, None), tz) for col, words in WHEN
            }
            if times.get("Fired") and times["Fired"] == times.get("First seen"):
                del times["First seen"]  # fired as soon as seen: one time, said once
            when = [f"{words} {at}" for words, at in times.items() if at]
            held = getattr(row, "held_back", "")
            st.caption(plain(" · ".join([*when, *([held] if held else [])])))
            if row.status:
                st.markdown(plain(row.status[0].upper() + row.status[1:] + "."))
            for line in (row.what_to_do, row.how_sure):
                if line:
                    st.markdown(plain(line))
    if len(frame) > IN_FULL:
        st.caption(
            f"The first {IN_FULL} of {len(frame)} are written out; "
            "`steward alerts list --all` prints every one."
        )


with session.shown_errors():
    config = session.config_path()
    scope = sign_in_form.gate("Alerts")
    scope.require_steward()
    st.title("Alerts")
    tz = data.commons_timezone(config, scope)
    names = {r.slug: r.name for r in data.visible_resources(config, scope)}
    found = {state: data.alert_list(config, scope, state) for state in STATES}
    closed = found["resolved"]
    held = closed["held_back"] != ""
    frames = {
        "firing": found["firing"],
        "pending": found["pending"],
        "held back": closed[held],
        "resolved": closed[~held].drop(columns=["held_back"]),
    }
    frames["firing"] = frames["firing"].drop(columns=["held_back"])
    frames["pending"] = frames["pending"].drop(columns=["held_back"])
    tabs = st.tabs([f"{TABS[state]} ({len(frame)})" for state, frame in frames.items()])
    for tab, (state, frame) in zip(tabs, frames.items(), strict=True):
        with tab:
            if state == "held back":
                # The run summary's "not raised" conditions are not alerts: say so here,
                # where a steward who read that summary looks for them.
                st.caption(
                    "Alerts raised, then held back while another alert about the same "
                    "resource stands. Not resolved: their condition may still hold. "
                    "Conditions another alert covered from the start are never raised "
                    "as alerts; the monitor's run summary counts them."
                )
            if frame.empty:
                st.caption(f"No {state} alerts.")
            else:
                shown = frame.assign(resource=frame["resource"].map(lambda s: names.get(s, s)))
                headers = (
                    {**HEADERS, "resolved_at": "Held back since"}
                    if state == "held back"
                    else HEADERS
                )
                st.dataframe(
                    tables.times(shown, headers, tz),
                    hide_index=True,
                    width="stretch",
                    column_config={"What": st.column_config.TextColumn(width="large")},
                )
                st.caption(f"Times in {tz}.")
                in_full(shown, state, tz)

    actionable = pd.concat([frames["firing"], frames["pending"]], ignore_index=True)
    if not actionable.empty:
        st.subheader("Acknowledge or silence", anchor=False)
        labels = {
            int(row.id): f"#{row.id} {row.severity}: {row.summary}"
            + (f" [{row.status}]" if row.status else "")
            for row in actionable.itertuples()
        }
        # Outside the form: a widget inside one changes nothing until the form is
        # submitted, so "Silence for" could not follow the chosen action.
        action = st.radio("Action", ACTIONS, horizontal=True, key="alert_action_kind")
        with st.form("alert_action", clear_on_submit=True):
            alert_id = st.selectbox("Alert", list(labels), format_func=lambda i: labels[i])
            duration = (
                st.selectbox("Silence for", list(SILENCE_HOURS), index=1)
                if action == "Silence"
                else None
            )
            reason = st.text_input("Reason (kept in the alert's history)", max_chars=500)
            submitted = st.form_submit_button(action, type="primary", key="alert_action_apply")
        if submitted and alert_id is not None:
            if action == "Acknowledge":
                data.acknowledge(config, scope, alert_id, reason)
                st.success(f"Alert #{alert_id} acknowledged.")
            elif duration is not None:
                data.silence(
                    config, scope, alert_id, timedelta(hours=SILENCE_HOURS[duration]), reason
                )
                st.success(f"Alert #{alert_id} silenced for {duration}.")

    undelivered = data.undelivered(config, scope)
    if not undelivered.empty:
        st.subheader("Undelivered notifications", anchor=False)
        st.caption(
            "Dead letters ran out of retries and are not sent again unless you retry them; "
            "a receiver may get a message twice, with the same Idempotency-Key."
        )
        # It showed id, route "garden-stewards#0", last_error and a bare UTC
        # next_attempt_at: the names of the store, not words, and not the page's clock.
        routes = undelivered.assign(
            route=[r.rpartition("#")[0] or r for r in undelivered["route"].astype(str)]
        )
        st.dataframe(
            tables.times(routes, OUTBOX_HEADERS, tz),
            hide_index=True,
            width="stretch",
            column_config={"Message": st.column_config.TextColumn(width="large")},
        )
        st.caption(f"Times in {tz}.")
        dead = undelivered.loc[undelivered["state"] == "dead letter", "id"].tolist()
        if dead:
            with st.form("retry_message", clear_on_submit=True):
                message_id = st.selectbox("Dead letter", dead, format_func=lambda i: f"#{i}")
                if st.form_submit_button("Retry now", icon=":material/replay:"):
                    data.retry_message(config, scope, int(message_id))
                    st.success(f"Message #{message_id} will be sent again.")
