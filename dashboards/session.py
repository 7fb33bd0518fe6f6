"""Who is looking: sign-in, the session cookie, and the scope it grants.

A password sign-in starts a server-side session (:mod:`steward.sessions`) and
keeps its signed id in a browser cookie, so a reload, a new tab or a bookmark
stays signed in. The cookie is read on the server from the page's own request
(``st.context.cookies``: no round trip, so a reload never flashes the sign-in
form) and written or deleted in the browser by extra-streamlit-components'
``CookieManager`` (Streamlit has no API to set a cookie). It is never put in a
URL.

Every run verifies the session, fragment reruns included (:func:`scope`), so
an expired, revoked or disabled-account session ends on the next rerun. Single
sign-on (``st.login``) is offered when the app's secrets have an ``[auth]``
section; its identity is mapped to an account by email.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import streamlit as st

from steward import access, sessions
from steward.access import Scope
from steward.errors import AccessDenied, ConfigError, StewardError
from steward.workspace import Workspace, open_workspace

#: Session state: the cookie value this browser session holds ("" after sign-out).
TOKEN_KEY = "steward_token"
#: Session state: the scope the last full run resolved (fragments compare against it).
SCOPE_KEY = "steward_scope"
#: Session state: why the last session ended, shown once above the sign-in form.
ENDED_KEY = "steward_session_ended"
#: Session state: a cookie write the browser has not confirmed yet ("set" or "delete").
PENDING_KEY = "steward_cookie_pending"


def config_path() -> str:
    path = os.environ.get("STEWARD_CONFIG")
    if not path:
        raise ConfigError(
            "STEWARD_CONFIG is not set: the dashboard does not know which workspace to show",
            hint="start it with `steward --config PATH dashboard`",
        )
    return str(Path(path).resolve())


@st.cache_resource(show_spinner=False)
def workspace(path: str) -> Workspace:
    """One open workspace per config file and process (the dashboard never writes the catalog)."""
    return open_workspace(path, sync=False)


@st.cache_resource(show_spinner=False)
def _signing_key(path: str) -> bytes:
    with workspace(path).store.write() as conn:
        return access.signing_key(conn)


def open_now() -> None:
    """Open the workspace and read the signing key before the server listens.

    Both are process-wide cached resources; opened here, the first page after a
    start does not pay for them (about 0.3 CPU-seconds on the demo).
    """
    path = config_path()
    workspace(path)
    _signing_key(path)


def oidc_configured() -> bool:
    try:
        return "auth" in st.secrets
    except (FileNotFoundError, KeyError, StewardError):
        return False
    except Exception:  # noqa: BLE001 - a malformed secrets.toml must not take the app down
        return False


def _token() -> str | None:
    """The session cookie this browser session presents.

    A sign-in or sign-out during this browser session wins over the cookie the
    page was opened with (``st.context.cookies`` does not change until a reload).
    """
    if TOKEN_KEY in st.session_state:
        return str(st.session_state[TOKEN_KEY]) or None
    value = st.context.cookies.get(sessions.COOKIE)
    # Only a real browser request carries cookies (test harnesses hand in stand-ins).
    return value if isinstance(value, str) and value else None


def _verify() -> Scope:
    path = config_path()
    token = _token()
    with workspace(path).store.read() as conn:
        checked = sessions.check(conn, token, _signing_key(path))
        scope = checked.scope
        if checked.ended:
            st.session_state[TOKEN_KEY] = ""
            st.session_state[ENDED_KEY] = checked.ended
            st.session_state[PENDING_KEY] = "delete"
        if (
            scope.role == "public"
            and oidc_configured()
            and bool(st.user.get("is_logged_in", False))
        ):
            # Only a verified email maps to an account (compared ignoring case).
            account = access.account_for_identity(conn, st.user.to_dict())
            if account is not None:
                scope = account.scope()
    return scope


def resolve_scope() -> Scope:
    """Verify the session at the start of a full run and remember the scope for its pages."""
    scope = _verify()
    st.session_state[SCOPE_KEY] = scope
    return scope


def scope() -> Scope:
    """The viewer's scope, verified again now: pages and fragment reruns call this.

    A fragment rerun does not run the app script, so without this check an open
    page would keep showing a steward's view after the session ended. When the
    verified scope differs from the one the page was built for, the whole app
    reruns (and shows the sign-in form).
    """
    verified = _verify()
    built_for = st.session_state.get(SCOPE_KEY)
    if isinstance(built_for, Scope) and verified != built_for:
        st.session_state[SCOPE_KEY] = verified
        st.rerun(scope="app")
    return verified


def _client() -> str | None:
    """The browser's address, for per-client sign-in backoff (None when unknown)."""
    try:
        return st.context.ip_address
    except AttributeError:
        return None


def sign_in(username: str, password: str) -> bool:
    """Check the password (throttled) and start a session; False for a wrong or disabled account.

    Raises :class:`steward.access.SignInThrottled` while the account or client backs off.
    """
    path = config_path()
    key = _signing_key(path)
    with workspace(path).store.write() as conn:
        account = access.sign_in(conn, username, password, client=_client())
        if account is None:
            return False
        token = sessions.issue(conn, account, key)
    st.session_state[TOKEN_KEY] = token
    st.session_state[PENDING_KEY] = "set"
    st.session_state.pop(ENDED_KEY, None)
    return True


def sign_out() -> None:
    """Revoke the session on the server and delete the cookie in the browser."""
    path = config_path()
    token = _token()
    with workspace(path).store.write() as conn:
        sessions.revoke(conn, token, _signing_key(path))
    st.session_state[TOKEN_KEY] = ""
    st.session_state[PENDING_KEY] = "delete"
    st.session_state.pop(SCOPE_KEY, None)
    if oidc_configured() and bool(st.user.get("is_logged_in", False)):
        st.logout()


def ended_reason() -> str | None:
    """Why the previous session ended, for the sign-in form; kept until the next sign-in.

    Deleting the cookie reruns the page once or more as the browser confirms it
    (the cookie component reports each change), so a reason dropped after one
    run vanished a moment after it appeared. :func:`sign_in` clears it.
    """
    reason = st.session_state.get(ENDED_KEY)
    return reason if isinstance(reason, str) else None


def sync_cookie() -> None:
    """Write or delete the session cookie in the browser until the browser confirms it.

    Rendered at the end of every run while a write is pending: the component
    answers True once the browser holds (or no longer holds) the cookie.
    """
    pending: Literal["set", "delete"] | None = st.session_state.get(PENDING_KEY)
    if pending is None:
        return
    import extra_streamlit_components as stx

    # The set and delete calls below use the manager's component directly: its
    # set() and delete() drop the browser's confirmation, which this loop needs.
    manager = stx.CookieManager(key="steward_cookie_read")
    if pending == "set":
        token = st.session_state.get(TOKEN_KEY) or ""
        done = manager.cookie_manager(
            method="set",
            cookie=sessions.COOKIE,
            value=token,
            options={
                "path": "/",
                "expires": (datetime.now(UTC) + sessions.SESSION_TTL).isoformat(),
                "sameSite": "strict",
                "secure": _served_over_https(),
            },
            key="steward_cookie_set",
            default=False,
        )
    else:
        done = manager.cookie_manager(
            method="delete", cookie=sessions.COOKIE, key="steward_cookie_delete", default=False
        )
    if done:
        st.session_state.pop(PENDING_KEY, None)


def _served_over_https() -> bool:
    url = st.context.url or ""
    return url.startswith("https://")


@contextmanager
def shown_errors() -> Iterator[None]:
    """Show Steward's own errors as a message on the page (never a traceback)."""
    try:
        yield
    except AccessDenied as exc:
        st.error(f"Not allowed: {exc.message}", icon=":material/lock:")
    except StewardError as exc:
        st.error(exc.message + (f"\n\n{exc.hint}" if exc.hint else ""), icon=":material/error:")
