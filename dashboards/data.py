"""Cached reads for the pages: thin wrappers over :mod:`steward.queries`.

Every cached function takes the config path and the viewer's :class:`Scope`
as ordinary (hashed) arguments: the scope, including the member id, is part of
the cache key, so one member's cached answer can never be served to another.
Never pass the scope as an underscore-prefixed argument: Streamlit leaves those
out of the key.

The key holds what a scope may see (role, commons, member), not who signed in:
every steward of a commons shares one cached answer, where each once paid for
their own (under load, one query per page per TTL, not one per steward). The
reads never use the username (only acknowledging and silencing record it, and
those are not cached).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from dashboards.session import workspace
from steward.access import Scope
from steward.alerts.messages import command_prefix
from steward.availability import Units
from steward.queries import (
    activity,
    alerts,
    forecasts,
    health,
    history,
    members,
    overdue,
    quotas,
    resources,
    sources,
    usage,
)
from steward.queries.forecasts import ForecastView
from steward.queries.health import Tile
from steward.queries.usage import MyUsage
from steward.store.catalog import ResourceInfo


def _what_it_may_see(scope: Scope) -> tuple[str, int | None, int | None]:
    return (scope.role, scope.commons_id, scope.member_id)


#: Cache keys by what a scope may see, not by who signed in (see the module docstring).
SCOPE_KEY: dict[str | type[Any], Callable[[Any], Any]] = {Scope: _what_it_may_see}

#: Short enough that the desk screen stays live; the pipeline refreshes less often.
TTL = 20
#: Levels and loans are read from the ledger: cached for seconds, so each refresh
#: of the overview (``dashboard.refresh_seconds``, at least 5) shows new events.
LIVE_TTL = 5


def refresh_seconds(config: str) -> int:
    return workspace(config).settings.dashboard.refresh_seconds


@st.cache_data(ttl=TTL, show_spinner=False, hash_funcs=SCOPE_KEY)
def visible_resources(config: str, scope: Scope) -> list[ResourceInfo]:
    with workspace(config).store.read() as conn:
        return resources.visible(scope, conn)


@st.cache_data(ttl=LIVE_TTL, show_spinner=False, hash_funcs=SCOPE_KEY)
def tiles(config: str, scope: Scope) -> list[Tile]:
    ws = workspace(config)
    with ws.store.read() as conn:
        return health.tiles(scope, conn, min_members=ws.settings.dashboard.public_min_members)


@st.cache_data(ttl=TTL, show_spinner=False, hash_funcs=SCOPE_KEY)
def forecast(config: str, scope: Scope, slug: str) -> ForecastView | None:
    with workspace(config).store.read() as conn:
        return forecasts.latest(scope, conn, slug)


@st.cache_data(ttl=TTL, show_spinner=False, hash_funcs=SCOPE_KEY)
def calibration(config: str, scope: Scope, slug: str) -> forecasts.CalibrationView | None:
    with workspace(config).store.read() as conn:
        return forecasts.calibration(scope, conn, slug)


@st.cache_data(ttl=TTL, show_spinner=False, hash_funcs=SCOPE_KEY)
def risk_history(config: str, scope: Scope, slug: str) -> pd.DataFrame:
    with workspace(config).store.read() as conn:
        return forecasts.risk_history(scope, conn, slug)


@st.cache_data(ttl=TTL, show_spinner=False, hash_funcs=SCOPE_KEY)
def daily(config: str, scope: Scope, slug: str, days: int = 180) -> pd.DataFrame:
    with workspace(config).store.read() as conn:
        return history.daily(scope, conn, slug, days=days)


@st.cache_data(ttl=TTL, show_spinner=False, hash_funcs=SCOPE_KEY)
def overbooked(config: str, scope: Scope, slug: str) -> dict[str, Any] | None:
    """A pool's loans recorded beyond its units (a steward's finding), or None."""
    with workspace(config).store.read() as conn:
        return resources.overbooked(scope, conn, slug)


@st.cache_data(ttl=LIVE_TTL, show_spinner=False, hash_funcs=SCOPE_KEY)
def monthly_flows(config: str, scope: Scope, slug: str, months: int) -> health.MonthlyFlows:
    """Money in and out per month, live (the ledger since the stored flows), as the tiles."""
    ws = workspace(config)
    with ws.store.read() as conn:
        return health.monthly_flows(
            scope, conn, slug, months, min_members=ws.settings.dashboard.public_min_members
        )


@st.cache_data(ttl=TTL, show_spinner=False, hash_funcs=SCOPE_KEY)
def recent_events(config: str, scope: Scope, slug: str) -> pd.DataFrame:
    with workspace(config).store.read() as conn:
        return activity.recent_events(scope, conn, slug)


@st.cache_data(ttl=TTL, show_spinner=False, hash_funcs=SCOPE_KEY)
def resource_quotas(config: str, scope: Scope, slug: str) -> pd.DataFrame:
    with workspace(config).store.read() as conn:
        return quotas.for_resource(scope, conn, slug)


@st.cache_data(ttl=TTL, show_spinner=False, hash_funcs=SCOPE_KEY)
def resource_budget(config: str, scope: Scope, slug: str) -> quotas.PeriodBudget | None:
    """The running period's budget beside what the quotas add up to (stewards only)."""
    with workspace(config).store.read() as conn:
        return quotas.budget_for(scope, conn, slug, datetime.now(UTC))


@st.cache_data(ttl=LIVE_TTL, show_spinner=False, hash_funcs=SCOPE_KEY)
def pool_units(config: str, scope: Scope, slug: str) -> Units:
    """A pool's units now, with the reason they differ from its recorded capacity."""
    with workspace(config).store.read() as conn:
        return resources.pool_units(scope, conn, slug, datetime.now(UTC))


@st.cache_data(ttl=TTL, show_spinner=False, hash_funcs=SCOPE_KEY)
def member_usage(config: str, scope: Scope) -> pd.DataFrame:
    with workspace(config).store.read() as conn:
        return members.usage(scope, conn)


@st.cache_data(ttl=TTL, show_spinner=False, hash_funcs=SCOPE_KEY)
def my_usage(config: str, scope: Scope) -> list[MyUsage]:
    with workspace(config).store.read() as conn:
        return usage.my_usage(scope, conn)


@st.cache_data(ttl=TTL, show_spinner=False, hash_funcs=SCOPE_KEY)
def my_history(config: str, scope: Scope) -> pd.DataFrame:
    with workspace(config).store.read() as conn:
        return usage.my_history(scope, conn)


@st.cache_data(ttl=TTL, show_spinner=False, hash_funcs=SCOPE_KEY)
def my_events(config: str, scope: Scope) -> pd.DataFrame:
    with workspace(config).store.read() as conn:
        return activity.my_events(scope, conn)


@st.cache_data(ttl=TTL, show_spinner=False, hash_funcs=SCOPE_KEY)
def alert_list(config: str, scope: Scope, state: str) -> pd.DataFrame:
    # The commands in "What to do" as the notification prints them, runnable on this host.
    with workspace(config).store.read() as conn:
        return alerts.list_alerts(scope, conn, (state,), command=command_prefix(Path(config)))


@st.cache_data(ttl=TTL, show_spinner=False, hash_funcs=SCOPE_KEY)
def resource_alerts(config: str, scope: Scope) -> dict[str, list[alerts.ResourceAlert]]:
    with workspace(config).store.read() as conn:
        return alerts.resource_alerts(scope, conn)


@st.cache_data(ttl=TTL, show_spinner=False, hash_funcs=SCOPE_KEY)
def member_message_count(config: str, scope: Scope) -> int:
    with workspace(config).store.read() as conn:
        return alerts.member_message_count(scope, conn)


def source_names(config: str, scope: Scope) -> list[str]:
    ws = workspace(config)
    with ws.store.read() as conn:
        return sources.allowed_sources(scope, conn, ws.settings)


@st.cache_data(ttl=TTL, show_spinner=False, hash_funcs=SCOPE_KEY)
def collector_status(config: str, scope: Scope) -> pd.DataFrame:
    names = source_names(config, scope)
    with workspace(config).store.read() as conn:
        return sources.collectors(scope, conn, names)


@st.cache_data(ttl=TTL, show_spinner=False, hash_funcs=SCOPE_KEY)
def newest_data(config: str, scope: Scope) -> list[sources.Newest]:
    """When each source's newest event or reading came (not when its collector last ran)."""
    names = source_names(config, scope)
    with workspace(config).store.read() as conn:
        return sources.newest_data(scope, conn, collectors=names)


@st.cache_data(ttl=TTL, show_spinner=False, hash_funcs=SCOPE_KEY)
def collector_runs(config: str, scope: Scope) -> pd.DataFrame:
    names = source_names(config, scope)
    with workspace(config).store.read() as conn:
        return sources.runs(scope, conn, names)


@st.cache_data(ttl=TTL, show_spinner=False, hash_funcs=SCOPE_KEY)
def quarantined(config: str, scope: Scope) -> pd.DataFrame:
    names = source_names(config, scope)
    with workspace(config).store.read() as conn:
        return sources.quarantined(scope, conn, names)


@st.cache_data(ttl=TTL, show_spinner=False, hash_funcs=SCOPE_KEY)
def unattributed_quarantine(config: str, scope: Scope) -> int:
    """Open quarantined rows no commons can claim (a count: see sources.unattributed)."""
    ws = workspace(config)
    with ws.store.read() as conn:
        return sources.unattributed(scope, conn, ws.settings)


@st.cache_data(ttl=TTL, show_spinner=False, hash_funcs=SCOPE_KEY)
def undelivered(config: str, scope: Scope) -> pd.DataFrame:
    with workspace(config).store.read() as conn:
        return alerts.undelivered(scope, conn)


def retry_message(config: str, scope: Scope, message_id: int) -> None:
    with workspace(config).store.write() as conn:
        alerts.retry_message(scope, conn, message_id)
    undelivered.clear()


def acknowledge(config: str, scope: Scope, alert_id: int, note: str) -> None:
    with workspace(config).store.write() as conn:
        alerts.acknowledge(scope, conn, alert_id, note)
    alert_list.clear()


def silence(config: str, scope: Scope, alert_id: int, duration: timedelta, reason: str) -> None:
    with workspace(config).store.write() as conn:
        alerts.silence(scope, conn, alert_id, duration, reason)
    alert_list.clear()


def commons_timezone(config: str, scope: Scope) -> str:
    """The timezone of the viewer's commons (UTC for the public, who see several)."""
    if scope.commons_id is None:
        return "UTC"
    found = visible_resources(config, scope)
    if found:
        return found[0].timezone
    return "UTC"


def commons_name(config: str, scope: Scope) -> str | None:
    """The name of the viewer's commons (None for the public, or a commons without resources)."""
    if scope.commons_id is None:
        return None
    found = visible_resources(config, scope)
    if not found:
        return None
    slug = found[0].commons_slug
    return next((c.name for c in workspace(config).settings.commons if c.slug == slug), slug)


@st.cache_data(ttl=TTL, show_spinner=False, hash_funcs=SCOPE_KEY)
def me(config: str, scope: Scope) -> tuple[str, str]:
    with workspace(config).store.read() as conn:
        return usage.me(scope, conn)


@st.cache_data(ttl=LIVE_TTL, show_spinner=False, hash_funcs=SCOPE_KEY)
def overdue_loans(config: str, scope: Scope, as_of: datetime | None = None) -> pd.DataFrame:
    """Overdue loans now, or at the end of a past day (``as_of``, UTC)."""
    with workspace(config).store.read() as conn:
        return overdue.overdue_loans(scope, conn, now=as_of)


@st.cache_data(ttl=LIVE_TTL, show_spinner=False, hash_funcs=SCOPE_KEY)
def overdue_by_age(config: str, scope: Scope, as_of: datetime | None = None) -> pd.Series:
    with workspace(config).store.read() as conn:
        return overdue.overdue_by_age(scope, conn, now=as_of)


@st.cache_data(ttl=LIVE_TTL, show_spinner=False, hash_funcs=SCOPE_KEY)
def pool_loans(config: str, scope: Scope) -> dict[str, overdue.PoolLoans]:
    """Per pool slug: its overdue loans now and the next due date of the others."""
    with workspace(config).store.read() as conn:
        return overdue.pool_loans(scope, conn)


@st.cache_data(ttl=LIVE_TTL, show_spinner=False, hash_funcs=SCOPE_KEY)
def my_loans(config: str, scope: Scope) -> pd.DataFrame:
    with workspace(config).store.read() as conn:
        return overdue.my_loans(scope, conn)
