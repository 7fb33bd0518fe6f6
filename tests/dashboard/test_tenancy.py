"""Commons stay apart: every alert kind x every steward x every action, below the UI.

Two commons (toolshed, orchard), a steward of each: a steward lists, acknowledges,
silences and reads the history of their own commons' alerts (resource, member,
quota and collector alerts alike) and is refused every other one. Runs on SQLite
and PostgreSQL (the ``db_url`` fixture).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from steward.access import Scope
from steward.errors import AccessDenied
from steward.queries import alerts, sources
from steward.store.models import Alert, Commons
from steward.workspace import Workspace, open_workspace

from .fixtures import LOANS_COLLECTOR_MARK, ORCHARD_COLLECTOR_MARK, Federation

#: fingerprint -> (kind, commons) for every alert in the fixture.
ALERTS = {
    "f1": ("resource (depletion)", "toolshed"),
    "f2": ("member (over quota)", "toolshed"),
    "f3": ("resource (resolved)", "toolshed"),
    "f5": ("collector (failing)", "toolshed"),
    "f4": ("resource (overbooking)", "orchard"),
    "f6": ("collector (stale)", "orchard"),
    "f7": ("member (quota)", "orchard"),
}
STEWARDS = {"sam": "toolshed", "olga": "orchard"}


@pytest.fixture
def ws(federation: Federation) -> Iterator[Workspace]:
    workspace = open_workspace(federation.config)
    yield workspace
    workspace.close()


def _scope(ws: Workspace, who: str) -> Scope:
    with ws.store.read() as conn:
        cid = conn.execute(select(Commons.id).where(Commons.slug == STEWARDS[who])).scalar_one()
    return Scope.steward(cid, who)


def _id(ws: Workspace, fingerprint: str) -> int:
    with ws.store.read() as conn:
        return conn.execute(select(Alert.id).where(Alert.fingerprint == fingerprint)).scalar_one()


@pytest.mark.parametrize("who", list(STEWARDS))
def test_each_steward_lists_exactly_their_commons_alerts(ws: Workspace, who: str) -> None:
    scope = _scope(ws, who)
    with ws.store.read() as conn:
        listed = alerts.list_alerts(scope, conn)
        fingerprints = set(
            conn.execute(select(Alert.fingerprint).where(Alert.id.in_(listed["id"].tolist())))
            .scalars()
            .all()
        )
    expected = {f for f, (_, commons) in ALERTS.items() if commons == STEWARDS[who]}
    assert fingerprints == expected
    text = listed.to_string()
    mine, theirs = (
        (LOANS_COLLECTOR_MARK, ORCHARD_COLLECTOR_MARK)
        if who == "sam"
        else (ORCHARD_COLLECTOR_MARK, LOANS_COLLECTOR_MARK)
    )
    assert mine in text and theirs not in text


def _act(ws: Workspace, scope: Scope, aid: int, action: str) -> None:
    with ws.store.write() as conn:
        if action == "acknowledge":
            alerts.acknowledge(scope, conn, aid, "seen")
        elif action == "silence":
            alerts.silence(scope, conn, aid, timedelta(hours=2), "repair booked")
        else:
            alerts.history(scope, conn, aid)


@pytest.mark.parametrize("who", list(STEWARDS))
def test_actions_on_every_alert_kind_are_scoped(ws: Workspace, who: str) -> None:
    scope = _scope(ws, who)
    for fingerprint, (kind, commons) in ALERTS.items():
        aid = _id(ws, fingerprint)
        if fingerprint == "f3":  # resolved: listed, but there is nothing to act on
            continue
        for action in ("history", "acknowledge", "silence"):
            cell = f"{who} x {kind} ({fingerprint}) x {action}"
            if commons == STEWARDS[who]:
                _act(ws, scope, aid, action)
            else:
                with pytest.raises(AccessDenied, match=f"alert {aid} is not an alert of your"):
                    _act(ws, scope, aid, action)
            with ws.store.read() as conn:
                row = conn.execute(select(Alert).where(Alert.id == aid)).one()
            if commons == STEWARDS[who] and action != "history":
                assert row.acknowledged_by == who, cell
                assert action == "acknowledge" or row.silence_reason == "repair booked", cell
            elif commons != STEWARDS[who]:
                assert row.acknowledged_by is None and row.silenced_until is None, cell


@pytest.mark.parametrize("who", list(STEWARDS))
def test_each_steward_sees_only_their_commons_collectors(ws: Workspace, who: str) -> None:
    scope = _scope(ws, who)
    with ws.store.read() as conn:
        names = sources.allowed_sources(scope, conn, ws.settings)
        rows = sources.quarantined(scope, conn, names)
    assert names == (["loans"] if who == "sam" else ["orchard-feed"])
    assert set(rows["source"]) == set(names)


def test_a_hand_imports_quarantined_rows_go_to_the_commons_they_name(ws: Workspace) -> None:
    """A hand import has no collector: its rows are shown to the steward of the resource
    they name, and a row naming no known resource only as a count (it belongs to no
    commons, and its raw row may name anyone)."""
    from datetime import UTC, datetime

    from sqlalchemy import insert

    from steward.store.models import QuarantinedRow

    now = datetime.now(UTC)
    with ws.store.write() as conn:
        conn.execute(
            insert(QuarantinedRow),
            [
                {
                    "source": "import:sheet.csv",
                    "location": f"sheet.csv:{i}",
                    "fingerprint": f"hand{i}",
                    "reason": f"HAND-{resource}",
                    "raw": {"resource": resource, "member": "someone"},
                    "created_at": now,
                }
                for i, resource in enumerate(("drill", "cider", "drill-cordles"))
            ],
        )
    seen = {}
    for who in STEWARDS:
        scope = _scope(ws, who)
        with ws.store.read() as conn:
            names = sources.allowed_sources(scope, conn, ws.settings)
            rows = sources.quarantined(scope, conn, names)
            seen[who] = {r for r in rows["reason"] if r.startswith("HAND-")}
            assert sources.unattributed(scope, conn, ws.settings) == 1
    assert seen == {"sam": {"HAND-drill"}, "olga": {"HAND-cider"}}
