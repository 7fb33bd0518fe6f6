"""One resource in depth: history and forecast fan, risk over time, method, events, quotas."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboards import charts, data, session
from dashboards.text import plain

with session.shown_errors():
    config = session.config_path()
    scope = session.scope()
    scope.require_steward()
    found = data.visible_resources(config, scope)
    if not found:
        st.info("No resources are configured for your commons yet.")
        st.stop()
    slugs = [r.slug for r in found]
    names = {r.slug: r.name for r in found}
    wanted = st.query_params.get("resource")
    index = slugs.index(wanted) if wanted in slugs else 0
    slug = st.selectbox("Resource", slugs, index=index, format_func=lambda s: names[s])
    st.query_params["resource"] = slug
    res = next(r for r in found if r.slug == slug)

    st.title(plain(res.name), anchor=False)
    view = data.forecast(config, scope, slug)
    st.subheader(plain(view.headline) if view else "No forecast yet", anchor=False)
    history = data.daily(config, scope, slug)
    st.altair_chart(
        charts.fan_chart(
            history,
            view,
            kind=str(res.kind),
            unit=res.unit,
            reserve=None if res.reserve is None else float(res.reserve),
            capacity=(
                float(history["capacity"].iloc[-1])
                if len(history) and pd.notna(history["capacity"].iloc[-1])
                else None
                if res.capacity is None
                else float(res.capacity)
            ),
        ),
        width="stretch",
    )
    what = "falling below the reserve" if res.kind == "stock" else "demand above capacity"
    left, right = st.columns(2)
    with left:
        st.markdown(f"**Probability of {what}, forecast by forecast**")
        risks = data.risk_history(config, scope, slug)
        if len(risks):
            st.altair_chart(
                charts.risk_chart(risks, x="forecast_at", title="probability"), width="stretch"
            )
        else:
            st.caption("No forecast yet.")
    with right:
        st.markdown("**Forecast method**")
        if view is None:
            st.caption("No forecast yet: the forecasting job has not run for this resource.")
        else:
            st.markdown(f"`{plain(view.method)}` · {view.created_at:%Y-%m-%d %H:%M} UTC")
            if view.reason:
                st.caption(plain(view.reason))
            if view.scores:
                st.dataframe(
                    pd.DataFrame([view.scores]).T.rename(columns={0: "backtest score"}),
                    width="stretch",
                )
            if view.accuracy:
                st.dataframe(
                    pd.DataFrame([view.accuracy]).T.rename(columns={0: "accuracy"}),
                    width="stretch",
                )

    st.subheader("Recent events", anchor=False)
    events = data.recent_events(config, scope, slug)
    if len(events):
        st.dataframe(events, hide_index=True, width="stretch")
    else:
        st.caption("No events recorded yet.")

    st.subheader("Quotas", anchor=False)
    table = data.resource_quotas(config, scope, slug)
    if len(table):
        st.dataframe(table, hide_index=True, width="stretch")
    else:
        st.caption("No quotas computed for this resource yet.")
