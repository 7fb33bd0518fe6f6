"""An alert held back by another (inhibition) reads as held back on the Alerts page, not resolved."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select

from steward.store.models import Alert, AlertHistory, Commons, Resource
from steward.workspace import open_workspace

from .apptest import open_page, shown_text, signed_in
from .fixtures import Federation


def _hold_back(federation: Federation) -> tuple[int, int, int]:
    """A firing reserve breach of the fund holding back its deficit alert (kept on the
    alert) and an older depletion alert (only its history says so)."""
    now = datetime.now(UTC)
    ws = open_workspace(federation.config)
    with ws.store.write() as conn:
        fund = conn.execute(select(Resource.id).where(Resource.slug == "fund")).scalar_one()
        toolshed = conn.execute(select(Commons.id).where(Commons.slug == "toolshed")).scalar_one()
        common = {
            "audience": "stewards",
            "resource_id": fund,
            "commons_id": toolshed,
            "first_seen_at": now - timedelta(hours=3),
            "fired_at": now - timedelta(hours=3),
            "last_evaluated_at": now - timedelta(hours=1),
        }
        holder = conn.execute(
            insert(Alert).returning(Alert.id),
            {
                **common,
                "fingerprint": "below_reserve:fund",
                "rule": "below_reserve",
                "severity": "critical",
                "state": "firing",
                "summary": "Repair fund is below its reserve",
                "details": {},
            },
        ).scalar_one()
        held = conn.execute(
            insert(Alert).returning(Alert.id),
            {
                **common,
                "fingerprint": "deficit:fund",
                "rule": "deficit",
                "severity": "critical",
                "state": "resolved",
                "resolved_at": now - timedelta(hours=1),
                "summary": "HELD-MARK Repair fund runs a deficit",
                "details": {
                    "held_back_by": {"fingerprint": "below_reserve:fund", "alert_id": holder}
                },
            },
        ).scalar_one()
        older = conn.execute(
            insert(Alert).returning(Alert.id),
            {
                **common,
                "fingerprint": "depletion:fund:old",
                "rule": "depletion",
                "severity": "warning",
                "state": "resolved",
                "resolved_at": now - timedelta(hours=2),
                "summary": "OLDER-MARK Repair fund may run out",
                "details": {},
            },
        ).scalar_one()
        conn.execute(
            insert(AlertHistory),
            {
                "alert_id": older,
                "at": now - timedelta(hours=2),
                "action": "inhibited",
                "note": "held back while below_reserve:fund stands",
            },
        )
    ws.close()
    return holder, held, older


def test_held_back_alerts_have_their_own_tab_and_say_what_holds_them(
    federation: Federation,
) -> None:
    holder, held, older = _hold_back(federation)
    at = open_page(signed_in("sam"), "alerts")
    assert not at.exception, at.exception
    labels = [t.label for t in at.tabs]
    # The fixture's one resolved alert stays resolved; the two held back are not counted so.
    assert labels == ["Firing (3)", "Pending (1)", "Held back (2)", "Resolved (1)"]
    held_tab, resolved_tab = at.tabs[2], at.tabs[3]
    (table,) = held_tab.dataframe
    rows = {r["No."]: r for r in table.value.to_dict("records")}
    assert rows[held]["Held back by"] == (
        f"held back by below_reserve #{holder} (the resource is below its reserve; "
        "this alert's condition may still hold)"
    )
    assert rows[older]["Held back by"] == (
        "held back by below_reserve:fund (this alert's condition may still hold)"
    )
    assert "Held back since" in table.value.columns and "Resolved" not in table.value.columns
    said = " ".join(c.value for c in held_tab.caption)
    assert "Not resolved" in said
    # The run summary's "not raised" conditions are never alerts: the tab says where they are.
    assert "never raised as alerts; the monitor's run summary counts them" in said
    resolved_text = " ".join(str(df.value.to_string()) for df in resolved_tab.dataframe)
    assert "HELD-MARK" not in resolved_text and "OLDER-MARK" not in resolved_text
    assert "Drills were overbooked" in resolved_text
    assert "Held back by" not in resolved_text
    assert "HELD-MARK" in shown_text(at)
