"""Croston, SBA and TSB for intermittent demand, on plain numpy.

Sample paths draw demand occurrence (Bernoulli) and size (bootstrapped from the
observed non-zero demands, rescaled to the smoothed size), so they are never
negative when the history is not, and their mean equals the point forecast.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pandas as pd

from steward.forecast.base import Forecaster

_GRID = (0.05, 0.1, 0.2, 0.3)


def croston_states(d: np.ndarray, alpha: float) -> tuple[float, float, np.ndarray]:
    """Smoothed size ``z``, interval ``p`` and one-step fitted values ``z/p``.

    Size and interval change only at a demand, so the loop visits the demands
    alone and fills each run of zeros at once (rarely borrowed tools have a few
    dozen demands in 400 weeks); the arithmetic is the period-by-period update's.
    """
    nz = np.flatnonzero(d).tolist()
    fitted = np.zeros(len(d))
    if not nz:
        return 0.0, 1.0, fitted
    values = d.tolist()
    z, p = float(values[nz[0]]), float(nz[0] + 1)
    prev = nz[0]
    for t in nz[1:]:
        fitted[prev + 1 : t + 1] = z / p
        z += alpha * (values[t] - z)
        p += alpha * ((t - prev) - p)
        prev = t
    fitted[prev + 1 :] = z / p
    return z, p, fitted


def _tsb_probs(d: np.ndarray, beta: float) -> tuple[float, np.ndarray]:
    """TSB's occurrence probability before each period's update, and after the last."""
    hits = (d != 0).tolist()
    pi = sum(hits) / len(hits)
    before = [0.0] * len(hits)
    for t, hit in enumerate(hits):
        before[t] = pi
        pi += beta * (float(hit) - pi)
    return pi, np.array(before)


def _tsb_sizes(d: np.ndarray, alpha: float) -> tuple[float, np.ndarray]:
    """TSB's smoothed size before each period's update (it moves only at a demand)."""
    nz = np.flatnonzero(d).tolist()
    values = d.tolist()
    before = np.empty(len(d))
    z = float(values[nz[0]])
    start = 0
    for t in nz:
        before[start : t + 1] = z
        z += alpha * (values[t] - z)
        start = t + 1
    before[start:] = z
    return z, before


def tsb_states(d: np.ndarray, alpha: float, beta: float) -> tuple[float, float, np.ndarray]:
    """Smoothed size ``z``, occurrence probability ``pi`` and fitted values ``pi*z``."""
    if not np.any(d):
        return 0.0, 0.0, np.zeros(len(d))
    z, sizes = _tsb_sizes(d, alpha)
    pi, probs = _tsb_probs(d, beta)
    return z, pi, probs * sizes


class _Intermittent(Forecaster):
    min_length = 1

    def __init__(self, alpha: float | None = None) -> None:
        self.alpha = alpha

    @classmethod
    def test_params(cls) -> list[dict[str, Any]]:
        return [{}, {"alpha": 0.1}]

    def _fit(self, y: pd.Series) -> None:
        d = y.to_numpy()
        self.sizes_ = d[d != 0]
        self._fit_rate(d)

    def _fit_rate(self, d: np.ndarray) -> None:
        alphas = [self.alpha] if self.alpha is not None else list(_GRID)
        best = min(alphas, key=lambda a: _mse(d, croston_states(d, a)[2]))
        self.alpha_ = float(best)
        z, p, _ = croston_states(d, self.alpha_)
        self.size_ = z * self._bias()
        self.prob_ = 1.0 / max(p, 1.0)

    def _bias(self) -> float:
        return 1.0

    def _point(self, h: int) -> np.ndarray:
        return np.full(h, self.prob_ * self.size_)

    def _sample_paths(self, h: int, n: int, rng: np.random.Generator) -> np.ndarray:
        if len(self.sizes_) == 0 or self.prob_ <= 0:
            return np.zeros((n, h))
        occurs = rng.random((n, h)) < self.prob_
        scale = self.size_ / float(np.mean(self.sizes_))
        sizes = rng.choice(self.sizes_, size=(n, h)) * scale
        return np.where(occurs, sizes, 0.0)


def _mse(d: np.ndarray, fitted: np.ndarray) -> float:
    return float(np.mean((d[1:] - fitted[1:]) ** 2)) if len(d) > 1 else 0.0


class Croston(_Intermittent):
    """Croston's method: smoothed demand size over smoothed inter-demand interval."""

    name = "croston"


class SBA(_Intermittent):
    """Syntetos-Boylan approximation: Croston with its bias factor ``1 - alpha/2``."""

    name = "sba"

    def _bias(self) -> float:
        return 1.0 - self.alpha_ / 2


class TSB(_Intermittent):
    """Teunter-Syntetos-Babai: smooths the occurrence probability every period,
    so the forecast decays when demand stops (obsolescence)."""

    name = "tsb"

    def __init__(self, alpha: float | None = None, beta: float | None = None) -> None:
        self.alpha = alpha
        self.beta = beta

    @classmethod
    def test_params(cls) -> list[dict[str, Any]]:
        return [{}, {"alpha": 0.1, "beta": 0.05}]

    def _fit_rate(self, d: np.ndarray) -> None:
        alphas = [self.alpha] if self.alpha is not None else list(_GRID)
        betas = [self.beta] if self.beta is not None else list(_GRID)
        grid = list(itertools.product(alphas, betas))
        if np.any(d):
            # The size depends on alpha alone and the probability on beta alone:
            # each sequence is computed once, not once per pair of the grid.
            sizes = {x: _tsb_sizes(d, x)[1] for x in alphas}
            probs = {x: _tsb_probs(d, x)[1] for x in betas}
            a, b = min(grid, key=lambda ab: _mse(d, probs[ab[1]] * sizes[ab[0]]))
        else:
            a, b = grid[0]
        self.alpha_, self.beta_ = float(a), float(b)
        z, pi, _ = tsb_states(d, self.alpha_, self.beta_)
        self.size_, self.prob_ = z, pi


class LongRunRate(Forecaster):
    """Demand at its long-run rate: occurrence and sizes as the whole history shows them.

    Croston's method with the smoothing weight at zero: each period has demand
    with the share of periods that had any, and a size drawn from the sizes
    seen. For a tool borrowed once a year this forecasts a fiftieth of a loan a
    week, with paths that are mostly zero and never negative, instead of a
    random walk around zero whose clipped median drifts upward.
    """

    name = "long_run_rate"
    min_length = 1

    def __init__(self) -> None:
        pass

    def _fit(self, y: pd.Series) -> None:
        d = y.to_numpy()
        self.sizes_ = d[d != 0]
        self.prob_ = len(self.sizes_) / len(d)

    def _point(self, h: int) -> np.ndarray:
        size = float(np.mean(self.sizes_)) if len(self.sizes_) else 0.0
        return np.full(h, self.prob_ * size)

    def _sample_paths(self, h: int, n: int, rng: np.random.Generator) -> np.ndarray:
        if len(self.sizes_) == 0:
            return np.zeros((n, h))
        occurs = rng.random((n, h)) < self.prob_
        return np.where(occurs, rng.choice(self.sizes_, size=(n, h)), 0.0)
