"""Every page for every role, sign-in and sign-out, and hostile sessions (AppTest)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from dashboards.session import SCOPE_KEY, TOKEN_KEY
from dashboards.text import plain
from steward import access
from steward.access import Scope
from steward.store.models import Alert, AlertHistory, Commons, Member
from steward.workspace import open_workspace

from .apptest import APP, PAGES, TIMEOUT, new_app, open_page, shown_text, signed_in
from .fixtures import XSS_NAME, Federation

PAGE_TEXT = {
    ("steward", "overview"): ["Overview", "62% chance Repair fund is below its reserve by"],
    ("steward", "resource"): ["Repair fund", "Recent events", "Quotas", "ets"],
    ("steward", "members"): ["Members", "warned", "nudged"],
    ("steward", "alerts"): ["Firing (2)", "Pending (1)", "Resolved (1)"],
    ("steward", "sources"): ["Collectors", "Quarantined rows", "loans.csv:7"],
    ("steward", "health"): ["Commons health", "at risk"],
    ("member", "my_usage"): ["My usage", "My quota", "Projected at my pace", "My history"],
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
    assert TOKEN_KEY not in at.session_state
    text = shown_text(at)
    assert "Sign in" in text and "ALICE-QUOTA-NOTE" not in text
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        open_page(at, "my_usage")


def _key(federation: Federation) -> bytes:
    ws = open_workspace(federation.config)
    try:
        with ws.store.write() as conn:
            return access.signing_key(conn)
    finally:
        ws.close()


@pytest.mark.parametrize("kind", ["forged", "expired", "other-key", "disabled"])
def test_a_bad_session_shows_nothing_personal(federation: Federation, kind: str) -> None:
    key = _key(federation)
    if kind == "forged":
        good = access.SessionToken.issue("bob", key)
        body = access.SessionToken("alice", datetime.now(UTC) + timedelta(hours=1)).sign(key)
        token = body.split(".")[0] + "." + good.split(".")[1]
    elif kind == "expired":
        token = access.SessionToken.issue("alice", key, now=datetime.now(UTC) - timedelta(days=1))
    elif kind == "other-key":
        token = access.SessionToken.issue("alice", b"z" * 64)
    else:
        token = access.SessionToken.issue("alice", key)
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
    assert TOKEN_KEY not in at.session_state


def test_a_valid_token_signs_in(federation: Federation) -> None:
    at = new_app()
    at.session_state[TOKEN_KEY] = access.SessionToken.issue("alice", _key(federation))
    at.run()
    assert "ALICE-QUOTA-NOTE" in shown_text(at)


@pytest.mark.parametrize("page", ["overview", "resource", "members", "alerts", "sources"])
def test_steward_page_run_directly_by_a_member_is_refused(
    federation: Federation, page: str
) -> None:
    """Even bypassing the navigation, the query layer refuses a member."""
    ws = open_workspace(federation.config)
    with ws.store.read() as conn:
        cid = conn.execute(select(Commons.id).where(Commons.slug == "toolshed")).scalar_one()
        mid = conn.execute(select(Member.id).where(Member.code == "alice")).scalar_one()
    ws.close()
    at = AppTest.from_file(Path(APP).parent / "app_pages" / f"{page}.py", default_timeout=TIMEOUT)
    at.session_state[SCOPE_KEY] = Scope.member(cid, mid, "alice")
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
    assert "No quotas computed for this resource yet." in text


def test_steward_acknowledges_and_silences_from_the_alerts_page(federation: Federation) -> None:
    at = open_page(signed_in("sam"), "alerts")
    at.text_input[0].input("checking the fund")
    at.button[0].click().run()
    assert "acknowledged" in at.success[0].value
    at.radio[0].set_value("Silence")
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
