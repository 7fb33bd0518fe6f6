"""Crontab expressions read as crontab(5) defines them, for APScheduler 3's CronTrigger.

APScheduler 3 numbers weekdays from Monday (0 = Monday, 6 = Sunday) where a
crontab numbers them from Sunday (0 or 7 = Sunday), and its
``CronTrigger.from_crontab`` passes the numbers through: ``"0 3 * * 0"`` runs on
Mondays (APScheduler issue #286, fixed only in 4.0). This module rewrites the
weekday field as day names, which both read alike. It also refuses an expression
that restricts both the day of month and the day of week: a crontab runs when
either matches, APScheduler only when both do, and guessing which was meant
would run the job on the wrong days without a word.
"""

from __future__ import annotations

from steward.errors import ConfigError

#: crontab(5) weekday numbers; 7 is Sunday too.
_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_NUMBER = {name: i for i, name in enumerate(_NAMES)}
_HINT = "write five fields: minute hour day month weekday, e.g. '0 6 * * *' or '0 3 * * sun'"


def _day(token: str, expr: str) -> int:
    token = token.strip().lower()
    if token.isdigit() and 0 <= int(token) <= 7:
        return int(token) % 7
    if token in _NUMBER:
        return _NUMBER[token]
    raise ConfigError(f"cron {expr!r}: {token!r} is not a day of week", hint="use 0-7 or sun-sat")


def _days(field: str, expr: str) -> list[int]:
    """The crontab weekdays (0 = Sunday) a weekday field selects, in week order."""
    chosen: set[int] = set()
    for part in field.split(","):
        span, _, step_text = part.partition("/")
        if step_text and not (step_text.isdigit() and int(step_text) > 0):
            raise ConfigError(f"cron {expr!r}: step {step_text!r} is not a positive number")
        step = int(step_text) if step_text else 1
        if span == "*":
            first, last = 0, 6
        elif "-" in span:
            lo, hi = span.split("-", 1)
            first, last = _day(lo, expr), _day(hi, expr)
            if last == 0 and first > 0:  # "5-7" and "fri-sun" end on Sunday, day 7
                last = 7
            if last < first:
                raise ConfigError(
                    f"cron {expr!r}: the weekday range {span!r} runs backwards",
                    hint="write it as two parts, e.g. 'fri-sat,sun'",
                )
        else:
            first = last = _day(span, expr)
        chosen.update(d % 7 for d in range(first, last + 1, step))
    return sorted(chosen)


def apscheduler_crontab(expr: str) -> str:
    """``expr`` with its weekday field as day names, so APScheduler reads it as crontab(5) does.

    ``"0 3 * * 0"`` -> ``"0 3 * * sun"``; ``"0 6 * * 1-5"`` -> ``"0 6 * * mon,tue,wed,thu,fri"``.
    Raises :class:`~steward.errors.ConfigError` for an expression without five fields,
    an unreadable weekday, or one restricting both the day of month and the day of week.
    """
    fields = expr.split()
    if len(fields) != 5:
        raise ConfigError(f"cron {expr!r} has {len(fields)} fields, not 5", hint=_HINT)
    minute, hour, day, month, weekday = fields
    if weekday == "*":
        return expr
    if day != "*":
        raise ConfigError(
            f"cron {expr!r} restricts both the day of month ({day}) and the day of week "
            f"({weekday}): a crontab runs when either matches, the scheduler only when both",
            hint="keep one of the two and write '*' in the other",
        )
    names = ",".join(_NAMES[d] for d in _days(weekday, expr))
    return " ".join([minute, hour, day, month, names])
