"""My usage: what I use or hold a quota on, my quota, what is left, my pace, my history (members)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboards import charts, data, session, sign_in_form, tables
from dashboards.tables import safe_table
from dashboards.text import amount, is_money, local_time, plain, quota_amount, quota_left
from steward.quotas.explain import quota_places, quota_unit

STATUS_COLOURS = {"ok": "green", "nudged": "blue", "warned": "orange", "review": "red"}
STATUS_WORDS = {
    "ok": "on track",
    "nudged": "most of it used",
    "warned": "at this pace it runs out",
    "review": "over the quota",
}
STATUS_ORDER = {"review": 0, "warned": 1, "nudged": 2, "ok": 3}
#: Cards for the most pressing resources; the rest go in one table (a federation has many).
MAX_CARDS = 12

with session.shown_errors():
    config = session.config_path()
    scope = sign_in_form.gate("My usage")
    scope.require_member()
    name, code = data.me(config, scope)
    st.title("My usage")
    st.markdown(f"**{plain(name)}** · member no. {plain(code)}")
    resources = {r.slug: r for r in data.visible_resources(config, scope)}
    tz = data.commons_timezone(config, scope)
    # Only what I use or hold a quota on: eleven empty cards help nobody.
    entries = [e for e in data.my_usage(config, scope) if e.used or e.allocation is not None]
    if not entries:
        st.info("You have not used any of your commons' resources yet, and hold no quota.")
    entries.sort(key=lambda e: (STATUS_ORDER.get(e.status or "", 4), -e.used, e.name))
    for entry in entries[:MAX_CARDS]:
        kind = entry.kind
        with st.container(border=True):
            badge = ""
            if entry.status:
                colour = STATUS_COLOURS.get(entry.status, "gray")
                badge = f" :{colour}-badge[{plain(STATUS_WORDS.get(entry.status, entry.status))}]"
            st.markdown(f"**{plain(entry.name)}**{badge}")
            st.caption(plain(entry.period))
            if entry.computed_at is not None:
                # The quota figures are the last pipeline run's, the history below is
                # read now: a use recorded since showed there beside "Used 0.00" with
                # nothing to say which was newer.
                st.caption(
                    f"Quota figures as of {plain(local_time(entry.computed_at, tz))}; each "
                    "pipeline run updates them. My history below is read now."
                )
            if entry.allocation is None:
                st.metric("Used", amount(entry.used, entry.unit, kind=kind))
                st.caption("No quota on this resource.")
                continue
            cols = st.columns(4)
            # A pool's quota counts unit-days on loan (2 drills for 3 days = 6). The unit
            # goes in the labels: four metrics side by side cut "9.74 unit-days" to
            # "9.74 unit-…", and a cut figure is one a member cannot read.
            unit = quota_unit(kind, entry.unit)
            label = "" if is_money(entry.unit) and kind != "pool" else f" ({unit})"

            # The four figures rounded alike, as the text under them and the member's
            # messages round them: "29" beside "14.79" read as one rounded, one not.
            places = quota_places(entry.allocation, entry.used, entry.projected)

            def bare(text: str, unit: str = unit) -> str:
                return text.removesuffix(f" {unit}") if unit else text

            def figure(
                value: float | None, of: str = entry.unit, kind: str = kind, places: int = places
            ) -> str:
                return bare(quota_amount(value, of, kind=kind, places=places))

            cols[0].metric(f"Used{label}", figure(entry.used))
            cols[1].metric(f"My quota{label}", figure(entry.allocation))
            cols[2].metric(
                f"Left{label}",
                bare(
                    quota_left(
                        entry.remaining, entry.unit, kind=kind, status=entry.status, places=places
                    )
                ),
            )
            cols[3].metric(f"At my pace{label}", figure(entry.projected))
            if entry.explanation:
                st.markdown(plain(entry.explanation))
    if len(entries) > MAX_CARDS:
        st.dataframe(
            safe_table(
                pd.DataFrame(
                    [
                        {
                            "Resource": e.name,
                            "Used": (
                                quota_amount(e.used, e.unit, kind=e.kind, places=p)
                                if e.allocation is not None
                                else amount(e.used, e.unit, kind=e.kind)
                            ),
                            "My quota": quota_amount(e.allocation, e.unit, kind=e.kind, places=p),
                            "Left": quota_left(
                                e.remaining, e.unit, kind=e.kind, status=e.status, places=p
                            ),
                            "At my pace": quota_amount(e.projected, e.unit, kind=e.kind, places=p),
                            "Status": STATUS_WORDS.get(e.status or "", ""),
                            "Period": e.period,
                        }
                        for e in entries[MAX_CARDS:]
                        for p in [quota_places(e.allocation, e.used, e.projected)]
                    ]
                )
            ),
            hide_index=True,
            width="stretch",
        )

    loans = data.my_loans(config, scope)
    if len(loans):
        st.subheader("What I have on loan", anchor=False)
        st.dataframe(
            safe_table(
                pd.DataFrame(
                    {
                        "Item": loans["resource_name"],
                        "Borrowed": [tables.local_day(v, tz) for v in loans["checked_out_at"]],
                        "Due back": [
                            tables.local_day(v, tz) or "no due date" for v in loans["due_at"]
                        ],
                        "Overdue": [
                            "" if pd.isna(d) else f"{int(d)} days overdue"
                            for d in loans["days_overdue"]
                        ],
                    }
                )
            ),
            hide_index=True,
            width="stretch",
        )
    st.subheader("My history", anchor=False)
    history = data.my_history(config, scope)
    if len(history):
        today = pd.Timestamp.now(tz=tz).normalize().tz_localize(None)
        st.vega_lite_chart(charts.history_chart(history, today), width="stretch")
        st.caption(
            "Loans: the units you had on loan each day, a loan still out up to today. "
            f"Other resources: what you used each day. Days in {tz}."
        )
    events = data.my_events(config, scope)
    if events.empty:
        st.caption("You have no recorded use yet.")
    else:
        st.dataframe(
            tables.events(events, resources, tz, member=False), hide_index=True, width="stretch"
        )
        st.caption(f"Times in {tz}.")
