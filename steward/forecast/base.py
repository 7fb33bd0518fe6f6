"""The forecaster contract: public methods validate, private ``_`` methods compute.

Every forecaster predicts a point (``mean``) and a set of quantiles, and can draw
sample paths for the stock and pool projections. Models with Gaussian intervals
override ``_sd``; everything else gets quantiles from its own sample paths,
drawn with a fixed seed so that ``predict`` is reproducible.
"""

from __future__ import annotations

import abc
import copy
import inspect
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
from pandas.tseries.offsets import BaseOffset
from scipy import stats

from steward.errors import ForecastError

DEFAULT_QUANTILES: tuple[float, ...] = (0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.975)

# Paths drawn to turn a simulating model into quantiles; enough for 2.5% tails.
PREDICT_PATHS = 2000
PREDICT_SEED = 20240601


def quantile_column(q: float) -> str:
    """Column name of quantile ``q`` in a prediction frame, e.g. ``q0.1``."""
    return f"q{q:g}"


def season_length_for(freq: BaseOffset | None) -> int:
    """Usual seasonal period for a pandas frequency (1 when none applies)."""
    if freq is None:
        return 1
    code = freq.rule_code.split("-")[0].upper()
    n = getattr(freq, "n", 1)
    if n != 1:
        return 1
    return {
        "D": 7,
        "B": 5,
        "W": 52,
        "MS": 12,
        "ME": 12,
        "M": 12,
        "QS": 4,
        "QE": 4,
        "Q": 4,
        "H": 24,
    }.get(code, 1)


def index_freq(y: pd.Series) -> BaseOffset | None:
    """The frequency of a series' DatetimeIndex, if it has one."""
    return getattr(y.index, "freq", None)


def regularize(y: pd.Series, *, name: str = "forecaster") -> pd.Series:
    """Return ``y`` as float on a regular DatetimeIndex with a frequency.

    Missing dates become NaN (callers decide how to fill); an index whose
    spacing cannot be inferred is unusable and raises.
    """
    if not isinstance(y, pd.Series):
        raise ForecastError(f"{name}: expected a pandas Series, got {type(y).__name__}")
    if not isinstance(y.index, pd.DatetimeIndex):
        raise ForecastError(
            f"{name}: the series needs a DatetimeIndex, got {type(y.index).__name__}",
            hint="index the series by timestamp",
        )
    y = pd.to_numeric(y, errors="coerce").astype(float)
    if not y.index.is_monotonic_increasing:
        y = y.sort_index()
    if y.index.has_duplicates:
        y = y.groupby(level=0).mean()
    if index_freq(y) is not None or len(y) < 2:
        return y
    index = pd.DatetimeIndex(y.index)
    inferred = pd.DatetimeIndex(index, freq="infer") if len(y) >= 3 else index
    if inferred.freq is not None:
        return pd.Series(y.to_numpy(), index=inferred, name=y.name)
    offset = _gapped_freq(index)
    grid = pd.date_range(index[0], index[-1], freq=offset)
    if not index.isin(grid).all():
        raise ForecastError(
            f"{name}: timestamps are irregular and do not fit a {offset.freqstr} grid",
            hint="resample the series to a regular frequency first",
        )
    return y.reindex(grid)


def _gapped_freq(index: pd.DatetimeIndex) -> BaseOffset:
    """Frequency of an index with missing dates: the most common one of short runs."""
    found: dict[str, BaseOffset] = {}
    counts: dict[str, int] = {}
    for i in range(min(len(index) - 2, 60)):
        freq = pd.DatetimeIndex(index[i : i + 3], freq="infer").freq
        if freq is not None:
            found[freq.freqstr] = freq
            counts[freq.freqstr] = counts.get(freq.freqstr, 0) + 1
    if counts:
        return found[max(counts, key=lambda k: counts[k])]
    step = pd.Series(np.diff(index.asi8)).min()
    return pd.tseries.frequencies.to_offset(pd.Timedelta(int(step), unit="ns"))


def future_index(last: pd.Timestamp, freq: BaseOffset, h: int) -> pd.DatetimeIndex:
    """The ``h`` timestamps after ``last``."""
    return pd.date_range(last + freq, periods=h, freq=freq)


@contextmanager
def quiet() -> Iterator[None]:
    """Silence statsmodels' convergence chatter: a poor fit shows up in AICc anyway."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            yield


def gaussian_paths(
    point: np.ndarray,
    sd: np.ndarray,
    n: int,
    rng: np.random.Generator,
    innovations: np.ndarray | None = None,
) -> np.ndarray:
    """Paths whose marginal spread matches ``sd`` per step.

    Increments are independent with the variance growth of ``sd``, so paths are
    positively correlated over time like an integrated process, which matters for
    cumulative quantities (stock levels). ``innovations`` (standardised
    residuals) are bootstrapped instead of normal draws when given.
    """
    h = len(point)
    var = np.maximum.accumulate(np.square(np.nan_to_num(sd)))
    dvar = np.diff(np.concatenate([[0.0], var]))
    if innovations is not None and len(innovations) >= 10:
        z = rng.choice(innovations, size=(n, h), replace=True)
    else:
        z = rng.standard_normal((n, h))
    return point[None, :] + np.cumsum(z * np.sqrt(dvar)[None, :], axis=1)


def standardized(resid: np.ndarray) -> np.ndarray | None:
    """Residuals scaled to unit variance, for bootstrapping; None if degenerate."""
    r = resid[np.isfinite(resid)]
    sd = float(np.std(r)) if len(r) > 1 else 0.0
    if sd <= 0:
        return None
    return (r - r.mean()) / sd


class Forecaster(abc.ABC):
    """Base of all forecasters: sktime-like ``fit``/``predict``/``sample_paths``."""

    name: ClassVar[str] = "forecaster"
    min_length: ClassVar[int] = 1

    y_: pd.Series
    freq_: BaseOffset

    # -- parameters -------------------------------------------------------
    def get_params(self) -> dict[str, Any]:
        """Constructor arguments, read back from the attributes of the same name."""
        sig = inspect.signature(type(self).__init__)
        return {p: getattr(self, p) for p in sig.parameters if p != "self"}

    def clone(self) -> Self:
        """An unfitted copy with the same constructor arguments."""
        params = {k: _clone_param(v) for k, v in self.get_params().items()}
        return type(self)(**params)

    @classmethod
    def test_params(cls) -> list[dict[str, Any]]:
        """Constructor kwargs exercised by the contract test."""
        return [{}]

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    def frozen(self) -> Forecaster:
        """An unfitted copy that keeps the structure chosen by this fit.

        Backtests refit this at each origin instead of repeating the automatic
        model search, which would cost a search per origin.
        """
        return self.clone()

    @property
    def label(self) -> str:
        """Short description of the fitted model, e.g. ``ets(A,Ad,N)``."""
        return self.name

    # -- public API -------------------------------------------------------
    def fit(self, y: pd.Series) -> Self:
        """Validate ``y``, store it as ``y_``/``freq_`` and fit the model."""
        y = regularize(y, name=self.name)
        if len(y) < max(self.min_length, 1):
            raise ForecastError(
                f"{self.name} needs at least {max(self.min_length, 1)} observations, got {len(y)}"
            )
        if index_freq(y) is None:
            raise ForecastError(f"{self.name}: cannot infer a frequency from a single timestamp")
        bad = int((~np.isfinite(y.to_numpy())).sum())
        if bad:
            raise ForecastError(
                f"{self.name}: the series has {bad} missing or non-finite values",
                hint="fill gaps first (steward.forecast.select does this for you)",
            )
        self.y_ = y
        freq = index_freq(y)
        assert freq is not None
        self.freq_ = freq
        try:
            with quiet():
                self._fit(y)
        except ForecastError:
            raise
        except (ValueError, ArithmeticError, np.linalg.LinAlgError, IndexError) as exc:
            raise ForecastError(f"{self.name} could not be fitted: {exc}") from exc
        return self

    def predict(self, h: int, quantiles: Sequence[float] = DEFAULT_QUANTILES) -> pd.DataFrame:
        """Mean and quantile forecasts for the next ``h`` periods."""
        values = self.predict_array(h, quantiles)
        qs = sorted({float(q) for q in quantiles})
        return pd.DataFrame(
            values,
            index=self.future_index(int(h)),
            columns=["mean", *[quantile_column(q) for q in qs]],
        )

    def predict_array(self, h: int, quantiles: Sequence[float] = DEFAULT_QUANTILES) -> np.ndarray:
        """:meth:`predict`'s values without its frame, shape ``(h, 1 + len(quantiles))``:
        the mean, then the quantiles in increasing order. Backtests call this at every
        origin, where building a dated frame cost as much as many models' forecast."""
        self._check_fitted()
        h = _check_h(h)
        qs = sorted({float(q) for q in quantiles})
        if any(not 0.0 < q < 1.0 for q in qs):
            raise ForecastError(f"quantiles must lie strictly between 0 and 1, got {qs}")
        with quiet():
            mean, qvals = self._predict(h, np.asarray(qs, dtype=float))
        mean = np.asarray(mean, dtype=float).reshape(h)
        qvals = np.asarray(qvals, dtype=float).reshape(h, len(qs))
        if not (np.isfinite(mean).all() and np.isfinite(qvals).all()):
            raise ForecastError(f"{self.label} produced non-finite forecasts")
        qvals = np.maximum.accumulate(qvals, axis=1)
        return np.column_stack([mean, qvals])

    def point(self, h: int) -> np.ndarray:
        """The model's own point forecast for the next ``h`` periods, shape ``(h,)``.

        Unlike ``predict(h)["mean"]`` it is not the mean of simulated paths, so a
        bounded model (see ``Clipped``) does not lift it by the noise it clips off.
        """
        self._check_fitted()
        h = _check_h(h)
        with quiet():
            point = np.asarray(self._point(h), dtype=float).reshape(h)
        if not np.isfinite(point).all():
            raise ForecastError(f"{self.label} produced a non-finite point forecast")
        return point

    def sample_paths(self, h: int, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` simulated future paths of length ``h``, shape ``(n, h)``."""
        self._check_fitted()
        h = _check_h(h)
        if n < 1:
            raise ForecastError(f"need at least one sample path, got n={n}")
        with quiet():
            paths = np.asarray(self._sample_paths(h, int(n), rng), dtype=float)
        if paths.shape != (n, h):
            raise ForecastError(f"{self.label} returned paths of shape {paths.shape}")
        if not np.isfinite(paths).all():
            raise ForecastError(f"{self.label} produced non-finite sample paths")
        return paths

    def future_index(self, h: int) -> pd.DatetimeIndex:
        """Timestamps of the next ``h`` periods after the fitted data."""
        self._check_fitted()
        return future_index(self._last_timestamp(), self.freq_, h)

    # -- for subclasses ---------------------------------------------------
    def _last_timestamp(self) -> pd.Timestamp:
        return pd.Timestamp(self.y_.index[-1])

    @abc.abstractmethod
    def _fit(self, y: pd.Series) -> None:
        """Fit on a validated series."""

    @abc.abstractmethod
    def _point(self, h: int) -> np.ndarray:
        """Point (mean) forecast, shape ``(h,)``."""

    @abc.abstractmethod
    def _sample_paths(self, h: int, n: int, rng: np.random.Generator) -> np.ndarray:
        """Simulated paths, shape ``(n, h)``."""

    def _sd(self, h: int) -> np.ndarray | None:
        """Forecast standard deviation per step for Gaussian intervals, or None."""
        return None

    def _predict(self, h: int, quantiles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mean = self._point(h)
        sd = self._sd(h)
        if sd is not None:
            z = stats.norm.ppf(quantiles)
            return mean, mean[:, None] + np.asarray(sd)[:, None] * z[None, :]
        paths = self._sample_paths(h, PREDICT_PATHS, np.random.default_rng(PREDICT_SEED))
        return mean, np.quantile(paths, quantiles, axis=0).T

    def _check_fitted(self) -> None:
        if not hasattr(self, "y_"):
            raise ForecastError(f"{self.name} is not fitted: call fit(y) first")


def _check_h(h: int) -> int:
    if int(h) != h or h < 1:
        raise ForecastError(f"the horizon h must be a positive integer, got {h!r}")
    return int(h)


def _clone_param(value: Any) -> Any:
    if isinstance(value, Forecaster):
        return value.clone()
    if isinstance(value, list | tuple) and any(isinstance(v, Forecaster) for v in value):
        return type(value)(_clone_param(v) for v in value)
    return copy.deepcopy(value)
