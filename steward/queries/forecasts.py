"""Forecasts as the dashboard shows them: headline, fan chart frame, risk over time.

Forecast rows hold aggregate projections only (no personal data), so any scope
that may see a resource may see its forecast.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import Connection, and_, func, select

from steward.access import Scope
from steward.forecast.reliability import MIN_BIN_CASES, Reliability
from steward.headlines import headline
from steward.queries.resources import one
from steward.reserve import breach
from steward.store.models import ForecastRun, RiskCalibration


@dataclass(frozen=True)
class ForecastView:
    method: str
    reason: str
    created_at: datetime
    horizon_days: int
    horizon_end: date
    scores: dict[str, Any]
    risk: dict[str, Any]
    accuracy: dict[str, Any] | None
    paths: dict[str, Any]
    headline: str


def _horizon_end(created_at: datetime, cutoff: datetime | None, days: int) -> date:
    return ((cutoff or created_at) + timedelta(days=days)).date()


def latest_risks(conn: Connection, resource_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Latest run's risk, method and horizon end per resource (no paths: they are large)."""
    if not resource_ids:
        return {}
    newest = (
        select(ForecastRun.resource_id, func.max(ForecastRun.created_at).label("at"))
        .where(ForecastRun.resource_id.in_(resource_ids))
        .group_by(ForecastRun.resource_id)
        .subquery()
    )
    rows = conn.execute(
        select(
            ForecastRun.resource_id,
            ForecastRun.id,
            ForecastRun.risk,
            ForecastRun.method,
            ForecastRun.created_at,
            ForecastRun.data_cutoff,
            ForecastRun.horizon_days,
        )
        .join(
            newest,
            and_(
                ForecastRun.resource_id == newest.c.resource_id,
                ForecastRun.created_at == newest.c.at,
            ),
        )
        .order_by(ForecastRun.id)
    ).all()
    return {
        r.resource_id: {
            "risk": dict(r.risk or {}),
            "method": r.method,
            "created_at": r.created_at,
            "horizon_end": _horizon_end(r.created_at, r.data_cutoff, r.horizon_days),
        }
        for r in rows
    }


def latest(scope: Scope, conn: Connection, slug: str) -> ForecastView | None:
    """The newest forecast of a resource the scope may see; None when there is none yet."""
    res = one(scope, conn, slug)
    run = conn.execute(
        select(ForecastRun)
        .where(ForecastRun.resource_id == res.id)
        .order_by(ForecastRun.created_at.desc(), ForecastRun.id.desc())
        .limit(1)
    ).first()
    if run is None:
        return None
    end = _horizon_end(run.created_at, run.data_cutoff, run.horizon_days)
    return ForecastView(
        method=run.method,
        reason=run.reason,
        created_at=run.created_at,
        horizon_days=run.horizon_days,
        horizon_end=end,
        scores=dict(run.scores or {}),
        risk=dict(run.risk or {}),
        accuracy=dict(run.accuracy) if run.accuracy else None,
        paths=dict(run.paths or {}),
        # Below its reserve now (stewards: the sentence carries the exact level).
        headline=headline(
            res,
            dict(run.risk or {}),
            end,
            breach=breach(conn, res, datetime.now(UTC)) if scope.is_steward else None,
        ),
    )


def fan_frame(view: ForecastView) -> pd.DataFrame:
    """The paths as a frame indexed by date: ``mean`` and one column per quantile (``q0.05``...).

    Columns whose length does not match the dates are left out rather than guessed.
    """
    dates = view.paths.get("dates") or []
    frame = pd.DataFrame(index=pd.DatetimeIndex(pd.to_datetime(dates), name="date"))
    for key, values in view.paths.items():
        if key == "dates" or not isinstance(values, list) or len(values) != len(dates):
            continue
        if key == "mean" or key.startswith("q"):
            frame[key] = pd.to_numeric(pd.Series(values, index=frame.index), errors="coerce")
    return frame


def quantile_columns(frame: pd.DataFrame) -> list[tuple[float, str]]:
    out = []
    for col in frame.columns:
        if col.startswith("q"):
            try:
                out.append((float(col[1:]), col))
            except ValueError:
                continue
    return sorted(out)


def risk_history(scope: Scope, conn: Connection, slug: str, limit: int = 200) -> pd.DataFrame:
    """The headline probability of each past run: how the risk has moved over time."""
    res = one(scope, conn, slug)
    key = "p_below_reserve" if res.kind == "stock" else "max_p_over_capacity"
    rows = conn.execute(
        select(ForecastRun.created_at, ForecastRun.risk)
        .where(ForecastRun.resource_id == res.id)
        .order_by(ForecastRun.created_at.desc())
        .limit(limit)
    ).all()
    points = [
        (created, float(risk[key]))
        for created, risk in rows
        if risk and isinstance(risk.get(key), int | float)
    ]
    frame = pd.DataFrame(points, columns=["forecast_at", "probability"])
    return frame.sort_values("forecast_at").reset_index(drop=True)


def risk_path(view: ForecastView, kind: str) -> pd.DataFrame:
    """Per-date probability from the paths, when the forecaster stored one."""
    key = "p_below_reserve" if kind == "stock" else "p_over_capacity"
    dates = view.paths.get("dates") or []
    values = view.paths.get(key)
    if not isinstance(values, list) or len(values) != len(dates) or not dates:
        return pd.DataFrame(columns=["date", "probability"])
    return pd.DataFrame({"date": pd.to_datetime(dates), "probability": values})


#: What each calibrated event is called in a sentence, per resource kind.
_EVENT_WORDS = {
    "all_units_out": ("days", "all units out", "had all units out"),
    "below_reserve": ("forecasts", "falling below the reserve", "fell below it"),
}


@dataclass(frozen=True)
class CalibrationView:
    """A resource's stored risk backtest (see steward.forecast.risk_backtest)."""

    event: str
    computed_at: datetime
    period_start: datetime
    period_end: datetime
    origins: int
    reliability: Reliability


def calibration(scope: Scope, conn: Connection, slug: str) -> CalibrationView | None:
    """How often the resource's risk figures came true; None before any risk backtest."""
    res = one(scope, conn, slug)
    row = conn.execute(
        select(RiskCalibration)
        .where(RiskCalibration.resource_id == res.id)
        .order_by(RiskCalibration.computed_at.desc(), RiskCalibration.id.desc())
        .limit(1)
    ).first()
    return None if row is None else _calibration_view(row)


def latest_calibrations(conn: Connection) -> dict[int, CalibrationView]:
    """Every resource's stored risk backtest by resource id, for the alert evaluator.

    Unscoped: the evaluator runs as the monitor itself, and what it builds goes to
    stewards only. Pages use the scoped :func:`calibration`.
    """
    found = conn.execute(
        select(RiskCalibration).order_by(RiskCalibration.computed_at, RiskCalibration.id)
    ).all()
    return {row.resource_id: _calibration_view(row) for row in found}  # latest wins


def _calibration_view(row: Any) -> CalibrationView:
    return CalibrationView(
        event=row.event,
        computed_at=row.computed_at,
        period_start=row.period_start,
        period_end=row.period_end,
        origins=row.origins,
        reliability=Reliability.from_json(dict(row.figures or {})),
    )


def track_record(
    view: CalibrationView, probability: float, *, caution_only: bool = False
) -> str | None:
    """How often figures like ``probability`` came true, e.g. "Of the 212 days we gave
    a 30-40% chance of all units out, 34% had all units out.", and a caution when the
    backtest's figures scored worse than climatology (Brier skill below 0).

    The bin's sentence needs MIN_BIN_CASES pool-days (10 stock forecasts) in the
    figure's bin, the caution twice that overall. None when neither can be said.
    ``caution_only``: no bin sentence (the caller has no figure of the scored event).
    """
    if not caution_only and not 0.0 <= probability <= 1.0:
        return None
    cases_word, what, happened = _EVENT_WORDS.get(
        view.event, ("cases", view.event.replace("_", " "), "saw it happen")
    )
    enough = MIN_BIN_CASES if view.event == "all_units_out" else 10
    said = []
    b = None if caution_only else view.reliability.bin_for(probability)
    if b is not None and b.cases >= enough and b.observed == b.observed:  # NaN: empty bin
        said.append(
            f"Of the {b.cases} {cases_word} we gave a {b.lo:.0%}-{b.hi:.0%} chance of "
            f"{what}, {b.observed:.0%} {happened}."
        )
    # A figure worse than the resource's own past frequency must say so, whatever bin
    # today's chance is in: a steward acts on it.
    skill = view.reliability.brier_skill
    if view.reliability.cases >= 2 * enough and skill == skill and skill < 0:
        said.append(
            f"Caution: over {view.reliability.cases} {cases_word} of backtest these chances "
            f"did worse than quoting how often {what} happened before (Brier skill "
            f"{skill:+.2f}), so read this one as rough."
        )
    return " ".join(said) or None
