"""Exponential smoothing (ETS) with automatic form selection by AICc, as R's ``ets``."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pandas as pd
from statsmodels.tsa.exponential_smoothing.ets import ETSModel

from steward.errors import ForecastError
from steward.forecast.base import Forecaster, season_length_for
from steward.forecast.models.seasonality import future_indices, seasonal_indices

_COMPONENT = {"N": None, "A": "add", "Ad": "add", "M": "mul"}

# Seasonal ETS needs a state per season; beyond this statsmodels gets slow and
# unstable (weekly data): use MSTL instead.
MAX_SEASON = 24


def candidate_forms(
    y: np.ndarray,
    m: int,
    error: str | None,
    trend: str | None,
    seasonal: str | None,
) -> list[tuple[str, str, str]]:
    """(error, trend, seasonal) forms worth fitting, excluding R's unstable combos."""
    positive = bool(np.min(y) > 0)
    n = len(y)
    errors = [error] if error else (["A", "M"] if positive else ["A"])
    trends = [trend] if trend else ["N", "A", "Ad"]
    can_season = 1 < m <= MAX_SEASON and n >= 2 * m + 2
    seasons = [seasonal] if seasonal else (["N", "A", "M"] if can_season else ["N"])
    if not can_season:
        seasons = ["N"]
    forms = []
    for e, t, s in itertools.product(errors, trends, seasons):
        if (e == "M" or s == "M") and not positive:
            continue
        if e == "A" and s == "M":  # additive error with multiplicative season is unstable
            continue
        npar = 2 + (2 if t != "N" else 0) + (1 if t == "Ad" else 0) + (m if s != "N" else 0)
        # The search skips forms with too few points per parameter; a form fixed
        # in advance (a backtest refit on a short window) is still tried.
        searching = error is None or trend is None or seasonal is None
        if searching and n <= npar + 1 and (t, s) != ("N", "N"):
            continue
        forms.append((e, t, s))
    return forms


class ETS(Forecaster):
    """ETS state-space model; components left as None are chosen by AICc.

    With ``deseasonalize`` a positive series is seasonally adjusted by classical
    multiplicative decomposition (when the 90% ACF test Theta uses finds
    seasonality) and only non-seasonal forms are fitted to the adjusted
    data: a handful of parameters instead of ``m`` seasonal states, which is
    faster and, on short seasonal series, more accurate.
    """

    name = "ets"
    min_length = 3

    def __init__(
        self,
        error: str | None = None,
        trend: str | None = None,
        seasonal: str | None = None,
        season_length: int | None = None,
        deseasonalize: bool = False,
    ) -> None:
        self.error = error
        self.trend = trend
        self.seasonal = seasonal
        self.season_length = season_length
        self.deseasonalize = deseasonalize

    @classmethod
    def test_params(cls) -> list[dict[str, Any]]:
        return [
            {},
            {"error": "A", "trend": "Ad", "seasonal": "N"},
            {"deseasonalize": True, "season_length": 4},
        ]

    @property
    def label(self) -> str:
        if not hasattr(self, "form_"):
            return self.name
        adjusted = " on seasonally adjusted data" if self.indices_ is not None else ""
        return f"ets({','.join(self.form_)}){adjusted}"

    def frozen(self) -> Forecaster:
        if not hasattr(self, "form_"):
            return self.clone()
        e, t, s = self.form_
        return ETS(
            error=e,
            trend=t,
            seasonal=s,
            season_length=self.season_length,
            deseasonalize=self.deseasonalize,
        )

    def _fit(self, y: pd.Series) -> None:
        values = y.to_numpy()
        m = self.season_length or season_length_for(self.freq_)
        seasonal = self.seasonal
        self.indices_: np.ndarray | None = None
        if self.deseasonalize and m > 1 and np.min(values) > 0 and seasonal in (None, "N"):
            # Seasonality, if any, is taken out here; the ETS forms stay non-seasonal.
            self.indices_ = seasonal_indices(values, m, "theta")
            seasonal = "N"
            if self.indices_ is not None:
                values = values / self.indices_[np.arange(len(values)) % m]
                y = pd.Series(values, index=y.index)
        forms = candidate_forms(values, m, self.error, self.trend, seasonal)
        if not forms:
            raise ForecastError(f"ets: no admissible model form for {len(values)} observations")
        best: tuple[float, Any, tuple[str, str, str]] | None = None
        for form in forms:
            res = self._fit_form(y, form, m)
            if res is None:
                continue
            # AICc is undefined when the series barely exceeds the parameter count;
            # a form fixed in advance (a backtest refit) needs no comparison.
            aicc = float(res.aicc) if len(forms) > 1 else 0.0
            if np.isfinite(aicc) and (best is None or aicc < best[0]):
                best = (aicc, res, form)
        if best is None:
            raise ForecastError("ets: no model form could be estimated")
        _, self.result_, self.form_ = best

    @staticmethod
    def _fit_form(y: pd.Series, form: tuple[str, str, str], m: int) -> Any:
        e, t, s = form
        try:
            model = ETSModel(
                y,
                error=_COMPONENT[e],
                trend=_COMPONENT[t],
                damped_trend=t == "Ad",
                seasonal=_COMPONENT[s],
                seasonal_periods=m if s != "N" else None,
                # Estimating m initial seasonal states is slow and overfits short
                # series; the classical-decomposition start is good enough.
                # (statsmodels' heuristic needs 10 + 2 * (m // 2) points).
                initialization_method="heuristic"
                if s != "N" and len(y) >= 10 + 2 * (m // 2)
                else "estimated",
            )
            res = model.fit(disp=False, maxiter=200)
        except (ValueError, np.linalg.LinAlgError, ArithmeticError):
            return None
        fitted = np.asarray(res.fittedvalues)
        return res if np.isfinite(fitted).all() else None

    def _season(self, h: int) -> np.ndarray:
        if self.indices_ is None:
            return np.ones(h)
        return future_indices(self.indices_, len(self.y_), h)

    def _point(self, h: int) -> np.ndarray:
        return np.asarray(self.result_.forecast(h), dtype=float) * self._season(h)

    def _sd(self, h: int) -> np.ndarray | None:
        # Closed-form variances exist only for fully additive forms.
        if self.form_[0] != "A" or self.form_[2] == "M":
            return None
        n = len(self.y_)
        pred = self.result_.get_prediction(start=n, end=n + h - 1)
        return np.sqrt(np.asarray(pred.forecast_variance, dtype=float)) * self._season(h)

    def _sample_paths(self, h: int, n: int, rng: np.random.Generator) -> np.ndarray:
        sim = self.result_.simulate(h, anchor="end", repetitions=n, rng=rng)
        paths = np.asarray(sim, dtype=float).reshape(h, n).T * self._season(h)[None, :]
        if not np.isfinite(paths).all():
            # Multiplicative forms can explode on long horizons; cap at a wide band.
            point = self._point(h)
            spread = 10 * (np.abs(point) + np.std(self.y_.to_numpy()))
            paths = np.clip(np.nan_to_num(paths, nan=0.0), point - spread, point + spread)
        return paths
