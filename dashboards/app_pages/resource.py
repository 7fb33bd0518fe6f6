"""One resource in depth: history and forecast fan, risk over time, method, events, quotas."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboards import charts, data, session
from dashboards.text import plain
from steward.exports import spreadsheet_safe
from steward.queries.forecasts import calibration, track_record

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
        st.markdown(f"**Probability of {what}, day by day**")
        daily_risk = charts.daily_risk(view.paths if view else {}, str(res.kind))
        if len(daily_risk):
            st.altair_chart(
                charts.risk_chart(daily_risk, x="date", title="probability"), width="stretch"
            )
        else:
            st.caption("No forecast yet.")
        risks = data.risk_history(config, scope, slug)
        if len(risks) > 1:
            st.markdown("**Headline risk, forecast by forecast**")
            st.altair_chart(
                charts.risk_chart(risks, x="forecast_at", title="probability"), width="stretch"
            )
    with right:
        st.markdown("**Forecast method**")
        if view is None:
            st.caption("No forecast yet: the forecasting job has not run for this resource.")
        else:
            # Method names are code-like ("mean(tsb+sba)"): shown verbatim, never as Markdown.
            st.text(f"{view.method}  ·  {view.created_at:%Y-%m-%d %H:%M} UTC")
            if view.reason:
                st.caption(plain(view.reason))
            # How often such figures came true (the stored risk backtest), when known.
            with session.workspace(config).store.read() as conn:
                record = calibration(scope, conn, slug)
            headline_p = view.risk.get("p_below_reserve", view.risk.get("max_p_over_capacity"))
            if record is not None and isinstance(headline_p, int | float):
                said = track_record(record, float(headline_p))
                if said:
                    st.caption(plain(said))
            scores = charts.score_table(view.scores)
            if len(scores):
                st.markdown("Backtest MASE (lower is better; seasonal naive = baseline)")
                st.dataframe(spreadsheet_safe(scores), hide_index=True, width="stretch")
            if view.accuracy:
                st.markdown("How this forecast has done so far")
                st.dataframe(
                    spreadsheet_safe(
                        pd.DataFrame([view.accuracy]).T.rename(columns={0: "accuracy"})
                    ),
                    width="stretch",
                )

    st.subheader("Recent events", anchor=False)
    events = data.recent_events(config, scope, slug)
    if len(events):
        st.dataframe(spreadsheet_safe(events), hide_index=True, width="stretch")
    else:
        st.caption("No events recorded yet.")

    st.subheader("Quotas", anchor=False)
    table = data.resource_quotas(config, scope, slug)
    if len(table):
        st.dataframe(spreadsheet_safe(table), hide_index=True, width="stretch")
    else:
        st.caption("No quotas computed for this resource yet.")
