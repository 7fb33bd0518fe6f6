"""Every log line is masked: URL passwords, secret query values, auth header values."""

from __future__ import annotations

import logging

import pytest

from steward.log_masking import SecretMasking, mask

CASES = [
    (
        'HTTP Request: GET https://api.example.org/v1/rows?token=abc123XYZ&page=2 "HTTP/1.1 200 OK"',
        'HTTP Request: GET https://api.example.org/v1/rows?token=***&page=2 "HTTP/1.1 200 OK"',
    ),
    ("https://x.example/?api_key=s3cr3t", "https://x.example/?api_key=***"),
    (
        "https://x.example/?a=1&client_secret=zz&access_token=yy",
        "https://x.example/?a=1&client_secret=***&access_token=***",
    ),
    (
        "postgresql+psycopg://steward:hunter2@db.example.org/steward",
        "postgresql+psycopg://steward:***@db.example.org/steward",
    ),
    ("mailto://user:pa55word@smtp.example.org", "mailto://user:***@smtp.example.org"),
    ("headers={'X-Api-Key': 'k-123456'}", "headers={'X-Api-Key': '***'}"),
    ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig", "Authorization: ***"),
    ("sent with bearer abcdefghijkl", "sent with bearer ***"),
    ("a harmless line with page=2 and key points", "a harmless line with page=2 and key points"),
    # Words that only contain a secret word stay readable (they hid the next word).
    ("collector design-studio: read 5 rows", "collector design-studio: read 5 rows"),
    ("SIGTERM: letting running jobs finish", "SIGTERM: letting running jobs finish"),
    ("sessions: 3 expired; author: Ada", "sessions: 3 expired; author: Ada"),
    ("https://x.example/?design=1&sig=abc", "https://x.example/?design=1&sig=***"),
]


@pytest.mark.parametrize(("line", "expected"), CASES)
def test_mask(line: str, expected: str) -> None:
    assert mask(line) == expected


def test_the_filter_masks_arguments_and_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("steward.test.masking")
    handler = logging.StreamHandler()
    records: list[str] = []
    handler.emit = lambda record: records.append(handler.format(record))  # type: ignore[method-assign]
    handler.addFilter(SecretMasking())
    logger.addHandler(handler)
    try:
        logger.warning("fetching %s", "https://h.example/?token=t0ps3cret")
        try:
            raise RuntimeError("cannot open postgresql://u:hunter2@db/x")
        except RuntimeError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    text = "\n".join(records)
    assert "token=***" in text and "t0ps3cret" not in text
    assert "u:***@db" in text and "hunter2" not in text
