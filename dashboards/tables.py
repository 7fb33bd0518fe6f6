"""Tables as people read them: plain headers, the commons' words, local times, formatted figures.

Each function takes a frame from :mod:`steward.queries` and returns the frame a
page shows, passed through :func:`safe_table` (every table can be downloaded as
CSV, and user text in a cell must read as what it is); nothing here reads the store.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import pandas as pd

from dashboards.text import amount, local_time, quota_amount, quota_left, words
from steward.display import local_days, visible
from steward.exports import neutralise
from steward.quotas.explain import quota_places
from steward.quotas.tracking import urgency
from steward.store.catalog import ResourceInfo


def safe_table(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` as a page shows it: formula prefixes neutralised, direction controls visible.

    A name such as ``invoice<RLO>gnp.exe`` would otherwise read as ``invoiceexe.png``
    in the grid; each hidden control shows as ``<U+202E>`` (:func:`steward.display.visible`).
    Numbers and dates are untouched. Raises nothing.
    """
    # What :func:`steward.exports.spreadsheet_safe` does, and the controls made
    # visible, in one pass per column: two cost twice the CPU on every page run.
    safe = frame.copy()
    for column in safe.columns:
        series = safe[column]
        if not (
            pd.api.types.is_numeric_dtype(series) or pd.api.types.is_datetime64_any_dtype(series)
        ):
            safe[column] = series.map(_safe_cell, na_action="ignore")
    safe.columns = [neutralise(c) for c in safe.columns]
    return safe


def _safe_cell(value: Any) -> Any:
    return visible(neutralise(value)) if isinstance(value, str) else value


def local_time_of(value: Any, tz: str) -> str:
    """A stored moment (naive = UTC) in ``tz``, labelled ("1 Dec 2026, 11:08 GMT"); "" when unknown."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    return local_time(stamp.to_pydatetime(), tz)


def local_day(value: Any, tz: str) -> str:
    """A UTC moment as the commons' calendar day with its year ("3 Jun 2025"); "" when unknown."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    local = stamp.tz_convert(tz)
    return f"{local.day} {local:%b %Y}"


def _who(code: Any, name: Any) -> str:
    if code is None or (not isinstance(code, str) and pd.isna(code)):
        return ""
    return f"{name} (no. {code})" if isinstance(name, str) and name else f"no. {code}"


def events(
    frame: pd.DataFrame,
    resources: Mapping[str, ResourceInfo],
    tz: str,
    *,
    member: bool = True,
    resource: bool = True,
) -> pd.DataFrame:
    """Ledger events: When, Resource, What (loan, return, grant...), Amount, Member, Loan."""
    rows = []
    for r in frame.itertuples():
        res = resources.get(str(r.resource))
        kind, unit = (str(res.kind), res.unit) if res else ("stock", "")
        what = words(kind, unit).event(str(r.kind))
        rows.append(
            {
                "When": local_time_of(r.occurred_at, tz),
                "Resource": res.name if res else str(r.resource),
                "What": f"{what} (cancelled)" if r.reversal else what,
                "Amount": amount(float(r.quantity), unit, kind=kind),
                "Member": _who(r.member, getattr(r, "member_name", None)),
                "Loan": "" if r.loan_ref is None or pd.isna(r.loan_ref) else str(r.loan_ref),
            }
        )
    shown = pd.DataFrame(rows, columns=["When", "Resource", "What", "Amount", "Member", "Loan"])
    drop = [c for c, keep in (("Member", member), ("Resource", resource)) if not keep]
    if shown["Loan"].eq("").all():
        drop.append("Loan")
    return safe_table(shown.drop(columns=drop))


def quotas(frame: pd.DataFrame, kind: str, unit: str, tz: str) -> pd.DataFrame:
    """Quota rows: Member, Period, Quota, Used, Left, At this pace, Status, Why.

    Most urgent status first (:func:`~steward.quotas.tracking.urgency`), then in
    ``frame``'s order.
    """
    frame = frame.iloc[frame["status"].map(lambda s: urgency(str(s))).argsort(kind="stable")]

    def period(start: Any, end: Any) -> str:
        # The stored end is exclusive (the next period's first instant).
        return local_days(
            pd.Timestamp(start).to_pydatetime(), pd.Timestamp(end).to_pydatetime(), tz
        )

    return safe_table(
        pd.DataFrame(
            [
                {
                    "Member": _who(r.member, r.name),
                    "Period": period(r.period_start, r.period_end),
                    "Quota": quota_amount(float(r.allocation), unit, kind=kind, places=p),
                    "Used": quota_amount(float(r.used), unit, kind=kind, places=p),
                    "Left": quota_left(
                        float(r.remaining), unit, kind=kind, status=str(r.status), places=p
                    ),
                    "At this pace": quota_amount(float(r.projected), unit, kind=kind, places=p),
                    "Status": str(r.status),
                    "Why": str(r.explanation),
                }
                for r in frame.itertuples()
                # Each member's figures rounded alike, as their "Why" rounds them.
                for p in [quota_places(r.allocation, r.used, r.projected)]
            ],
            columns=["Member", "Period", "Quota", "Used", "Left", "At this pace", "Status", "Why"],
        )
    )


def times(frame: pd.DataFrame, columns: Mapping[str, str], tz: str) -> pd.DataFrame:
    """Rename ``columns`` (old -> plain header) and show every datetime column in ``tz``.

    Only the columns shown are written out: the alerts' frames carry twice as many
    as their tables show, and each column cost its own passes.
    """
    out = frame[[c for c in frame.columns if c in columns]].copy()
    for col in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[col]) or (
            len(out[col].dropna()) and isinstance(out[col].dropna().iloc[0], datetime)
        ):
            out[col] = [local_time_of(v, tz) for v in out[col]]
    out = out.rename(columns=dict(columns))
    keep = [c for c in columns.values() if c in out.columns]
    # Blank, not "nan"/"None", for missing cells; object first so a float column can take "".
    return safe_table(out[keep].astype(object).fillna(""))
