"""Steward overview: one line per resource ranked by risk, refreshing itself for the desk screen.

Each line says what (the resource and where it stands now), when and how sure
(the forecast's headline) and what to do. Levels are read from the ledger at
each refresh; the risk figures are the latest forecast's, and the page says
when that ran and when each source last delivered data.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import streamlit as st

from dashboards import advice, data, session, sign_in_form
from dashboards.tables import safe_table
from dashboards.text import local_time, plain

config = session.config_path()
viewer = sign_in_form.gate("Overview")
st.title("Overview")


def _freshness(tiles: list, tz: str) -> str:  # type: ignore[type-arg]
    ran = [t.forecast_at for t in tiles if t.forecast_at is not None]
    parts = [f"Levels as of {local_time(datetime.now(UTC), tz, with_date=False)}"]
    parts.append(f"forecast ran {local_time(max(ran), tz)}" if ran else "no forecast yet")
    return " · ".join(parts)


def _sources(scope_tz: str) -> None:
    status = data.collector_status(config, session.scope())
    if status.empty:
        return
    arrived = [
        f"{plain(row.source)} {local_time(row.last_success_at, scope_tz) if pd.notna(row.last_success_at) else 'never'}"
        for row in status.itertuples()
    ]
    st.caption("Data last arrived: " + " · ".join(arrived))


def _render() -> None:
    with session.shown_errors():
        scope = session.scope()
        scope.require_steward()
        tiles = data.tiles(config, scope)
        if not tiles:
            st.info("No resources are configured for your commons yet.")
            return
        tz = tiles[0].timezone
        st.caption(_freshness(tiles, tz))
        _sources(tz)
        # Alerts about no resource (a silent source) lead; resource alerts sit on
        # their resource's line, grouped per rule; member messages are a count.
        firing = data.alert_list(config, scope, "firing")
        general = firing.loc[firing["resource"].isna() & (firing["rule"] != "quota")]
        for row in general.itertuples():
            colour = "red" if row.severity == "critical" else "orange"
            st.markdown(f":{colour}-badge[{plain(row.severity)}] {plain(row.summary)}")
        members = data.member_message_count(config, scope)
        if members:
            st.page_link(
                "app_pages/members.py",
                label=f"{members} member quota messages: see Members",
                icon=":material/group:",
            )
        by_resource = data.resource_alerts(config, scope)
        ages = data.overdue_by_age(config, scope)
        if int(ages.sum()):
            st.page_link(
                "app_pages/overdue.py",
                label=f"{int(ages.sum())} loans overdue: "
                + " · ".join(f"{int(n)} {label} days" for label, n in ages.items() if n),
                icon=":material/assignment_late:",
            )
        counts = {s: sum(t.status == s for t in tiles) for s in advice.STATUS_LABELS}
        st.caption(
            " · ".join(
                f"{counts[s]} {label}" for s, label in advice.STATUS_LABELS.items() if counts[s]
            )
        )
        left, right = st.columns([2, 3])
        search = left.text_input("Find a resource", placeholder="name", key="overview_search")
        labels = [label for s, label in advice.STATUS_LABELS.items() if counts[s]]
        chosen = right.pills(
            "Show", labels, selection_mode="multi", default=labels, key="overview_status"
        )
        table = pd.DataFrame([advice.row(t, by_resource.get(t.slug, [])) for t in tiles])
        shown = table.loc[
            table["Status"].isin(chosen or labels)
            & table["Resource"].str.contains(search.strip(), case=False, regex=False)
        ]
        picked = st.dataframe(
            safe_table(shown),
            hide_index=True,
            width="stretch",
            column_order=[c for c in shown.columns if c != "slug"],
            column_config={
                "Risk": st.column_config.ProgressColumn(
                    "Risk",
                    help="Chance of falling below the reserve (stocks) or of more demand "
                    "than units (pools) within the forecast horizon",
                    format="percent",
                    min_value=0.0,
                    max_value=1.0,
                    width="small",
                ),
                "Outlook": st.column_config.TextColumn("Outlook", width="medium"),
                "What to do": st.column_config.TextColumn("What to do", width="medium"),
                "Alerts": st.column_config.TextColumn("Alerts firing", width="medium"),
            },
            on_select="rerun",
            selection_mode="single-row",
            key="overview_table",
        )
        st.caption("Select a row to open the resource.")
        rows = picked.selection.rows if picked else []
        if rows:
            st.switch_page(
                "app_pages/resource.py", query_params={"resource": shown.iloc[rows[0]]["slug"]}
            )


@st.fragment(run_every=data.refresh_seconds(config))
def live() -> None:
    _render()


live()
