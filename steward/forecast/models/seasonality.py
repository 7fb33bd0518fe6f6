"""Classical seasonal adjustment as used by the M3/M4 benchmarks (Naive2, Theta)."""

from __future__ import annotations

from typing import Literal

import numpy as np
from statsmodels.tsa.seasonal import seasonal_decompose
from statsmodels.tsa.stattools import acf

SeasonTest = Literal["m4", "theta"]


def is_seasonal(y: np.ndarray, m: int, test: SeasonTest = "m4") -> bool:
    """90% autocorrelation test at lag ``m``.

    ``"m4"`` is the M4 benchmarks' rule (Bartlett's variance, 1 + 2 sum r_k^2,
    at least three seasons), which defines Naive2. ``"theta"`` is the laxer
    rule of statsmodels' ThetaModel (1 + sum r_k^2, two seasons): it finds
    seasonality in more short quarterly series, and on the M3 data both Theta
    and ETS on adjusted data forecast better with it.
    """
    n = len(y)
    if m <= 1 or n < (3 if test == "m4" else 2) * m or np.ptp(y) == 0:
        return False
    r = acf(y, nlags=m, fft=False)
    spread = 2 * np.sum(r[1:m] ** 2) if test == "m4" else np.sum(r[1:m] ** 2)
    limit = 1.645 * np.sqrt((1 + spread) / n)
    return bool(abs(r[m]) > limit)


def seasonal_indices(
    y: np.ndarray, m: int, test: SeasonTest = "m4", recent: int | None = None
) -> np.ndarray | None:
    """Multiplicative seasonal indices by position ``t % m``, or None when not seasonal.

    Only strictly positive series are adjusted multiplicatively; others pass
    through unadjusted rather than risk dividing by values near zero. With
    ``recent`` the indices average only the last ``recent`` seasons of ratios to
    the centred moving average (when the series holds more than that): a pattern
    that drifts over the years is then forecast from its latest shape, not its
    average over the whole history (Naive2 keeps the whole history by definition).
    """
    if m <= 1 or len(y) < 2 * m or np.min(y) <= 0 or not is_seasonal(y, m, test):
        return None
    decomposition = seasonal_decompose(y, model="multiplicative", period=m)
    idx = np.asarray(decomposition.seasonal)[:m]
    ratios = y / np.asarray(decomposition.trend)
    valid = np.flatnonzero(np.isfinite(ratios))
    if recent is not None and len(valid) > recent * m:
        keep = valid[-recent * m :]
        idx = np.array([np.mean(ratios[keep[keep % m == p]]) for p in range(m)])
        idx = idx / np.mean(idx)
    if not np.all(np.isfinite(idx)) or np.min(idx) <= 0:
        return None
    return idx


def future_indices(idx: np.ndarray, n: int, h: int) -> np.ndarray:
    """Seasonal indices for positions ``n .. n+h-1``."""
    m = len(idx)
    return idx[(n + np.arange(h)) % m]
