"""Dashboard sessions: signed, expiring, revocable; disabled accounts and new passwords end them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from steward import access, sessions
from steward.access import Scope
from steward.store.models import Account, DashboardSession
from steward.workspace import Workspace, open_workspace

from .fixtures import Federation

KEY = b"k" * 32


@pytest.fixture
def ws(federation: Federation):  # type: ignore[no-untyped-def]
    opened = open_workspace(federation.config)
    yield opened
    opened.close()


def _issue(ws: Workspace, username: str, *, key: bytes = KEY, now: datetime | None = None) -> str:
    with ws.store.write() as conn:
        account = access.get_account(conn, username)
        assert account is not None
        return sessions.issue(conn, account, key, now=now)


def _check(ws: Workspace, token: str | None, *, key: bytes = KEY, now: datetime | None = None):  # type: ignore[no-untyped-def]
    with ws.store.read() as conn:
        return sessions.check(conn, token, key, now=now)


def test_a_session_grants_the_accounts_scope(ws: Workspace) -> None:
    token = _issue(ws, "alice")
    checked = _check(ws, token)
    assert checked.scope.is_member and checked.scope.username == "alice"
    assert checked.ended is None
    assert _check(ws, None) == sessions.Check(Scope.public())


def test_the_store_keeps_no_usable_cookie(ws: Workspace) -> None:
    token = _issue(ws, "sam")
    with ws.store.read() as conn:
        stored = conn.execute(select(DashboardSession.id)).scalars().all()
    assert len(stored) == 1 and stored[0] not in token


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(
            lambda t: t[:-3] + ("AAA" if not t.endswith("AAA") else "BBB"), id="signature"
        ),
        pytest.param(lambda t: t.split(".")[0], id="unsigned"),
        pytest.param(lambda t: "garbage", id="garbage"),
        pytest.param(lambda t: t + ".extra", id="extra-part"),
        pytest.param(lambda t: "x" + t, id="body"),
    ],
)
def test_forged_cookies_grant_nothing(ws: Workspace, mangle) -> None:  # type: ignore[no-untyped-def]
    checked = _check(ws, mangle(_issue(ws, "sam")))
    assert checked.scope == Scope.public() and checked.ended


def test_a_cookie_signed_with_another_key_grants_nothing(ws: Workspace) -> None:
    token = _issue(ws, "sam", key=b"x" * 32)
    assert _check(ws, token).scope == Scope.public()


def test_a_session_expires(ws: Workspace) -> None:
    start = datetime.now(UTC)
    token = _issue(ws, "sam", now=start)
    almost = start + sessions.SESSION_TTL - timedelta(seconds=1)
    assert _check(ws, token, now=almost).scope.is_steward
    ended = _check(ws, token, now=start + sessions.SESSION_TTL)
    assert ended.scope == Scope.public() and ended.ended == "your session has expired"


def test_sign_out_revokes_even_a_replayed_cookie(ws: Workspace) -> None:
    token = _issue(ws, "sam")
    with ws.store.write() as conn:
        assert sessions.revoke(conn, token, KEY)
        assert not sessions.revoke(conn, token, KEY)
    checked = _check(ws, token)
    assert checked.scope == Scope.public() and checked.ended == "you signed out of this session"


def test_disabling_the_account_ends_its_open_sessions(ws: Workspace) -> None:
    token = _issue(ws, "alice")
    with ws.store.write() as conn:
        access.disable_account(conn, "alice")
    checked = _check(ws, token)
    assert checked.scope == Scope.public() and checked.ended == "the account was disabled"


def test_a_changed_password_ends_the_sessions_issued_before(ws: Workspace) -> None:
    token = _issue(ws, "alice")
    with ws.store.write() as conn:
        conn.execute(
            update(Account)
            .where(Account.username == "alice")
            .values(password_hash=access.hash_password("a-brand-new-pass"))
        )
    checked = _check(ws, token)
    assert checked.scope == Scope.public()
    assert checked.ended == "the account's password was changed"
    assert _check(ws, _issue(ws, "alice")).scope.is_member


def test_issuing_drops_sessions_past_their_end(ws: Workspace) -> None:
    long_ago = datetime.now(UTC) - 2 * sessions.SESSION_TTL
    _issue(ws, "sam", now=long_ago)
    _issue(ws, "sam")
    with ws.store.read() as conn:
        assert len(conn.execute(select(DashboardSession.id)).all()) == 1
