"""Sign in with a built-in account, or single sign-on when configured."""

from __future__ import annotations

import streamlit as st

from dashboards import session

st.title("Sign in")
st.write("Stewards see every resource, forecast and alert; members see their own usage.")

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
