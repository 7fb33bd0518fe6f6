"""Sign in with a built-in account, or single sign-on when configured."""

from __future__ import annotations

import streamlit as st

from dashboards import session, sign_in_form

viewer = session.scope()
if viewer.is_steward:
    st.switch_page("app_pages/overview.py")
elif viewer.is_member:
    st.switch_page("app_pages/my_usage.py")
sign_in_form.show()
