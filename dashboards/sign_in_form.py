"""The sign-in form, shown on the sign-in page and in place of any page that needs an account."""

from __future__ import annotations

import streamlit as st

from dashboards import session
from dashboards.text import plain
from steward.access import Scope


def commons_names() -> list[str]:
    """Names of the commons this dashboard serves (from the configuration)."""
    return [c.name for c in session.workspace(session.config_path()).settings.commons]


def show(wanted: str | None = None) -> None:
    """Title, a line on who sees what, and the form; ``wanted`` names the page asked for.

    After a successful sign-in the app reruns at the same address, so a deep
    link (``/resource?resource=drill``) opens the page it names.
    """
    names = commons_names()
    st.title("Sign in to Steward")
    st.markdown("Commons monitored here: " + ", ".join(f"**{plain(n)}**" for n in names))
    ended = session.ended_reason()
    if ended:
        st.warning(f"You were signed out: {ended}. Sign in again to continue.")
    if wanted:
        st.info(f"Sign in to open {plain(wanted)}.", icon=":material/lock:")
    st.write(
        "Stewards see every resource, forecast, alert and overdue loan of their commons; "
        "members see their own usage, loans and quotas."
    )
    with st.form("sign_in", clear_on_submit=False):
        username = st.text_input("Username", autocomplete="username")
        password = st.text_input("Password", type="password", autocomplete="current-password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted:
        with session.shown_errors():  # a throttled attempt says how long to wait
            if session.sign_in(username.strip(), password):
                st.rerun()
            else:
                st.error("Wrong username or password, or the account is disabled.")
    if session.oidc_configured():
        st.divider()
        if st.button("Sign in with single sign-on", icon=":material/key:"):
            st.login()
    st.page_link(
        "app_pages/health.py",
        label="Commons health is public: see it without signing in",
        icon=":material/monitor_heart:",
    )


def gate(title: str) -> Scope:
    """The viewer's verified scope; a signed-out viewer gets the sign-in form instead of the page.

    Pages for stewards or members call this first; the page's own
    ``require_steward``/``require_member`` then refuses a signed-in viewer of
    the other role with a plain message.
    """
    scope = session.scope()
    if scope.role == "public":
        show(wanted=title)
        st.stop()
    return scope
