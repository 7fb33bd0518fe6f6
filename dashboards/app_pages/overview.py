"""Steward overview: one line per resource ranked by risk, refreshing itself for the desk screen.

Each line says what (the resource and where it stands now), when and how sure
(the forecast's headline) and what to do. Levels are read from the ledger at
each refresh; the risk figures are the latest forecast's, and the page says
when that ran and when each source's newest data came (its newest event or
reading, not its collector's last run), flagging a source gone quiet.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import streamlit as st

from dashboards import advice, data, session, sign_in_form
from dashboards.tables import safe_table
from dashboards.text import amount, duration, local_time, plain
from steward.availability import LOST_AFTER_DAYS
from steward.queries.health import DANGER, WATCH

config = session.config_path()
viewer = sign_in_form.gate("Overview")
st.title("Overview")


def _freshness(tiles: list, tz: str) -> str:  # type: ignore[type-arg]
    ran = [t.forecast_at for t in tiles if t.forecast_at is not None]
    parts = [f"Levels as of {local_time(datetime.now(UTC), tz)}"]
    parts.append(f"forecast ran {local_time(max(ran), tz)}" if ran else "no forecast yet")
    return " · ".join(parts)


def _sources(tz: str) -> None:
    """When each source's newest row came, stale ones flagged; not when its collector ran.

    A collector that runs fine but reads nothing (a dead sensor behind a live
    feed) would otherwise look fresh.
    """
    newest = data.newest_data(config, session.scope())
    if not newest:
        return
    now = datetime.now(UTC)
    for n in newest:
        if n.stale:
            usual = f"; usually every {duration(n.usual_gap)}" if n.usual_gap else ""
            if n.longest_gap:
                usual += f", never quiet longer than {duration(n.longest_gap)} in the month before"
            st.markdown(
                f":orange-badge[stale] {plain(n.source)}: no new {n.what} since "
                f"{plain(local_time(n.happened_at, tz))} ({duration(now - n.happened_at)} ago"
                f"{usual}), though its collector may still run"
            )
    fresh = [n for n in newest if not n.stale]
    if fresh:
        st.caption(
            "Newest data: "
            + " · ".join(f"{plain(n.source)} {plain(local_time(n.happened_at, tz))}" for n in fresh)
        )


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
        out_now = data.pool_loans(config, scope)
        table = pd.DataFrame(
            [advice.row(t, by_resource.get(t.slug, []), out_now.get(t.slug)) for t in tiles]
        )
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
                "When": st.column_config.TextColumn(
                    "When",
                    help="Stocks: the day by which the chance of having fallen below the "
                    "reserve is over 50% ('below now' when it is below already). Pools: the day "
                    "with the highest chance of more demand than units (the Risk figure "
                    "is that day's). A dash: no such day in the horizon.",
                    width="medium",
                ),
                # Leaf blowers at 10% read "watch" above socket sets at 20% "healthy",
                # and nothing said why: a status weighs more than the chance.
                "Status": st.column_config.TextColumn(
                    "Status",
                    help=f"at risk: a chance of {DANGER:.0%} or more, a critical alert "
                    f"firing, or a stock below its reserve now. watch: a chance of "
                    f"{WATCH:.0%} or more, any other alert firing, or a pool with every "
                    "unit out now. healthy: none of these.",
                ),
                "Now": st.column_config.TextColumn(
                    "Now",
                    help="Stocks: the level now. Pools: units on loan of the units it can "
                    f"lend; a loan more than {LOST_AFTER_DAYS} days past due counts as a "
                    "unit lost, not on loan (the reason is under the table), as "
                    "`steward status` counts them.",
                ),
                "Outlook": st.column_config.TextColumn("Outlook", width="medium"),
                "What to do": st.column_config.TextColumn("What to do", width="medium"),
                "Alerts": st.column_config.TextColumn("Alerts firing", width="medium"),
            },
            on_select="rerun",
            selection_mode="single-row",
            key="overview_table",
        )
        # The Now column's figures where a pool counts units lost (a cell has no
        # tooltip of its own): "Cordless drills: 5 units to lend (6 units recorded, ...)".
        for tile in tiles:
            if tile.capacity_note and tile.capacity is not None:
                st.caption(
                    f"{plain(tile.name)}: "
                    f"{amount(tile.capacity, tile.unit, kind='pool')} to lend "
                    f"({plain(tile.capacity_note)})"
                )
        # Loans recorded beyond a pool's units: kept as recorded, and fixed in the
        # records (the resource page lists the checkouts), as status says it.
        for tile in tiles:
            extra = advice.beyond_units(tile)
            if extra:
                st.caption(
                    f"Data to check: {plain(tile.name)} has {extra} more on loan than its "
                    "units: record the capacity change that let them out (a unit bought, "
                    "entered late or back from repair) at the date it happened, or reverse "
                    "a checkout keyed wrong; its page lists the checkouts."
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
