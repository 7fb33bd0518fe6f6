"""Commons health: each commons' resources, aggregates only, no personal data (everyone).

Everyone sees the same page, every commons of the workspace as a visitor sees
it; a signed-in viewer's own commons comes first.

Grouped by commons and named; a fund shows its reserve and its money in and
out per month (totals of many members, never one member's own).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboards import advice, data, session
from dashboards.tables import safe_table
from dashboards.text import amount, is_money, local_time, plain, public_amount
from steward.access import Scope
from steward.display import counted

COLOURS = {"ok": "green", "watch": "orange", "danger": "red", "unknown": "gray"}
MONTHS = 6
#: Cards per commons, most worrying first; further resources share one table (a commons
#: may hold hundreds). Each card is about eight elements for the browser to lay out, and
#: everyone opens this page: with 12 cards it cost Chromium more than any page but the
#: resource page's charts.
MAX_CARDS = 6

st.title("Commons health")
with session.shown_errors():
    config = session.config_path()
    viewer = session.scope()
    public = Scope.public()
    # Aggregates only: read with the public scope whoever is looking, so signing in
    # never shrinks the page (every commons' public health is public) and never adds
    # to it (a steward's unrounded figures live on the overview).
    tiles = data.tiles(config, public)
    min_members = session.workspace(config).settings.dashboard.public_min_members
    if not tiles:
        st.info("No resources are monitored yet.")
    names = {c.slug: c.name for c in session.workspace(config).settings.commons}
    # The viewer's own commons first, then the others by name.
    own = (
        {r.commons_slug for r in data.visible_resources(config, viewer)}
        if viewer.role != "public"
        else set()
    )
    order = sorted(
        dict.fromkeys(t.commons_slug for t in tiles),
        key=lambda s: (s not in own, (names.get(s) or s).lower()),
    )
    for slug in order:
        group = [t for t in tiles if t.commons_slug == slug]
        title = plain(names.get(slug, slug)) + (" (your commons)" if slug in own else "")
        st.header(title, anchor=False, divider="gray")
        # The badges' own words, counted: "1 to watch" sat above a card marked "at risk".
        counts = [
            f"{n} {advice.STATUS_LABELS[status]}"
            for status in ("danger", "watch")
            if (n := sum(t.status == status for t in group))
        ]
        st.caption(
            f"{counted(len(group), 'resource')} · "
            + (" · ".join(counts) if counts else "all healthy or without data")
        )
        if slug in own and viewer.role == "steward" and any(t.shown == "withheld" for t in group):
            # A withheld tile's status comes from the forecast alone (public_tile), so a
            # steward counting along with the Overview found one "watch" fewer here.
            st.caption(
                "This is the public view: a resource whose recent changes come from fewer "
                f"than {min_members} members shows no figures here and takes its status "
                "from the forecast alone, so these counts can differ from your Overview."
            )
        for tile in group[:MAX_CARDS]:
            with st.container(border=True):
                left, right = st.columns([3, 2])
                left.markdown(
                    f"**{plain(tile.name)}** "
                    f":{COLOURS[tile.status]}-badge[{advice.STATUS_LABELS[tile.status]}]"
                )
                left.caption(plain(tile.headline))
                if tile.kind == "pool":
                    right.metric("On loan", advice.now_text(tile).removesuffix(" on loan"))
                    if tile.capacity_note and tile.capacity is not None:
                        # Why it is "of 5" and not the 6 configured (no date: see public_tile).
                        right.caption(
                            f"{amount(tile.capacity, tile.unit, kind='pool')} to lend "
                            f"({plain(tile.capacity_note)})"
                        )
                else:
                    reserve = (
                        ""
                        if tile.reserve is None
                        else f" (reserve {amount(tile.reserve, tile.unit)})"
                    )
                    level = (
                        advice.HIDDEN
                        if tile.shown == "withheld"
                        else public_amount(tile.level, tile.unit)
                    )
                    right.metric(f"Level{reserve}", level)
                if tile.shown == "withheld":
                    right.caption(advice.hidden_text(min_members))
                if tile.fill is not None:
                    right.progress(min(max(tile.fill, 0.0), 1.0))
                # A withheld public level (too few members behind its changes) withholds
                # the months too: one member's grant would be a month's whole "money in".
                if tile.kind == "stock" and is_money(tile.unit) and tile.shown != "withheld":
                    monthly = data.monthly_flows(config, public, tile.slug, MONTHS)
                    if monthly.months:
                        left.caption(
                            f"Money in and out per month, to {local_time(monthly.through, tile.timezone)}"
                        )
                        left.dataframe(
                            safe_table(
                                pd.DataFrame(
                                    {
                                        "Month": [f"{m:%B %Y}" for m, _, _ in monthly.months][::-1],
                                        "Money in": [
                                            amount(i, tile.unit) for _, i, _ in monthly.months
                                        ][::-1],
                                        "Money out": [
                                            amount(o, tile.unit) for _, _, o in monthly.months
                                        ][::-1],
                                        "Net": [
                                            amount(
                                                None if i is None or o is None else i - o,
                                                tile.unit,
                                            )
                                            for _, i, o in monthly.months
                                        ][::-1],
                                    }
                                )
                            ),
                            hide_index=True,
                            width="stretch",
                        )
                        if any(i is None or o is None for _, i, o in monthly.months):
                            left.caption(
                                f"— : fewer than {min_members} members made that month's "
                                "money in or out, so its total would show one member's own."
                            )
        rest = group[MAX_CARDS:]
        if rest:
            # A federation's commons can hold hundreds: cards for the first, one table after.
            st.dataframe(
                safe_table(
                    pd.DataFrame(
                        [
                            {
                                "Resource": t.name,
                                "Status": advice.STATUS_LABELS[t.status],
                                "Now": advice.now_text(t),
                                "Outlook": t.headline,
                            }
                            for t in rest
                        ]
                    )
                ),
                hide_index=True,
                width="stretch",
            )
