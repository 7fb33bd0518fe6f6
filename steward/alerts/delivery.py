"""Deliver the outbox through Apprise: at least once, deduplicable, with capped retries.

Each message is claimed (a short lease) in its own transaction, sent outside
any transaction, then marked delivered, so a second worker never sends it while
the lease holds and a failure is never lost: ``notify()`` returning False or
None counts as a failure and the message is retried with exponential backoff.
Delivery is at least once, not exactly once: a crash between the send and the
commit, or a receiver that answers after the timeout, means the message is sent
again. Every copy carries the same idempotency key (:func:`idempotency_key`):
webhooks (``json``, ``xml``, ``form``) get an ``Idempotency-Key`` header, email
gets it as its ``Message-ID`` and an ``Idempotency-Key`` header, so a receiver
can drop repeats. After :data:`MAX_ATTEMPTS` failed attempts a message becomes a
dead letter (``dead_at``): stewards see it (``steward alerts outbox``, the
dashboard's alerts page) and may retry it; it is never sent again by itself.

Apprise URLs carry secrets (tokens, passwords), so only their privacy form
(``URLBase.url(privacy=True)``) is ever logged or stored.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

import apprise
from sqlalchemy import Connection, select, update

from steward.alerts.outbox import EMAIL_PLACEHOLDER
from steward.alerts.records import entities
from steward.config import RouteConfig, Settings
from steward.errors import AlertError, DeliveryError
from steward.store.engine import Store
from steward.store.models import Alert, Member, OutboxMessage

log = logging.getLogger(__name__)

#: How long a claimed message is reserved for the worker that claimed it.
LEASE = timedelta(minutes=5)
FIRST_RETRY = timedelta(minutes=1)
MAX_RETRY = timedelta(hours=6)
#: Attempts before a message becomes a dead letter (1+2+...+256 min: about 8.5 hours).
MAX_ATTEMPTS = 10
#: Apprise schemes that take custom headers as ``+Name=value`` URL parameters.
_HEADER_SCHEMES = {"json", "jsons", "xml", "xmls", "form", "forms"}
_EMAIL_SCHEMES = {"mailto", "mailtos"}
_msgid_lock = threading.Lock()


def idempotency_key(dedupe_key: str) -> str:
    """The message's stable key: the same for every attempt and every process.

    Derived from the outbox row's unique ``dedupe_key`` (alert, state change,
    route, URL), so a resend after a crash carries the key of the first send.
    """
    return "steward-" + hashlib.sha256(dedupe_key.encode("utf-8")).hexdigest()[:32]


def with_key(url: str, key: str) -> str:
    """``url`` asking Apprise to send the key as an ``Idempotency-Key`` header, where it can."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in _HEADER_SCHEMES | _EMAIL_SCHEMES:
        return url
    extra = urlencode({"+Idempotency-Key": key})
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


@contextmanager
def _message_id(url: str, key: str | None) -> Iterator[None]:
    """For email, make the Message-ID Apprise generates the idempotency key.

    Apprise builds the header with ``email.utils.make_msgid`` (looked up in its
    email module) and offers no option for it; the name is swapped for this one
    send, under a lock, and restored. Other schemes are left untouched.
    """
    if key is None or urlsplit(url).scheme.lower() not in _EMAIL_SCHEMES:
        yield
        return
    from apprise.plugins.email import base as email_base

    if not hasattr(email_base, "make_msgid"):  # a future Apprise: the header still has the key
        yield
        return

    def stable(*_args: Any, domain: str | None = None, **_kw: Any) -> str:
        return f"<{key}@{domain or 'steward.invalid'}>"

    with _msgid_lock:
        original = email_base.make_msgid
        email_base.make_msgid = stable
        try:
            yield
        finally:
            email_base.make_msgid = original


def backoff(attempts: int) -> timedelta:
    """1 min, 2 min, 4 min, ... capped at 6 h, until MAX_ATTEMPTS (then a dead letter)."""
    doublings = min(max(attempts - 1, 0), 20)  # 2^20 minutes is far past the cap
    return min(FIRST_RETRY * 2**doublings, MAX_RETRY)


@dataclass
class DeliverySummary:
    delivered: int = 0
    failed: int = 0
    #: Messages that ran out of attempts in this pass (now dead letters).
    dead: int = 0
    errors: list[str] = field(default_factory=list)


def _route(settings: Settings, name: str) -> RouteConfig:
    for route in settings.alerts.routes:
        if route.name == name:
            return route
    known = ", ".join(r.name for r in settings.alerts.routes) or "none"
    raise AlertError(
        f"route {name!r} is not configured (known: {known})",
        hint="add it under alerts.routes in the configuration",
    )


def _target(url: str, email: str | None) -> apprise.plugins.NotifyBase:
    if EMAIL_PLACEHOLDER in url:
        if not email:
            raise DeliveryError("this route addresses members by {email}, but there is no address")
        url = url.replace(EMAIL_PLACEHOLDER, quote(email, safe="@"))
    plugin = apprise.Apprise.instantiate(url)
    if plugin is None:
        raise DeliveryError(
            "the URL is not a valid Apprise URL",
            hint="see https://github.com/caronc/apprise/wiki for the URL of each service",
        )
    return plugin


def send(
    url: str, title: str, body: str, *, email: str | None = None, key: str | None = None
) -> str:
    """Send one message; returns the URL's privacy form. Raises DeliveryError on failure.

    ``key`` is the message's idempotency key (a header, and for email the Message-ID).
    """
    plugin = _target(with_key(url, key) if key else url, email)
    safe = str(plugin.url(privacy=True))
    ap = apprise.Apprise()
    ap.add(plugin)
    with _message_id(url, key):
        ok = ap.notify(title=title, body=body)
    if not ok:  # False or None: not accepted
        raise DeliveryError(f"{short_target(safe)} did not accept the message")
    return safe


def _claim(conn: Connection, message_id: int, now: datetime) -> bool:
    result = conn.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == message_id,
            OutboxMessage.delivered_at.is_(None),
            OutboxMessage.dead_at.is_(None),
            OutboxMessage.next_attempt_at <= now,
        )
        .values(next_attempt_at=now + LEASE, attempts=OutboxMessage.attempts + 1)
    )
    return result.rowcount == 1


def _email(conn: Connection, alert_id: int | None) -> str | None:
    if alert_id is None:
        return None
    return conn.execute(
        select(Member.email).join(Alert, Alert.member_id == Member.id).where(Alert.id == alert_id)
    ).scalar()


def deliver_pending(
    store: Store, settings: Settings, now: datetime, *, limit: int = 200
) -> DeliverySummary:
    """Send every due outbox message once; failures are rescheduled with backoff."""
    summary = DeliverySummary()
    with store.read() as conn:
        due = (
            conn.execute(
                select(OutboxMessage.id)
                .where(
                    OutboxMessage.delivered_at.is_(None),
                    OutboxMessage.dead_at.is_(None),
                    OutboxMessage.next_attempt_at <= now,
                )
                .order_by(OutboxMessage.id)
                .limit(limit)
            )
            .scalars()
            .all()
        )
    for message_id in due:
        with store.write() as conn:
            if not _claim(conn, message_id, now):
                continue  # another worker has it, or it is done
            msg = entities(conn, select(OutboxMessage).where(OutboxMessage.id == message_id))[0]
            email = _email(conn, msg.alert_id)
        error = _deliver_one(settings, msg, email)
        with store.write() as conn:
            if error is None:
                conn.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id == message_id)
                    .values(delivered_at=now, last_error=None)
                )
                summary.delivered += 1
            else:
                dead = msg.attempts >= MAX_ATTEMPTS
                conn.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id == message_id)
                    .values(
                        next_attempt_at=now + backoff(msg.attempts),
                        last_error=error,
                        dead_at=now if dead else None,
                    )
                )
                summary.failed += 1
                summary.errors.append(f"message {message_id} ({msg.route}): {error}")
                if dead:
                    summary.dead += 1
                    log.warning(
                        "%s: gave up after %s attempts (steward alerts outbox --retry %s): %s",
                        log_subject(msg, None, email),
                        msg.attempts,
                        message_id,
                        error,
                    )
    return summary


def _deliver_one(settings: Settings, msg: OutboxMessage, email: str | None) -> str | None:
    """Deliver ``msg``; returns None on success, else the reason (logged, secret-free)."""
    name, _, index = msg.route.rpartition("#")
    try:
        route = _route(settings, name)
        if not index.isdigit() or int(index) >= len(route.urls):
            raise AlertError(f"route {name} has no URL #{index} any more")
        safe = send(
            route.urls[int(index)],
            msg.title,
            msg.body,
            email=email,
            key=idempotency_key(msg.dedupe_key),
        )
    except AlertError as exc:
        log.warning(
            "%s: not delivered (attempt %s of %s): %s",
            log_subject(msg, None, email),
            msg.attempts,
            MAX_ATTEMPTS,
            exc.message,
        )
        return exc.message
    log.info("%s: delivered", log_subject(msg, safe, email))
    return None


def mask_email(email: str) -> str:
    """``ana@example.org`` -> ``a***@example.org``: enough to tell members apart in a log."""
    user, _, domain = email.partition("@")
    return f"{user[:1]}***@{domain}" if domain else "***"


def log_subject(msg: OutboxMessage, safe: str | None, email: str | None) -> str:
    """What was sent and to whom, short: ``message 3 "[WARNING] drift: Rain tank ..." to
    garden-stewards (json://127.0.0.1:8599)``.

    Only the scheme and host of the URL's privacy form are shown (its path and query
    are Apprise options, 100+ characters of them), and a member's address is masked.
    """
    # Cut at a word, not a clause: "[CRITICAL] deficit: Mutual-aid fund is running ..."
    # names the resource, where a clause cut left only "[CRITICAL] deficit".
    title = " ".join(msg.title.split())
    if len(title) > 56:
        title = title[:56].rsplit(" ", 1)[0] + " ..."
    to = msg.route.rpartition("#")[0] or msg.route
    if email:
        to += f" for {mask_email(email)}"
    if safe:
        parts = urlsplit(safe)
        to += f" ({parts.scheme}://{parts.netloc.rpartition('@')[2]})"
    return f'message {msg.id} "{title}" to {to}'


def short_target(safe: str) -> str:
    """The scheme and host of a URL's privacy form, for an error message."""
    parts = urlsplit(safe)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


def send_test(settings: Settings, name: str, *, email: str | None = None) -> list[str]:
    """Send a test message through every URL of route ``name``; returns their privacy forms."""
    route = _route(settings, name)
    sent = []
    for i, url in enumerate(route.urls):
        try:
            sent.append(
                send(
                    url,
                    "Steward test message",
                    f"This is a test of route {route.name} ({route.audience}). It works.",
                    email=email,
                )
            )
        except DeliveryError as exc:
            raise DeliveryError(
                f"route {route.name}, URL #{i}: {exc.message}", hint=exc.hint
            ) from None
    return sent
