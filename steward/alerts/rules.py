"""Alert rules: each looks at the *current* state and returns the alerts that hold now.

Rules never scan history, so a collector backfilling a year produces at most one
candidate per resource, member or source, not one per past day.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pandas as pd
from sqlalchemy import Connection, func, select

from steward import flows
from steward.alerts.drift import latest_drift
from steward.alerts.options import RuleOptions, Rules
from steward.alerts.records import entities, rows
from steward.config import Settings
from steward.display import local_time
from steward.headlines import pool_outlook, stock_outlook, when
from steward.queries.forecasts import CalibrationView, latest_calibrations, track_record
from steward.quotas.explain import fmt, pct, places_for, quota_places, quota_unit
from steward.quotas.resource_budget import single_use as ordinary_use
from steward.quotas.sustainable import units_to_meet
from steward.reserve import breach, crossed_at, exact, vocabulary
from steward.store import catalog
from steward.store.catalog import ResourceInfo
from steward.store.models import (
    CollectorState,
    ForecastRun,
    Member,
    Quota,
    QuotaBudget,
    Resource,
)

#: Forecast runs to look back through for one that covers today (anomaly rule).
_ANOMALY_RUNS = 10


@dataclass(frozen=True)
class Candidate:
    """An alert condition that holds now."""

    fingerprint: str
    rule: str
    severity: str
    summary: str
    pending_for: timedelta
    repeat: timedelta
    audience: str = "stewards"
    resource_id: int | None = None
    member_id: int | None = None
    source: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    #: False: the condition no longer holds, and ``summary`` states the current figures
    #: for the RESOLVED message of the open alert with this fingerprint.
    holds: bool = True


def _candidate(
    opts: RuleOptions, rule: str, fingerprint: str, summary: str, **kw: Any
) -> Candidate:
    return Candidate(
        fingerprint=fingerprint,
        rule=rule,
        severity=kw.pop("severity", opts.severity),
        summary=summary,
        pending_for=opts.for_,
        repeat=opts.repeat,
        **kw,
    )


def _recent_runs(
    conn: Connection,
    now: datetime,
    per_resource: int,
    *,
    skip: int = 0,
    resource_ids: list[int] | None = None,
) -> list[ForecastRun]:
    """Each resource's ``per_resource`` latest runs made by ``now``, newest first,
    leaving out the ``skip`` newest (already read); all resources or ``resource_ids``.

    One windowed query: a store keeps every past run (they are scored later), and
    reading them all to keep the newest decoded every stored run's paths.
    """
    rank = (
        func.row_number()
        .over(
            partition_by=ForecastRun.resource_id,
            order_by=(ForecastRun.created_at.desc(), ForecastRun.id.desc()),
        )
        .label("rank")
    )
    ranked = select(ForecastRun.id, rank).where(ForecastRun.created_at <= now).subquery("ranked")
    return entities(
        conn,
        select(ForecastRun)
        .join(ranked, ranked.c.id == ForecastRun.id)
        .where(ranked.c.rank <= per_resource)
        .order_by(ForecastRun.resource_id, ranked.c.rank),
    )


def _latest_forecasts(conn: Connection, now: datetime) -> dict[int, ForecastRun]:
    """Each resource's latest forecast run made by ``now``."""
    return {run.resource_id: run for run in _recent_runs(conn, now, 1)}


def depletion(
    conn: Connection,
    rules: Rules,
    now: datetime,
    latest: dict[int, ForecastRun] | None = None,
    open_fps: frozenset[str] = frozenset(),
) -> list[Candidate]:
    """P(stock below its reserve within the horizon) >= ``p``; an open alert holds until the
    chance falls below ``p - clear_margin`` (hysteresis), and then says the chance it fell to.

    The sentence is the status line's (:func:`steward.headlines.stock_outlook`): the
    chance by the horizon's end and the first day it passes 50%.
    """
    out = []
    forecasts = _latest_forecasts(conn, now) if latest is None else latest
    records = latest_calibrations(conn)
    for res in catalog.resources(conn):
        opts = rules.depletion.for_resource(res.slug)
        run = forecasts.get(res.id)
        if not opts.enabled or run is None or str(res.kind) != "stock":
            continue
        p = run.risk.get("p_below_reserve")
        fingerprint = f"depletion:{res.slug}"
        is_open = fingerprint in open_fps
        if p is None:
            continue
        line = f"its reserve of {fmt(res.reserve, res.unit)}" if res.reserve else "empty"
        by = _horizon_end(run)
        sentence = stock_outlook(res.name, float(p), line, by, when(run.risk.get("date_p50")))
        threshold = opts.clears_below() if is_open else opts.p
        if float(p) < threshold:
            if is_open:
                out.append(
                    _cleared(
                        opts,
                        "depletion",
                        fingerprint,
                        f"{sentence}: under the {pct(opts.clears_below())} at which the alert "
                        f"resolves (it fires at {pct(opts.p)})",
                        res.id,
                        {"p_below_reserve": float(p), "forecast_run": run.id},
                    )
                )
            continue
        held = (
            f" (held open until it falls below {pct(opts.clears_below())}; it fired at "
            f"{pct(opts.p)} or more)"
            if float(p) < opts.p
            else ""
        )
        out.append(
            _candidate(
                opts,
                "depletion",
                fingerprint,
                sentence + held,
                resource_id=res.id,
                details={
                    "resource": res.slug,
                    "p_below_reserve": float(p),
                    "threshold": opts.p,
                    "clears_below": opts.clears_below(),
                    "forecast_run": run.id,
                    **_json(run.risk),
                    **_track_record(records.get(res.id), float(p)),
                },
            )
        )
    return out


def _horizon_end(run: ForecastRun) -> date:
    """The run's last forecast day, as the status line computes it."""
    stored = when(run.risk.get("horizon_end"))
    return stored or ((run.data_cutoff or run.created_at) + timedelta(days=run.horizon_days)).date()


def _cleared(
    opts: RuleOptions,
    rule: str,
    fingerprint: str,
    summary: str,
    resource_id: int | None,
    details: dict[str, Any],
) -> Candidate:
    """The current figures of an open alert whose condition no longer holds: its RESOLVED
    message states them, never the figures it fired with."""
    return _candidate(
        opts, rule, fingerprint, summary, resource_id=resource_id, details=details, holds=False
    )


def below_reserve(
    conn: Connection, rules: Rules, now: datetime, open_fps: frozenset[str] = frozenset()
) -> list[Candidate]:
    """A stock whose recorded level is below its reserve now (empty, without a reserve).

    Observed, not forecast: the level is the ledger's (:func:`steward.reserve.breach`),
    and the alert says since when and by how much. It supersedes the stock's
    ``depletion`` and ``deficit`` alerts (see :func:`steward.alerts.lifecycle.inhibit`).
    """
    out = []
    for res in catalog.resources(conn):
        opts = rules.below_reserve.for_resource(res.slug)
        if not opts.enabled or str(res.kind) != "stock":
            continue
        fingerprint = f"below_reserve:{res.slug}"
        found = breach(conn, res, now)
        if found is None:
            if fingerprint in open_fps:
                level = flows.level(conn, res, now)
                clears_at = (res.reserve or 0) * (1 + Decimal(str(opts.clear_margin)))
                if res.reserve and level < clears_at:
                    out.append(
                        _candidate(
                            opts,
                            "below_reserve",
                            fingerprint,
                            f"{res.name} is back at {fmt(level, res.unit)}, just above its "
                            f"reserve of {fmt(res.reserve, res.unit)}: this alert stays open "
                            f"until it reaches {fmt(clears_at, res.unit)} "
                            f"({opts.clear_margin:.0%} over the reserve), so a level going "
                            "back and forth across the line is one alert",
                            resource_id=res.id,
                            details={
                                "level": exact(level),
                                "reserve": exact(res.reserve),
                                "clears_at": exact(clears_at),
                                "unit": res.unit,
                                "resource": res.slug,
                                "what_to_do": "What to do: keep uses that can wait on hold "
                                f"until it is back over {fmt(clears_at, res.unit)}.",
                            },
                        )
                    )
                    continue
                out.append(
                    _cleared(
                        opts,
                        "below_reserve",
                        fingerprint,
                        f"{res.name} is back at {fmt(level, res.unit)}, "
                        + (
                            f"at or above its reserve of {fmt(res.reserve, res.unit)}"
                            if res.reserve
                            else "no longer empty"
                        ),
                        res.id,
                        {"level": exact(level)},
                    )
                )
            continue
        words = vocabulary(res.unit)
        since = (
            f"since {local_time(found.since, res.timezone)}"
            if found.since
            else "since its first record"
        )
        if found.reserve is None:
            summary = f"{res.name} is empty now: {fmt(found.level, res.unit)} recorded, {since}"
            todo = f"What to do: seek {words.replenishes} and hold {words.uses} until it has some."
        else:
            summary = (
                f"{res.name} is below its reserve of {fmt(found.reserve, res.unit)} now: "
                f"{fmt(found.level, res.unit)} recorded, {fmt(found.shortfall, res.unit)} short, "
                f"{since}"
            )
            todo = (
                f"What to do: hold {words.uses} that can wait and seek "
                f"{fmt(found.shortfall, res.unit)} of {words.replenishes} to bring it back to "
                "its reserve."
            )
        out.append(
            _candidate(
                opts,
                "below_reserve",
                fingerprint,
                summary,
                resource_id=res.id,
                details={
                    "level": exact(found.level),
                    "reserve": None if found.reserve is None else exact(found.reserve),
                    "shortfall": exact(found.shortfall),
                    "since": found.since.isoformat() if found.since else None,
                    "unit": res.unit,
                    "resource": res.slug,
                    "what_to_do": todo,
                },
            )
        )
    return out


def negative_level(
    conn: Connection, rules: Rules, now: datetime, open_fps: frozenset[str] = frozenset()
) -> list[Candidate]:
    """A stock whose recorded level is below zero: nothing holds less than nothing, so the
    records are wrong or incomplete (for a fund: more paid out than recorded coming in).

    Supersedes the stock's ``below_reserve``, ``depletion``, ``deficit`` and
    ``anomaly`` alerts, whose figures all rest on this level.
    """
    out = []
    for res in catalog.resources(conn):
        opts = rules.negative_level.for_resource(res.slug)
        if not opts.enabled or str(res.kind) != "stock":
            continue
        fingerprint = f"negative_level:{res.slug}"
        level = flows.level(conn, res, now)
        if level >= 0:
            if fingerprint in open_fps:
                out.append(
                    _cleared(
                        opts,
                        "negative_level",
                        fingerprint,
                        f"{res.name}'s recorded level is {fmt(level, res.unit)}, no longer "
                        "below zero",
                        res.id,
                        {"level": exact(level)},
                    )
                )
            continue
        since_at = crossed_at(conn, res, now, level, Decimal(0))
        since = (
            f"since {local_time(since_at, res.timezone)}" if since_at else "since its first record"
        )
        words = vocabulary(res.unit)
        reserve = (
            f" It is also {fmt((res.reserve or 0) - level, res.unit)} below its reserve of "
            f"{fmt(res.reserve, res.unit)}, if the records are right."
            if res.reserve
            else ""
        )
        summary = (
            f"{res.name}'s recorded level is {fmt(level, res.unit)}, below zero {since}: "
            f"{words.negative_means}. A data or accounting problem.{reserve}"
        )
        todo = (
            f"What to do: find what the records miss or hold twice: {words.replenishes} not "
            f"recorded, {words.uses} recorded twice or too large (reverse them), or a source "
            "whose rows were quarantined; a measured level (a bank balance, a tank reading) "
            "anchors the level again. Its forecast and reserve figures rest on this level "
            "until then."
        )
        out.append(
            _candidate(
                opts,
                "negative_level",
                fingerprint,
                summary,
                resource_id=res.id,
                details={
                    "level": exact(level),
                    "since": since_at.isoformat() if since_at else None,
                    "unit": res.unit,
                    "resource": res.slug,
                    "what_to_do": todo,
                },
            )
        )
    return out


def deficit(
    conn: Connection,
    rules: Rules,
    now: datetime,
    latest: dict[int, ForecastRun] | None = None,
) -> list[Candidate]:
    """One steward alert per resource whose budget is below its members' ordinary need.

    Reads the period's stored budget (:class:`QuotaBudget`) for the gap and the
    remedy, and the latest forecast run for the depletion chance and date (a stock)
    or the highest daily overbooking chance within the overbooking rule's lead time
    and its day (a pool: the deficit holds that alert back, so it states its figure).
    """
    found = rows(
        conn,
        select(QuotaBudget, Resource.slug)
        .join(Resource, Resource.id == QuotaBudget.resource_id)
        .where(
            QuotaBudget.period_start <= now,
            QuotaBudget.period_end > now,
            QuotaBudget.state.in_(("deficit", "stop")),
        )
        .order_by(Resource.slug),
    )
    forecasts = _latest_forecasts(conn, now) if latest is None else latest
    records = latest_calibrations(conn) if found else {}
    out = []
    for budget, slug in found:
        opts = rules.deficit.for_resource(slug)
        if not opts.enabled:
            continue
        res = catalog.resource(conn, slug)
        if res is None:
            continue
        # A pool's name is most often a plural ("Cordless drills"): "the pool is" agrees.
        who = f"{res.name}: the pool is" if str(res.kind) == "pool" else f"{res.name} is"
        summary = f"{who} running a deficit: " + (
            f"it {budget.remedy}." if budget.remedy else f"{budget.basis}."
        )
        if budget.state == "stop":
            summary = f"{res.name}: stop using it now. {budget.basis}."
        details: dict[str, Any] = {
            "gap_per_month": float(budget.gap_per_month or 0),
            "need": None if budget.need is None else float(budget.need),
            "budget": float(budget.amount),
            "unit": res.unit,
            "resource": slug,
        }
        if str(res.kind) == "pool":
            # Ledger figures, not a forecast: the message says so and what closes it.
            details["how_sure"] = (
                "How sure: recorded, not forecast: members' ordinary use is the median of "
                "what they borrowed in each of up to the last 12 periods; the budget is "
                "the units the pool has now at the use its policy allows."
            )
            details["what_to_do"] = (
                "What to do: add the units named above (or get back loans long past "
                "due), or ask members to borrow for shorter spells."
            )
        run = forecasts.get(res.id)
        if run is not None and str(res.kind) == "pool":
            # The deficit holds back the pool's overbooking alert (one problem, one
            # alert), so it says when the forecast expects the pool to run short.
            within = rules.overbooking.for_resource(slug).within
            peak = _window_peak(run, _days_within(run, res, now, within))
            if peak is not None:
                p, peak_day = peak
                window = f"within the next {_duration_words(within)}"
                summary += " The forecast: " + pool_outlook(res.name, p, peak_day, window) + "."
                record = _pool_track_record(records.get(res.id), run, peak_day)
                details["how_sure"] += (
                    f" The forecast's chance: {record['track_record']}"
                    if record.get("track_record")
                    else " The forecast's chance is the latest run's, not yet checked "
                    "against how this pool's own past forecasts came true (steward calibrate)."
                )
                details |= {
                    "forecast_run": run.id,
                    "max_p_over_capacity": p,
                    "peak_in_window": peak_day.isoformat() if peak_day else None,
                }
        if run is not None and run.risk.get("p_below_reserve") is not None:
            p = float(run.risk["p_below_reserve"])
            passes_half = run.risk.get("date_p50")
            line = f"its reserve of {fmt(res.reserve, res.unit)}" if res.reserve else "empty"
            # The status line's sentence: the same chance and the same date.
            summary += " At the current pace: " + (
                stock_outlook(res.name, p, line, _horizon_end(run), when(passes_half)) + "."
            )
            details |= {"forecast_run": run.id, "p_below_reserve": p, "date_p50": passes_half}
        out.append(
            _candidate(
                opts,
                "deficit",
                f"deficit:{slug}",
                summary,
                resource_id=res.id,
                details=details,
            )
        )
    return out


def overbooking(
    conn: Connection,
    rules: Rules,
    now: datetime,
    latest: dict[int, ForecastRun] | None = None,
    open_fps: frozenset[str] = frozenset(),
) -> list[Candidate]:
    """The highest daily P(pool demand above capacity) within ``within`` >= ``p``; an open
    alert holds until it falls below ``p - clear_margin``, then says the chance it fell to.

    The chance and the date are those of the likeliest day within the lead time,
    in the status line's words (:func:`steward.headlines.pool_outlook`).
    """
    out = []
    forecasts = _latest_forecasts(conn, now) if latest is None else latest
    records = latest_calibrations(conn)
    for res in catalog.resources(conn):
        opts = rules.overbooking.for_resource(res.slug)
        run = forecasts.get(res.id)
        if not opts.enabled or run is None or str(res.kind) != "pool":
            continue
        fingerprint = f"overbooking:{res.slug}"
        is_open = fingerprint in open_fps
        days = _days_within(run, res, now, opts.within)
        peak = _window_peak(run, days)
        if peak is None:
            whole = run.risk.get("max_p_over_capacity")
            peak = None if whole is None else (float(whole), when(run.risk.get("peak_date")))
        if peak is None:
            continue
        p, peak_day = peak
        window = f"within the next {_duration_words(opts.within)}"
        sentence = pool_outlook(res.name, p, peak_day, window)
        threshold = opts.clears_below() if is_open else opts.p
        if p < threshold:
            if is_open:
                out.append(
                    _cleared(
                        opts,
                        "overbooking",
                        fingerprint,
                        f"{sentence}: under the {pct(opts.clears_below())} at which the alert "
                        f"resolves (it fires at {pct(opts.p)})",
                        res.id,
                        {"max_p_over_capacity": p, "forecast_run": run.id},
                    )
                )
            continue
        extra = units_to_meet(
            (run.paths.get("q0.9") or [])[:days], (run.paths.get("capacity") or [])[:days]
        )
        more = (
            f"; {extra} more {res.unit if extra > 1 else res.unit.rstrip('s')} would bring "
            "overbooking under 10%"
            if extra
            else ""
        )
        held = (
            f" (held open until it falls below {pct(opts.clears_below())}; it fired at "
            f"{pct(opts.p)} or more)"
            if p < opts.p
            else ""
        )
        out.append(
            _candidate(
                opts,
                "overbooking",
                fingerprint,
                sentence + more + held,
                resource_id=res.id,
                details={
                    "max_p_over_capacity": p,
                    "peak_in_window": peak_day.isoformat() if peak_day else None,
                    "threshold": opts.p,
                    "clears_below": opts.clears_below(),
                    "units_to_meet": extra,
                    "forecast_run": run.id,
                    **_json(run.risk),
                    **_pool_track_record(records.get(res.id), run, peak_day),
                },
            )
        )
    return out


def _pool_track_record(
    view: CalibrationView | None, run: ForecastRun, day: date | None
) -> dict[str, str]:
    """The track record for an overbooking alert: the backtest scored "all units out",
    not the headline's "more demand than units", so the bin is looked up with the
    peak day's chance of all units out (stored per day in the run's paths) and the
    sentence names that chance. Older runs without it: the Brier caution only."""
    if view is None:
        return {}
    dates = [str(d)[:10] for d in run.paths.get("dates") or []]
    per_day = run.paths.get("p_all_units_out") or []
    key = day.isoformat() if day is not None else None
    if key in dates and dates.index(key) < len(per_day):
        p_out = per_day[dates.index(key)]
        if isinstance(p_out, int | float):
            sentence = track_record(view, float(p_out))
            if sentence:
                return {
                    "track_record": f"That day the forecast gives all units out a "
                    f"{float(p_out):.0%} chance. {sentence}"
                }
            return {}
    sentence = track_record(view, float("nan"), caution_only=True)
    return {"track_record": sentence} if sentence else {}


def _duration_words(span: timedelta) -> str:
    """28 days -> "28 days", 1 day -> "day", 36 hours -> "36 hours"."""
    if span.total_seconds() % 86400 == 0:
        n = int(span.total_seconds() // 86400)
        return "day" if n == 1 else f"{n} days"
    hours = span.total_seconds() / 3600
    return f"{hours:g} hours"


def _window_peak(run: ForecastRun, days: int) -> tuple[float, date | None] | None:
    """(highest daily chance, its day) over the run's first ``days`` forecast days; the
    first such day on a tie, as the forecast's own ``peak_date`` is chosen."""
    per_day = run.risk.get("p_over_capacity_dates") or []
    dates = run.paths.get("dates") or []
    best: tuple[float, date | None] | None = None
    for i, value in enumerate(per_day[:days]):
        if isinstance(value, dict):  # {"date": ..., "p": ...}
            p, day = value.get("p"), when(value.get("date"))
        else:
            p, day = value, when(dates[i]) if i < len(dates) else None
        if not isinstance(p, int | float):
            continue
        if best is None or float(p) > best[0]:
            best = (float(p), day)
    return best


def _track_record(view: CalibrationView | None, p: float) -> dict[str, str]:
    """``{"track_record": sentence}`` when the resource's backtest can say how often
    figures like ``p`` came true (see :func:`steward.queries.forecasts.track_record`)."""
    sentence = track_record(view, p) if view is not None else None
    return {"track_record": sentence} if sentence else {}


def _days_within(run: ForecastRun, res: ResourceInfo, now: datetime, within: timedelta) -> int:
    """How many of the run's forecast days fall within ``within`` of ``now`` (local days)."""
    last = (pd.Timestamp(now).tz_convert(res.timezone) + within).date().isoformat()
    return sum(1 for d in run.paths.get("dates") or [] if str(d)[:10] <= last)


def _far_over(
    used: Decimal, allocation: Decimal, single: Decimal | None, status: str, factor: float
) -> Decimal | None:
    """The figure a member's use is far over (quota, or one ordinary use), else None.

    Far over: use above ``factor`` times the larger of the quota and one ordinary use
    (a suspended quota has no allocation: one ordinary use is the yardstick).
    """
    ordinary = single if single is not None and single > 0 else Decimal(0)
    base = ordinary if status == "suspended" else max(allocation, ordinary)
    if base <= 0 or used <= base * Decimal(str(factor)):
        return None
    return base


def quota(conn: Connection, rules: Rules, now: datetime) -> list[Candidate]:
    """The member ladder: nudge (80% used), warned (projected over), review (over);
    and one steward alert per member far over their share (rule ``quota_overrun``)."""
    found = rows(
        conn,
        select(
            Quota,
            Member.code,
            Member.name,
            Resource.slug,
            Resource.name,
            Resource.unit,
            Resource.kind,
            QuotaBudget.single_use,
        )
        .join(Member, Member.id == Quota.member_id)
        .join(Resource, Resource.id == Quota.resource_id)
        .outerjoin(
            QuotaBudget,
            (QuotaBudget.resource_id == Quota.resource_id)
            & (QuotaBudget.period_start == Quota.period_start),
        )
        .where(
            Quota.period_start <= now,
            Quota.period_end > now,
            Quota.status.in_(("nudged", "warned", "review", "suspended")),
        )
        .order_by(Resource.slug, Member.code),
    )
    out = []
    ordinary: dict[int, Decimal | None] = {}
    for q, code, name, slug, res_name, res_unit, kind, single in found:
        unit = quota_unit(kind, res_unit)  # the unit the quota's explanation counts in
        if single is None and q.status == "suspended" and q.used > 0:
            # No budget was stored (it could not be computed): one ordinary use is
            # still the yardstick of a far overrun.
            if q.resource_id not in ordinary:
                res = catalog.resource(conn, slug)
                value = ordinary_use(conn, res) if res is not None else None
                ordinary[q.resource_id] = None if value is None else Decimal(repr(value))
            single = ordinary[q.resource_id]
        opts = rules.quota.for_resource(slug)
        far = rules.quota_overrun.for_resource(slug)
        period = q.period_start.date().isoformat()
        key = f"{slug}:{code}:{period}"
        left = q.allocation - q.used
        numbers = {
            "resource": slug,
            "resource_name": res_name,
            "unit": unit,
            "member": code,
            "member_name": name,
            "allocation": str(q.allocation),
            "used": str(q.used),
            # Signed: negative when over (the figure `steward quotas` and the dashboard show).
            "remaining": str(left),
            "over_by": str(max(-left, Decimal(0))),
            "projected": str(q.projected),
            "period_start": q.period_start.isoformat(),
            "period_end": q.period_end.isoformat(),
            "status": q.status,
            "explanation": q.explanation,
        }
        base = _far_over(q.used, q.allocation, single, q.status, far.factor)
        if far.enabled and base is not None:
            out.append(_overrun(far, q, key, name, code, res_name, unit, base, single, numbers))
        if not opts.enabled or q.status == "suspended":
            continue
        # Rounded alike with the message's and the page's figures (quota_places): "about
        # 29 unit-days" stood beside "14.79", one figure rounded and the other not.
        places = quota_places(q.allocation, q.used, q.projected)

        def said(value: Decimal, unit: str = unit, places: int = places) -> str:
            return fmt(value, unit, places=places)

        used = f"{said(q.used)} of {said(q.allocation)}"
        steps = {
            "nudged": ("info", f"You have used {used} of {res_name} this period"),
            "warned": (
                "warning",
                f"At your recent pace you will have used {said(q.projected)} of {res_name} "
                f"by the period's end, over your quota of {said(q.allocation)}",
            ),
            "review": (
                "warning",
                f"You have used {used} of {res_name}: over your quota by {said(-left)}",
            ),
        }
        severity, summary = steps[q.status]
        out.append(
            _candidate(
                opts,
                "quota",
                f"quota:{key}:{q.status}",
                summary,
                severity=severity,
                audience="members",
                resource_id=q.resource_id,
                member_id=q.member_id,
                details=numbers,
            )
        )
        # A steward's line shows three figures, not the pace: rounded alike among themselves.
        shown = places_for(q.used, q.allocation, left)
        review = (
            f"{fmt(q.used, unit, places=shown)} of {fmt(q.allocation, unit, places=shown)}, "
            f"over by {fmt(-left, unit, places=shown)}"
        )
        if q.status == "review" and (not far.enabled or base is None):
            out.append(
                _candidate(
                    opts,
                    "quota",
                    f"quota:{key}:steward-review",
                    f"{name} ({code}) is over quota on {res_name}: used {review}; please review",
                    severity="warning",
                    resource_id=q.resource_id,
                    member_id=q.member_id,
                    details=numbers,
                )
            )
    return out


def _overrun(
    opts: RuleOptions,
    q: Quota,
    key: str,
    name: str,
    code: str,
    res_name: str,
    unit: str,
    base: Decimal,
    single: Decimal | None,
    numbers: dict[str, Any],
) -> Candidate:
    """One steward alert: who is far over their share of what, by how much.

    Stewards only (its audience): a member's use never reaches another member. Not
    held back by a resource alert, since a deficit or overbooking does not say who.
    """
    times = q.used / base
    if q.status == "suspended":
        yardstick = (
            f"{fmt(times)} times one ordinary use ({fmt(base, unit)}); their quota is suspended"
        )
        over = q.used - base
    else:
        what = "their quota" if base == q.allocation else "one ordinary use"
        yardstick = f"{fmt(times)} times {what} of {fmt(base, unit)}"
        over = q.used - q.allocation
    summary = (
        f"{name} ({code}) has used {fmt(q.used, unit)} of {res_name} this period: "
        f"{yardstick}, over by {fmt(over, unit)}"
    )
    return _candidate(
        opts,
        "quota_overrun",
        f"quota_overrun:{key}",
        summary,
        resource_id=q.resource_id,
        member_id=q.member_id,
        details={
            **numbers,
            "times": float(times),
            "yardstick": str(base),
            "single_use": None if single is None else str(single),
            "over": str(over),
        },
    )


def quota_states(conn: Connection, now: datetime) -> dict[int, dict[str, int]]:
    """This period's quotas per resource id: how many are enforced and how many suspended."""
    counts: dict[int, dict[str, int]] = {}
    for resource_id, status, n in conn.execute(
        select(Quota.resource_id, Quota.status, func.count())
        .where(Quota.period_start <= now, Quota.period_end > now)
        .group_by(Quota.resource_id, Quota.status)
    ):
        kind = "suspended" if status == "suspended" else "enforced"
        entry = counts.setdefault(int(resource_id), {"enforced": 0, "suspended": 0})
        entry[kind] += int(n)
    return counts


def drift(conn: Connection, rules: Rules, now: datetime) -> list[Candidate]:
    out = []
    for res in catalog.resources(conn):
        opts = rules.drift.for_resource(res.slug)
        if not opts.enabled or str(res.kind) != "stock":
            continue
        found = latest_drift(conn, res, now)
        if found is None:
            continue
        scale = float(res.capacity) if res.capacity else max(abs(float(found.implied)), 1.0)
        gap = float(found.gap)
        if abs(gap) <= max(opts.tolerance * scale, opts.min_abs):
            continue
        direction = "less" if gap < 0 else "more"
        details: dict[str, Any] = {
            "reading": str(found.reading),
            "implied": str(found.implied),
            "gap": str(found.gap),
            "observed_at": found.observed_at.isoformat(),
            "direction": "below" if gap < 0 else "above",
        }
        if gap < 0:
            # Less than the ledger: what left without a record, or the sensor.
            why = "a leak, unrecorded use or a sensor fault"
        else:
            # More than the ledger: nothing leaks in; what came in without a record
            # (in the resource's own words), or the sensor. GUIDANCE's advice is the
            # one for a loss, so this direction carries its own.
            gains = vocabulary(res.unit).replenishes
            why = f"unrecorded {gains} or a sensor fault"
            details["what_to_do"] = (
                f"What to do: record the {gains} the ledger is missing (since the "
                "reading before this one), or check the sensor for a fault."
            )
        out.append(
            _candidate(
                opts,
                "drift",
                f"drift:{res.slug}",
                f"{res.name}: the reading of {fmt(found.reading, res.unit)} at "
                f"{local_time(found.observed_at, res.timezone)} is {fmt(abs(gap), res.unit)} "
                f"{direction} "
                f"than the ledger implies ({fmt(found.implied, res.unit)}): {why}",
                resource_id=res.id,
                details=details,
            )
        )
    return out


def collector_stale(
    conn: Connection, settings: Settings, rules: Rules, now: datetime
) -> list[Candidate]:
    opts = rules.collector_stale
    if not opts.enabled:
        return []
    states = {s.source: s for s in entities(conn, select(CollectorState))}
    out = []
    for col in settings.collectors:
        state = states.get(col.name)
        if not col.enabled or state is None:
            continue
        if state.consecutive_failures >= opts.failures:
            out.append(
                _candidate(
                    opts,
                    "collector_stale",
                    f"collector_failing:{col.name}",
                    f"Collector {col.name} failed {state.consecutive_failures} times in a row: "
                    f"{(state.last_error or 'no error recorded')[:300]}",
                    source=col.name,
                    details={"failures": state.consecutive_failures},
                )
            )
        last = state.last_success_at
        if last is None or now - last > opts.after:
            zone = next((c.timezone for c in settings.commons if c.slug == col.commons), "UTC")
            since = f"since {local_time(last, zone)}" if last else "ever"
            out.append(
                _candidate(
                    opts,
                    "collector_stale",
                    f"collector_stale:{col.name}",
                    f"Collector {col.name} has not succeeded {since} "
                    f"(expected within {opts.after})",
                    source=col.name,
                    details={"last_success_at": last.isoformat() if last else None},
                )
            )
    return out


def anomaly(
    conn: Connection,
    rules: Rules,
    now: datetime,
    latest: dict[int, ForecastRun] | None = None,
) -> list[Candidate]:
    """The current level (stock) or units on loan (pool) far outside today's forecast band.

    Far: by more than the rule's ``margin`` of the band's width, and for a pool by
    more than one unit (see :class:`steward.alerts.options.Anomaly`).
    """
    latest = _latest_forecasts(conn, now) if latest is None else latest
    enabled = [
        res for res in catalog.resources(conn) if rules.anomaly.for_resource(res.slug).enabled
    ]
    bands = {res.id: _band_today([latest[res.id]], res, now) for res in enabled if res.id in latest}
    # A run's paths start the day after it was made, so the latest rarely covers
    # today: look back through the earlier ones of those resources, in one query.
    behind = [rid for rid, band in bands.items() if band is None]
    older: dict[int, list[ForecastRun]] = {}
    if behind:
        for run in _recent_runs(conn, now, _ANOMALY_RUNS, skip=1, resource_ids=behind):
            older.setdefault(run.resource_id, []).append(run)
    out = []
    for res in enabled:
        opts = rules.anomaly.for_resource(res.slug)
        band = bands.get(res.id) or _band_today(older.get(res.id, []), res, now)
        if band is None:
            continue
        low, high, run_id, coverage = band
        value = float(
            flows.level(conn, res, now)
            if str(res.kind) == "stock"
            else flows.on_loan(conn, res, now)
        )
        margin = opts.margin * (high - low)
        if str(res.kind) == "pool":
            margin = max(margin, 1.0)
        if low - margin <= value <= high + margin:
            continue
        side = "below" if value < low else "above"
        off = low - value if value < low else value - high
        out.append(
            _candidate(
                opts,
                "anomaly",
                f"anomaly:{res.slug}",
                f"{res.name} is at {fmt(value, res.unit)}, {fmt(off, res.unit)} {side} the "
                f"forecast's {coverage:.0%} range for today ({fmt(low, res.unit)} to "
                f"{fmt(high, res.unit)}): use far outside what was expected",
                resource_id=res.id,
                details={"value": value, "low": low, "high": high, "forecast_run": run_id},
            )
        )
    return out


def _band_today(
    runs: list[ForecastRun], res: ResourceInfo, now: datetime
) -> tuple[float, float, int, float] | None:
    """(low, high, run id, coverage) for today from the newest of ``runs`` (newest first)
    covering it: its outermost stored quantiles and the share of outcomes between them
    (runs store 5% to 95%: a 90% range)."""
    today = pd.Timestamp(now).tz_convert(res.timezone).date().isoformat()
    for run in runs:
        dates = [str(d)[:10] for d in run.paths.get("dates") or []]
        qcols = sorted(
            (float(k[1:]), k) for k in run.paths if k.startswith("q") and _is_number(k[1:])
        )
        if today not in dates or len(qcols) < 2:
            continue
        i = dates.index(today)
        return (
            float(run.paths[qcols[0][1]][i]),
            float(run.paths[qcols[-1][1]][i]),
            run.id,
            qcols[-1][0] - qcols[0][0],
        )
    return None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _json(risk: dict[str, Any]) -> dict[str, Any]:
    """The scalar risk figures (the per-day lists stay in the forecast run)."""
    return {k: v for k, v in risk.items() if not isinstance(v, list | dict)}


def collect(
    conn: Connection,
    settings: Settings,
    rules: Rules,
    now: datetime,
    open_fps: frozenset[str] = frozenset(),
) -> dict[str, Candidate]:
    """Every candidate that holds now, by fingerprint.

    ``open_fps`` are the fingerprints of open alerts: threshold rules hold those
    open down to their lower clearing threshold (hysteresis), and rules that can
    say what an open alert's figures are now return them with ``holds=False``.
    Callers that act on alerts keep only ``holds`` (see :func:`holding`).
    """
    latest = _latest_forecasts(conn, now)  # read once: each run's paths are decoded
    found = [
        *negative_level(conn, rules, now, open_fps),
        *below_reserve(conn, rules, now, open_fps),
        *deficit(conn, rules, now, latest),
        *depletion(conn, rules, now, latest, open_fps),
        *overbooking(conn, rules, now, latest, open_fps),
        *quota(conn, rules, now),
        *drift(conn, rules, now),
        *collector_stale(conn, settings, rules, now),
        *anomaly(conn, rules, now, latest),
    ]
    # What a resource alert's message may say about its quotas (messages.GUIDANCE).
    states = quota_states(conn, now)
    for c in found:
        if c.rule in ("deficit", "depletion") and c.resource_id is not None:
            c.details["quotas"] = states.get(c.resource_id, {"enforced": 0, "suspended": 0})
    return {c.fingerprint: c for c in found}


def holding(candidates: dict[str, Candidate]) -> dict[str, Candidate]:
    """Only the candidates whose condition holds now."""
    return {fp: c for fp, c in candidates.items() if c.holds}
