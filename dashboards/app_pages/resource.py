"""One resource in depth: history and forecast fan, risk over time, method, events, quotas."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboards import charts, data, session, sign_in_form, tables
from dashboards.methods import (
    MEASURES,
    accuracy_table,
    flow_words,
    flows_of,
    plain_method,
    plain_reason,
    reasons_of,
    score_table,
)
from dashboards.tables import safe_table
from dashboards.text import amount, local_time, plain, words
from steward.availability import LOST_AFTER_DAYS
from steward.display import local_days
from steward.queries.forecasts import track_record

#: Rows tall enough for the grid to wrap a cell's text (it wraps only in rows over
#: 4rem) onto two lines: the longest plain words and short names fit, none cut.
SCORE_ROW_HEIGHT = 66
#: Column widths in pixels: a short name (up to NAME_CHARS) and the longest plain
#: words each fit on two lines, and the table fits the page's width beside them.
NAME_WIDTH = 180
WORDS_WIDTH = 300
TECHNICAL_WIDTH = 220

with session.shown_errors():
    config = session.config_path()
    scope = sign_in_form.gate("Resource")
    scope.require_steward()
    found = data.visible_resources(config, scope)
    if not found:
        st.info("No resources are configured for your commons yet.")
        st.stop()
    by_slug = {r.slug: r for r in found}
    slugs = sorted(by_slug, key=lambda s: by_slug[s].name.lower())
    wanted = st.query_params.get("resource")
    index = slugs.index(wanted) if wanted in slugs else 0
    if wanted and wanted not in slugs:
        st.warning(
            f"No resource {plain(wanted)} in your commons: showing "
            f"{plain(by_slug[slugs[0]].name)}. Pick another below."
        )
    slug = st.selectbox("Resource", slugs, index=index, format_func=lambda s: by_slug[s].name)
    st.query_params["resource"] = slug
    res = by_slug[slug]
    kind = str(res.kind)
    vocab = words(kind, res.unit)
    tz = res.timezone
    today = pd.Timestamp.now(tz=tz).normalize()

    st.title(plain(res.name), anchor=False)
    view = data.forecast(config, scope, slug)
    st.subheader(plain(view.headline) if view else "No forecast yet", anchor=False)
    beyond = data.overbooked(config, scope, slug) if kind == "pool" else None
    if beyond is not None:
        # Kept as recorded (real lending records do this), shown with its fix.
        finding = (
            f"{beyond['checkouts']} checkout(s) found every unit already out (last on "
            f"{(beyond['last'] or '')[:10]}; at most {beyond['worst']} more out than units)"
            if beyond["checkouts"]
            else f"{beyond['now']} more units out than the pool has now"
        )
        st.warning(f"Data to check: {finding}; {beyond['fix']}.")
    history = data.daily(config, scope, slug)
    capacity = (
        float(history["capacity"].iloc[-1])
        if len(history) and pd.notna(history["capacity"].iloc[-1])
        else None
        if res.capacity is None
        else float(res.capacity)
    )
    st.vega_lite_chart(
        charts.fan_chart(
            history,
            view,
            kind=kind,
            unit=res.unit,
            reserve=None if res.reserve is None else float(res.reserve),
            capacity=capacity,
            today=today.tz_localize(None),
        ),
        width="stretch",
    )
    st.caption(
        f"Days in {plain(tz)}. The bands hold the stated share of simulated outcomes; "
        "the dashed line is the middle outcome."
        + (
            " Up to today the line counts units on loan, which exceed the units "
            "available only where loans were recorded beyond them (a finding this page "
            "then shows); "
            "from today the forecast counts units members will want, which can: the "
            "days it does are the chance of more demand than units."
            if kind == "pool"
            else ""
        )
    )
    if kind == "pool":
        # The units status, forecast and quota budget all count, and why they differ
        # from the recorded capacity (steward.availability).
        units_now = data.pool_units(config, scope, slug)
        why = units_now.reason(tz, pd.Timestamp.now(tz="UTC").to_pydatetime())
        if why and units_now.available is not None:
            st.caption(
                f"{amount(float(units_now.available), res.unit, kind='pool')} to lend now: "
                f"{plain(why)}. Loans more than {LOST_AFTER_DAYS} days past due count as "
                "lost capacity in the forecast and the quota budget, not as units coming back."
            )
        else:
            st.caption(
                f"Loans more than {LOST_AFTER_DAYS} days past due would count as lost "
                "capacity in the forecast and the quota budget (none now)."
            )
    what = "falling below the reserve" if kind == "stock" else "more demand than units"
    left, right = st.columns(2)
    with left:
        st.markdown(f"**Chance of {what}, day by day**")
        daily_risk = charts.daily_risk(view.paths if view else {}, kind)
        if len(daily_risk):
            st.vega_lite_chart(
                charts.risk_chart(daily_risk, x="date", title="chance", points=False),
                width="stretch",
            )
        else:
            st.caption("No forecast yet.")
        risks = data.risk_history(config, scope, slug)
        if len(risks) > 1:
            st.markdown("**The headline chance, forecast by forecast**")
            local = risks.assign(
                forecast_at=pd.to_datetime(risks["forecast_at"], utc=True)
                .dt.tz_convert(tz)
                .dt.tz_localize(None)
            )
            st.vega_lite_chart(
                charts.risk_chart(local, x="forecast_at", title="chance"), width="stretch"
            )
    with right:
        st.markdown("**How this forecast was made**")
        if view is None:
            st.caption("No forecast yet: the forecasting job has not run for this resource.")
        else:
            methods = flows_of(view.method)
            reasons = reasons_of(view.reason)
            for flow, label in methods.items():
                # Plain words first; the engine's name is in the table and the expander below.
                name = f"**{plain(flow_words(flow, vocab))}:** " if flow else ""
                st.markdown(name + plain(plain_method(label)))
                if reasons.get(flow):
                    st.caption(plain(plain_reason(reasons[flow])))
            st.caption(f"Ran {plain(local_time(view.created_at, tz))}.")
            # How often such figures came true (the stored risk backtest), when known.
            record = data.calibration(config, scope, slug)
            # The figure of the calibrated event: for a pool, all units out (the
            # headline's chance of demand beyond them is not what the backtest scored).
            calibrated_p = view.risk.get("p_below_reserve", view.risk.get("max_p_all_units_out"))
            if record is not None and isinstance(calibrated_p, int | float):
                said = track_record(record, float(calibrated_p))
                if said:
                    st.caption(plain(said))
            with st.expander("Technical details"):
                # Code-like names ("mean(tsb+sba)"): shown verbatim, never as Markdown.
                st.text(f"Method: {view.method}\n\n{view.reason}")
            if view.accuracy:
                st.markdown("How earlier forecasts of this resource came true")
                st.dataframe(
                    safe_table(accuracy_table(view.accuracy, res.unit, kind, tz)),
                    hide_index=True,
                    width="stretch",
                )

    scores = score_table(view.scores, view.reason, vocab, view.method) if view else None
    if scores is not None and len(scores):
        # The page's whole width, each row its short name and its plain words wrapped:
        # in half the page a grid cut "average of the same weeks in past years" and
        # "average of the same weeks in past years, shrunk toward the recent level"
        # to the same words, and a steward could not tell the two rows apart.
        st.markdown("**Backtest error of each method tried (lower is better)**")
        st.dataframe(
            safe_table(scores),
            hide_index=True,
            width="stretch",
            row_height=SCORE_ROW_HEIGHT,
            # Every row shown: a scrolled grid hid the last methods tried.
            height=len(scores) * SCORE_ROW_HEIGHT + 46,  # the header row and borders
            column_config={
                "Method": st.column_config.TextColumn(
                    "Method", width=NAME_WIDTH, help="How it works says what each method does."
                ),
                "How it works": st.column_config.TextColumn("How it works", width=WORDS_WIDTH),
                "Technical name": st.column_config.TextColumn(
                    "Technical name", width=TECHNICAL_WIDTH
                ),
                **{
                    m: st.column_config.NumberColumn(m, format="%.2f", help=MEASURES[m])
                    for m in MEASURES
                    if m in scores.columns
                },
            },
        )
        for m in MEASURES:
            if m in scores.columns:
                st.caption(MEASURES[m])

    st.subheader(f"Recent {vocab.uses} and {vocab.replenishes}", anchor=False)
    events = data.recent_events(config, scope, slug)
    if len(events):
        st.dataframe(
            tables.events(events, by_slug, tz, resource=False), hide_index=True, width="stretch"
        )
        st.caption(f"Times in {tz}.")
    else:
        st.caption("Nothing recorded yet.")

    st.subheader("Quotas", anchor=False)
    table = data.resource_quotas(config, scope, slug)
    if len(table):
        st.dataframe(
            tables.quotas(table, kind, res.unit, tz),
            hide_index=True,
            width="stretch",
            column_config={"Why": st.column_config.TextColumn(width="large")},
        )
    else:
        try:
            policy = session.workspace(config).settings.resource(slug)[1].quota
        except KeyError:
            policy = None
        st.caption(
            "No quotas computed for this resource yet: the pipeline shares it out on its next run."
            if policy is not None
            else "No fair-use quotas for this resource: it has no quota policy (a "
            "`quota:` section under the resource in the configuration)."
        )
    budget = data.resource_budget(config, scope, slug)
    if budget is not None:
        # The budget and the quotas' sum beside it: every quota is at least one
        # ordinary use, so the sum can pass the budget; a deficit says what closes it.
        period = local_days(budget.period_start, budget.period_end, tz)
        for line in budget.lines(period):
            st.caption(plain(line.strip()))
    if res.capacity is not None and kind == "stock":
        st.caption(f"Capacity {amount(float(res.capacity), res.unit)}.")
