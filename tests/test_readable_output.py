"""What a steward reads: CLI listings at 80 columns, notification wording and times."""

from __future__ import annotations

import io
import json
import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from steward import display
from steward.alerts import rules
from steward.alerts.messages import GUIDANCE, message, short
from steward.cli import app
from steward.commands.alerts import alert_blocks, alert_groups
from steward.commands.collect import quarantine_blocks, sources_table
from steward.commands.quotas import quota_tables
from steward.config import Settings
from steward.headlines import headline
from steward.queries.sources import Newest
from steward.store.models import Alert
from steward.workspace import Workspace

NOW = datetime(2026, 11, 30, 15, 19, tzinfo=UTC)
DEFICIT = (
    "Mutual-aid fund is running a deficit: it needs 622.97 USD/month more "
    "income, or 622.97 USD/month less use, to keep the chance of being below its reserve of "
    "2,500 USD on 28 July 2027 under 20% (members ordinarily use 1,749.95 USD in a month; it "
    "can sustain 1,135.94 USD). At the current pace it falls below its reserve of 2,500 USD "
    "around 2026-12-25 (chance 89% within 240 days)."
)


def render(*renderables: Any) -> list[str]:
    console = Console(width=80, file=io.StringIO(), record=True, color_system=None)
    for item in renderables:
        console.print(item)
    return console.export_text().splitlines()


def assert_fits(lines: list[str]) -> None:
    wide = [line for line in lines if len(line) > 80]
    assert not wide, "\n".join(wide)


def test_sources_fit_80_columns_with_their_figures() -> None:
    settings = Settings.model_validate(
        {
            "commons": [
                {"slug": "garden", "name": "Garden", "timezone": "Europe/London"},
                {"slug": "shed", "name": "Shed", "timezone": "America/Los_Angeles"},
            ],
            "collectors": [
                {"name": "garden-tank-sensor", "kind": "csv", "commons": "garden", "path": "x"},
                {"name": "toolshed-loans", "kind": "csv", "commons": "shed", "path": "y"},
                {
                    "name": "fund-ledger",
                    "kind": "csv",
                    "commons": "shed",
                    "path": "z",
                    "enabled": False,
                },
            ],
        }
    )
    states = {
        "garden-tank-sensor": SimpleNamespace(
            last_success_at=NOW,
            consecutive_failures=3,
            last_error="connection refused by 127.0.0.1:1883 " * 5,
            rows_read=1_234_567,
            accepted=1_234_000,
            quarantined=567,
        ),
        "toolshed-loans": SimpleNamespace(
            last_success_at=NOW,
            consecutive_failures=0,
            last_error=None,
            rows_read=7_875,
            accepted=7_875,
            quarantined=0,
        ),
    }
    # The tank sensor's collector succeeds, but its newest reading is weeks old.
    newest = {
        "garden-tank-sensor": Newest(
            "garden-tank-sensor",
            "reading",
            "Rain tank",
            datetime(2026, 11, 2, 21, 7, tzinfo=UTC),
            datetime(2026, 11, 2, 21, 8, tzinfo=UTC),
            timedelta(days=1),
            True,
        ),
        "toolshed-loans": Newest("toolshed-loans", "event", "Drills", NOW, NOW, None, False),
    }
    lines = render(sources_table(settings, states, newest, NOW))
    assert_fits(lines)
    text = "\n".join(lines)
    for figure in (
        "garden-tank-sensor",
        "1,234,567",
        "1,234,000",
        "567",
        "7,875",
        "failed 3x in a row",
        "failed 3 times in a row: connection refused",
    ):
        assert figure in text
    # Each collector's time in its commons' zone, labelled, as the dashboard shows it.
    assert "15:19 GMT" in text and "07:19 PST" in text
    assert "disabled" in text and "never run" in text
    # Beside the last success, the newest data with its year, and the stale flag.
    assert "newest data" in text
    assert "2 Nov 2026, 21:07 GMT" in text
    assert "STALE" in text
    assert (
        "garden-tank-sensor is stale: its newest data is 28 days old, against a usual gap "
        "of 1 day, though its collector succeeds" in " ".join(text.split())
    )
    assert "no events or readings" in text  # fund-ledger never delivered any


def test_status_lists_what_needs_attention_first_and_says_so() -> None:
    from steward.commands.status import status_view
    from steward.status import ATTENTION_ORDER, ResourceStatus

    def res(slug: str, **values: Any) -> ResourceStatus:
        return ResourceStatus(slug, slug.title(), "shed", "stock", "L", True, **values)

    # In slug order, as the store lists them (and status printed them).
    rows = [
        res("apple", risk={"p_below_reserve": 0.05}),
        res("barrel", risk={"p_below_reserve": 0.6}),
        res("cistern", firing=["warning"]),
        res("drum", firing=["critical", "warning"], risk={"p_below_reserve": 0.1}),
        res("ewer", below_reserve={"level": "5", "reserve": "10", "shortfall": "5"}),
        res("font"),
    ]
    lines = render(*status_view(rows, {"shed": "Shed"}))
    assert_fits(lines)
    text = "\n".join(lines)
    order = [text.index(f"│ {r.name}") for r in rows]
    shown = [rows[i].slug for i in sorted(range(len(rows)), key=order.__getitem__)]
    assert shown == ["ewer", "drum", "cistern", "barrel", "apple", "font"]
    assert " ".join(ATTENTION_ORDER.split()) in " ".join(text.split())
    assert "BELOW RESERVE" in text and "2 alerts," in text and "critical" in text


def test_quotas_fit_80_columns_one_unit_per_table() -> None:
    found = []
    for i in range(3):
        q = SimpleNamespace(
            allocation=Decimal("1135.94"),
            used=Decimal(i * 400),
            projected=Decimal("1749.95"),
            status=("ok", "warned", "review")[i],
        )
        found.append((q, f"F{i:04d}", "Bartholomew Featherstonehaugh-Smythe", "mutual-aid-fund"))
        found[-1] += ("USD", "Mutual-aid fund", "stock")
    drill = SimpleNamespace(
        allocation=Decimal("0.48"), used=Decimal(0), projected=Decimal(0), status="suspended"
    )
    found.append((drill, "T0001", "Ada Park", "drill-cordless", "units", "Cordless drills", "pool"))
    periods = {"mutual-aid-fund": "1–31 Dec 2026", "drill-cordless": "1–31 Dec 2026"}
    lines = render(*quota_tables(found, periods))
    assert_fits(lines)
    text = "\n".join(line.rstrip() for line in lines)
    assert "Mutual-aid fund (mutual-aid-fund)\nquotas in USD for 1–31 Dec 2026" in text
    # A pool's quotas count unit-days, named once in its title, with the period's days.
    assert "Cordless drills (drill-cordless)\nquotas in unit-days for 1–31 Dec 2026" in text
    assert "projected: use by the period's end at the current pace" in text
    assert "a unit-day is one unit on loan for one day" in text
    assert "a loan still out counts to its due day (overdue: to today)" in text
    for figure in ("1,135.94", "1,749.95", "800", "review", "suspended", "F0002", "0.48"):
        assert figure in text


def alert(**values: Any) -> Alert:
    base: dict[str, Any] = {
        "id": 1,
        "severity": "critical",
        "state": "firing",
        "rule": "deficit",
        "summary": DEFICIT,
        "first_seen_at": NOW,
        "acknowledged_at": None,
        "silenced_until": None,
        "silenced_at": None,
        "silence_reason": None,
        "silenced_by": None,
        "commons_id": 1,
        "audience": "stewards",
        "details": {},
    }
    return Alert(**(base | values))


def test_alerts_list_fits_80_columns_with_whole_summaries() -> None:
    found = [
        alert(),
        alert(
            id=2,
            severity="warning",
            rule="drift",
            summary="Rain water tank: the reading of 9,065.2 L is 881.7 L less",
            acknowledged_at=NOW,
            acknowledged_by="garden-steward",
            acknowledged_note="checking the valve",
            commons_id=2,
        ),
    ]
    lines = render(*alert_blocks(found, {1: "America/New_York", 2: "Europe/London"}, NOW))
    assert_fits(lines)
    text = " ".join(" ".join(lines).split())
    # The whole summary is there (not squeezed into a column), times in each commons' zone.
    assert " ".join(DEFICIT.split()) in text
    assert "#1 CRITICAL firing deficit since 30 Nov 2026, 10:19 EST" in text
    assert "#2 WARNING firing, acknowledged drift since 30 Nov 2026, 15:19 GMT" in text
    assert "Acknowledged by garden-steward at 30 Nov 2026, 15:19 GMT: checking the valve" in text


def test_notification_times_are_the_commons_local_time_with_its_zone() -> None:
    _title, body = message(alert(), "firing", "America/New_York")
    assert "first seen 30 Nov 2026, 10:19 EST" in body
    assert "UTC" not in body


def test_notification_title_is_cut_at_a_clause_not_mid_figure() -> None:
    title, body = message(alert(), "firing", "UTC")
    assert title == "[CRITICAL] deficit: Mutual-aid fund is running a deficit ..."
    assert DEFICIT in body  # the body keeps the whole summary
    depletion = (
        "Rain water tank may fall below its reserve of 1,500 L within 240 days "
        "(chance 73%; median date 2027-06-13) and some more words to pass the limit"
    )
    assert short(depletion).endswith("within 240 days ...")
    assert short("Seed bank is low") == "Seed bank is low"


def test_a_forecast_alert_quotes_its_resources_track_record_as_how_sure() -> None:
    record = "Of the 200 days we gave a 30%-40% chance of all units out, 34% had all units out."
    _title, body = message(
        alert(rule="overbooking", details={"track_record": record}), "firing", "UTC"
    )
    assert f"How sure: {record} (backtest of this resource's past forecasts)" in body
    assert "What to do: add the units" in body
    # Without a backtest that can vouch for it, the line says the figure is unchecked
    # (it pointed to a dashboard track record that did not exist yet).
    _title, body = message(alert(rule="overbooking"), "firing", "UTC")
    assert "How sure: the chance above is the latest forecast's, not yet checked" in body
    assert "backtest (steward calibrate) has not run" in body
    assert "`" not in body and "resource page shows" not in body


def test_every_steward_alert_says_how_sure_and_what_to_do() -> None:
    made = {
        name
        for name in dir(rules)
        if callable(getattr(rules, name)) and not name.startswith("_") and name in GUIDANCE
    }
    # Every rule module function that makes candidates has guidance.
    for rule in ("depletion", "deficit", "overbooking", "quota", "drift", "anomaly"):
        assert rule in made
    assert "collector_stale" in GUIDANCE
    for rule in GUIDANCE:
        _title, body = message(alert(rule=rule), "firing", "UTC")
        assert "How sure:" in body and "What to do:" in body, rule
    _title, body = message(alert(), "resolved", "UTC")
    assert "What to do:" not in body


def test_the_demo_prints_its_status_after_the_first_forecast(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import steward.commands.status
    import steward.demo_runner

    calls: list[str] = []
    config = workspace.config.path
    monkeypatch.setattr("steward.commands.demo.build", lambda directory: config)
    monkeypatch.setattr(steward.demo_runner, "create_demo_accounts", lambda path: None)
    monkeypatch.setattr(
        steward.demo_runner, "first_pipeline_run", lambda path: calls.append("forecast")
    )
    monkeypatch.setattr(steward.demo_runner, "_monitor", lambda path, root: calls.append("serve"))
    monkeypatch.setattr(steward.commands.status, "render", lambda ws: calls.append("status"))
    result = CliRunner().invoke(app, ["demo", "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    # Printed before the forecast, every outlook read "no forecast yet".
    assert calls == ["forecast", "status", "serve"]


def test_the_demos_first_run_says_its_summary_once(
    workspace: Workspace, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    """It was printed, then logged at INFO by the pipeline: two copies in one terminal."""
    import steward.demo_runner

    caplog.set_level(logging.INFO)
    steward.demo_runner.first_pipeline_run(workspace.config.path)
    said = capsys.readouterr().out + caplog.text
    assert said.count("quotas;") == 1, said


def test_the_schedulers_pipeline_job_logs_its_summary(
    workspace: Workspace, caplog: pytest.LogCaptureFixture
) -> None:
    """`steward run` has no other place to say what a run did."""
    from steward.scheduler import pipeline_job

    job = pipeline_job(workspace)
    assert job is not None
    caplog.set_level(logging.INFO)
    job.func()
    (line,) = [r.getMessage() for r in caplog.records if "quotas;" in r.getMessage()]
    assert line.startswith("pipeline: ") and "resources forecast" in line


def test_the_demo_inbox_takes_a_free_port_and_points_the_routes_there(tmp_path: Path) -> None:
    from steward.demo_inbox import PORT, Inbox

    config = tmp_path / "steward.yaml"
    config.write_text(f"urls: ['json://127.0.0.1:{PORT}/garden-stewards']\n", encoding="utf-8")
    with Inbox(tmp_path / "inbox.jsonl", Console(quiet=True)) as inbox:
        inbox.point_config_here(config)
        assert inbox.port != PORT
        assert f"json://127.0.0.1:{inbox.port}/garden-stewards" in config.read_text()


def test_the_demo_inbox_prints_each_notification_whole_at_80_columns(tmp_path: Path) -> None:
    from steward.alerts.messages import steward_message
    from steward.demo_inbox import Inbox

    command = "/srv/steward/.venv/bin/steward --config /srv/steward/demo/steward.yaml"
    deficit = steward_message(alert(), "firing", "America/New_York", command=command)
    drift = steward_message(
        alert(
            id=2,
            severity="warning",
            rule="drift",
            summary=(
                "Rain water tank: the reading of 9,101.8 L at 30 Nov 2026, 21:07 GMT is 898.2 L "
                "less than the ledger implies (10,000 L): a leak, unrecorded use or a sensor fault"
            ),
        ),
        "firing",
        "Europe/London",
        command=command,
    )
    out = io.StringIO()
    # The demo's own console: soft_wrap, so a line Rich does not wrap the terminal breaks.
    console = Console(width=80, file=out, color_system=None, soft_wrap=True)
    inbox = Inbox(tmp_path / "inbox.jsonl", console)
    try:
        for title, body in (deficit, drift):
            payload = json.dumps({"title": title, "message": body}).encode()
            inbox.receive("/toolshed-stewards", payload)
    finally:
        inbox.server.server_close()
    lines = out.getvalue().splitlines()
    assert_fits(lines)
    # Never cut: the title's "..." stands for the summary, which follows whole.
    assert not [line for line in lines if line.rstrip().endswith(("...", "…"))], lines
    assert lines[0] == "notification to toolshed-stewards: [CRITICAL] deficit"
    text = " ".join(" ".join(lines).split())
    assert " ".join(DEFICIT.split()) in text
    # What, how sure, what to do (its command whole) and when, for each message.
    assert text.count("How sure: ") == 2 and text.count("What to do: ") == 2
    assert f"{command} quotas --resource" in text
    assert "Alert #1, first seen 30 Nov 2026, 10:19 EST." in text
    assert "notification to toolshed-stewards: [WARNING] drift" in lines
    assert "a leak, unrecorded use or a sensor fault" in text
    # The acknowledge line, the same for every alert, stays in the file only.
    assert "Acknowledge or silence" not in text
    # Each body line sits under its title.
    body = [line for line in lines if line and not line.startswith("notification")]
    assert all(line.startswith("  ") and line == line.rstrip() for line in body)


def test_collect_summary_fits_80_columns_and_shows_the_whole_error() -> None:
    from steward.collectors.base import RunReport
    from steward.commands.collect import collect_summary

    error = "garden-tank-sensor: connection refused by 127.0.0.1:1883; is the broker up? " * 3
    reports = [
        RunReport("toolshed-inventory-and-loans", rows_read=1_000_000, accepted=999_000),
        RunReport("garden-tank-sensor", status="failed", error=error, quarantined=12),
    ]
    reports[0].duplicates, reports[0].seconds = 1_000, 123.4
    lines = render(collect_summary(reports))
    assert_fits(lines)
    text = " ".join(" ".join(lines).split())
    for figure in ("1,000,000", "999,000", "1,000", "123.4", "FAILED", "12"):
        assert figure in text
    assert " ".join(error.split()) in text
    assert "steward quarantine list" in text


def test_collect_summary_with_member_updates_fits_80_columns() -> None:
    from steward.collectors.base import RunReport
    from steward.commands.collect import collect_summary

    reports = [
        RunReport("toolshed-members", rows_read=1_000_000, accepted=997_000, updated=2_000),
        RunReport("garden-tank-sensor", rows_read=12, accepted=12),
    ]
    reports[0].duplicates, reports[0].seconds = 1_000, 123.4
    lines = render(collect_summary(reports))
    assert_fits(lines)
    text = " ".join(" ".join(lines).split())
    assert "┃ upd. ┃" in text and "upd. (members changed)" in text
    for figure in ("1,000,000", "997,000", "2,000", "1,000", "123.4"):
        assert figure in text


def test_undelivered_notifications_fit_80_columns_with_local_retry_times() -> None:
    from steward.commands.alerts import outbox_blocks
    from steward.store.models import OutboxMessage

    error = "json://hooks.example.org did not accept the message " * 2
    found = [
        OutboxMessage(
            id=4,
            route="garden-stewards#0",
            title="[WARNING] drift: Rain water tank: the reading of 9,065.2 L is less",
            attempts=2,
            next_attempt_at=NOW,
            last_error=error,
            commons_id=1,
            dead_at=None,
        ),
        OutboxMessage(
            id=5,
            route="garden-stewards#0",
            title="[CRITICAL] depletion",
            attempts=10,
            next_attempt_at=NOW,
            last_error=None,
            commons_id=1,
            dead_at=NOW,
        ),
    ]
    lines = render(*outbox_blocks(found, {1: "Europe/Paris"}))
    assert_fits(lines)
    text = " ".join(" ".join(lines).split())
    # The retry time was "%H:%M" in UTC without a label; now the commons' clock, labelled.
    assert "#4 retrying at 30 Nov 2026, 16:19 CET to garden-stewards, 2 attempts" in text
    assert " ".join(error.split()) in text
    assert "#5 dead letter" in text and "steward alerts outbox --retry 5" in text


def test_the_pipeline_says_what_it_did_in_one_short_line() -> None:
    from collections import Counter

    from steward.alerts.lifecycle import EvaluationSummary
    from steward.forecast.runs import ForecastSummary
    from steward.pipeline import PipelineSummary

    summary = PipelineSummary(
        ForecastSummary(runs=33, skipped={"tank": "unchanged"}),
        SimpleNamespace(quotas=540),
        EvaluationSummary(candidates=3, changes=Counter(firing=3), inhibited=1, superseded=1),
        SimpleNamespace(delivered=3, failed=0),
    )
    line = summary.line()
    # Was "33 forecasts (0 without data), 540 quotas, alerts 3 conditions, firing 3; 3 messages
    # queued, 0 held, 1 inhibited, delivered 3, failed 0": zeros and jargon.
    assert line == (
        "33 resources forecast (1 unchanged); 540 quotas; alerts: 3 conditions hold (3 firing); "
        "sent 3, failed 0, 1 member alert not raised while a resource alert stands, "
        "1 alert not raised: another on the same resource states it"
    )


def test_an_evaluation_summary_names_what_it_counts() -> None:
    from collections import Counter

    from steward.alerts.lifecycle import EvaluationSummary

    quiet = EvaluationSummary(candidates=3)
    assert str(quiet) == "3 conditions hold"  # was "3 conditions, no changes; 0 messages ..."
    busy = EvaluationSummary(candidates=3, changes=Counter(firing=2), queued=2, inhibited=1)
    assert str(busy) == (
        "3 conditions hold (2 firing); 2 messages queued; "
        "1 member alert not raised while a resource alert stands"
    )


def test_a_members_pool_quota_message_says_what_a_unit_day_is() -> None:
    details = {
        "unit": "unit-days",
        "resource_name": "Cordless drills",
        "status": "nudged",
        "member_name": "Ada Park",
        "allocation": "5.25",
        "used": "4.5",
        "remaining": "0.75",
        "projected": "6",
        "explanation": "Cordless drills can lend 144 unit-days in November 2026.",
    }
    member = alert(
        audience="members",
        rule="quota",
        summary="You have used 4.5 of 5.25 unit-days",
        details=details,
    )
    title, body = message(member, "firing")
    assert title == "Cordless drills: a friendly heads-up"
    assert "Your quota:             5.25 unit-days" in body
    # Figures read together are rounded alike: 6 beside 5.25 read as rounded.
    assert "At your pace, by end:   6.00 unit-days" in body
    assert "A unit-day is one item on loan for one day" in body


@pytest.mark.parametrize(
    ("value", "unit", "whole", "shown"),
    [
        (611.0, "packets", False, "611 packets"),
        (9092.8, "L", False, "9,092.8 L"),
        (9092.80000000001, "L", False, "9,092.8 L"),
        (2681.09, "USD", False, "2,681.09 USD"),
        (2500, "USD", False, "2,500.00 USD"),
        (6.0, "", True, "6"),
        (-0.04, "L", False, "0 L"),
        (None, "L", False, "—"),
    ],
)
def test_quantities_read_without_float_noise(
    value: float | None, unit: str, whole: bool, shown: str
) -> None:
    assert display.quantity(value, unit, whole=whole) == shown


def test_changes_say_their_direction_in_words() -> None:
    assert display.change(-326.55999999999995, "USD") == "down 326.56 USD"
    assert display.change(0.0, "packets") == "no change"
    assert display.change(0.3000000000000000004, "L") == "up 0.3 L"


def test_json_output_rounds_binary_noise_away() -> None:
    noisy = {"a": 0.1 + 0.2, "b": [1 - 0.9, {"c": -326.55999999999995}], "d": float("nan")}
    assert display.json_safe(noisy) == {"a": 0.3, "b": [0.1, {"c": -326.56}], "d": None}
    assert json.dumps(display.json_safe({"x": Decimal("1.500000")})) == '{"x": 1.5}'


@pytest.mark.parametrize(
    ("start", "end", "tz", "shown"),
    [
        # November in Los Angeles: stored as 1 Nov 07:00 UTC to 1 Dec 08:00 UTC (end exclusive).
        (
            datetime(2026, 11, 1, 7, tzinfo=UTC),
            datetime(2026, 12, 1, 8, tzinfo=UTC),
            "America/Los_Angeles",
            "1–30 Nov 2026",
        ),
        # East of UTC the first instant is the day before in UTC: still 1 Nov local.
        (
            datetime(2026, 10, 31, 23, tzinfo=UTC),
            datetime(2026, 11, 30, 23, tzinfo=UTC),
            "Europe/Paris",
            "1–30 Nov 2026",
        ),
        (
            datetime(2026, 12, 28, tzinfo=UTC),
            datetime(2027, 1, 4, tzinfo=UTC),
            "UTC",
            "28 Dec 2026 – 3 Jan 2027",
        ),
        (datetime(2026, 11, 30), datetime(2026, 12, 7), "UTC", "30 Nov – 6 Dec 2026"),
    ],
)
def test_periods_read_as_their_inclusive_local_days(
    start: datetime, end: datetime, tz: str, shown: str
) -> None:
    assert display.local_days(start, end, tz) == shown


def test_headline_dates_always_carry_their_year() -> None:
    res = SimpleNamespace(kind="stock", name="Repair fund", unit="USD", reserve=Decimal(100))
    this_year = datetime.now(UTC).date().replace(month=12, day=26)
    text = headline(
        res,  # type: ignore[arg-type]
        {"p_below_reserve": 0.96, "horizon_end": "2027-07-28", "date_p50": this_year.isoformat()},
    )
    assert text.endswith(f"by 28 July 2027, over 50% by 26 December {this_year.year}")
    pool = SimpleNamespace(kind="pool", name="Drills", unit="units", reserve=None)
    said = headline(pool, {"max_p_over_capacity": 0.7, "peak_date": this_year.isoformat()})  # type: ignore[arg-type]
    assert f"on {this_year:%a} 26 December {this_year.year}, its highest chance of any day" in said


def test_status_lines_show_counted_stock_whole_and_the_reserve_with_its_unit() -> None:
    from steward.commands.status import _where
    from steward.status import ResourceStatus

    seeds = ResourceStatus(
        "seed-bank", "Seed bank", "garden", "stock", "packets", True, level=611.0, reserve=50.0
    )
    assert _where(seeds) == "611 packets (reserve 50 packets)"
    fund = ResourceStatus(
        "fund", "Fund", "fund", "stock", "USD", True, level=2681.09, reserve=2500.0
    )
    assert _where(fund) == "2,681.09 USD (reserve 2,500.00 USD)"
    drills = ResourceStatus(
        "drill", "Drills", "shed", "pool", "units", True, on_loan=6.0, capacity=6.0
    )
    assert _where(drills) == "6/6 on loan"


def test_a_members_alert_in_the_stewards_list_names_the_member() -> None:
    # The summary speaks to the member ("At your pace you ..."): listed for a
    # steward without a name, it said nothing about whom it concerned.
    quota = alert(
        id=5,
        severity="warning",
        rule="quota",
        audience="members",
        member_id=213,
        summary="At your pace you will use about 13.21 unit-days of Cordless drills",
        details={"member": "T0213", "member_name": "Lea Ito"},
    )
    text = " ".join(" ".join(render(*alert_blocks([quota], {1: "UTC"}, NOW))).split())
    assert "To Lea Ito (T0213): At your pace you will use about 13.21" in text
    steward_alert = " ".join(" ".join(render(*alert_blocks([alert()], {1: "UTC"}, NOW))).split())
    assert "To " not in steward_alert


def test_a_calibration_line_says_what_was_predicted_and_what_happened() -> None:
    from steward.commands.calibrate import calibration_line
    from steward.forecast.risk_backtest import POOL_EVENT, STOCK_EVENT

    # Was "drill-cordless: 4 pool-days, mean predicted 30.0%, observed 50.0%": of what?
    pool = calibration_line("drill-cordless", POOL_EVENT, [0.2, 0.4, 0.3, 0.3], [0, 1, 1, 0])
    assert pool.plain == (
        "  drill-cordless: over 4 past days we gave all units out a mean chance of 30.0%; "
        "all units were out on 50.0% of them"
    )
    stock = calibration_line("water-tank", STOCK_EVENT, [0.5, 0.9], [1, 1])
    assert "falling below the reserve within the horizon a mean chance of 70.0%" in stock.plain
    assert stock.plain.endswith("it fell below after 100.0% of them")


def test_a_deficits_what_to_do_says_which_of_its_two_amounts() -> None:
    # The summary names this period's shortfall and a monthly pace: "by the monthly
    # amount above" left a steward choosing between 663.56 and 651.52.
    _title, body = message(alert(rule="deficit"), "firing", "UTC")
    todo = next(line for line in body.splitlines() if line.startswith("What to do:"))
    assert "by the shortfall above (this period's" in todo
    assert "monthly amount above" not in todo
    # A monthly deficit states one amount: "the monthly figure beside it" pointed at none.
    assert "the monthly figure beside it" not in todo
    assert "a weekly period's also gives the monthly pace" in todo


def test_quarantine_list_fits_80_columns_with_whole_reasons() -> None:
    """The four-column table gave a reason 30 characters and cut a long value with '…'."""
    settings = Settings.model_validate(
        {
            "commons": [{"slug": "garden", "name": "Garden", "timezone": "Europe/London"}],
            "collectors": [
                {"name": "garden-water", "kind": "csv", "commons": "garden", "path": "x"}
            ],
        }
    )
    offset = (
        "occurred_at '2026-11-30 10:00' has no UTC offset; pass --timezone (e.g. --timezone "
        "Europe/Paris) or write it with one (2024-05-01T10:00:00+02:00)"
    )
    huge = f"quantity '1{'0' * 400}' is too large (at most 9,000,000,000); check the column"
    rows = [
        SimpleNamespace(
            id=i,
            source="garden-water",
            location=f"water.csv:{i}",
            reason=reason,
            created_at=NOW,
            resolved_at=None,
            resolution=None,
        )
        for i, reason in ((2, offset), (1, huge))
    ]
    lines = render(*quarantine_blocks(rows, settings))
    assert_fits(lines)
    text = " ".join(" ".join(lines).split())
    assert "#2 garden-water water.csv:2 30 Nov 2026, 15:19 GMT" in text
    assert f"reason: {offset}" in text
    # The 401 digits are shortened, the reason after them is not.
    assert "(401 characters) is too large (at most 9,000,000,000); check the column" in text
    assert "0" * 60 not in text


def test_alerts_list_names_each_commons_and_its_clock_once() -> None:
    """11:08 GMT, 06:08 EST and 03:08 PST stood in one list for one moment, with
    nothing to say whose clock each was: each commons now heads its own alerts with
    its zone and offset from UTC, the commons with the most severe alert first."""
    found = [
        alert(id=2, rule="depletion", summary="Tank may run dry", commons_id=2),
        alert(),  # the fund's deficit, commons 1
        alert(id=4, severity="warning", rule="drift", summary="Tank reading", commons_id=2),
    ]
    commons = {1: ("Mutual-Aid Fund", "America/New_York"), 2: ("Garden", "Europe/London")}
    lines = [line.rstrip() for line in render(*alert_groups(found, commons, NOW))]
    assert_fits(lines)
    heads = [line for line in lines if " · times in " in line]
    assert heads == [
        "Garden · times in Europe/London (GMT, UTC+0)",
        "Mutual-Aid Fund · times in America/New_York (EST, UTC-5)",
    ]
    order = [line.split()[0] for line in lines if line.startswith("#")]
    assert order == ["#2", "#4", "#1"]
    assert display.zone_label("Asia/Kolkata", NOW) == "Asia/Kolkata (IST, UTC+5:30)"
    assert display.zone_label("UTC", NOW) == "UTC"


def test_depletion_advice_names_which_of_its_two_dates_to_plan_for() -> None:
    """The sentence now holds two dates ("by 29 July 2027, over 50% by 21 June 2027"):
    "before the date above" did not say which."""
    summary = (
        "80% chance Rain water tank falls below its reserve of 1,500 L by 29 July 2027, "
        "over 50% by 21 June 2027"
    )
    _, body = message(alert(rule="depletion", summary=summary), "firing", "Europe/London")
    assert "plan a refill or replenishment before the earlier date above" in body
