"""Crontab weekdays mean what crontab(5) says: 0 and 7 are Sunday, whatever APScheduler 3 numbers."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from apscheduler.triggers.cron import CronTrigger
from pydantic import ValidationError

from steward.config import Schedule
from steward.cron import apscheduler_crontab
from steward.errors import ConfigError
from steward.scheduler import trigger


@pytest.mark.parametrize(
    ("expr", "days"),
    [
        ("0 3 * * 0", "sun"),
        ("0 3 * * 7", "sun"),
        ("0 6 * * 1-5", "mon,tue,wed,thu,fri"),
        ("0 6 * * 5-7", "sun,fri,sat"),
        ("0 6 * * fri-sun", "sun,fri,sat"),
        ("0 6 * * */2", "sun,tue,thu,sat"),
        ("0 6 * * 1,3,SAT", "mon,wed,sat"),
    ],
)
def test_weekday_numbers_are_crontabs(expr: str, days: str) -> None:
    assert apscheduler_crontab(expr).split()[4] == days


def test_a_sunday_job_fires_on_sunday() -> None:
    monday = datetime(2026, 11, 30, 12, tzinfo=UTC)  # a Monday
    fire = trigger(Schedule(cron="0 3 * * 0")).get_next_fire_time(None, monday)
    assert fire is not None and fire.strftime("%A %H:%M") == "Sunday 03:00"
    # What the library alone would do: the numbers read from Monday.
    plain = CronTrigger.from_crontab("0 3 * * 0", timezone=UTC).get_next_fire_time(None, monday)
    assert plain is not None and plain.strftime("%A") == "Monday"
    # Every day and a day of month are left as they were.
    assert apscheduler_crontab("0 6 * * *") == "0 6 * * *"
    assert apscheduler_crontab("0 6 1 * *") == "0 6 1 * *"


@pytest.mark.parametrize(
    ("expr", "said"),
    [
        ("0 6 1 * mon", "restricts both the day of month (1) and the day of week (mon)"),
        ("0 6 * *", "has 4 fields, not 5"),
        ("0 6 * * 8", "'8' is not a day of week"),
        ("0 6 * * sat-mon", "runs backwards"),
        ("0 6 * * */0", "step '0' is not a positive number"),
    ],
)
def test_an_expression_crontab_and_the_scheduler_would_read_apart_is_refused(
    expr: str, said: str
) -> None:
    with pytest.raises(ConfigError, match=re.escape(said)):
        apscheduler_crontab(expr)
    with pytest.raises(ValidationError, match=re.escape(said)):
        Schedule(cron=expr)
