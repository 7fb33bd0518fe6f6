"""Accounts, passwords, scopes and the session signing key."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from steward import access
from steward.access import Scope
from steward.errors import AccessDenied, ConfigError, InputError
from steward.store.models import AppSecret

from .fixtures import PASSWORDS, Federation

KEY = b"k" * 32


def test_password_hash_is_argon2_and_verifies() -> None:
    hashed = access.hash_password("correct horse")
    assert hashed.startswith("$argon2")
    assert "correct horse" not in hashed
    assert access.verify_password(hashed, "correct horse")
    assert not access.verify_password(hashed, "wrong horse")
    assert not access.verify_password(None, "correct horse")
    assert not access.verify_password("not-a-hash", "correct horse")


def test_short_password_is_refused_with_a_hint() -> None:
    with pytest.raises(InputError, match="too short") as info:
        access.hash_password("short")
    assert info.value.hint and "8" in info.value.hint


def test_signing_key_from_env(store) -> None:  # type: ignore[no-untyped-def]
    with store.write() as conn:
        assert access.signing_key(conn, {access.SECRET_ENV: "s" * 40}) == b"s" * 40
        assert conn.execute(select(AppSecret)).first() is None


def test_short_signing_key_in_env_is_refused(store) -> None:  # type: ignore[no-untyped-def]
    with store.write() as conn, pytest.raises(ConfigError, match="too short"):
        access.signing_key(conn, {access.SECRET_ENV: "short"})


def test_signing_key_is_generated_once_and_kept(store) -> None:  # type: ignore[no-untyped-def]
    with store.write() as conn:
        first = access.signing_key(conn, {})
    with store.write() as conn:
        second = access.signing_key(conn, {})
    assert first == second and len(first) == 64


def test_scope_guards() -> None:
    steward = Scope.steward(1, "sam")
    member = Scope.member(1, 7, "alice")
    assert steward.require_steward(1) == 1
    with pytest.raises(AccessDenied, match="another commons"):
        steward.require_steward(2)
    for scope in (member, Scope.public()):
        with pytest.raises(AccessDenied, match="stewards only"):
            scope.require_steward()
    assert member.require_member() == (1, 7)
    for scope in (steward, Scope.public()):
        with pytest.raises(AccessDenied, match="member"):
            scope.require_member()


def test_authenticate_and_disable(federation: Federation, db_url: str) -> None:
    from steward.workspace import open_workspace

    ws = open_workspace(federation.config)
    try:
        with ws.store.read() as conn:
            sam = access.authenticate(conn, "sam", PASSWORDS["sam"])
            assert sam is not None and sam.scope().is_steward
            alice = access.authenticate(conn, "alice", PASSWORDS["alice"])
            assert alice is not None and alice.scope().member_id is not None
            assert access.authenticate(conn, "alice", PASSWORDS["bob"]) is None
            assert access.authenticate(conn, "nobody", "whatever-pass") is None
        with ws.store.write() as conn:
            access.disable_account(conn, "alice")
        with ws.store.read() as conn:
            assert access.authenticate(conn, "alice", PASSWORDS["alice"]) is None
    finally:
        ws.close()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"username": "bad name!", "role": "member", "member": "alice"}, "not allowed"),
        ({"username": "x1", "role": "admin"}, "unknown role"),
        ({"username": "x2", "role": "member"}, "needs --member"),
        ({"username": "x3", "role": "member", "member": "zed"}, "is not in commons"),
        ({"username": "x4", "role": "steward", "member": "alice"}, "member accounts only"),
        ({"username": "sam", "role": "steward"}, "already exists"),
        ({"username": "x5", "role": "steward", "commons": "nowhere"}, "does not exist"),
    ],
)
def test_create_account_errors(federation: Federation, kwargs: dict, message: str) -> None:  # type: ignore[type-arg]
    from steward.workspace import open_workspace

    kwargs = {"commons": "toolshed", **kwargs}  # parametrized dicts are shared: never mutate
    ws = open_workspace(federation.config)
    try:
        with ws.store.write() as conn, pytest.raises(InputError, match=message):
            access.create_account(conn, password="long-enough-1", **kwargs)
    finally:
        ws.close()
