"""A member far over their share reaches the stewards as one alert; messages say true things."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from steward.alerts import evaluate
from steward.alerts.messages import member_message, quota_note
from steward.alerts.records import entities
from steward.ledger import Batch, Ledger, NewEvent
from steward.quotas import update_quotas
from steward.quotas.periods import period_bounds
from steward.store import catalog
from steward.store.models import Alert, OutboxMessage, QuotaBudget
from tests.alerts.support import MEMBERS_ROUTE, STEWARDS, T0, outbox_rows


def _deficit(ws) -> None:
    bounds = period_bounds(T0, "Europe/Paris", "week")
    with ws.store.write() as conn:
        tank = catalog.resource(conn, "tank")
        conn.execute(
            QuotaBudget.__table__.update()
            .where(QuotaBudget.resource_id == tank.id, QuotaBudget.period_start == bounds.start)
            .values(state="deficit", gap_per_month=Decimal(400), remedy="needs 400 L/month more")
        )


def _sent(ws) -> list[tuple[str, str, str]]:
    with ws.store.read() as conn:
        return outbox_rows(conn, OutboxMessage.route)


def test_far_over_reaches_stewards_as_one_alert_even_under_a_deficit(make_garden) -> None:
    ws = make_garden([STEWARDS, MEMBERS_ROUTE])
    # Weighted 1:3 of 40 L: Ana 10 L (used 30: over), Ben 30 L (used 140: 4.7 times).
    update_quotas(ws, ws.settings, T0, budgets={"tank": 40})
    _deficit(ws)
    with ws.store.write() as conn:
        evaluate(conn, ws.settings, T0)
        firing = conn.execute(
            select(Alert.rule, Alert.audience, Alert.summary).where(Alert.state == "firing")
        ).all()
    rules = sorted((r, a) for r, a, _ in firing)
    # The deficit holds back the member messages and Ana's review; Ben's overrun stands.
    assert rules == [("deficit", "stewards"), ("quota_overrun", "stewards")]
    (summary,) = [s for r, _, s in firing if r == "quota_overrun"]
    assert summary == (
        "Ben Brown (ben) has used 140 L of Rain tank this period: 4.67 times their quota "
        "of 30 L, over by 110 L"
    )
    sent = _sent(ws)
    overrun = [(route, title, body) for route, title, body in sent if "quota_overrun" in title]
    assert len(overrun) == 1
    route, title, body = overrun[0]
    assert route.startswith("stewards") and "Ben Brown (ben)" in title
    assert "What to do:" in body and "stewards only" in body
    # Nothing about Ben goes out on the members' route.
    assert not [s for s in sent if s[0].startswith("members")]
    # The deficit message says what the quotas really do.
    (deficit_body,) = [b for _, t, b in sent if "deficit" in t]
    assert "2 members hold an enforced quota; their quota messages are held back" in deficit_body
    assert "share the sustainable budget" not in deficit_body


def test_over_but_not_far_over_is_a_review_not_an_overrun(make_garden) -> None:
    ws = make_garden([STEWARDS])
    update_quotas(ws, ws.settings, T0, budgets={"tank": 100})  # Ana 25 (used 30), Ben 75 (140)
    with ws.store.write() as conn:
        evaluate(conn, ws.settings, T0)
        firing = conn.execute(
            select(Alert.rule, Alert.audience, Alert.summary).where(Alert.state == "firing")
        ).all()
    assert "quota_overrun" not in {r for r, _, _ in firing}
    reviews = sorted(s for r, a, s in firing if r == "quota" and a == "stewards")
    assert reviews[0].startswith("Ana Alvarez (ana) is over quota on Rain tank")
    assert "over by 5 L" in reviews[0] and "over by 65 L" in reviews[1]


def test_a_suspended_quota_far_over_one_ordinary_use_reaches_stewards(make_garden) -> None:
    ws = make_garden([STEWARDS], {"quota_overrun": {"factor": 1.5}})
    with ws.store.write() as conn:
        Ledger(conn).record(
            Batch(
                "big",
                events=[
                    NewEvent("tank", "use", 400, "2025-03-08T09:00:00+01:00", "u9", member="ben")
                ],
            )
        )
    early = datetime(2025, 3, 9, 12, 0, tzinfo=UTC)  # under a week of history: suspended
    summary = update_quotas(ws, ws.settings, early)
    assert {r.status for r in summary.rows if r.resource == "tank"} == {"suspended"}
    with ws.store.write() as conn:
        evaluate(conn, ws.settings, early)
        found = conn.execute(
            select(Alert.audience, Alert.summary).where(Alert.rule == "quota_overrun")
        ).all()
    # One ordinary use: 4 in 5 of 20, 30, 140 and 400 L are no larger = 244 L.
    ((audience, text),) = found
    assert audience == "stewards"
    assert text == (
        "Ben Brown (ben) has used 420 L of Rain tank this period: 1.72 times one ordinary "
        "use (244 L); their quota is suspended, over by 176 L"
    )


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ({"enforced": 5, "suspended": 0}, "5 members hold an enforced quota;"),
        ({"enforced": 5, "suspended": 2}, "(2 more are suspended)"),
        ({"enforced": 0, "suspended": 7}, "all 7 are suspended (steward quotas says why)"),
        ({"enforced": 0, "suspended": 0}, "it has none"),
    ],
)
def test_quota_note_is_true_to_state(counts: dict[str, int], expected: str) -> None:
    note = quota_note({"quotas": counts})
    assert note is not None and expected in note
    if not counts["enforced"]:
        assert "enforced" not in note
    assert quota_note({}) is None


def test_member_message_says_over_by_not_zero() -> None:
    details = {
        "unit": "USD",
        "resource_name": "Mutual-aid fund",
        "status": "review",
        "member_name": "Ada",
        "allocation": "25",
        "used": "75.79",
        "remaining": "-50.79",
        "projected": "80",
        "explanation": "...",
    }
    alert = Alert(summary="You have used 75.79 USD of 25 USD of Mutual-aid fund")
    _, body = member_message(alert, details)
    assert "Left:                   over by 50.79 USD" in body


def test_a_members_figures_are_rounded_alike_in_summary_message_and_explanation(
    make_garden,
) -> None:
    """ "At your pace you will use about 29 unit-days ..., over your quota of 14.79"
    read as one figure rounded and one not, and "about" beside a figure to the
    hundredth claimed a rounding that was not there. A member's quota, use, what is
    left and pace are written with the same decimals wherever they appear."""
    ws = make_garden([])
    # 200 L this week, by weight 1:3: ben holds 150 L, used 140 L, on pace for 191.43 L.
    update_quotas(ws, ws.settings, T0, budgets={"tank": 200})
    with ws.store.write() as conn:
        evaluate(conn, ws.settings, T0)
    with ws.store.read() as conn:
        (alert,) = entities(
            conn, select(Alert).where(Alert.audience == "members", Alert.rule == "quota")
        )
    assert alert.summary == (
        "At your recent pace you will have used 191.43 L of Rain tank by the period's end, "
        "over your quota of 150.00 L"
    )
    _, body = member_message(alert, alert.details)
    for line in (
        "Your quota:             150.00 L",
        "Used so far:            140.00 L",
        "Left:                   10.00 L",
        "At your pace, by end:   191.43 L",
    ):
        assert line in body.splitlines(), body
    assert (
        "you have used 140.00 L (93% of it); at your recent pace you will have used 191.43 L"
        in body
    )
    assert "Your quota: 150.00 L." in body
    assert "about" not in alert.summary
