"""Alert rule options from ``alerts.rules`` in the YAML, validated with defaults.

Every rule has ``enabled``, ``severity``, ``for`` (how long the condition must
hold before the alert fires), ``repeat`` (how often a firing alert is sent
again) and ``resources`` (per-resource overrides of its own options)::

    alerts:
      rules:
        depletion: {p: 0.5, clear_margin: 0.1, severity: critical, resources: {tank: {p: 0.3}}}
        collector_stale: {after: 2h}
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pytimeparse import parse as parse_time_expression

from steward.config import Settings
from steward.errors import ConfigError

Severity = Literal["info", "warning", "critical"]


def parse_duration(value: str | int | float | timedelta, *, where: str = "duration") -> timedelta:
    """A duration as a timedelta: '90s', '15m', '2h', '14d', '2w', '2 weeks', '1h30m'.

    Text is parsed by pytimeparse (``m`` is minutes); a bare number is seconds.
    Raises ValueError naming ``where`` for text that is not a duration.
    """
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=float(value))
    seconds = parse_time_expression(str(value).strip())
    if seconds is None:
        raise ValueError(
            f"{where}: {value!r} is not a duration; write e.g. 30m, 2h, 14d, 2w or '2 weeks'"
        )
    return timedelta(seconds=float(seconds))


class RuleOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    enabled: bool = True
    severity: Severity = "warning"
    for_: timedelta = Field(default=timedelta(0), alias="for")
    repeat: timedelta = timedelta(hours=24)
    resources: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @field_validator("for_", "repeat", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> timedelta:
        return parse_duration(value)

    def for_resource(self, slug: str) -> Self:
        """These options with the resource's overrides applied."""
        override = self.resources.get(slug)
        if not override:
            return self
        data = self.model_dump(by_alias=True, exclude={"resources"})
        return type(self).model_validate({**data, **override})


class _Hysteresis(RuleOptions):
    """A chance threshold with hysteresis: the alert opens when the chance reaches ``p``
    and resolves only when it falls below ``p - clear_margin``.

    A forecast's chance moves by a few points from one run to the next (the
    simulation's own noise, a day's events); without a margin an alert opened at
    51% against 50% could resolve ten minutes later at 49% and open again after.
    """

    p: float = Field(default=0.5, gt=0, le=1)
    #: Points of chance (0-1) below ``p`` the chance must fall to before an open alert
    #: resolves. Unset: 0.1, or half of ``p`` when ``p`` is 0.2 or less.
    clear_margin: float | None = Field(default=None, ge=0, lt=1)

    @model_validator(mode="after")
    def _margin_below_p(self) -> Self:
        if self.clear_margin is not None and self.clear_margin >= self.p:
            raise ValueError(
                f"clear_margin ({self.clear_margin}) must be below p ({self.p}), or the "
                "alert could never resolve; e.g. clear_margin: 0.1"
            )
        return self

    def clears_below(self) -> float:
        """The chance an open alert must fall below to resolve (``p - clear_margin``)."""
        margin = min(0.1, self.p / 2) if self.clear_margin is None else self.clear_margin
        return self.p - margin


class Depletion(_Hysteresis):
    severity: Severity = "critical"
    p: float = Field(default=0.5, gt=0, le=1)


class Deficit(RuleOptions):
    severity: Severity = "critical"


class Overbooking(_Hysteresis):
    p: float = Field(default=0.3, gt=0, le=1)
    #: Only the risk within this lead time (the time it takes to buy, borrow or repair
    #: units) raises the alert; a peak months away is for planning, not an alarm.
    within: timedelta = timedelta(days=28)

    @field_validator("within", mode="before")
    @classmethod
    def _within(cls, value: Any) -> timedelta:
        return parse_duration(value)


class BelowReserve(RuleOptions):
    """A stock's recorded level is below its reserve now (empty, for a stock without one).

    An open alert resolves only once the level is ``clear_margin`` (a share of the
    reserve) above it: a fund whose grants and donations take it back and forth across
    its reserve is one alert, not one a crossing.
    """

    severity: Severity = "critical"
    #: Share of the reserve the level must recover above it before an open alert
    #: resolves (0.05: a 2,500 USD reserve clears at 2,625 USD).
    clear_margin: float = Field(default=0.05, ge=0, lt=1)


class NegativeLevel(RuleOptions):
    """A stock's recorded level is below zero: a data or accounting problem."""

    severity: Severity = "critical"


class QuotaRule(RuleOptions):
    severity: Severity = "info"
    #: At most this many member notifications per evaluation; the rest go to stewards as one digest.
    max_member_messages: int = Field(default=50, ge=0)


class QuotaOverrun(RuleOptions):
    """A member far over their fair share: one steward alert (never to members)."""

    #: Far over: use above this many times the larger of the member's quota and one
    #: ordinary use of the resource (so one ordinary use is never "far over").
    factor: float = Field(default=3.0, gt=1)


class Drift(RuleOptions):
    #: Fraction of the capacity (or of the expected level when there is none).
    tolerance: float = Field(default=0.05, gt=0)
    #: Smallest absolute gap worth an alert, in the resource's unit.
    min_abs: float = Field(default=0.0, ge=0)


class CollectorStale(RuleOptions):
    after: timedelta = timedelta(hours=2)
    failures: int = Field(default=3, ge=1)

    @field_validator("after", mode="before")
    @classmethod
    def _after(cls, value: Any) -> timedelta:
        return parse_duration(value)


class Anomaly(RuleOptions):
    """Today's level or units on loan far outside the forecast's widest interval.

    Forecast runs store the 5% and 95% quantiles, a 90% interval: a calibrated one is
    missed on one day in ten by design, several "anomalies" a day over 30 resources
    with nothing wrong. So an anomaly is a miss by more than ``margin`` of the
    interval's width: at 0.5, about 3.3 standard deviations from the median for a
    Gaussian forecast (about one chance in 1,000 a day), and, for a pool, by more than
    one unit (a narrow band of whole units is missed by one on ordinary days).

    Off by default: checked on data it was not designed on, it is not an alarm a
    steward could trust. A run's daily band spreads a weekly forecast over the days,
    so lumpy days (dues on the 1st, a member's batch of clamps) fall outside it: the
    rule would fire on 23% of pool-days of the MyTurn sample and on 13% of the demo's
    stock-days (tests/benchmarks/bench_anomaly_rate.py). ``drift`` (a reading against
    the ledger) and ``below_reserve`` say what is wrong now from recorded facts.
    """

    enabled: bool = False
    #: Outside the forecast's widest interval by more than this share of its width.
    margin: float = Field(default=0.5, ge=0)


RULE_MODELS: dict[str, type[RuleOptions]] = {
    "negative_level": NegativeLevel,
    "below_reserve": BelowReserve,
    "deficit": Deficit,
    "depletion": Depletion,
    "overbooking": Overbooking,
    "quota": QuotaRule,
    "quota_overrun": QuotaOverrun,
    "drift": Drift,
    "collector_stale": CollectorStale,
    "anomaly": Anomaly,
}


class Rules(BaseModel):
    model_config = ConfigDict(frozen=True)

    negative_level: NegativeLevel = NegativeLevel()
    below_reserve: BelowReserve = BelowReserve()
    deficit: Deficit = Deficit()
    depletion: Depletion = Depletion()
    overbooking: Overbooking = Overbooking()
    quota: QuotaRule = QuotaRule()
    quota_overrun: QuotaOverrun = QuotaOverrun()
    drift: Drift = Drift()
    collector_stale: CollectorStale = CollectorStale()
    anomaly: Anomaly = Anomaly()


def _error(name: str, exc: ValidationError, prefix: str = "") -> ConfigError:
    lines = []
    for err in exc.errors():
        key = prefix + (".".join(str(p) for p in err["loc"]) or "(rule)")
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = f"is not an option of rule {name} (known: {', '.join(RULE_MODELS[name].model_fields)})"
        lines.append(f"alerts.rules.{name}.{key}: {msg}")
    return ConfigError("\n".join(lines), hint="fix the rule's options in the configuration file")


def load_rules(settings: Settings) -> Rules:
    """The configured rules with defaults; raises ConfigError naming alerts.rules.<name>.<key>."""
    parsed: dict[str, RuleOptions] = {}
    for name, options in settings.alerts.rules.items():
        model = RULE_MODELS.get(name)
        if model is None:
            raise ConfigError(
                f"alerts.rules.{name}: unknown alert rule",
                hint=f"known rules: {', '.join(RULE_MODELS)}",
            )
        try:
            rule = model.model_validate(options or {})
        except ValidationError as exc:
            raise _error(name, exc) from None
        known = {r.slug for c in settings.commons for r in c.resources}
        for slug in rule.resources:
            if slug not in known:
                raise ConfigError(
                    f"alerts.rules.{name}.resources.{slug}: unknown resource",
                    hint=f"known resources: {', '.join(sorted(known))}",
                )
            try:
                rule.for_resource(slug)
            except ValidationError as exc:
                raise _error(name, exc, f"resources.{slug}.") from None
        parsed[name] = rule
    return Rules.model_validate(parsed)
