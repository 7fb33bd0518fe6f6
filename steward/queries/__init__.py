"""Every dashboard read, each taking an access :class:`~steward.access.Scope` first.

The privacy rule lives here, below the UI: stewards see their own commons; a
member sees only their own usage and quotas plus public aggregates; the public
sees aggregate health only. A call outside its scope raises
:class:`~steward.errors.AccessDenied`; it never returns someone else's rows.

    resources   which resources a scope may see, and one by slug
    health      tiles: level or occupancy, trend, headline risk, status colour
    forecasts   latest forecast, fan chart frame, risk over time
    history     daily flows (precomputed DailyFlow, else computed from the ledger)
    activity    recent events (stewards) and a member's own events
    members     usage and quota compliance per member (stewards)
    usage       "my usage": a member's quotas and history
    alerts      alerts by state; acknowledge and silence with a reason
    sources     collector status, runs, quarantined rows
"""
