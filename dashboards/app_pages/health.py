"""Commons health: aggregate state of each resource, no personal data (everyone)."""

from __future__ import annotations

import streamlit as st

from dashboards import data, session
from dashboards.text import number, plain
from steward.access import Scope

COLOURS = {"ok": "green", "watch": "orange", "danger": "red", "unknown": "gray"}
LABELS = {"ok": "healthy", "watch": "watch", "danger": "at risk", "unknown": "no data"}

st.title("Commons health")
with session.shown_errors():
    viewer = session.scope()
    # Aggregates only: read with the public scope whoever is looking.
    tiles = data.tiles(session.config_path(), Scope.public())
    if viewer.role != "public":
        mine = {r.commons_slug for r in data.visible_resources(session.config_path(), viewer)}
        tiles = [t for t in tiles if t.commons_slug in mine]
    if not tiles:
        st.info("No resources are monitored yet.")
    for tile in tiles:
        with st.container(border=True):
            left, right = st.columns([3, 2])
            left.markdown(
                f"**{plain(tile.name)}** :{COLOURS[tile.status]}-badge[{LABELS[tile.status]}]"
            )
            left.caption(plain(tile.headline))
            if tile.kind == "stock":
                right.metric("Level", number(tile.level, tile.unit))
            else:
                cap = f" of {number(tile.capacity)}" if tile.capacity is not None else ""
                right.metric("On loan", f"{number(tile.level)}{cap}")
            if tile.fill is not None:
                right.progress(min(max(tile.fill, 0.0), 1.0))
