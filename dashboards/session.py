"""Who is looking: sign-in, the signed session token, and the scope it grants.

The token lives in ``st.session_state`` (server side); it is verified on every
run, so an expired, forged or disabled-account token falls back to the public
scope and nothing personal is shown. Single sign-on (``st.login``) is offered
when the app's secrets have an ``[auth]`` section; its identity is mapped to an
account by email.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import streamlit as st

from steward import access
from steward.access import Scope
from steward.errors import AccessDenied, ConfigError, StewardError
from steward.workspace import Workspace, open_workspace

TOKEN_KEY = "steward_token"
SCOPE_KEY = "steward_scope"


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


def oidc_configured() -> bool:
    try:
        return "auth" in st.secrets
    except (FileNotFoundError, KeyError, StewardError):
        return False
    except Exception:  # noqa: BLE001 - a malformed secrets.toml must not take the app down
        return False


def resolve_scope() -> Scope:
    """Verify the session (token or single sign-on) and remember the scope for this run."""
    path = config_path()
    ws = workspace(path)
    token = st.session_state.get(TOKEN_KEY)
    with ws.store.read() as conn:
        scope = access.scope_from_token(conn, token, _signing_key(path))
        if scope.role == "public" and token:
            # Forged, expired or disabled: forget it.
            del st.session_state[TOKEN_KEY]
        if (
            scope.role == "public"
            and oidc_configured()
            and bool(st.user.get("is_logged_in", False))
        ):
            # Only a verified email maps to an account (compared ignoring case).
            account = access.account_for_identity(conn, st.user.to_dict())
            if account is not None:
                scope = account.scope()
    st.session_state[SCOPE_KEY] = scope
    return scope


def scope() -> Scope:
    """The scope resolved at the start of this run (public when none)."""
    found = st.session_state.get(SCOPE_KEY)
    return found if isinstance(found, Scope) else Scope.public()


def _client() -> str | None:
    """The browser's address, for per-client sign-in backoff (None when unknown)."""
    try:
        return st.context.ip_address
    except AttributeError:
        return None


def sign_in(username: str, password: str) -> bool:
    """Sign in through the throttled check; raises SignInThrottled while backing off."""
    path = config_path()
    with workspace(path).store.read() as conn:
        account = access.sign_in(conn, username, password, client=_client())
    if account is None:
        return False
    st.session_state[TOKEN_KEY] = access.SessionToken.issue(account.username, _signing_key(path))
    return True


def sign_out() -> None:
    for key in (TOKEN_KEY, SCOPE_KEY):
        st.session_state.pop(key, None)
    if oidc_configured() and bool(st.user.get("is_logged_in", False)):
        st.logout()


@contextmanager
def shown_errors() -> Iterator[None]:
    """Show Steward's own errors as a message on the page (never a traceback)."""
    try:
        yield
    except AccessDenied as exc:
        st.error(f"Not allowed: {exc.message}", icon=":material/lock:")
    except StewardError as exc:
        st.error(exc.message + (f"\n\n{exc.hint}" if exc.hint else ""), icon=":material/error:")
