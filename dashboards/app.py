"""Steward's dashboard: the pages a viewer gets depend on who signed in.

Run with `steward dashboard` (which passes the workspace in STEWARD_CONFIG).
Every page's address works for everyone: a page the viewer may not open shows
the sign-in form (signed out, see :func:`dashboards.sign_in_form.gate`) or says
whose page it is, so a bookmark or a shared link never ends on "Page not
found", and signing in opens the page the link named.
"""

from __future__ import annotations

import sys
from pathlib import Path

# `streamlit run` puts only this folder on sys.path; the package lives one up.
_ROOT = str(Path(__file__).resolve().parents[1])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import streamlit as st  # noqa: E402

from dashboards import data, session  # noqa: E402
from dashboards.text import plain  # noqa: E402

# A local file: a :material/...: page icon makes browsers fetch the favicon from a font host.
ICON = Path(__file__).resolve().parent / "static" / "steward.png"
st.set_page_config(page_title="Steward", page_icon=str(ICON), layout="wide")

PAGES = Path(__file__).resolve().parent / "app_pages"
#: url path -> (title, icon, who may open it)
ROUTES: dict[str, tuple[str, str, str]] = {
    "overview": ("Overview", ":material/dashboard:", "steward"),
    "resource": ("Resource", ":material/inventory_2:", "steward"),
    "overdue": ("Overdue loans", ":material/assignment_late:", "steward"),
    "members": ("Members", ":material/group:", "steward"),
    "alerts": ("Alerts", ":material/notifications:", "steward"),
    "sources": ("Data sources", ":material/database:", "steward"),
    "my_usage": ("My usage", ":material/person:", "member"),
    "health": ("Commons health", ":material/monitor_heart:", "everyone"),
    "sign_in": ("Sign in", ":material/login:", "public"),
}


HOME = {"steward": "overview", "member": "my_usage", "public": "sign_in"}


def page(name: str) -> st.Page:
    title, icon, _ = ROUTES[name]
    return st.Page(PAGES / f"{name}.py", title=title, icon=icon, url_path=name)


def home(role: str) -> st.Page:
    """The app's root address: it opens the viewer's start page at that page's own address.

    Streamlit serves a default page at "/" only, so a start page marked default
    would answer "Page not found" at its own address (a bookmark of /overview).
    """
    start = PAGES / f"{HOME[role]}.py"

    def go() -> None:
        st.switch_page(start)

    return st.Page(
        go, title=ROUTES[HOME[role]][0], url_path="home", default=True, visibility="hidden"
    )


def hidden(name: str) -> st.Page:
    """Another role's page, reachable by its address only; the page itself says who may see it."""
    title, icon, _ = ROUTES[name]
    return st.Page(PAGES / f"{name}.py", title=title, icon=icon, url_path=name, visibility="hidden")


with session.shown_errors():
    scope = session.resolve_scope()
    role = scope.role
    mine = [n for n, (_, _, who) in ROUTES.items() if who in (role, "everyone")]
    if role == "steward":
        sections = {
            "Steward": [page(n) for n in mine if n != "health"],
            "Commons": [page("health")],
        }
    elif role == "member":
        sections = {"Me": [page("my_usage")], "Commons": [page("health")]}
    else:
        sections = {"Commons": [page("health")], "Account": [page("sign_in")]}
    others = [hidden(n) for n in ROUTES if n not in mine]
    next(iter(sections.values())).extend([*others, home(role)])
    nav = st.navigation(sections)
    with st.sidebar:
        if role == "public":
            st.caption("Not signed in")
        else:
            # A federation's stewards each see one commons: the pages say which, or the
            # CLI's alerts of three commons read as if the dashboard had lost two.
            of = data.commons_name(session.config_path(), scope)
            who = f"{role} of {plain(of)}" if of else role
            st.caption(f"Signed in as {plain(scope.username or '')} ({who})")
            if st.button("Sign out", icon=":material/logout:", key="sign_out"):
                session.sign_out()
                st.rerun()
        session.sync_cookie()
    nav.run()
