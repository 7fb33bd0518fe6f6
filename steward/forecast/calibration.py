"""Conformal calibration of prediction intervals from rolling-origin backtests.

For each central interval level ``c`` the backtest gives, per (origin, step), the
factor by which the model's interval around its median would have had to be
stretched to contain the actual value. The ``c``-quantile of those factors is the
scale that would have given nominal coverage; quantiles and sample paths are
then stretched around the median by that scale (interpolated between levels).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from steward.forecast.base import Forecaster
from steward.forecast.models.naive import Naive

if TYPE_CHECKING:
    from steward.forecast.selection import BacktestResult

LEVELS: tuple[float, ...] = (0.5, 0.8, 0.9, 0.95)
# Bounds keep one odd backtest from collapsing or exploding an interval.
MIN_SCALE, MAX_SCALE = 0.3, 8.0
# Pseudo-observations at scale 1: with few backtest errors, trust the model more.
PRIOR_WEIGHT = 0.0


def stretch_factors(bt: BacktestResult, level: float) -> np.ndarray:
    """Per (origin, step) stretch of the ``level`` interval needed to cover the actual."""
    levels = np.asarray(bt.quantile_levels)
    lo_q, hi_q = (1 - level) / 2, (1 + level) / 2
    lo = bt.quantiles[..., int(np.argmin(np.abs(levels - lo_q)))]
    hi = bt.quantiles[..., int(np.argmin(np.abs(levels - hi_q)))]
    med = bt.quantiles[..., int(np.argmin(np.abs(levels - 0.5)))]
    a = bt.actuals
    up = a >= med
    dev = np.where(up, a - med, med - a)
    width = np.where(up, hi - med, med - lo)
    tiny = 1e-9 * (np.nanmean(np.abs(a)) + 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(dev <= tiny, 0.0, dev / np.maximum(width, tiny))
    return r[np.isfinite(a) & np.isfinite(r)]


def interval_scales(bt: BacktestResult, levels: tuple[float, ...] = LEVELS) -> np.ndarray:
    """Scale per level; 1.0 everywhere when the backtest has too little data."""
    out = np.ones(len(levels))
    for i, c in enumerate(levels):
        r = stretch_factors(bt, c)
        if len(r) < 3:
            continue
        # Weibull plotting position: the expected coverage of the chosen order
        # statistic equals c for exchangeable errors.
        s = float(np.quantile(r, c, method="weibull"))
        w = len(r) / (len(r) + PRIOR_WEIGHT)
        out[i] = float(np.clip(np.exp(w * np.log(max(s, 1e-6))), MIN_SCALE, MAX_SCALE))
    return out


def scale_at(levels: np.ndarray, scales: np.ndarray, coverage: np.ndarray) -> np.ndarray:
    """Scale for arbitrary central coverage, interpolated between calibrated levels."""
    return np.interp(coverage, levels, scales)


class Calibrated(Forecaster):
    """Wrap a forecaster so its quantiles and paths match backtest coverage."""

    name = "calibrated"
    min_length = 4

    def __init__(self, inner: Forecaster, h: int = 6, origins: int = 4) -> None:
        self.inner = inner
        self.h = h
        self.origins = origins

    @classmethod
    def test_params(cls) -> list[dict[str, Any]]:
        return [{"inner": Naive()}, {"inner": Naive(), "h": 3, "origins": 3}]

    @property
    def label(self) -> str:
        return getattr(self, "inner_", self.inner).label

    @classmethod
    def of_fitted(cls, inner: Forecaster, bt: BacktestResult) -> Calibrated:
        """Calibrate an already-fitted forecaster with an existing backtest of it."""
        model = cls(inner.frozen(), h=bt.h, origins=len(bt.origins))
        model.inner_ = inner
        model.y_ = inner.y_
        model.freq_ = inner.freq_
        model.scales_ = interval_scales(bt)
        return model

    def _fit(self, y: pd.Series) -> None:
        from steward.forecast.selection import backtest

        self.inner_ = self.inner.clone().fit(y)
        bt = backtest(self.inner_.frozen, y, self.h, self.origins)
        self.scales_ = interval_scales(bt)

    def _last_timestamp(self) -> pd.Timestamp:
        return self.inner_._last_timestamp()

    def _point(self, h: int) -> np.ndarray:
        return self.inner_._point(h)

    def _predict(self, h: int, quantiles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        qs = np.union1d(quantiles, [0.5])
        mean, inner_q = self.inner_._predict(h, qs)
        inner_q = np.maximum.accumulate(inner_q, axis=1)
        med = inner_q[:, int(np.searchsorted(qs, 0.5))]
        s = scale_at(np.asarray(LEVELS), self.scales_, np.abs(2 * qs - 1))
        out = med[:, None] + s[None, :] * (inner_q - med[:, None])
        keep = np.searchsorted(qs, quantiles)
        return mean, out[:, keep]

    def _sample_paths(self, h: int, n: int, rng: np.random.Generator) -> np.ndarray:
        paths = self.inner_._sample_paths(h, n, rng)
        med = np.median(paths, axis=0)
        ranks = np.argsort(np.argsort(paths, axis=0, kind="stable"), axis=0)
        coverage = np.abs(2 * (ranks + 0.5) / n - 1)
        s = scale_at(np.asarray(LEVELS), self.scales_, coverage)
        return med[None, :] + s * (paths - med[None, :])
