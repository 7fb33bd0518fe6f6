"""Who shares a budget: active members, starter shares, newcomers, and suspension."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

import pytest
from sqlalchemy import select

from steward.ledger import Batch, Ledger, NewEvent, NewMember
from steward.quotas import Budget, compute_quotas, period_bounds, update_quotas
from steward.quotas.periods import Bounds
from steward.quotas.tracking import ACTIVE_WEEKS, expected_newcomers
from steward.quotas.usage import MemberUsage
from steward.store import catalog
from steward.store.models import Quota

NOW = datetime(2025, 3, 12, 11, 0, tzinfo=UTC)  # Wednesday, noon in Paris


def _add(ws: Any, members: list[NewMember], events: list[NewEvent]) -> None:
    with ws.store.write() as conn:
        Ledger(conn).record(Batch("more", events=events, members=members))


def _quotas(ws: Any, slug: str, budget: Budget, now: datetime = NOW) -> dict[str, Any]:
    b = period_bounds(now, "Europe/Paris", "week")
    with ws.store.write() as conn:
        rows = compute_quotas(
            conn,
            ws.settings,
            catalog.resource(conn, slug),
            budget=budget,
            period_start=b.start,
            period_end=b.end,
            now=now,
        )
    return {r.member_code: r for r in rows}


def test_only_recent_users_share_the_budget_others_hold_a_starter_share(garden) -> None:
    # Cy never used the tank; Dee last used it 19 weeks ago: neither is active (and in
    # the weeks since, only Ben started using it: no newcomers to set budget aside for).
    _add(
        garden,
        [
            NewMember("garden", "cy", "Cy Chen", "cy@example.org", weight=1),
            NewMember("garden", "dee", "Dee Diaz", "dee@example.org", weight=5),
        ],
        [NewEvent("tank", "use", 25, "2024-11-01T09:00:00+01:00", "old", member="dee")],
    )
    by = _quotas(garden, "tank", Budget(200, "Rain tank can sustain 200 L", single_use=30))
    # Ana (weight 1) and Ben (weight 3) used it lately: they share the 200 L.
    assert by["ana"].allocation == Decimal(50) and by["ben"].allocation == Decimal(150)
    assert "the 2 members who used it in the last 12 weeks" in by["ben"].explanation
    # The others hold one ordinary use each, whatever their weight, and are not suspended.
    for code in ("cy", "dee"):
        assert by[code].allocation == Decimal(30) and by[code].status == "ok"
        assert "have not used it in the last 12 weeks" in by[code].explanation
        assert "starter share" in by[code].explanation
    assert not any(r.status == "suspended" for r in by.values())


def test_a_starter_share_stays_within_the_cap(garden) -> None:
    _add(garden, [NewMember("garden", "cy", "Cy Chen", "cy@example.org")], [])
    data = garden.settings.model_dump()
    data["commons"][0]["resources"][0]["quota"]["cap"] = 20
    settings = type(garden.settings).model_validate(data)
    b = period_bounds(NOW, "Europe/Paris", "week")
    with garden.store.write() as conn:
        rows = compute_quotas(
            conn,
            settings,
            catalog.resource(conn, "tank"),
            budget=Budget(200, "Rain tank can sustain 200 L", single_use=30),
            period_start=b.start,
            period_end=b.end,
            now=NOW,
        )
    cy = next(r for r in rows if r.member_code == "cy")
    assert cy.allocation == Decimal(20) and "within the policy's cap of 20 L" in cy.explanation


class _Usage:
    """A stand-in for MemberUsage: member -> instants of use (one unit each)."""

    def __init__(self, uses: dict[int, list[datetime]]) -> None:
        self.uses = uses

    def between(self, start: datetime, end: datetime) -> dict[int, float]:
        out = {m: float(sum(start <= t < end for t in ts)) for m, ts in self.uses.items()}
        return {m: v for m, v in out.items() if v > 0}

    def first_use(self) -> dict[int, datetime]:
        return {m: min(ts) for m, ts in self.uses.items() if ts}


WEEK0 = datetime(2024, 1, 1, 12, tzinfo=UTC)  # a Monday


@pytest.mark.parametrize(
    ("weeks", "expected"),
    [
        # A regular every week and one new member a week: 1 newcomer a week.
        (30, 1.0),
        # Less history than the active window: no period can tell a newcomer.
        (ACTIVE_WEEKS, 0.0),
    ],
)
def test_expected_newcomers(weeks: int, expected: float) -> None:
    uses = {0: [WEEK0 + timedelta(weeks=w) for w in range(weeks)]}
    uses |= {100 + w: [WEEK0 + timedelta(weeks=w, days=1)] for w in range(weeks)}
    bounds: Bounds = period_bounds(WEEK0 + timedelta(weeks=weeks), "UTC", "week")
    got = expected_newcomers(cast(MemberUsage, _Usage(uses)), bounds, "UTC")
    assert got == expected


def test_newcomers_reserve_comes_out_of_the_active_share(garden, monkeypatch) -> None:
    import steward.quotas.tracking as tracking

    monkeypatch.setattr(tracking, "expected_newcomers", lambda *a: 2.0)
    _add(garden, [NewMember("garden", "cy", "Cy Chen", "cy@example.org")], [])
    by = _quotas(garden, "tank", Budget(300, "Rain tank can sustain 300 L", single_use=30))
    # 2 newcomers a week x 30 L starter share = 60 L set aside; 240 L for ana and ben.
    assert by["ana"].allocation == Decimal(60) and by["ben"].allocation == Decimal(180)
    assert by["cy"].allocation == Decimal(30)
    assert "60 L of it is set aside for starter shares" in by["ana"].explanation


def test_quotas_are_suspended_only_when_the_budget_cannot_be_computed(garden) -> None:
    # Sunday 9 March: the tank's ledger starts on the 3rd, not a complete week yet.
    early = datetime(2025, 3, 9, 12, 0, tzinfo=UTC)
    summary = update_quotas(garden, garden.settings, early, budgets={"drill": 10})
    assert "complete week" in summary.skipped["tank"]
    tank = [r for r in summary.rows if r.resource == "tank"]
    assert {r.status for r in tank} == {"suspended"}
    ben = next(r for r in tank if r.member_code == "ben")
    assert ben.allocation == 0 and ben.used == Decimal(20)
    assert ben.explanation.startswith(
        "Quotas on Rain tank are suspended for the week of 3 Mar to 9 Mar 2025: "
        "its sustainable budget cannot be computed yet (a stock budget needs at least one "
        "complete week of history"
    )
    assert "Your use is still recorded (20 L so far)" in ben.explanation
    # The drills' budget was computed: none of their quotas is suspended.
    assert all(r.status != "suspended" for r in summary.rows if r.resource == "drill")
    # Once a budget can be computed in the same period, real quotas replace them.
    later = update_quotas(garden, garden.settings, early + timedelta(hours=6), budgets={"tank": 80})
    assert all(r.status != "suspended" for r in later.rows if r.resource == "tank")
    with garden.store.read() as conn:
        stored = conn.execute(select(Quota.status)).scalars().all()
    assert "suspended" not in stored


def test_remaining_is_signed_never_clamped(garden) -> None:
    by = _quotas(garden, "tank", Budget(40, "Rain tank can sustain 40 L"))
    # Ben's weighted share is 30 L and he used 140 L.
    assert by["ben"].allocation == Decimal(30)
    assert by["ben"].remaining == Decimal(-110)
    assert "over your quota by 110.00 L" in by["ben"].explanation


def test_one_lumpy_use_is_not_extrapolated_as_a_habit(garden) -> None:
    budget = Budget(156, "Rain tank can sustain 156 L")  # weighted 1:3 -> Ana 39 L
    # Ana's first use ever is this Monday's 30 L: at that pace (30 L in 14 days) she
    # would reach 39.6 L by Sunday: warned.
    by = _quotas(garden, "tank", budget)
    assert by["ana"].allocation == Decimal(39) and by["ana"].status == "warned"
    # With 5 L in December too, her pace is what she used in the 12 weeks: 35 L in
    # 82 days, so she will end the week near 32 L, well within 39 L.
    _add(garden, [], [NewEvent("tank", "use", 5, "2024-12-20T09:00:00+01:00", "d", member="ana")])
    by = _quotas(garden, "tank", budget)
    assert by["ana"].status == "ok"
    assert by["ana"].projected == pytest.approx(Decimal("31.92"), abs=Decimal("0.05"))
