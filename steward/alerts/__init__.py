"""Alerts: rules -> lifecycle -> outbox -> delivery (Apprise).

* :mod:`~steward.alerts.options`    rule options from ``alerts.rules`` (validated, defaults)
* :mod:`~steward.alerts.rules`      what holds now: depletion, overbooking, quota, drift, ...
* :mod:`~steward.alerts.lifecycle`  pending/firing/resolved, repeats, ack, silence, history
* :mod:`~steward.alerts.outbox`     queue one message per (alert, route, state change)
* :mod:`~steward.alerts.delivery`   send through Apprise with retries: :func:`deliver_pending`
"""

from steward.alerts.lifecycle import EvaluationSummary, acknowledge, evaluate, silence

__all__ = ["EvaluationSummary", "acknowledge", "evaluate", "silence"]
