"""Sign-in cannot be hammered: backoff per account and per client, bounded argon2 checks.

Backoff (documented in the README): the first 5 failures cost nothing; then each
attempt waits 1 s, 2 s, 4 s, ... up to 15 minutes, per account and per client.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from steward import access
from steward.access import SignInGuard, SignInThrottled, backoff_after
from steward.errors import InputError
from steward.workspace import open_workspace

from .fixtures import PASSWORDS, Federation
from .test_commands import run


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_backoff_schedule() -> None:
    assert [backoff_after(n).total_seconds() for n in range(4, 10)] == [0, 1, 2, 4, 8, 16]
    assert backoff_after(40).total_seconds() == 900


def test_after_five_failures_the_account_slows_and_no_password_is_checked(
    federation: Federation, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    guard = SignInGuard(clock=clock)
    checks: list[str] = []
    real = access.verify_password

    def counting(hashed: str | None, password: str) -> bool:
        checks.append(password)
        return real(hashed, password)

    monkeypatch.setattr(access, "verify_password", counting)
    ws = open_workspace(federation.config)
    try:
        with ws.store.read() as conn:
            for i in range(5):
                assert (
                    access.sign_in(conn, "sam", f"wrong-{i}", client="10.0.0.1", guard=guard)
                    is None
                )
            # Sixth attempt, even with the right password and from another client: wait 1 s.
            with pytest.raises(
                SignInThrottled, match=r"too many failed sign-ins; try again in 1 s"
            ):
                access.sign_in(conn, "sam", PASSWORDS["sam"], client="10.0.0.2", guard=guard)
            assert len(checks) == 5  # the throttled attempt never reached argon2
            clock.now += 1.0
            assert access.sign_in(conn, "sam", "wrong-5", client="10.0.0.2", guard=guard) is None
            with pytest.raises(SignInThrottled) as info:
                access.sign_in(conn, "sam", PASSWORDS["sam"], guard=guard)
            assert info.value.retry_after == pytest.approx(2.0)
            clock.now += 2.0
            ok = access.sign_in(conn, "sam", PASSWORDS["sam"], client="10.0.0.3", guard=guard)
            assert ok is not None and ok.username == "sam"
            # Success forgets the account's failures: the next wrong password is free again.
            assert access.sign_in(conn, "sam", "wrong-6", client="10.0.0.3", guard=guard) is None
            assert guard.retry_after("sam", "10.0.0.3") == 0
            # One client spraying passwords over many usernames slows down too.
            for name in ("u1", "u2", "u3", "u4", "u5"):
                access.sign_in(conn, name, "x", client="10.6.6.6", guard=guard)
            with pytest.raises(SignInThrottled):
                access.sign_in(conn, "alice", PASSWORDS["alice"], client="10.6.6.6", guard=guard)
            assert access.sign_in(conn, "alice", PASSWORDS["alice"], client="10.0.0.9", guard=guard)
    finally:
        ws.close()


def test_failures_age_out_and_the_failure_table_is_bounded() -> None:
    clock = Clock()
    guard = SignInGuard(clock=clock, max_keys=100)
    for _ in range(6):
        guard.failed("sam", "10.0.0.1")
    assert guard.retry_after("sam", None) == pytest.approx(2.0)
    clock.now += access.FAILURE_WINDOW.total_seconds() + 1
    assert guard.retry_after("sam", None) == 0
    for i in range(10_000):
        guard.failed(f"invented-{i}", f"10.1.{i // 256}.{i % 256}")
    assert len(guard._failures) == 100


def test_concurrent_argon2_checks_are_bounded() -> None:
    guard = SignInGuard(concurrent=2)
    running, peak, lock = 0, 0, threading.Lock()

    def slow_check() -> bool:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.05)
        with lock:
            running -= 1
        return False

    threads = [threading.Thread(target=guard.check, args=(slow_check,)) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak == 2


MEMORY_PROBE = r"""
import json, resource, sys, threading
from steward import access
good = access.hash_password("a long enough passphrase")
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
guard = access.SignInGuard(wait_seconds=120)
def attempt(i):
    guard.check(lambda: access.verify_password(good, f"wrong-{i}"))
threads = [threading.Thread(target=attempt, args=(i,)) for i in range(20)]
[t.start() for t in threads]
[t.join() for t in threads]
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"base_kib": base, "peak_kib": peak}))
"""


def test_twenty_concurrent_wrong_passwords_stay_under_the_memory_bound() -> None:
    """20 at once, each argon2 check 64 MiB: peak growth stays under 2 checks' worth + slack.

    Unbounded, the same probe grows by about 19 x 64 MiB (1.2 GiB).
    """
    proc = subprocess.run(
        [sys.executable, "-c", MEMORY_PROBE],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        timeout=300,
    )
    figures = json.loads(proc.stdout.strip().splitlines()[-1])
    growth_mib = (figures["peak_kib"] - figures["base_kib"]) / 1024
    print(f"peak {figures['peak_kib'] / 1024:.0f} MiB, growth {growth_mib:.0f} MiB")
    assert growth_mib < access.CONCURRENT_CHECKS * 64 + 32


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("", "the password is blank"),
        ("          ", "the password is blank"),
        ("sam-the-steward", None),  # strong enough, for contrast
        ("Password1", "too easy to guess"),
        ("qwertyuiop", "too easy to guess"),
        ("P@ssw0rd", "too easy to guess"),
        ("12345678", "too easy to guess"),
        ("samwise01", None),
    ],
)
def test_weak_passwords_are_refused(password: str, message: str | None) -> None:
    if message is None:
        access.check_password(password, "sam")
        return
    with pytest.raises(InputError, match=message):
        access.check_password(password, "sam")


def test_the_username_is_not_a_password() -> None:
    with pytest.raises(InputError, match="the password is the username"):
        access.check_password("Samwise-Gamgee", "samwise-gamgee")


def test_passwd_and_re_enable_from_the_command_line(federation: Federation) -> None:
    assert run(federation.config, "account", "disable", "bob").returncode == 0
    weak = run(
        federation.config,
        "account",
        "passwd",
        "bob",
        "--password-env",
        "PW",
        env={"PW": "password"},
    )
    assert weak.returncode == 1 and "too easy to guess" in weak.stderr
    changed = run(
        federation.config,
        "account",
        "passwd",
        "bob",
        "--password-env",
        "PW",
        env={"PW": "new-bramble-path"},
    )
    assert changed.returncode == 0, changed.stderr
    assert run(federation.config, "account", "enable", "bob").returncode == 0
    ws = open_workspace(federation.config)
    try:
        with ws.store.read() as conn:
            assert access.authenticate(conn, "bob", PASSWORDS["bob"]) is None
            bob = access.authenticate(conn, "bob", "new-bramble-path")
            assert bob is not None and not bob.disabled
    finally:
        ws.close()
    ghost = run(
        federation.config, "account", "passwd", "ghost", "--password-env", "PW", env={"PW": "x"}
    )
    assert ghost.returncode == 1 and "no account named 'ghost'" in ghost.stderr


def test_single_sign_on_needs_a_verified_email_compared_ignoring_case(
    federation: Federation,
) -> None:
    ws = open_workspace(federation.config)
    try:
        with ws.store.write() as conn:
            access.create_account(
                conn,
                username="sue",
                password=None,
                role="steward",
                commons="toolshed",
                email="Sue.Steward@Example.org",
            )
            with pytest.raises(InputError, match="already belongs to account 'sue'"):
                access.create_account(
                    conn,
                    username="sue2",
                    password=None,
                    role="steward",
                    commons="orchard",
                    email="sue.steward@example.ORG",
                )
        with ws.store.read() as conn:
            for claims, expected in (
                ({"email": "sue.steward@example.org", "email_verified": True}, "sue"),
                ({"email": "SUE.STEWARD@EXAMPLE.ORG", "email_verified": "true"}, "sue"),
                ({"email": "sue.steward@example.org", "email_verified": False}, None),
                ({"email": "sue.steward@example.org", "email_verified": "false"}, None),
                ({"email": "sue.steward@example.org"}, None),
                ({"email": "", "email_verified": True}, None),
                ({"email": "nobody@example.org", "email_verified": True}, None),
            ):
                found = access.account_for_identity(conn, claims)
                assert (found.username if found else None) == expected, claims
    finally:
        ws.close()
