"""Accounts, roles, and the access scope every dashboard read goes through.

A :class:`Scope` says who is asking: the steward of a commons, a member, or the
public. Query functions in :mod:`steward.queries` take it first and enforce the
rule "a member sees only their own usage" there, below the UI.

Built-in accounts keep argon2 password hashes. New passwords are refused when
blank, the username, shorter than :data:`MIN_PASSWORD` or easy to guess
(zxcvbn score below :data:`MIN_STRENGTH`; zxcvbn ranks passwords against lists of
the commonest ones, names and words). Sign-in goes through a :class:`SignInGuard`:
per-account and per-client backoff after :data:`FREE_FAILURES` failures, and at
most :data:`CONCURRENT_CHECKS` argon2 checks at once (each uses 64 MiB).

Dashboard sessions (:mod:`steward.sessions`) are signed with
``STEWARD_SECRET_KEY`` or, for the embedded default, a key generated once and
kept in the database (:func:`signing_key`).
"""

from __future__ import annotations

import os
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from zxcvbn import zxcvbn

from steward.errors import AccessDenied, ConfigError, InputError
from steward.store.models import Account, AppSecret, Commons, Member, Role

SECRET_ENV = "STEWARD_SECRET_KEY"
SECRET_NAME = "session_signing_key"
MIN_PASSWORD = 8
#: zxcvbn score (0-4) a new password needs: 2 = "somewhat guessable" (about 10^8 guesses).
MIN_STRENGTH = 2
#: Failed sign-ins (per account, per client) before each further attempt waits.
FREE_FAILURES = 5
#: The wait after the sixth failure; it doubles with each further failure, up to BACKOFF_CAP.
BACKOFF_BASE = timedelta(seconds=1)
BACKOFF_CAP = timedelta(minutes=15)
#: Failures older than this are forgotten.
FAILURE_WINDOW = timedelta(minutes=30)
#: argon2 checks that may run at once in one process (64 MiB each with argon2-cffi's defaults).
CONCURRENT_CHECKS = 2
USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$")

_hasher = PasswordHasher()
# Verifying against this keeps an unknown username as slow as a wrong password.
_DUMMY_HASH = _hasher.hash("not a real password")

ScopeRole = Literal["steward", "member", "public"]


@dataclass(frozen=True)
class Scope:
    """Who is reading. Immutable and hashable, so it can key caches."""

    role: ScopeRole
    commons_id: int | None = None
    member_id: int | None = None
    username: str | None = None

    @classmethod
    def public(cls) -> Scope:
        return cls("public")

    @classmethod
    def steward(cls, commons_id: int, username: str | None = None) -> Scope:
        return cls("steward", commons_id=commons_id, username=username)

    @classmethod
    def member(cls, commons_id: int, member_id: int, username: str | None = None) -> Scope:
        return cls("member", commons_id=commons_id, member_id=member_id, username=username)

    @property
    def is_steward(self) -> bool:
        return self.role == "steward"

    @property
    def is_member(self) -> bool:
        return self.role == "member"

    def stewards(self, commons_id: int) -> bool:
        return self.role == "steward" and self.commons_id == commons_id

    def require_steward(self, commons_id: int | None = None) -> int:
        """The steward's commons id; AccessDenied for anyone else (or another commons)."""
        if self.role != "steward" or self.commons_id is None:
            raise AccessDenied(
                "this view is for stewards only",
                hint="sign in with a steward account (`steward account add --role steward`)",
            )
        if commons_id is not None and commons_id != self.commons_id:
            raise AccessDenied(
                "this resource belongs to another commons than the one you steward",
                hint="sign in as a steward of that commons",
            )
        return self.commons_id

    def require_member(self) -> tuple[int, int]:
        """(commons id, member id) of a member scope; AccessDenied otherwise."""
        if self.role != "member" or self.member_id is None or self.commons_id is None:
            raise AccessDenied(
                "this view shows a member's own usage: sign in with a member account",
                hint="ask a steward to run `steward account add --role member --member CODE`",
            )
        return self.commons_id, self.member_id


@dataclass(frozen=True)
class AccountInfo:
    id: int
    username: str
    role: Role
    commons_id: int | None
    commons_slug: str | None
    member_id: int | None
    member_code: str | None
    email: str | None
    disabled: bool
    created_at: datetime

    def scope(self) -> Scope:
        if self.disabled:
            return Scope.public()
        if self.role == Role.STEWARD and self.commons_id is not None:
            return Scope.steward(self.commons_id, self.username)
        if self.role == Role.MEMBER and self.commons_id is not None and self.member_id is not None:
            return Scope.member(self.commons_id, self.member_id, self.username)
        return Scope.public()


# -- passwords ---------------------------------------------------------------------


def check_password(password: str, username: str | None = None) -> None:
    """Refuse a weak new password with InputError saying why (never echoing it).

    Refused: blank or all-space, shorter than MIN_PASSWORD characters, equal to
    the username (any case), or zxcvbn score below MIN_STRENGTH (common
    passwords such as ``Password1`` or ``qwertyuiop``, and their l33t variants).
    """
    if not password.strip():
        raise InputError("the password is blank", hint="choose a passphrase of a few words")
    if len(password) < MIN_PASSWORD:
        raise InputError(
            f"the password is too short ({len(password)} characters)",
            hint=f"use at least {MIN_PASSWORD} characters",
        )
    if username is not None and password.strip().casefold() == username.casefold():
        raise InputError("the password is the username", hint="choose a passphrase of a few words")
    result = zxcvbn(password[:100], user_inputs=[username] if username else [])
    if int(result["score"]) < MIN_STRENGTH:
        warning = str(result["feedback"].get("warning") or "it is too easy to guess")
        raise InputError(
            f"the password is too easy to guess: {warning.rstrip('.').lower()}",
            hint="add a few uncommon words; avoid common passwords, names and keyboard runs",
        )


def hash_password(password: str, username: str | None = None) -> str:
    """argon2 hash of a new password, after :func:`check_password`."""
    check_password(password, username)
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


# -- accounts ----------------------------------------------------------------------


def _account_select():  # type: ignore[no-untyped-def]
    return (
        select(
            Account.id,
            Account.username,
            Account.role,
            Account.commons_id,
            Commons.slug.label("commons_slug"),
            Account.member_id,
            Member.code.label("member_code"),
            Account.email,
            Account.disabled,
            Account.created_at,
        )
        .outerjoin(Commons, Commons.id == Account.commons_id)
        .outerjoin(Member, Member.id == Account.member_id)
        .order_by(Account.username)
    )


def create_account(
    conn: Connection,
    *,
    username: str,
    password: str | None,
    role: str,
    commons: str,
    member: str | None = None,
    email: str | None = None,
    now: datetime | None = None,
) -> AccountInfo:
    """Add a built-in account (password hashed with argon2) in the caller's transaction."""
    if not USERNAME.match(username):
        raise InputError(
            f"username {username!r} is not allowed",
            hint="use letters, digits and . _ @ - (up to 128 characters), starting with a letter or digit",
        )
    try:
        role_value = Role(role)
    except ValueError:
        raise InputError(f"unknown role {role!r}", hint="use steward or member") from None
    commons_id = conn.execute(select(Commons.id).where(Commons.slug == commons)).scalar()
    if commons_id is None:
        known = ", ".join(conn.execute(select(Commons.slug).order_by(Commons.slug)).scalars())
        raise InputError(
            f"commons {commons!r} does not exist (known: {known or 'none'})",
            hint="check the commons slug in your configuration",
        )
    member_id = None
    if role_value == Role.MEMBER:
        if not member:
            raise InputError(
                "a member account needs --member CODE", hint="the code of a member of that commons"
            )
        member_id = conn.execute(
            select(Member.id).where(Member.commons_id == commons_id, Member.code == member)
        ).scalar()
        if member_id is None:
            raise InputError(
                f"member {member!r} is not in commons {commons!r}",
                hint="import members first (`steward import members ...`), then add the account",
            )
    elif member:
        raise InputError("--member applies to member accounts only", hint="drop --member")
    exists = conn.execute(select(Account.id).where(Account.username == username)).scalar()
    if exists is not None:
        raise InputError(
            f"account {username!r} already exists",
            hint="re-enable it with `steward account enable`, or choose another username",
        )
    if email is not None:
        email = _check_email(conn, email)
    conn.execute(
        insert(Account),
        {
            "username": username,
            "password_hash": hash_password(password, username) if password is not None else None,
            "role": role_value,
            "commons_id": commons_id,
            "member_id": member_id,
            "email": email,
            "created_at": now or datetime.now(UTC),
            "disabled": False,
        },
    )
    found = get_account(conn, username)
    assert found is not None
    return found


def get_account(conn: Connection, username: str) -> AccountInfo | None:
    row = conn.execute(_account_select().where(Account.username == username)).first()
    return AccountInfo(**row._mapping) if row else None


def _check_email(conn: Connection, email: str, *, account_id: int | None = None) -> str:
    """A trimmed email that no other account holds in any case; InputError otherwise."""
    email = email.strip()
    if email.count("@") != 1 or not all(email.split("@")) or len(email) > 320:
        raise InputError(f"{email!r} is not an email address", hint="e.g. ada@example.org")
    taken = conn.execute(
        select(Account.username).where(
            func.lower(Account.email) == email.lower(),
            Account.id != (account_id if account_id is not None else -1),
        )
    ).scalar()
    if taken is not None:
        raise InputError(
            f"the email {email} already belongs to account {taken!r}",
            hint="each mailbox signs in to one account (emails are compared ignoring case)",
        )
    return email


def account_by_email(conn: Connection, email: str) -> AccountInfo | None:
    """The one enabled account with this email, compared ignoring case; None if none or several."""
    rows = conn.execute(
        _account_select().where(
            func.lower(Account.email) == email.strip().lower(), Account.disabled.is_(False)
        )
    ).all()
    return AccountInfo(**rows[0]._mapping) if len(rows) == 1 else None


def account_for_identity(conn: Connection, claims: Mapping[str, Any]) -> AccountInfo | None:
    """The account a single sign-on identity may use: its email must be verified.

    ``claims`` are the OIDC ID token's claims (Streamlit's ``st.user``). An
    identity whose ``email_verified`` is not true (missing, false, "false") gets
    no account: anyone can put any address on an unverified identity.
    """
    email = claims.get("email")
    verified = claims.get("email_verified")
    if not isinstance(email, str) or not email.strip():
        return None
    if verified is not True and str(verified).lower() != "true":
        return None
    return account_by_email(conn, email)


def list_accounts(conn: Connection) -> list[AccountInfo]:
    return [AccountInfo(**row._mapping) for row in conn.execute(_account_select()).all()]


def require_account(conn: Connection, username: str) -> AccountInfo:
    """The named account; InputError when there is none."""
    found = get_account(conn, username)
    if found is None:
        raise InputError(
            f"no account named {username!r}", hint="`steward account list` shows the accounts"
        )
    return found


def disable_account(conn: Connection, username: str) -> AccountInfo:
    """Disable an account: no sign-in, and its open sessions end at their next check."""
    require_account(conn, username)
    conn.execute(update(Account).where(Account.username == username).values(disabled=True))
    return require_account(conn, username)


def enable_account(conn: Connection, username: str) -> AccountInfo:
    """Re-enable a disabled account (its password is unchanged)."""
    require_account(conn, username)
    conn.execute(update(Account).where(Account.username == username).values(disabled=False))
    return require_account(conn, username)


def set_password(conn: Connection, username: str, password: str) -> AccountInfo:
    """Replace an account's password (checked as for a new account)."""
    require_account(conn, username)
    conn.execute(
        update(Account)
        .where(Account.username == username)
        .values(password_hash=hash_password(password, username))
    )
    return require_account(conn, username)


def authenticate(conn: Connection, username: str, password: str) -> AccountInfo | None:
    """The account if the password matches and it is enabled; None otherwise.

    Unknown users, wrong passwords and disabled accounts are indistinguishable.
    Unthrottled: the dashboard signs in through :func:`sign_in`.
    """
    row = conn.execute(
        select(Account.password_hash, Account.disabled).where(Account.username == username)
    ).first()
    ok = verify_password(row.password_hash if row else None, password)
    if not ok or row is None or row.disabled:
        return None
    return get_account(conn, username)


# -- sign-in throttling --------------------------------------------------------------


class SignInThrottled(AccessDenied):
    """Too many failed sign-ins (or too many at once): try again after ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message, hint=f"wait {retry_after:.0f} s, then try again")
        self.retry_after = retry_after


def backoff_after(failures: int) -> timedelta:
    """How long the next attempt waits after ``failures`` failures in a row.

    Nothing for the first FREE_FAILURES; then 1 s, 2 s, 4 s, ... up to 15 minutes.
    """
    if failures < FREE_FAILURES:
        return timedelta(0)
    return min(BACKOFF_BASE * 2 ** min(failures - FREE_FAILURES, 20), BACKOFF_CAP)


@dataclass
class _Failures:
    count: int
    last: float


class SignInGuard:
    """Per-account and per-client backoff, and a bound on concurrent argon2 checks.

    State is per process and in memory: at most ``max_keys`` failure records are
    kept (least recently failed dropped first), so the guard itself cannot be
    grown without bound by a flood of invented usernames or addresses.
    """

    def __init__(
        self,
        *,
        concurrent: int = CONCURRENT_CHECKS,
        max_keys: int = 10_000,
        wait_seconds: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._slots = threading.BoundedSemaphore(concurrent)
        self._lock = threading.Lock()
        self._failures: OrderedDict[str, _Failures] = OrderedDict()
        self._max_keys = max_keys
        self._wait = wait_seconds
        self._clock = clock

    def _keys(self, username: str, client: str | None) -> list[str]:
        keys = [f"account:{username.casefold()}"]
        if client:
            keys.append(f"client:{client}")
        return keys

    def retry_after(self, username: str, client: str | None) -> float:
        """Seconds until this account and client may try again (0 = now)."""
        now = self._clock()
        wait = 0.0
        with self._lock:
            for key in self._keys(username, client):
                record = self._failures.get(key)
                if record is None:
                    continue
                if now - record.last > FAILURE_WINDOW.total_seconds():
                    del self._failures[key]
                    continue
                delay = backoff_after(record.count).total_seconds()
                wait = max(wait, record.last + delay - now)
        return max(wait, 0.0)

    def failed(self, username: str, client: str | None) -> None:
        now = self._clock()
        with self._lock:
            for key in self._keys(username, client):
                record = self._failures.pop(key, None) or _Failures(0, now)
                record.count, record.last = record.count + 1, now
                self._failures[key] = record
            while len(self._failures) > self._max_keys:
                self._failures.popitem(last=False)

    def succeeded(self, username: str) -> None:
        """The account's failures are forgotten; the client's stay until they age out."""
        with self._lock:
            self._failures.pop(f"account:{username.casefold()}", None)

    def check(self, verify: Callable[[], bool]) -> bool:
        """Run ``verify`` (an argon2 check) in one of the bounded slots."""
        if not self._slots.acquire(timeout=self._wait):
            raise SignInThrottled("too many sign-ins are being checked at once", self._wait)
        try:
            return verify()
        finally:
            self._slots.release()


#: The dashboard process's guard.
GUARD = SignInGuard()


def sign_in(
    conn: Connection,
    username: str,
    password: str,
    *,
    client: str | None = None,
    guard: SignInGuard = GUARD,
) -> AccountInfo | None:
    """:func:`authenticate`, throttled: what the dashboard's sign-in form calls.

    ``client`` identifies where the attempt comes from (the browser's address).
    Raises SignInThrottled while the account or the client is backing off (no
    password is checked then), or when every argon2 slot stays busy.
    """
    wait = guard.retry_after(username, client)
    if wait > 0:
        raise SignInThrottled(f"too many failed sign-ins; try again in {max(wait, 1):.0f} s", wait)
    ok = guard.check(lambda: authenticate(conn, username, password) is not None)
    if not ok:
        guard.failed(username, client)
        return None
    guard.succeeded(username)
    return get_account(conn, username)


# -- session signing key ---------------------------------------------------------


def signing_key(conn: Connection, env: dict[str, str] | None = None) -> bytes:
    """The session signing key: STEWARD_SECRET_KEY, else one generated once and stored.

    ``conn`` must be a write transaction the first time (it may insert the key).
    """
    env = dict(os.environ) if env is None else env
    configured = env.get(SECRET_ENV)
    if configured is not None:
        if len(configured) < 32:
            raise ConfigError(
                f"{SECRET_ENV} is too short ({len(configured)} characters)",
                hint='generate one with: python -c "import secrets; print(secrets.token_hex(32))"',
            )
        return configured.encode()
    stored = conn.execute(select(AppSecret.value).where(AppSecret.name == SECRET_NAME)).scalar()
    if stored is None:
        value = secrets.token_hex(32)
        try:
            with conn.begin_nested():
                conn.execute(
                    insert(AppSecret),
                    {"name": SECRET_NAME, "value": value, "created_at": datetime.now(UTC)},
                )
            stored = value
        except IntegrityError:
            # Another process stored its key first: use that one.
            stored = conn.execute(
                select(AppSecret.value).where(AppSecret.name == SECRET_NAME)
            ).scalar_one()
    return stored.encode()
