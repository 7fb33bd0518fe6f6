"""Allocation math: table-driven cases and the invariants, checked by hypothesis."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from steward.errors import QuotaError
from steward.quotas.allocation import Claimant, allocate

MICRO = Decimal("0.000001")

CASES = [
    # policy, budget, [(key, weight, need)], floor, cap, expected
    (
        "equal",
        90,
        [("a", 1, None), ("b", 1, None), ("c", 1, None)],
        None,
        None,
        {"a": 30, "b": 30, "c": 30},
    ),
    (
        "equal",
        100,
        [("a", 1, None), ("b", 1, None), ("c", 1, None)],
        None,
        20,
        {"a": 20, "b": 20, "c": 20},
    ),
    ("equal", 10, [("a", 1, None), ("b", 1, None)], 8, None, {"a": 8, "b": 8}),
    ("weighted", 100, [("a", 1, None), ("b", 3, None)], None, None, {"a": 25, "b": 75}),
    ("weighted", 100, [("a", 1, None), ("b", 3, None)], None, 60, {"a": 40, "b": 60}),
    ("weighted", 100, [("a", 0, None), ("b", 1, None)], 10, None, {"a": 10, "b": 90}),
    ("weighted", 100, [("a", 1, None), ("b", 9, None)], 20, None, {"a": 20, "b": 80}),
    (
        "max_min_fair",
        100,
        [("a", 1, 10), ("b", 1, 50), ("c", 1, 80)],
        None,
        None,
        {"a": 10, "b": 45, "c": 45},
    ),
    (  # every need met: the surplus is water-filled too, needs acting as minimums
        "max_min_fair",
        100,
        [("a", 1, 10), ("b", 1, 20), ("c", 1, 30)],
        None,
        None,
        {"a": Decimal("33.333334"), "b": Decimal("33.333333"), "c": Decimal("33.333333")},
    ),
    (  # ... but never past the cap: 25 each, 25 left unallocated
        "max_min_fair",
        100,
        [("a", 1, 10), ("b", 1, 20), ("c", 1, 30)],
        None,
        25,
        {"a": 25, "b": 25, "c": 25},
    ),
    ("max_min_fair", 100, [("a", 1, 5), ("b", 1, None)], 15, None, {"a": 15, "b": 85}),
    # b is capped at 60; the 30 nobody needs raise a above its need of 10.
    ("max_min_fair", 100, [("a", 1, 10), ("b", 1, 500)], None, 60, {"a": 40, "b": 60}),
    (
        "equal",
        100,
        [("a", 1, None), ("b", 1, None), ("c", 1, None)],
        None,
        None,
        {"a": Decimal("33.333334"), "b": Decimal("33.333333"), "c": Decimal("33.333333")},
    ),
]


@pytest.mark.parametrize(("policy", "budget", "members", "floor", "cap", "expected"), CASES)
def test_allocation_table(policy, budget, members, floor, cap, expected) -> None:
    claimants = [Claimant(k, w, n) for k, w, n in members]
    result = allocate(policy, budget, claimants, floor=floor, cap=cap)
    assert result.amounts == {k: Decimal(str(v)) for k, v in expected.items()}


def test_floors_above_budget_are_kept_and_flagged() -> None:
    result = allocate("equal", 10, [Claimant("a"), Claimant("b")], floor=8)
    assert result.floors_exceed_budget
    assert result.total == Decimal(16)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"policy": "lottery"}, "unknown quota policy"),
        ({"budget": -1}, "budget must be"),
        ({"budget": float("nan")}, "budget must be"),
        ({"claimants": [Claimant("a"), Claimant("a")]}, "only once"),
        ({"claimants": [Claimant("a", weight=-2)], "policy": "weighted"}, "weight -2"),
    ],
)
def test_bad_input_is_refused(kwargs, message) -> None:
    args = {"policy": "equal", "budget": 10, "claimants": [Claimant("a")], **kwargs}
    with pytest.raises(QuotaError, match=message):
        allocate(args["policy"], args["budget"], args["claimants"])


member = st.tuples(
    # Weights are stored with six decimal places (like every quantity), 0 to 10.
    st.integers(0, 10_000_000).map(lambda micros: micros / 1e6),
    st.one_of(st.none(), st.floats(0, 500, allow_nan=False)),
)


@settings(max_examples=300, deadline=None)
@given(
    policy=st.sampled_from(["equal", "weighted", "max_min_fair"]),
    budget=st.floats(0, 10_000, allow_nan=False),
    members=st.lists(member, min_size=1, max_size=12),
    floor=st.one_of(st.none(), st.floats(0, 50, allow_nan=False)),
    cap=st.one_of(st.none(), st.floats(0, 2000, allow_nan=False)),
)
def test_invariants(policy, budget, members, floor, cap) -> None:
    if floor is not None and cap is not None and floor > cap:
        floor, cap = cap, floor
    claimants = [Claimant(f"m{i}", w, n) for i, (w, n) in enumerate(members)]
    result = allocate(policy, budget, claimants, floor=floor, cap=cap)
    amounts = result.amounts
    tol = MICRO * (len(claimants) + 1)
    # No member under the floor, none over the cap.
    for a in amounts.values():
        assert a >= Decimal(repr(floor or 0)).quantize(MICRO) - MICRO
        if cap is not None:
            assert a <= Decimal(repr(cap)) + MICRO
    total = sum(amounts.values(), Decimal(0))
    floors = Decimal(repr(floor or 0)) * len(claimants)
    if result.floors_exceed_budget:
        assert abs(total - floors) <= tol
    else:
        # Sum to the budget, or less only when every member is at their cap or need.
        assert total <= Decimal(repr(budget)) + tol
        if total < Decimal(repr(budget)) - tol:
            for c in claimants:
                high = (
                    min(
                        x
                        for x in (cap, c.need if policy == "max_min_fair" else None)
                        if x is not None
                    )
                    if (cap is not None or (policy == "max_min_fair" and c.need is not None))
                    else None
                )
                if policy == "weighted" and c.weight == 0:
                    continue
                assert high is not None
                assert amounts[c.key] >= Decimal(repr(max(high, floor or 0))) - tol
    if policy == "max_min_fair" and not result.floors_exceed_budget:
        # Max-min fairness: everyone not at their need/cap has the largest share there is,
        # so no share can grow without shrinking a smaller or equal one.
        top = max(amounts.values())
        for c in claimants:
            high = min([x for x in (cap, c.need) if x is not None], default=None)
            satisfied = (
                high is not None and amounts[c.key] >= Decimal(repr(max(high, floor or 0))) - tol
            )
            if not satisfied:
                assert amounts[c.key] >= top - tol
