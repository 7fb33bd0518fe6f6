"""A quota told at the period's start holds: property over random budgets and usage."""

from __future__ import annotations

import itertools
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from steward.ledger import Batch, Ledger, NewEvent
from steward.quotas import update_quotas

from .test_tracking import NOW

_weeks = itertools.count(1)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    first=st.floats(0, 2000),
    later=st.lists(st.floats(0, 2000), min_size=1, max_size=4),
    others=st.lists(st.floats(0.5, 300), max_size=4),
    ana_before=st.floats(0, 200),
)
def test_a_member_within_quota_who_uses_nothing_more_stays_within(
    garden, first, later, others, ana_before
) -> None:
    # Each example runs in a week of its own, later than every earlier example's.
    start = NOW + timedelta(weeks=next(_weeks))
    with garden.store.write() as conn:
        Ledger(conn).record(
            Batch(
                "prop",
                events=[
                    NewEvent(
                        "tank",
                        "use",
                        ana_before,
                        start - timedelta(minutes=1),
                        f"a{start}",
                        member="ana",
                    )
                ]
                if ana_before > 0
                else [],
            )
        )
    told = update_quotas(garden, garden.settings, start, budgets={"tank": first, "drill": 5})
    ana = next(r for r in told.rows if r.resource == "tank" and r.member_code == "ana")
    for i, budget in enumerate(later):
        at = start + timedelta(hours=i + 1)
        # Other members keep using; ana does not.
        extra = [
            NewEvent("tank", "use", q, at, f"b{start}-{i}-{j}", member="ben")
            for j, q in enumerate(others)
        ]
        with garden.store.write() as conn:
            Ledger(conn).record(Batch("prop", events=extra))
        now = update_quotas(garden, garden.settings, at, budgets={"tank": budget, "drill": 5})
        again = next(r for r in now.rows if r.resource == "tank" and r.member_code == "ana")
        assert again.allocation == ana.allocation
        assert again.used == ana.used
        if ana.used <= ana.allocation:
            assert again.status != "review"
            assert again.used <= again.allocation
