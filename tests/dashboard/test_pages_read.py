"""What a fresh reader sees: data freshness, method words, measures, periods, public health."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import insert, select

from dashboards import advice
from dashboards.text import public_amount
from steward.access import Scope
from steward.errors import AccessDenied
from steward.queries import sources
from steward.queries.health import Tile
from steward.queries.overdue import PoolLoans
from steward.store.models import Commons, ForecastRun, OutboxMessage, Reading, Resource
from steward.workspace import open_workspace

from .apptest import open_page, shown_text, signed_in
from .fixtures import Federation

NOW = datetime.now(UTC)
SENSOR = "tank-sensor"


def _readings(
    federation: Federation,
    times: list[datetime],
    *,
    source: str = SENSOR,
    prefix: str = "r",
    ingested_at: datetime | None = None,
) -> None:
    """Readings of the toolshed's tank at ``times``, each recorded when taken (or at
    ``ingested_at``), with ids ``prefix`` and a count."""
    ws = open_workspace(federation.config)
    with ws.store.write() as conn:
        tank = conn.execute(select(Resource.id).where(Resource.slug == "odd")).scalar_one()
        conn.execute(
            insert(Reading),
            [
                {
                    "resource_id": tank,
                    "observed_at": at,
                    "value": Decimal(10),
                    "source": source,
                    "external_id": f"{prefix}{i}",
                    "ingested_at": ingested_at or at,
                    "payload_hash": "x",
                }
                for i, at in enumerate(times)
            ],
        )
    ws.close()


def _quiet_sensor(federation: Federation, *, silent_for: timedelta) -> None:
    """Hourly readings of the toolshed's tank for ten days, none for ``silent_for`` since."""
    last = NOW - silent_for
    _readings(federation, [last - timedelta(hours=h) for h in range(240)])


def _last_year(federation: Federation, *, days_ago: list[float]) -> None:
    """Sensor readings a year and more ago (``days_ago`` before now)."""
    _readings(federation, [NOW - timedelta(days=d) for d in days_ago], prefix="old")


@pytest.mark.parametrize(
    ("days_ago", "stale"),
    [
        ([400.0], False),
        ([400.0, 365.1], True),
        # Last year's season ended a day later than this year's (384 days ago, against
        # 385 now): still its season. It was flagged stale for the whole off season.
        ([400.0, 384.0], False),
    ],
)
def test_a_source_as_quiet_a_year_ago_is_in_its_season_not_stale(
    federation: Federation, days_ago: list[float], stale: bool
) -> None:
    # Quiet for 20 days after hourly readings: stale, unless on this date last year
    # it had been quiet for half as long already (it sent rows before, none since).
    _quiet_sensor(federation, silent_for=timedelta(days=20))
    _last_year(federation, days_ago=days_ago)
    ws = open_workspace(federation.config)
    with ws.store.read() as conn:
        got = {n.source: n for n in sources.newest_data(_steward_scope(federation), conn, NOW)}
    ws.close()
    assert got[SENSOR].stale is stale


def _steward_scope(federation: Federation) -> Scope:
    ws = open_workspace(federation.config)
    with ws.store.read() as conn:
        toolshed = conn.execute(select(Commons.id).where(Commons.slug == "toolshed")).scalar_one()
    ws.close()
    return Scope.steward(toolshed)


def test_newest_data_flags_a_quiet_sensor_whatever_its_collector_says(
    federation: Federation,
) -> None:
    _quiet_sensor(federation, silent_for=timedelta(hours=9))
    scope = _steward_scope(federation)
    ws = open_workspace(federation.config)
    try:
        with ws.store.read() as conn:
            newest = {n.source: n for n in sources.newest_data(scope, conn, NOW)}
            # Nine silent hours of an hourly sensor: stale. The ledger's events (a day
            # old, a few a week) are not: their rhythm is days, not hours.
            assert newest[SENSOR].stale and newest[SENSOR].what == "reading"
            assert newest[SENSOR].usual_gap == timedelta(hours=1)
            assert newest[SENSOR].happened_at == NOW - timedelta(hours=9)
            assert not newest["test"].stale
            # An hour of quiet is within its rhythm and the floor.
            soon = sources.newest_data(scope, conn, NOW - timedelta(hours=8, minutes=30))
            assert not {n.source: n for n in soon}[SENSOR].stale
            with pytest.raises(AccessDenied):
                sources.newest_data(Scope.public(), conn, NOW)
    finally:
        ws.close()


def test_a_feed_quiet_every_night_is_not_stale_in_the_morning(federation: Federation) -> None:
    """Rows every hour from 8:00 to 20:00, none at night: 11 h of quiet at 7:00 is its
    rhythm (five mean gaps, about 9 h, called it stale every morning); two days is not."""
    last_evening = NOW.replace(hour=20, minute=0) - timedelta(days=1)
    # Every hour from 8:00 to 20:00 for ten days.
    _readings(
        federation,
        [last_evening - timedelta(days=d, hours=h) for d in range(10) for h in range(13)],
        prefix="day",
    )
    ws = open_workspace(federation.config)
    scope = _steward_scope(federation)
    morning = last_evening + timedelta(hours=11)
    with ws.store.read() as conn:
        at_seven = {n.source: n for n in sources.newest_data(scope, conn, morning)}[SENSOR]
        later = {
            n.source: n for n in sources.newest_data(scope, conn, morning + timedelta(days=2))
        }[SENSOR]
    ws.close()
    assert not at_seven.stale and at_seven.longest_gap == timedelta(hours=12)
    assert later.stale


def test_a_hand_import_into_the_same_resource_does_not_hide_a_quiet_feed(
    federation: Federation,
) -> None:
    """A feed whose rows are no resource's newest (a steward imported a newer reading
    by hand) is still found, and still stale."""
    _quiet_sensor(federation, silent_for=timedelta(hours=9))
    # A steward's hand import into the same tank, newer than the sensor's last reading.
    _readings(
        federation,
        [NOW - timedelta(hours=h) for h in (1, 30, 60, 90)],
        source="import:tank.csv",
        prefix="hand",
        ingested_at=NOW,
    )
    ws = open_workspace(federation.config)
    scope = _steward_scope(federation)
    with ws.store.read() as conn:
        hidden = {n.source for n in sources.newest_data(scope, conn, NOW)}
        newest = {n.source: n for n in sources.newest_data(scope, conn, NOW, collectors=[SENSOR])}
    ws.close()
    assert SENSOR not in hidden  # each resource's single newest row: the import's
    assert newest[SENSOR].stale and newest[SENSOR].happened_at == NOW - timedelta(hours=9)
    assert not newest["import:tank.csv"].stale


def test_overview_says_when_data_last_came_and_flags_the_quiet_source(
    federation: Federation,
) -> None:
    _quiet_sensor(federation, silent_for=timedelta(hours=9))
    text = shown_text(open_page(signed_in("sam"), "overview"))
    assert "stale" in text and f"{SENSOR}: no new reading since" in text
    assert "usually every 1 hour" in text
    assert "Newest data: test " in text
    # The old line read a collector's last success as the data's age.
    assert "Data last arrived" not in text
    # Levels carry their date beside the forecast's ("as of 14:05" read as undated).
    assert "Levels as of " in text and " 20" in text.split("Levels as of ")[1][:20]


def test_resource_page_names_methods_in_words_and_heads_scores_by_their_measure(
    federation: Federation,
) -> None:
    ws = open_workspace(federation.config)
    with ws.store.write() as conn:
        tank = conn.execute(select(Resource.id).where(Resource.slug == "odd")).scalar_one()
        dates = [(NOW + timedelta(days=d)).date().isoformat() for d in range(1, 31)]
        conn.execute(
            insert(ForecastRun),
            {
                "resource_id": tank,
                "created_at": NOW,
                "data_cutoff": NOW,
                "horizon_days": 30,
                "method": "use: mean(croston+long_run_rate+sba) + replenish: shrunk_seasonal_mean",
                "reason": (
                    "use: intermittent demand (60% zero weeks): mean(croston+long_run_rate+sba)"
                    " chosen by backtest RMSSE 0.60 vs seasonal naive 0.86 over 2 origins | "
                    "replenish: 105 weeks of history, season length 52: shrunk_seasonal_mean "
                    "chosen by backtest MASE 0.71 vs seasonal naive 0.93 over 2 origins"
                ),
                "scores": {
                    "use": {"combination(croston+long_run_rate+sba)": 0.6, "seasonal_naive": 0.86},
                    "replenish": {"shrunk_seasonal_mean": 0.71, "seasonal_naive": 0.93},
                },
                "risk": {"p_below_reserve": 0.1, "horizon_end": dates[-1]},
                "paths": {"dates": dates, "q0.5": [9.0] * 30},
                "accuracy": None,
            },
        )
    ws.close()
    at = open_page(signed_in("sam"), "resource", "odd")
    assert not at.exception
    prose = re.sub(
        r"\\([^\w\s])", r"\1", " ".join(str(m.value) for m in [*at.markdown, *at.caption])
    )
    assert "average of three intermittent-demand methods" in prose
    assert "average of the same weeks in past years, shrunk toward the recent level" in prose
    # Engine names only in the secondary places: the table's last column, the expander.
    assert "shrunk_seasonal_mean" not in prose and "croston" not in prose
    assert "mean(croston+long_run_rate+sba)" in " ".join(str(t.value) for t in at.text)
    table = at.dataframe[0].value
    assert list(table.columns) == [
        "Series",
        "Method",
        "Used",
        "MASE",
        "RMSSE",
        "How it works",
        "Technical name",
    ]
    use = table[table["Series"] == "Watering"]  # a stock in litres: water words
    assert use["MASE"].isna().all() and use["RMSSE"].tolist() == [0.6, 0.86]
    assert "RMSSE (intermittent demand)" in prose and "MASE: " in prose


def test_health_is_the_same_page_signed_in_or_not(federation: Federation) -> None:
    visitor = open_page(signed_in(None), "health")
    headers = [str(h.value) for h in visitor.header]
    assert headers == ["Orchard", "Toolshed"]
    assert "1 resource · " in shown_text(visitor) and "3 resources · " in shown_text(visitor)
    # The counts use the badges' words: never "to watch" above a card marked "at risk".
    captions = [str(c.value) for c in visitor.caption if "resource" in str(c.value)]
    assert all("to watch" not in c for c in captions), captions
    assert any(" at risk" in c for c in captions), captions
    for user in ("alice", "sam", "oscar"):
        at = open_page(signed_in(user), "health")
        mine = [str(h.value) for h in at.header]
        # Every commons, the viewer's own first and marked.
        assert sorted(h.removesuffix(" (your commons)") for h in mine) == headers, user
        assert mine[0].endswith("(your commons)"), user
        assert "Cider press" in shown_text(at) and "Repair fund" in shown_text(at), user
    # Nothing personal comes with signing in: Alice's own grant stays hers.
    assert "37.25" not in shown_text(open_page(signed_in("bob"), "health"))


def test_a_hidden_public_figure_says_why_and_a_rounded_one_says_about(
    federation: Federation,
) -> None:
    text = shown_text(open_page(signed_in(None), "health"))
    # The fund's level came from two members (k = 5): hidden, with the reason, not a dash.
    assert "Hidden: fewer than 5 members used it in the last 30 days" in text
    # The health page is the same signed in: the exact figure is on a steward's Overview.
    assert "Stewards see it on their Overview." in text
    assert "—" not in text


def test_public_amounts_do_not_claim_cents_the_rounding_removed() -> None:
    assert public_amount(2900.0, "USD") == "about $2,900"
    assert public_amount(-2700.0, "USD") == "about \u2212$2,700"
    assert public_amount(9100.0, "L") == "about 9,100 L"
    assert public_amount(6.0, "", kind="pool") == "6 units"  # exact: rounding left it whole
    assert public_amount(150.0, "", kind="pool") == "about 150 units"


def test_my_usage_period_is_its_days_with_the_year(federation: Federation) -> None:
    at = open_page(signed_in("alice"), "my_usage")
    periods = [
        str(c.value).replace("\\", "")
        for c in at.caption
        if re.search(r"\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\b", str(c.value))
        and not str(c.value).startswith("Quota figures as of")  # a time, not the period
    ]
    assert periods
    for period in periods:
        # "1–30 Nov 2026" or "25 Nov – 25 Dec 2026": never "1 Nov to 1 Dec 2026".
        assert " to " not in period
        assert re.fullmatch(r"\d{1,2}( \w{3}( \d{4})? – \d{1,2}|–\d{1,2}) \w{3} \d{4}", period), (
            period
        )


def test_data_sources_page_lists_each_sources_newest_row(federation: Federation) -> None:
    _quiet_sensor(federation, silent_for=timedelta(hours=9))
    at = open_page(signed_in("sam"), "sources")
    assert not at.exception
    newest = next(d.value for d in at.dataframe if "Usually every" in d.value.columns)
    row = newest[newest["Source"] == SENSOR].iloc[0]
    assert row["Stale"] == "stale" and row["Usually every"] == "1 hour"
    assert row["Newest"].startswith("reading of ")


def test_quota_cards_carry_the_unit_in_their_labels_so_no_figure_is_cut(
    federation: Federation,
) -> None:
    # Four metrics side by side cut "8 unit-days" to "8 unit-…": the unit goes in the label.
    oscar = {str(m.label): str(m.value) for m in open_page(signed_in("oscar"), "my_usage").metric}
    assert oscar["My quota (unit-days)"] == "8"
    assert oscar["Used (unit-days)"] == "1" and oscar["Left (unit-days)"] == "7"
    # Money keeps its sign in the figure and needs no unit in the label.
    alice = {str(m.label): str(m.value) for m in open_page(signed_in("alice"), "my_usage").metric}
    assert alice["My quota"] == "€120.00"


def test_overview_says_when_beside_each_risk(federation: Federation) -> None:
    at = open_page(signed_in("sam"), "overview")
    table = next(d.value for d in at.dataframe if "Risk" in d.value.columns)
    # The risk's day sits beside it: the Outlook column holding it is off screen on a laptop.
    assert list(table.columns[:3]) == ["Risk", "When", "Status"]
    fund = table[table["Resource"] == "Repair fund"].iloc[0]
    assert fund["When"] == "—"  # its stored risk names no day
    drills = Tile(
        "drills", "Drills", "pool", "units", "toolshed", 6, 6, None, 0, "", True, "danger"
    )
    assert advice.row(replace(drills, risk_date=date(2027, 7, 25)))["When"] == "peak on 25 Jul 2027"
    tank = replace(drills, kind="stock", unit="L", risk_date=date(2027, 6, 21), probability=0.8)
    # A forecast crossing is said "by", as the status line says it ("on" was the pool's word).
    assert advice.row(tank)["When"] == "over 50% by 21 Jun 2027"
    assert advice.row(replace(drills, probability=0.548))["Risk"] == 0.55


def test_overview_shows_loans_recorded_beyond_a_pools_units() -> None:
    """As `steward status` does: the units out as recorded, and the excess as a finding."""
    saws = Tile("saws", "Tile saws", "pool", "units", "toolshed", 3, 2, None, 0, "", True, "ok")
    assert advice.beyond_units(saws) == 1
    assert advice.row(saws)["Now"] == "3 of 2 units on loan (1 more than its units)"
    assert advice.row(replace(saws, level=2))["Now"] == "2 of 2 units on loan"
    # A rounded public figure says nothing of it.
    assert advice.beyond_units(replace(saws, shown="rounded")) == 0


def test_a_pool_on_watch_because_every_unit_is_out_says_so() -> None:
    """At a 17% risk a pool is 'watch' only because its one unit is out: say why."""
    saw = Tile("saws", "Tile saws", "pool", "units", "toolshed", 1, 1, None, 0, "", True, "watch")
    assert advice.what_to_do(saw).startswith("Every unit is out now")
    assert advice.what_to_do(replace(saw, level=0)).startswith("Keep an eye on it")


def test_every_unit_out_names_the_overdue_page_only_when_that_pool_has_late_loans() -> None:
    """The demo's clamps were all out on ordinary loans: the Overdue page listed none of them."""
    saw = Tile("saws", "Tile saws", "pool", "units", "toolshed", 2, 2, None, 0, "", True, "watch")
    saw = replace(saw, timezone="Europe/London")
    on_time = PoolLoans(overdue=0, next_due=datetime(2026, 12, 4, 23, 59, 59, tzinfo=UTC))
    assert advice.what_to_do(saw, on_time) == (
        "Every unit is out now, none late: the next is due back by 4 Dec 2026; "
        "members asking now wait until then"
    )
    undated = PoolLoans(overdue=0, next_due=None)
    assert "Overdue page" not in advice.what_to_do(saw, undated)
    assert "Overdue page" not in advice.what_to_do(saw)  # loans unknown: say nothing of it
    late = advice.row(saw, [], PoolLoans(overdue=2, next_due=None))["What to do"]
    assert late == "Every unit is out now and 2 loans are late: the Overdue page says which"


def test_members_page_counts_a_pools_30_days_in_checkouts(federation: Federation) -> None:
    at = open_page(signed_in("sam"), "members")
    table = next(d.value for d in at.dataframe if "Used (30 days)" in d.value.columns)
    used = table.loc[table["Resource"] == "Cordless drills", "Used (30 days)"].tolist()
    # Units checked out, said as checkouts: "0 units" read as nothing held.
    assert used and all(re.fullmatch(r"\d+ checkouts?", u) for u in used), used
    # The quota columns are the last run's, the 30-day column live: the page says so.
    said = " ".join(c.value for c in at.caption)
    assert re.search(r"Quota figures as of \d+ \w+ \d{4}, \d\d\\?:\d\d", said), said


def test_undelivered_messages_read_in_words_and_the_commons_clock(
    federation: Federation,
) -> None:
    """The table showed the store's names (id, route "toolshed-stewards#0", last_error,
    next_attempt_at in bare UTC) under a page whose times are the commons' own."""
    ws = open_workspace(federation.config)
    with ws.store.write() as conn:
        toolshed = conn.execute(select(Commons.id).where(Commons.slug == "toolshed")).scalar_one()
        conn.execute(
            insert(OutboxMessage),
            {
                "dedupe_key": "k1",
                "route": "toolshed-stewards#0",
                "title": "[CRITICAL] depletion: Repair fund",
                "body": "...",
                "created_at": NOW,
                "attempts": 2,
                "next_attempt_at": datetime(2026, 12, 1, 11, 9, tzinfo=UTC),
                "last_error": "json://127.0.0.1:8599 did not accept the message",
                "commons_id": toolshed,
            },
        )
    ws.close()
    at = open_page(signed_in("sam"), "alerts")
    assert not at.exception
    table = next(d.value for d in at.dataframe if "Next attempt" in d.value.columns)
    assert list(table.columns) == [
        "No.",
        "State",
        "To",
        "Message",
        "Last error",
        "Next attempt",
        "Attempts",
        "Gave up",
    ]
    row = table.iloc[0]
    assert row["To"] == "toolshed-stewards"
    assert row["Next attempt"] == "1 Dec 2026, 12:09 CET"  # the toolshed is in Paris


def test_members_page_writes_out_why_for_a_quota_to_talk_about(federation: Federation) -> None:
    """The grid cut "Why" to its column, so the explanation a steward would quote to a
    warned member could not be read: it is written out whole under the table."""
    at = open_page(signed_in("sam"), "members")
    assert not at.exception
    text = shown_text(at)
    assert "\nBOB-QUOTA-NOTE: at this pace the quota runs out early\n" in text
    assert "No explanation recorded" not in text  # a member without a quota has none
    assert "Quota €120.00 · used €58.50 · left €61.50 · at this pace €175.00" in text
