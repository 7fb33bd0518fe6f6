"""Members: usage and quota compliance per member, worst status first (stewards)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboards import data, session, sign_in_form
from dashboards.tables import safe_table
from dashboards.text import amount, local_time, plain, quota_amount, quota_left
from steward.display import counted
from steward.quotas.explain import quota_places

#: Quota states a steward should raise with the member: their "Why" is written out.
NEEDS_A_WORD = ("review", "warned")
#: A search that finds this many rows or fewer writes each one's "Why" out whole.
IN_FULL_WHEN = 5

with session.shown_errors():
    config = session.config_path()
    scope = sign_in_form.gate("Members")
    scope.require_steward()
    st.title("Members")
    table = data.member_usage(config, scope)
    if table.empty:
        st.info("No member has used a resource or received a quota yet.")
        st.stop()
    by_slug = {r.slug: r for r in data.visible_resources(config, scope)}

    def fmt(value: object, slug: str, *, quota: bool = True, places: int | None = None) -> str:
        """A figure in the resource's unit; a pool's quota figures are unit-days."""
        res = by_slug.get(slug)
        if value is None or pd.isna(value):  # type: ignore[call-overload]
            return ""
        unit, kind = (res.unit, str(res.kind)) if res else ("", "stock")
        if quota:
            return quota_amount(float(value), unit, kind=kind, places=places)  # type: ignore[arg-type]
        if kind == "pool":
            # A pool's 30-day figure counts units checked out, not days held: "0 units"
            # beside a drill held all month read as nothing borrowed.
            return counted(round(float(value)), "checkout")  # type: ignore[arg-type]
        return amount(float(value), unit, kind=kind)  # type: ignore[arg-type]

    def left(value: object, slug: str, status: str, places: int | None = None) -> str:
        """What is left of the quota, "over by ..." when over (as `steward quotas`)."""
        res = by_slug.get(slug)
        if value is None or pd.isna(value):  # type: ignore[call-overload]
            return ""
        unit, kind = (res.unit, str(res.kind)) if res else ("", "stock")
        return quota_left(float(value), unit, kind=kind, status=status, places=places)  # type: ignore[arg-type]

    # Each member's figures rounded alike, as their "Why" and their messages round them.
    places = [
        None if pd.isna(a) else quota_places(float(a), float(u), float(p))
        for a, u, p in zip(table["allocation"], table["used"], table["projected"], strict=True)
    ]
    shown = pd.DataFrame(
        {
            "Member": [
                f"{n} (no. {c})" for n, c in zip(table["name"], table["member"], strict=True)
            ],
            "Resource": [by_slug[s].name if s in by_slug else s for s in table["resource"]],
            "Used (30 days)": [
                fmt(v, s, quota=False)
                for v, s in zip(table["used_30d"], table["resource"], strict=True)
            ],
            "Quota": [
                fmt(v, s, places=p)
                for v, s, p in zip(table["allocation"], table["resource"], places, strict=True)
            ],
            "Used this period": [
                fmt(v, s, places=p)
                for v, s, p in zip(table["used"], table["resource"], places, strict=True)
            ],
            "Left": [
                left(v, s, st_, p)
                for v, s, st_, p in zip(
                    table["remaining"], table["resource"], table["status"], places, strict=True
                )
            ],
            "At this pace": [
                fmt(v, s, places=p)
                for v, s, p in zip(table["projected"], table["resource"], places, strict=True)
            ],
            "Status": table["status"],
            "Why": table["explanation"].fillna(""),
        }
    )
    left, right = st.columns([2, 3])
    search = left.text_input("Find a member", placeholder="name or member number")
    statuses = list(dict.fromkeys(shown["Status"]))
    chosen = right.pills("Quota status", statuses, selection_mode="multi", default=statuses)
    picked = shown.loc[
        shown["Status"].isin(chosen or statuses)
        & shown["Member"].str.contains(search.strip(), case=False, regex=False)
    ]
    counts = shown["Status"].value_counts()
    st.caption(" · ".join(f"{n} {s}" for s, n in counts.items()))
    computed = table["computed_at"].dropna()
    if len(computed):
        # The quota columns are the last pipeline run's; the 30-day column is live, so
        # a use recorded since shows there first ("41.2 L" beside "0.00 L").
        tz = next(iter(by_slug.values())).timezone if by_slug else "UTC"
        st.caption(
            f"Quota figures as of {plain(local_time(max(computed), tz))}: each pipeline run "
            "updates them. Used (30 days) is read now, so a use recorded since shows "
            "there first."
        )
    st.dataframe(
        safe_table(picked),
        hide_index=True,
        width="stretch",
        column_config={"Why": st.column_config.TextColumn(width="large")},
    )
    # The grid cuts "Why" to its column: a quota a steward must talk about (or the few
    # a search found) is written out whole, so the explanation can be read and quoted.
    few = len(picked) <= IN_FULL_WHEN
    quotas = picked[picked["Why"] != ""]
    attention = quotas if few else quotas[quotas["Status"].isin(NEEDS_A_WORD)]
    if not attention.empty:
        st.subheader("Why, in full" if few else "Why, in full: quotas to talk about", anchor=False)
        for row in attention.head(20).to_dict("records"):
            with st.container(border=True):
                st.markdown(
                    f"**{plain(row['Member'])}** · {plain(row['Resource'])} · "
                    f"{plain(row['Status'])}"
                )
                st.caption(
                    plain(
                        f"Quota {row['Quota']} · used {row['Used this period']} · left "
                        f"{row['Left']} · at this pace {row['At this pace']}"
                    )
                )
                st.markdown(plain(row["Why"]))
