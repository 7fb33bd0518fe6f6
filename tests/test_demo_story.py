"""The demo tells the story it promises: forecasts, quotas and alerts on its own data."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from sqlalchemy import select

from steward.commands.demo import build
from steward.demo_inbox import PORT, Inbox
from steward.pipeline import PipelineSummary, run_pipeline
from steward.status import all_statuses
from steward.store.models import Alert, Quota
from steward.workspace import Workspace, open_workspace

SUMMER = {6, 7, 8}
# One demo for the module: keep its tests on one xdist worker (make test uses loadgroup).
pytestmark = pytest.mark.xdist_group("demo_story")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def demo(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Workspace, PipelineSummary, Path]]:
    root = tmp_path_factory.mktemp("story")
    config = build(root)
    # The demo's inbox port may be taken (a running demo): deliver to a free one.
    port = free_port()
    config.write_text(
        config.read_text(encoding="utf-8").replace(f":{PORT}/", f":{port}/"), encoding="utf-8"
    )
    ws = open_workspace(config)
    with Inbox(root / "notifications.jsonl", Console(quiet=True), port=port):
        summary = run_pipeline(ws)
    yield ws, summary, root
    ws.close()


def statuses(ws: Workspace) -> dict[str, Any]:
    with ws.store.read() as conn:
        return {s.slug: s for s in all_statuses(conn)}


def test_every_resource_is_forecast(demo: tuple[Workspace, PipelineSummary, Path]) -> None:
    ws, summary, _ = demo
    assert summary.forecast.no_data == []
    assert summary.forecast.runs == len(statuses(ws))


def test_fund_depletion_risk_rises_within_the_horizon(
    demo: tuple[Workspace, PipelineSummary, Path],
) -> None:
    ws, _, _ = demo
    fund = statuses(ws)["mutual-aid-fund"]
    assert fund.risk["p_below_reserve"] >= 0.4
    assert "chance Mutual-aid fund falls below its reserve" in fund.headline
    with ws.store.read() as conn:
        alerts = conn.execute(
            select(Alert.summary).where(Alert.rule == "deficit", Alert.state == "firing")
        ).all()
    # One deficit alert for the fund: the monthly gap in USD, the remedy and the date.
    (summary,) = [a for (a,) in alerts if a.startswith("Mutual-aid fund")]
    found = re.search(
        r"it needs ([\d,.]+) USD more income in [A-Z][a-z]+ \d{4}, or as much less use"
        r"(?: \([\d,.]+ USD a month at that pace\))?.*members ordinarily use ([\d,.]+) USD in "
        r"[A-Z][a-z]+ \d{4} and it can sustain ([\d,.]+) USD",
        summary,
    )
    assert found, summary
    # A month's shortfall is not said twice ("663.56 USD ... (651.52 USD a month)").
    assert "a month at that pace" not in summary
    # The three figures of the period add up.
    short, need, can = (float(g.replace(",", "")) for g in found.groups())
    assert short == pytest.approx(need - can, abs=0.011)
    assert re.search(
        r"chance Mutual-aid fund falls below its reserve of 2,500.00 USD by \d+ [A-Z][a-z]+ \d{4}"
        r", over 50% by \d+ [A-Z][a-z]+ \d{4}",
        summary,
    )


def test_some_tool_is_at_risk_on_summer_weekends(
    demo: tuple[Workspace, PipelineSummary, Path],
) -> None:
    ws, _, _ = demo
    at_risk = []
    pools = [s for s in statuses(ws).values() if s.kind == "pool" and s.risk.get("peak_date")]
    horizon_end = date.fromisoformat(pools[0].risk["horizon_end"])
    # Built between late August and late October, the 240-day horizon holds no
    # summer weekend: then the peak must still fall on a weekend.
    summer = any(
        (date.today() + timedelta(days=d)).month in SUMMER
        for d in range((horizon_end - date.today()).days)
    )
    for s in pools:
        peak = date.fromisoformat(s.risk["peak_date"])
        in_season = peak.month in SUMMER if summer else True
        if s.risk["max_p_over_capacity"] >= 0.3 and in_season and peak.weekday() >= 5:
            at_risk.append(s.slug)
    assert at_risk, "no tool type peaks on a summer weekend"


def test_drift_nudges_and_delivery(demo: tuple[Workspace, PipelineSummary, Path]) -> None:
    ws, summary, root = demo
    with ws.store.read() as conn:
        rules = {r for (r,) in conn.execute(select(Alert.rule).where(Alert.state == "firing"))}
        ladder = dict(conn.execute(select(Quota.status, Quota.explanation)).all())
    assert {"drift", "deficit"} <= rules
    assert ladder, "the demo's quota policies give quotas"
    # Every demo budget can be computed, so no quota is suspended (a suspended quota
    # would say why: its budget cannot be computed yet).
    assert "suspended" not in ladder, ladder.get("suspended")
    assert summary.delivery.failed == 0 and summary.delivery.delivered > 0
    lines = (root / "notifications.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == summary.delivery.delivered


def test_demo_sign_ins_name_the_member_the_pages_show(
    demo: tuple[Workspace, PipelineSummary, Path],
) -> None:
    from steward.demo_runner import DEMO_ACCOUNTS, sign_in_lines
    from steward.store.models import Member

    ws, _, _ = demo
    lines = "\n".join(sign_in_lines(ws.config.path))
    with ws.store.read() as conn:
        names = dict(conn.execute(select(Member.code, Member.name)).all())
    commons = {c.slug: c.name for c in ws.settings.commons}
    for username, password, role, slug, code in DEMO_ACCOUNTS:
        if role == "steward":
            # Each steward account sees one commons: the line says which.
            assert f"{username} / {password} = {commons[slug]}" in lines
            continue
        # The username is the member's first name, and the demo prints the whole name.
        assert names[code].split()[0].lower() == username
        assert f"{username} / {password} = {names[code]} ({code})" in lines
