"""Steward overview: a tile per resource, worst first, refreshing itself for the desk screen."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import streamlit as st

from dashboards import data, session
from dashboards.text import number, plain
from steward.exports import spreadsheet_safe
from steward.queries.alerts import ResourceAlert
from steward.queries.health import Tile

COLOURS = {"ok": "green", "watch": "orange", "danger": "red", "unknown": "gray"}
LABELS = {"ok": "healthy", "watch": "watch", "danger": "at risk", "unknown": "no data"}
#: Beyond this many tiles the rest are listed in a table (a federation has hundreds).
MAX_TILES = 48
COLUMNS = 3
#: Severity colours: a critical alert is never drawn like a nudge.
SEVERITY_COLOURS = {"critical": "red", "warning": "orange", "info": "blue"}

st.title("Overview")


def _alert_line(alert: ResourceAlert) -> None:
    colour = SEVERITY_COLOURS.get(alert.severity, "gray")
    badges = f":{colour}-badge[{plain(alert.severity)}]"
    if alert.acknowledged:
        badges += " :gray-badge[acknowledged]"
    if alert.silenced:
        badges += " :violet-badge[silenced]"
    st.markdown(f"{badges} {plain(alert.summary)}")
    for who in (alert.acknowledged, alert.silenced):
        if who:
            st.caption(plain(who))


def _tile(tile: Tile, alerts: list[ResourceAlert]) -> None:
    with st.container(border=True):
        st.markdown(f"**{plain(tile.name)}** :{COLOURS[tile.status]}-badge[{LABELS[tile.status]}]")
        if tile.kind == "stock":
            value = number(tile.level, tile.unit)
            label = "Level"
        else:
            cap = f" / {number(tile.capacity)}" if tile.capacity is not None else ""
            value = f"{number(tile.level)}{cap}"
            label = "On loan"
        delta = None if tile.trend is None else f"{tile.trend:+,.2f} in 7 days"
        st.metric(label, value, delta=delta, delta_color="off" if tile.kind == "pool" else "normal")
        st.caption(plain(tile.headline))
        for alert in alerts:
            _alert_line(alert)
        st.page_link(
            "app_pages/resource.py",
            label="Details",
            icon=":material/arrow_forward:",
            query_params={"resource": tile.slug},
        )


def _render(config: str) -> None:
    with session.shown_errors():
        scope = session.scope()
        tiles = data.tiles(config, scope)
        if not tiles:
            st.info("No resources are configured for your commons yet.")
            return
        counts = {s: sum(t.status == s for t in tiles) for s in LABELS}
        st.caption(
            " · ".join(f"{counts[s]} {LABELS[s]}" for s in LABELS if counts[s])
            + f" · updated {datetime.now():%H:%M:%S}"
        )
        # Resource alerts, one per rule, lead; member messages are counted and linked.
        by_resource = data.resource_alerts(config, scope)
        firing = sum(len(v) for v in by_resource.values())
        if firing:
            st.markdown(f"**{firing} resource alerts firing** (grouped per resource and rule)")
        members = data.member_message_count(config, scope)
        if members:
            st.page_link(
                "app_pages/members.py",
                label=f"{members} member quota messages: see Members",
                icon=":material/group:",
            )
        shown = tiles[:MAX_TILES]
        for start in range(0, len(shown), COLUMNS):
            cols = st.columns(COLUMNS)
            for col, tile in zip(cols, shown[start : start + COLUMNS], strict=False):
                with col:
                    _tile(tile, by_resource.get(tile.slug, []))
        rest = tiles[MAX_TILES:]
        if rest:
            st.subheader(f"{len(rest)} more resources")
            st.dataframe(
                spreadsheet_safe(
                    pd.DataFrame(
                        [
                            {
                                "resource": t.name,
                                "commons": t.commons_slug,
                                "status": LABELS[t.status],
                                "level / on loan": t.level,
                                "capacity": t.capacity,
                                "outlook": t.headline,
                            }
                            for t in rest
                        ]
                    )
                ),
                hide_index=True,
            )


config = session.config_path()


@st.fragment(run_every=data.refresh_seconds(config))
def live() -> None:
    _render(config)


live()
