"""Cached reads are keyed by what a scope may see: stewards of a commons share, members never do."""

from __future__ import annotations

from dashboards.data import SCOPE_KEY
from steward.access import Scope

KEY = SCOPE_KEY[Scope]


def test_two_stewards_of_one_commons_share_a_key() -> None:
    assert KEY(Scope.steward(1, "sam")) == KEY(Scope.steward(1, "sue"))


def test_stewards_of_two_commons_do_not() -> None:
    assert KEY(Scope.steward(1, "sam")) != KEY(Scope.steward(2, "sam"))


def test_two_members_never_share_a_key() -> None:
    assert KEY(Scope.member(1, 10, "alice")) != KEY(Scope.member(1, 11, "bob"))
    assert KEY(Scope.member(1, 10, "alice")) != KEY(Scope.steward(1, "alice"))
    assert KEY(Scope.public()) != KEY(Scope.member(1, 10))
