"""Secrets never reach a log line: URL credentials, secret query values, auth headers.

Libraries log what they are given: httpx logs every request URL at INFO (with a
``?token=`` when a collector's URL carries one), and a traceback may quote a
connection string. :class:`SecretMasking` is a logging filter that rewrites
each record's message (and its formatted traceback) through :func:`mask`;
:func:`install` puts it on every handler of the root logger, so records of
every logger that propagates there are masked before any handler writes them.
"""

from __future__ import annotations

import logging
import re

MASK = "***"

# A secret's name holds one of these words as a whole part ("api_key", "X-Api-Key",
# "access_token"); a word that merely contains one ("design", "SIGTERM", "author",
# "sessions") is ordinary text and its value stays readable.
_SECRET_WORD = (
    r"(?:token|key|apikey|secret|password|passwd|pwd|auth|sig|signature|credentials?|session"
    r"|sessionid|cookie)"
)
_SECRET_NAME = (
    rf"(?<![A-Za-z0-9])(?:[A-Za-z0-9]+[-_.])*{_SECRET_WORD}(?:[-_.][A-Za-z0-9]+)*(?![A-Za-z0-9])"
)
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # scheme://user:password@host
    (re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://[^/\s:@]*:)[^@\s/]+@"), rf"\g<1>{MASK}@"),
    # ?token=...&api_key=... (query strings and form bodies)
    (re.compile(rf"(?i)([?&;]{_SECRET_NAME}=)[^&\s\"'#]+"), rf"\g<1>{MASK}"),
    # Authorization: Bearer abc / X-Api-Key: abc / "api_key": "abc"
    (re.compile(r"(?i)\b(bearer|basic|token)\s+[A-Za-z0-9._~+/=-]{8,}"), rf"\g<1> {MASK}"),
    (
        re.compile(
            rf"(?i)([\"']?(?:authorization|{_SECRET_NAME})[\"']?\s*[:=]\s*[\"']?)(?:(?:bearer|basic|token)\s+)?[^\s\"',}}&]+"
        ),
        rf"\g<1>{MASK}",
    ),
)


def mask(text: str) -> str:
    """``text`` with every credential, secret query value and auth header value replaced by ***."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class SecretMasking(logging.Filter):
    """Masks a record's message, arguments and traceback text in place; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask(message)
        if masked != message or record.args:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask(record.exc_text)
        return True


def install(logger: logging.Logger | None = None) -> None:
    """Add one :class:`SecretMasking` to each handler of ``logger`` (default: the root)."""
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(f, SecretMasking) for f in handler.filters):
            handler.addFilter(SecretMasking())
