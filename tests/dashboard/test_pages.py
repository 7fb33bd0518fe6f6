"""Every page for every role, sign-in and sign-out, and hostile sessions (AppTest)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from dashboards.session import TOKEN_KEY
from dashboards.text import plain
from steward import access, sessions
from steward.store.models import Alert, AlertHistory
from steward.workspace import open_workspace

from .apptest import APP, PAGES, TIMEOUT, new_app, open_page, shown_text, signed_in
from .fixtures import XSS_NAME, Federation

PAGE_TEXT = {
    ("steward", "overview"): ["Overview", "62% chance Repair fund falls below its reserve by"],
    ("steward", "resource"): ["Repair fund", "Recent grants and donations", "Quotas", "ets"],
    ("steward", "members"): ["Members", "warned", "nudged"],
    ("steward", "alerts"): ["Firing (2)", "Pending (1)", "Resolved (1)"],
    ("steward", "sources"): ["Collectors", "Quarantined rows", "loans.csv:7"],
    ("steward", "health"): ["Commons health", "at risk"],
    ("member", "my_usage"): [
        "My usage",
        "My quota",
        "At my pace",
        "My history",
        "Alice Aardvark",
        "member no",
        # The quota figures are the pipeline's; the history under them is read now.
        "Quota figures as of",
    ],
    ("member", "health"): ["Commons health", "Repair fund"],
    ("public", "sign_in"): ["Sign in", "Not signed in"],
    ("public", "health"): ["Commons health", "Cider press"],
}
USERS = {"steward": "sam", "member": "alice", "public": None}


@pytest.mark.parametrize(("role", "page"), sorted(PAGE_TEXT))
def test_every_page_for_every_role(federation: Federation, role: str, page: str) -> None:
    assert page in PAGES[role]
    at = open_page(signed_in(USERS[role]), page, "fund")
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    text = shown_text(at)
    for expected in PAGE_TEXT[(role, page)]:
        assert expected in text, (role, page, expected)


def test_the_sidebar_names_the_viewers_commons(federation: Federation) -> None:
    """A steward of one commons in a federation saw one firing alert where the CLI
    listed four, and no page said whose alerts these were."""
    steward = open_page(signed_in("sam"), "alerts")
    assert "Signed in as sam (steward of Toolshed)" in shown_text(steward)
    member = open_page(signed_in("alice"), "my_usage")
    assert "Signed in as alice (member of Toolshed)" in shown_text(member)
    visitor = open_page(signed_in(None), "health")
    assert "Not signed in" in shown_text(visitor)


def test_wrong_password_shows_an_error_and_nothing_personal(federation: Federation) -> None:
    at = new_app().run()
    at.text_input[0].input("alice")
    at.text_input[1].input("not-her-password")
    at.button[0].click().run()
    assert "Wrong username or password" in at.error[0].value
    assert TOKEN_KEY not in at.session_state
    assert "Alice Aardvark" not in shown_text(at)


def test_sign_out_returns_to_the_public_pages(federation: Federation) -> None:
    at = signed_in("alice")
    assert "My usage" in shown_text(at)
    at.button(key="sign_out").click().run()
    assert at.session_state[TOKEN_KEY] == ""
    text = shown_text(at)
    assert "Sign in" in text and "ALICE-QUOTA-NOTE" not in text
    # Her page's address now shows the sign-in form, not her usage.
    text = shown_text(open_page(at, "my_usage"))
    assert "Sign in to open My usage" in text and "ALICE-QUOTA-NOTE" not in text


def _token(federation: Federation, username: str, *, key: bytes | None = None, **kw) -> str:  # type: ignore[no-untyped-def]
    ws = open_workspace(federation.config)
    try:
        with ws.store.write() as conn:
            account = access.get_account(conn, username)
            assert account is not None
            return sessions.issue(conn, account, key or access.signing_key(conn), **kw)
    finally:
        ws.close()


@pytest.mark.parametrize("kind", ["forged", "expired", "other-key", "disabled"])
def test_a_bad_session_shows_nothing_personal(federation: Federation, kind: str) -> None:
    if kind == "forged":
        token = _token(federation, "alice")[:-4] + "AAAA"
    elif kind == "expired":
        token = _token(federation, "alice", now=datetime.now(UTC) - timedelta(days=1))
    elif kind == "other-key":
        token = _token(federation, "alice", key=b"z" * 64)
    else:
        token = _token(federation, "alice")
        ws = open_workspace(federation.config)
        with ws.store.write() as conn:
            access.disable_account(conn, "alice")
        ws.close()
    at = new_app()
    at.session_state[TOKEN_KEY] = token
    at.run()
    text = shown_text(at)
    assert "Not signed in" in text and "Sign in" in text
    assert "Alice Aardvark" not in text and "ALICE-QUOTA-NOTE" not in text
    assert at.session_state[TOKEN_KEY] == ""


def test_a_valid_session_signs_in(federation: Federation) -> None:
    at = new_app()
    at.session_state[TOKEN_KEY] = _token(federation, "alice")
    at.run()
    assert "ALICE-QUOTA-NOTE" in shown_text(at)


@pytest.mark.parametrize("page", ["overview", "resource", "members", "alerts", "sources"])
def test_steward_page_run_directly_by_a_member_is_refused(
    federation: Federation, page: str
) -> None:
    """Even bypassing the navigation, the query layer refuses a member."""
    at = AppTest.from_file(Path(APP).parent / "app_pages" / f"{page}.py", default_timeout=TIMEOUT)
    at.session_state[TOKEN_KEY] = _token(federation, "alice")
    at.run()
    text = shown_text(at)
    assert "Not allowed" in text
    for marker in ("Bob Bramble", "BOB-QUOTA-NOTE", "FIRING-MARK", "QUARANTINE-REASON-MARK"):
        assert marker not in text


def test_resource_named_like_html_renders_as_text(federation: Federation) -> None:
    at = open_page(signed_in("sam"), "resource", "odd")
    assert not at.exception
    assert XSS_NAME in shown_text(at)
    # Sent as escaped Markdown, which never becomes an HTML element.
    assert at.title[0].value == plain(XSS_NAME)


def test_resource_without_forecast_shows_a_clear_empty_state(federation: Federation) -> None:
    text = shown_text(open_page(signed_in("sam"), "resource", "drill"))
    assert "No forecast yet" in text
    # The fixture's drills have no quota policy: the page says so, not "not yet".
    assert "No fair-use quotas for this resource: it has no quota policy" in text


def test_loans_beyond_the_units_are_a_finding_with_its_fix(federation: Federation) -> None:
    """3 drills, 1 out: 3 more checkouts are recorded (real records do this) and shown."""
    from steward.ledger import Batch, Ledger, NewEvent

    ws = open_workspace(federation.config)
    at = datetime.now(UTC) - timedelta(hours=2)
    try:
        with ws.store.write() as conn:
            got = Ledger(conn).record(
                Batch(
                    "extra",
                    events=[
                        NewEvent("drill", "use", 1, at, f"x{i}", loan_ref=f"X{i}") for i in range(3)
                    ],
                )
            )
    finally:
        ws.close()
    assert got.accepted == 3
    text = " ".join(shown_text(open_page(signed_in("sam"), "resource", "drill")).split())
    assert "Data to check: 1 checkout(s) found every unit already out" in text
    assert "record the capacity change that let them out" in text


def test_steward_acknowledges_and_silences_from_the_alerts_page(federation: Federation) -> None:
    at = open_page(signed_in("sam"), "alerts")
    # "Silence for" belongs to silencing only: not offered while Acknowledge is chosen.
    assert at.radio[0].value == "Acknowledge"
    assert "Silence for" not in [box.label for box in at.selectbox]
    at.text_input[0].input("checking the fund")
    at.button[0].click().run()
    assert "acknowledged" in at.success[0].value
    at.radio[0].set_value("Silence").run()
    assert "Silence for" in [box.label for box in at.selectbox]
    at.text_input[0].input("treasurer on holiday")
    at.button[0].click().run()
    assert "silenced for" in at.success[0].value
    ws = open_workspace(federation.config)
    with ws.store.read() as conn:
        log = conn.execute(
            select(AlertHistory.action, AlertHistory.actor, AlertHistory.note)
            .join(Alert, Alert.id == AlertHistory.alert_id)
            .where(Alert.fingerprint == "f1")
            .order_by(AlertHistory.id)
        ).all()
    ws.close()
    assert [(a, who) for a, who, _ in log] == [("acknowledged", "sam"), ("silenced", "sam")]
    assert "treasurer on holiday" in log[1].note


def test_oidc_button_only_when_auth_is_configured(federation: Federation) -> None:
    plain = new_app().run()
    assert [b.label for b in plain.button] == ["Sign in"]
    at = new_app()
    at.secrets["auth"] = {
        "redirect_uri": "http://localhost:8501/oauth2callback",
        "cookie_secret": "c" * 32,
        "client_id": "steward",
        "client_secret": "s" * 16,
        "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
    }
    at.run()
    assert not at.exception
    assert "Sign in with single sign-on" in [b.label for b in at.button]
