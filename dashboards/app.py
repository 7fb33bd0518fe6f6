"""Steward's dashboard: the pages a viewer gets depend on who signed in.

Run with `steward dashboard` (which passes the workspace in STEWARD_CONFIG).
"""

from __future__ import annotations

import sys
from pathlib import Path

# `streamlit run` puts only this folder on sys.path; the package lives one up.
_ROOT = str(Path(__file__).resolve().parents[1])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import streamlit as st  # noqa: E402

from dashboards import session  # noqa: E402
from dashboards.text import plain  # noqa: E402

# A local file: a :material/...: page icon makes browsers fetch the favicon from a font host.
ICON = Path(__file__).resolve().parent / "static" / "steward.png"
st.set_page_config(page_title="Steward", page_icon=str(ICON), layout="wide")

PAGES = Path(__file__).resolve().parent / "app_pages"


def page(name: str, title: str, icon: str, *, default: bool = False) -> st.Page:
    return st.Page(PAGES / f"{name}.py", title=title, icon=icon, url_path=name, default=default)


with session.shown_errors():
    scope = session.resolve_scope()
    health = page("health", "Commons health", ":material/monitor_heart:")
    if scope.is_steward:
        pages = {
            "Steward": [
                page("overview", "Overview", ":material/dashboard:", default=True),
                page("resource", "Resource", ":material/inventory_2:"),
                page("members", "Members", ":material/group:"),
                page("alerts", "Alerts", ":material/notifications:"),
                page("sources", "Data sources", ":material/database:"),
            ],
            "Commons": [health],
        }
    elif scope.is_member:
        pages = {
            "Me": [page("my_usage", "My usage", ":material/person:", default=True)],
            "Commons": [health],
        }
    else:
        pages = {
            "Commons": [health],
            "Account": [page("sign_in", "Sign in", ":material/login:", default=True)],
        }
    nav = st.navigation(pages)
    with st.sidebar:
        if scope.role == "public":
            st.caption("Not signed in")
        else:
            st.caption(f"Signed in as {plain(scope.username or '')} ({scope.role})")
            if st.button("Sign out", icon=":material/logout:", key="sign_out"):
                session.sign_out()
                st.rerun()
    nav.run()
