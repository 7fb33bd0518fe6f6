"""Bounds on forecasts, e.g. a stock or a demand that cannot go negative."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from steward.forecast.base import Forecaster
from steward.forecast.models.naive import Naive


class Clipped(Forecaster):
    """Clip another forecaster's mean, quantiles and paths to ``[lower, upper]``."""

    name = "clipped"
    min_length = 1

    def __init__(
        self, inner: Forecaster, lower: float | None = 0.0, upper: float | None = None
    ) -> None:
        self.inner = inner
        self.lower = lower
        self.upper = upper

    @classmethod
    def test_params(cls) -> list[dict[str, Any]]:
        return [{"inner": Naive()}, {"inner": Naive(), "lower": None, "upper": 100.0}]

    @classmethod
    def of_fitted(
        cls, inner: Forecaster, lower: float | None = 0.0, upper: float | None = None
    ) -> Clipped:
        """Wrap an already-fitted forecaster."""
        model = cls(inner.clone(), lower=lower, upper=upper)
        model.inner_ = inner
        model.y_ = inner.y_
        model.freq_ = inner.freq_
        return model

    @property
    def label(self) -> str:
        return getattr(self, "inner_", self.inner).label

    def _fit(self, y: pd.Series) -> None:
        self.inner_ = self.inner.clone().fit(y)

    def _clip(self, x: np.ndarray) -> np.ndarray:
        return np.clip(x, self.lower, self.upper)

    def _last_timestamp(self) -> pd.Timestamp:
        return self.inner_._last_timestamp()

    def _point(self, h: int) -> np.ndarray:
        return self._clip(self.inner_._point(h))

    def _predict(self, h: int, quantiles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.lower is None and self.upper is None:
            return self.inner_._predict(h, quantiles)
        mean, qs = self.inner_._predict(h, quantiles)
        raw = self.inner_._sample_paths(h, 2000, np.random.default_rng(7))
        clipped = self._clip(raw)
        if not np.array_equal(raw, clipped):
            # The mean of a clipped distribution is the mean of clipped paths, not the clipped mean.
            mean = clipped.mean(axis=0)
        return self._clip(mean), self._clip(qs)

    def _sample_paths(self, h: int, n: int, rng: np.random.Generator) -> np.ndarray:
        return self._clip(self.inner_._sample_paths(h, n, rng))
