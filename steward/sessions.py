"""Dashboard sessions: signed, expiring, revocable, checked on every page run.

The browser keeps one cookie: a random session id signed and time-stamped with
``itsdangerous`` (the signing library behind Flask's sessions), keyed with
:func:`steward.access.signing_key`. The id names a ``dashboard_session`` row,
which says whose session it is, when it expires and whether it was revoked.
Every check (:func:`check`) reloads the account, so a session ends on the next
page run when:

* it expires (``SESSION_TTL`` after sign-in; the signature's age is checked too),
* the user signs out (the row is revoked, even if an old cookie is replayed),
* the account is disabled, or
* the account's password changed (the row keeps a keyed digest of the password
  hash it was issued under; single sign-on sessions have none and are ended by
  disabling the account).

A forged, altered or unknown cookie grants nothing: the public scope.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import Connection, delete, insert, select, update

from steward.access import AccountInfo, Scope, get_account
from steward.store.models import Account, DashboardSession

#: A signed-in dashboard session lasts this long; then the user signs in again.
SESSION_TTL = timedelta(hours=12)
#: Name of the browser cookie that carries the signed session id.
COOKIE = "steward_session"
_SALT = "steward.dashboard-session"


@dataclass(frozen=True)
class Check:
    """Outcome of checking a session cookie.

    ``scope`` is what the viewer may see (public when the session is not valid);
    ``ended`` says in plain words why a session that was presented no longer
    counts (None when it is valid or when there was no cookie at all).
    """

    scope: Scope
    ended: str | None = None


def _serializer(key: bytes) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(key, salt=_SALT)


def _row_id(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("ascii")).hexdigest()


def _password_mark(key: bytes, password_hash: str | None) -> str:
    if password_hash is None:
        return ""
    return hmac.new(key, password_hash.encode(), hashlib.sha256).hexdigest()


def _password_hash(conn: Connection, account_id: int) -> str | None:
    return conn.execute(select(Account.password_hash).where(Account.id == account_id)).scalar()


def issue(
    conn: Connection, account: AccountInfo, key: bytes, *, now: datetime | None = None
) -> str:
    """Start a session for ``account`` (in the caller's write transaction); returns the cookie value.

    The value is URL-safe ASCII (about 90 characters); it is meant for a cookie,
    never for a URL.
    """
    now = now or datetime.now(UTC)
    # Sessions past their end are useless: drop them so the table stays small.
    conn.execute(delete(DashboardSession).where(DashboardSession.expires_at < now))
    session_id = secrets.token_urlsafe(32)
    conn.execute(
        insert(DashboardSession),
        {
            "id": _row_id(session_id),
            "account_id": account.id,
            "created_at": now,
            "expires_at": now + SESSION_TTL,
            "revoked_at": None,
            "password_mark": _password_mark(key, _password_hash(conn, account.id)),
        },
    )
    return _serializer(key).dumps(session_id)


def _session_id(token: str, key: bytes) -> str | None:
    try:
        value = _serializer(key).loads(token, max_age=int(SESSION_TTL.total_seconds()))
    except (SignatureExpired, BadSignature):
        return None
    return value if isinstance(value, str) else None


def check(conn: Connection, token: str | None, key: bytes, *, now: datetime | None = None) -> Check:
    """Verify a session cookie and return the scope it grants (a read is enough).

    Public with a reason for an expired, revoked, forged, disabled-account or
    changed-password session; public without one when there is no cookie.
    """
    if not token:
        return Check(Scope.public())
    now = now or datetime.now(UTC)
    session_id = _session_id(token, key)
    if session_id is None:
        return Check(Scope.public(), "your session has expired or is not valid")
    row = conn.execute(
        select(
            DashboardSession.account_id,
            DashboardSession.expires_at,
            DashboardSession.revoked_at,
            DashboardSession.password_mark,
            Account.username,
            Account.password_hash,
        )
        .join(Account, Account.id == DashboardSession.account_id)
        .where(DashboardSession.id == _row_id(session_id))
    ).first()
    if row is None:
        return Check(Scope.public(), "your session is not known here")
    if row.revoked_at is not None:
        return Check(Scope.public(), "you signed out of this session")
    if row.expires_at <= now:
        return Check(Scope.public(), "your session has expired")
    if not hmac.compare_digest(row.password_mark, _password_mark(key, row.password_hash)):
        return Check(Scope.public(), "the account's password was changed")
    account = get_account(conn, row.username)
    if account is None or account.disabled:
        return Check(Scope.public(), "the account was disabled")
    scope = account.scope()
    if scope.role == "public":
        return Check(scope, "the account no longer has a role in a commons")
    return Check(scope)


def revoke(conn: Connection, token: str | None, key: bytes, *, now: datetime | None = None) -> bool:
    """End the session a cookie names (sign-out); True when a live session was revoked."""
    if not token:
        return False
    now = now or datetime.now(UTC)
    session_id = _session_id(token, key)
    if session_id is None:
        return False
    result = conn.execute(
        update(DashboardSession)
        .where(DashboardSession.id == _row_id(session_id), DashboardSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return bool(result.rowcount)
