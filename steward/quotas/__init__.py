"""Fair-use quotas: a sustainable budget per period, split fairly among members.

* :mod:`~steward.quotas.sustainable`      pure budget maths (stock risk, pool unit-days)
* :mod:`~steward.quotas.resource_budget`  reads the store: a resource's budget from its ledger and forecast
* :mod:`~steward.quotas.allocation`       pure allocation policies (equal, weighted, max-min fair)
* :mod:`~steward.quotas.tracking`         per-member quotas: use, pace, status ladder, explanation
* :mod:`~steward.quotas.update`           the pipeline's entry point, :func:`update_quotas`
"""

from steward.quotas.allocation import Allocation, Claimant, allocate
from steward.quotas.periods import Bounds, period_bounds
from steward.quotas.resource_budget import Budget
from steward.quotas.sustainable import StockBudget, long_run_stock_budget, pool_budget
from steward.quotas.tracking import QuotaRow, compute_quotas
from steward.quotas.update import QuotaSummary, update_quotas

__all__ = [
    "Allocation",
    "Bounds",
    "Budget",
    "Claimant",
    "QuotaRow",
    "QuotaSummary",
    "StockBudget",
    "allocate",
    "compute_quotas",
    "long_run_stock_budget",
    "period_bounds",
    "pool_budget",
    "update_quotas",
]
