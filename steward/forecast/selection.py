"""Method selection by rolling-origin backtest on the series' own history.

``select`` never raises for bad data: it cleans what it can (gaps, outliers,
level shifts, negative values of a non-negative resource), says what it did, and
falls back to a baseline whenever there is too little to learn from.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from pandas.tseries.offsets import BaseOffset

from steward.errors import ForecastError
from steward.forecast.base import (
    DEFAULT_QUANTILES,
    Forecaster,
    index_freq,
    quiet,
    regularize,
    season_length_for,
)
from steward.forecast.calibration import Calibrated, Widened
from steward.forecast.models import (
    ARIMA,
    ETS,
    SBA,
    TSB,
    Clipped,
    Combination,
    Constant,
    Croston,
    Drift,
    LongRunRate,
    MSTLForecaster,
    Naive,
    Naive2,
    SeasonalMean,
    SeasonalNaive,
    ShrunkSeasonalMean,
    Theta,
    WindowMean,
)

Status = Literal["ok", "baseline", "no_data"]

# Share of zero periods from which demand counts as intermittent.
INTERMITTENT_ZEROS = 0.3
DEFAULT_ORIGINS = 4
# Relative MASE margins a single model / a baseline must win by (see _handicap),
# when candidates are compared freely (an explicit candidate list, intermittent data).
SINGLE_MARGIN = 0.05
BASELINE_MARGIN = 0.10
# The default for regular series: the mean of ETS and Theta. On M3 it beats picking
# one of them per series by backtest (sMAPE 12.50 against 12.54 with a 50% margin
# and 12.75 to 13.10 for either alone), so only a baseline or a different kind of
# model replaces it, and only when its backtest MASE is better by this margin.
DEFAULT_MEMBERS = ("ets", "theta")
ALTERNATIVE_MARGIN = 0.5
# Yearly series: the median of ETS, Theta and a random walk with drift. Chosen on
# M3's 645 yearly series (point forecasts of each member fitted as the engine
# fits them): sMAPE 16.10 and MASE 2.60 against 16.43 and 2.67 for the mean of
# ETS and Theta (the mean of all three: 16.23, 2.61). Checked, without further
# tuning, on Tourism's 518 yearly series (see the competitions benchmark). The
# median keeps whichever two agree: a trend that ETS and Theta both extrapolate
# too far (or damp too early) is pulled back by the drift of the whole history.
YEARLY_MEMBERS = ("drift", "ets", "theta")
YEARLY_COMBINATION = "median"
# The yearly ETS member is the damped trend with additive errors only, not the
# AICc search over six forms: on the same M3 yearly series the median then scores
# sMAPE 16.18 and MASE 2.61 (16.10 and 2.60 with the search) for a third of the
# ETS fitting CPU, and its intervals need no simulation.
YEARLY_ETS = ("A", "Ad", "N")
# A baseline chosen over the combination gets intervals that also cover the
# combination's, unless the combination's backtest MASE is this many times worse.
RIVAL_LIMIT = 3.0
# ETS with m seasonal states for short seasons; for long ones (7 days, 52 weeks) a
# damped trend on classically adjusted data: faster, and more accurate on M3.
MAX_ETS_SEASON_STATES = 4
# Monthly series (see ets_for) get ETS on the log scale with a damped trend and 12
# additive seasonal states of the logs: a season that grows with the level and
# drifts over the years. Chosen on Tourism: on half of its monthly series this
# ETS alone scored MASE 1.47 against 1.70 for a damped trend on adjusted data, and
# the engine's monthly MASE on a 150-series subsample went from 1.70 to 1.55
# (point forecasts; with Theta on recent seasonal indices). Quarterly series
# keep the full search (its log form lost on Tourism), with multiplicative errors
# only for positive series: 9 forms instead of 15, 20% less CPU, and MASE 1.59 to
# 1.58 on a 150-series Tourism subsample. Yearly series keep the full search: a
# damped log trend won on Tourism (MASE 2.84 to 2.71) but lost on M3, the data
# that checked it (sMAPE 16.43 to 17.08, worse than Theta's 16.90).
# Quarterly ETS also refits its chosen form at the backtest origins from the full
# fit's parameters (warm_start): chosen on M3 quarterly with the looser form
# search (ets.SEARCH_TOLERANCE), both cut its CPU per series from 0.055 to 0.042 s
# (300 series, interleaved); checked without further tuning on all 427 Tourism
# quarterly series: 0.059 to 0.044 s, MASE 1.493 to 1.491, coverage unchanged.
# Not for M3's "other" series (m = 1): there warm refits moved the backtest
# scores enough to change choices, and sMAPE went from 4.40 to 4.42, past
# Theta's 4.41; with cold refits and the looser search it was 4.39.
LOG_ETS_SEASONS = (12,)
# Seasons of ratios that Theta (and ETS on adjusted data) average for the seasonal
# indices of monthly and quarterly series. Chosen on half of the Tourism series
# (point forecasts): Theta's MASE went from 1.58 to 1.39 (quarterly) and from 1.79
# to 1.59 (monthly) against indices from the whole history; 4 seasons did about as
# well (1.41, 1.61). Daily and weekly data keep the whole history.
RECENT_SEASONS = 6
# Intermittent demand methods, chosen among by RMSSE (see select).
INTERMITTENT_METHODS = ("croston", "long_run_rate", "sba", "tsb")
# Long-memory candidates for weekly flows: the mean of the last year and the mean
# of the same weeks of past years (see steward.forecast.models.long_memory).
LONG_MEMORY = ("seasonal_mean", "window_mean")
# The default for weekly flows (not intermittent) with at least a season of history:
# the last year's mean plus the seasonal profile shrunk by its share of noise.
WEEKLY_DEFAULT = "shrunk_seasonal_mean"
# Candidates that forecast a season only from a training window holding one.
SEASONAL_ONLY = ("seasonal_naive", "seasonal_mean")
# Seasons longer than this (a year of weeks) start backtests after one season, not two.
MAX_SEASON_FOR_TWO_YEAR_WINDOWS = 24


# -- accuracy measures -------------------------------------------------------
def mase_scale(y: np.ndarray, m: int) -> float:
    """In-sample MAE of the seasonal naive forecast (lag 1 when too short)."""
    for lag in (m, 1):
        if lag >= 1 and len(y) > lag:
            s = float(np.mean(np.abs(y[lag:] - y[:-lag])))
            if s > 0:
                return s
    s = float(np.mean(np.abs(y))) if len(y) else 0.0
    return s if s > 0 else 1.0


def msse_scale(y: np.ndarray) -> float:
    """In-sample mean squared error of the naive forecast (the M5 competition's RMSSE scale)."""
    s = float(np.mean(np.square(np.diff(y)))) if len(y) > 1 else 0.0
    if s > 0:
        return s
    s = float(np.mean(np.square(y))) if len(y) else 0.0
    return s if s > 0 else 1.0


def mase(actual: np.ndarray, forecast: np.ndarray, scale: float) -> float:
    """Mean absolute scaled error."""
    return float(np.nanmean(np.abs(actual - forecast)) / scale)


def smape(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Symmetric MAPE in percent (M3 definition); 0/0 counts as a perfect forecast."""
    num = np.abs(actual - forecast)
    den = np.abs(actual) + np.abs(forecast)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(den > 0, num / den, 0.0)
    return float(200 * np.nanmean(ratio))


# -- backtest ----------------------------------------------------------------
@dataclass(frozen=True)
class BacktestResult:
    """Forecasts from several origins; arrays are ``(origins, h)`` NaN-padded."""

    method: str
    h: int
    origins: tuple[pd.Timestamp, ...]
    actuals: np.ndarray
    means: np.ndarray
    quantile_levels: tuple[float, ...]
    quantiles: np.ndarray  # (origins, h, levels)
    scales: np.ndarray  # MASE scale per origin (in-sample seasonal naive MAE)
    sq_scales: np.ndarray | None = None  # RMSSE scale per origin (in-sample naive MSE)

    @property
    def errors(self) -> np.ndarray:
        """Actual minus forecast, per origin and step."""
        return self.actuals - self.means

    @property
    def mase_per_origin(self) -> np.ndarray:
        return np.array(
            [mase(a, f, s) for a, f, s in zip(self.actuals, self.means, self.scales, strict=True)]
        )

    @property
    def smape_per_origin(self) -> np.ndarray:
        return np.array([smape(a, f) for a, f in zip(self.actuals, self.means, strict=True)])

    @property
    def mase(self) -> float:
        return float(np.mean(self.mase_per_origin)) if len(self.origins) else float("inf")

    @property
    def smape(self) -> float:
        return float(np.mean(self.smape_per_origin)) if len(self.origins) else float("inf")

    @property
    def rmsse(self) -> float:
        """Root mean squared scaled error over origins: unlike MASE it rewards the mean,
        not the median, which for intermittent demand is zero."""
        if not len(self.origins):
            return float("inf")
        sq = self.sq_scales if self.sq_scales is not None else np.square(self.scales)
        per_origin = [
            np.sqrt(np.nanmean(np.square(a - f)) / s)
            for a, f, s in zip(self.actuals, self.means, sq, strict=True)
        ]
        return float(np.mean(per_origin))


def origin_positions(
    n: int, h: int, k: int, min_train: int, *, season_length: int = 1
) -> list[int]:
    """Training lengths for up to ``k`` origins, latest first.

    Full windows end at the series end and step back by ``h // k``; a series
    too short for one full window gets truncated windows instead, spread over
    the last season when it is a year of weeks (``season_length``).
    """
    last = n - h
    if last >= min_train:
        step = max(1, h // max(k, 1))
        return [t for t in (last - i * step for i in range(k)) if t >= min_train]
    # Truncated windows: consecutive origins, except for a yearly season of weeks,
    # where origins at the last few weeks would all sit in one December.
    spread = season_length // max(k, 1) if season_length > MAX_SEASON_FOR_TWO_YEAR_WINDOWS else 1
    return [t for t in range(n - 1, min_train - 1, -max(1, spread))][:k]


def backtest(
    forecaster_factory: Callable[[], Forecaster],
    y: pd.Series,
    h: int,
    origins: int | Sequence[int] = DEFAULT_ORIGINS,
    *,
    season_length: int | None = None,
    min_train: int | None = None,
    quantiles: Sequence[float] = DEFAULT_QUANTILES,
) -> BacktestResult:
    """Fit a fresh forecaster at each origin and score it on what followed.

    ``origins`` is a number of origins or explicit training lengths. Raises
    ForecastError if the forecaster fails at any origin, so that candidates
    are always compared on the same windows.
    """
    y = regularize(y)
    values = y.to_numpy()
    n = len(values)
    m = season_length or season_length_for(index_freq(y))
    if isinstance(origins, int):
        probe = forecaster_factory()
        floor = max(probe.min_length, 3) if min_train is None else min_train
        positions = origin_positions(n, h, origins, floor)
    else:
        positions = [int(t) for t in origins]
    qs = tuple(sorted(quantiles))
    k = len(positions)
    actuals = np.full((k, h), np.nan)
    means = np.full((k, h), np.nan)
    qvals = np.full((k, h, len(qs)), np.nan)
    scales = np.ones(k)
    sq_scales = np.ones(k)
    label = "?"
    for i, t in enumerate(positions):
        model = forecaster_factory().fit(y.iloc[:t])
        label = model.label
        pred = model.predict_array(h, qs)
        width = min(h, n - t)
        actuals[i, :width] = values[t : t + width]
        means[i] = pred[:, 0]
        qvals[i] = pred[:, 1:]
        scales[i] = mase_scale(values[:t], m)
        sq_scales[i] = msse_scale(values[:t])
    return BacktestResult(
        method=label,
        h=h,
        origins=tuple(y.index[t - 1] for t in positions),
        actuals=actuals,
        means=means,
        quantile_levels=qs,
        quantiles=qvals,
        scales=scales,
        sq_scales=sq_scales,
    )


def combine_backtests(results: Sequence[BacktestResult], method: str = "mean") -> BacktestResult:
    """Backtest of an equal-weight combination, from its members' backtests."""
    pick = np.median if method == "median" else np.mean
    first = results[0]
    return BacktestResult(
        method=f"{method}({'+'.join(sorted(r.method for r in results))})",
        h=first.h,
        origins=first.origins,
        actuals=first.actuals,
        means=pick(np.stack([r.means for r in results]), axis=0),
        quantile_levels=first.quantile_levels,
        quantiles=pick(np.stack([np.sort(r.quantiles, axis=-1) for r in results]), axis=0),
        scales=first.scales,
        sq_scales=first.sq_scales,
    )


# -- input preparation -------------------------------------------------------
@dataclass
class Prepared:
    """A cleaned series and plain-words notes on what cleaning did."""

    series: pd.Series
    notes: list[str] = field(default_factory=list)


def _unit(freq: BaseOffset | None) -> str:
    code = freq.rule_code.split("-")[0].upper() if freq is not None else ""
    return {
        "D": "days",
        "B": "days",
        "W": "weeks",
        "MS": "months",
        "ME": "months",
        "QS": "quarters",
        "QE": "quarters",
        "YS": "years",
        "YE": "years",
        "H": "hours",
    }.get(code, "periods")


def _count(n: int, unit: str) -> str:
    return f"{n} {unit[:-1] if n == 1 else unit}"


def _to_regular(y: pd.Series) -> pd.Series:
    try:
        return regularize(y, name="select")
    except ForecastError:
        # Off-grid timestamps: average onto the most common spacing.
        y = pd.to_numeric(y, errors="coerce").astype(float).sort_index()
        step = pd.Series(np.diff(pd.DatetimeIndex(y.index).asi8)).mode().iloc[0]
        return y.resample(pd.Timedelta(int(step), unit="ns")).mean()


def recurring_peaks(detrended: np.ndarray, m: int, flagged: np.ndarray) -> np.ndarray:
    """Flagged points whose season position is as far off the local level in another season.

    A peak that comes back every December is the season, however much it grows
    from year to year: it is never an outlier. ``detrended`` is the series minus
    its local level; a flagged point is recurring when the same position (or a
    neighbour) of any other season deviates in the same direction by at least
    half as much.
    """
    out = np.zeros(len(detrended), dtype=bool)
    if m <= 1:
        return out
    positions = np.arange(len(detrended))
    for t in np.flatnonzero(flagged):
        dev = detrended[t]
        same = (np.abs((positions - t + 1) % m - 1) <= 1) & (np.abs(positions - t) > 1)
        others = detrended[same]
        others = others[np.isfinite(others)]
        out[t] = bool(np.any(np.sign(dev) * others >= 0.5 * abs(dev)))
    return out


def _fix_outliers(y: pd.Series, m: int, notes: list[str]) -> pd.Series:
    """Replace isolated spikes: more than 6 robust SDs off the local level and season."""
    if len(y) < max(8, 2 * m):
        return y
    window = 2 * m + 1 if m > 1 else 5
    # Half windows at the ends as well: on M3, trimming spikes among the first and
    # latest points helps (sMAPE 12.48 against 12.55 with full windows only), at
    # the cost of false repairs at the ends of an almost noise-free seasonal series.
    level = y.rolling(window, center=True, min_periods=window // 2 + 1).median()
    detrended = (y - level).to_numpy()
    phase = np.arange(len(y)) % max(m, 1)
    season = pd.Series(detrended).groupby(phase).transform("median").to_numpy()
    r = detrended - season
    ok = np.isfinite(r)
    ok[-2:] = False  # the newest points may be the start of a shift: never "repair" them
    mad = 1.4826 * np.median(np.abs(r[ok] - np.median(r[ok])))
    if mad <= 0:
        return y
    spikes = ok & (np.abs(r) > 6 * mad)
    spikes &= ~recurring_peaks(detrended, m, spikes)
    if spikes.any():
        y = y.where(~spikes, level + season)
        dates = ", ".join(str(d.date()) for d in y.index[spikes][:3])
        notes.append(
            f"{int(spikes.sum())} isolated value(s) far off the usual level and season "
            f"replaced by the local level ({dates}), because repair was asked for"
        )
    return y


def _fix_level_shift(y: pd.Series, nonnegative: bool, notes: list[str]) -> pd.Series:
    """Bring history before the largest persistent jump to the new level."""
    values = y.to_numpy()
    if len(values) < 10:
        return y
    d = np.diff(values)
    mad = 1.4826 * np.median(np.abs(d - np.median(d)))
    j = int(np.argmax(np.abs(d)))
    if mad <= 0 or abs(d[j]) <= 8 * mad:
        return y
    before, after = values[: j + 1], values[j + 1 :]
    if len(after) < 3:
        return y
    k = min(6, len(before), len(after))
    delta = float(np.median(after[:k]) - np.median(before[-k:]))
    if abs(delta) < 0.5 * abs(d[j]):
        return y  # the jump did not persist: a spike, not a shift
    when = y.index[j + 1].date()
    shifted = before + delta
    if nonnegative and shifted.min() < 0:
        notes.append(f"level shift on {when}: using only the {len(after)} points since then")
        return y.iloc[j + 1 :]
    notes.append(
        f"level shift of {delta:+.3g} on {when}: earlier history moved to the new level, "
        "because repair was asked for"
    )
    return pd.Series(np.concatenate([shifted, after]), index=y.index)


def prepare(
    y: pd.Series,
    *,
    nonnegative: bool = False,
    season_length: int | None = None,
    repair: bool = False,
) -> Prepared:
    """Regularise and fill gaps, noting each change in words a steward reads.

    ``repair`` also replaces isolated outliers and moves history before a level
    shift to the new level. It is off by default because it was not earned out of
    sample: designed on M3, it fired on 71% of Tourism's monthly series, took
    recurring seasonal peaks for outliers, and switching it off improved MASE on
    Tourism (2.09 to 1.96 on a 150-series subsample) and on M3 (see
    tests/benchmarks/bench_forecast_competitions.py for the figures).
    """
    notes: list[str] = []
    y = _to_regular(y)
    valid = np.flatnonzero(np.isfinite(y.to_numpy()))
    if len(valid) == 0:
        return Prepared(y.iloc[:0], notes)
    trailing = len(y) - 1 - int(valid[-1])
    y = y.iloc[valid[0] : valid[-1] + 1]
    if trailing:
        notes.append(f"last {trailing} period(s) missing: forecasting from {y.index[-1].date()}")
    missing = int(y.isna().sum())
    if missing:
        y = y.interpolate(method="linear")
        notes.append(f"{missing} missing value(s) filled by interpolation")
    if nonnegative and (y < 0).any():
        notes.append(f"{int((y < 0).sum())} negative value(s) set to 0")
        y = y.clip(lower=0)
    if repair and float((y == 0).mean()) < INTERMITTENT_ZEROS:
        # Shifts first: a rolling median straddling a shift would flag its edge as a spike.
        y = _fix_level_shift(y, nonnegative, notes)
        m = season_length or season_length_for(index_freq(y))
        y = _fix_outliers(y, m if len(y) >= 2 * m else 1, notes)
    if index_freq(y) is None and len(y) >= 3:
        y = pd.Series(y.to_numpy(), index=pd.DatetimeIndex(y.index, freq="infer"))
    return Prepared(y, notes)


# -- selection ---------------------------------------------------------------
@dataclass
class Selection:
    """The chosen, fitted and calibrated forecaster, with the reasons for it.

    ``status`` is ``"no_data"`` when there was nothing to learn from (the
    forecaster then predicts zeros), ``"baseline"`` when the data only allowed
    a baseline, and ``"ok"`` when methods were compared by backtest.
    """

    forecaster: Forecaster
    method: str
    scores: dict[str, float]
    reason: str
    candidates: tuple[str, ...]
    status: Status = "ok"
    notes: tuple[str, ...] = ()
    n_obs: int = 0
    measure: str = "MASE"
    origins: int = 0
    key: str = ""  # the chosen candidate's key in ``scores``

    @property
    def has_data(self) -> bool:
        return self.status != "no_data"

    def predict(self, h: int, quantiles: Sequence[float] = DEFAULT_QUANTILES) -> pd.DataFrame:
        return self.forecaster.predict(h, quantiles)


def ets_for(m: int, calendar: bool = False, yearly: bool = False) -> ETS:
    """The ETS configuration that suits season length ``m``.

    ``calendar`` marks monthly, quarterly and yearly data (see :func:`is_calendar`),
    whose months are modelled on the log scale (:data:`LOG_ETS_SEASONS`) and whose
    quarters get multiplicative errors when positive. ``yearly`` series get the
    one form :data:`YEARLY_ETS` with warm-started backtest refits.
    """
    if yearly:
        e, t, s = YEARLY_ETS
        return ETS(error=e, trend=t, seasonal=s, season_length=1, warm_start=True)
    if calendar and m in LOG_ETS_SEASONS:
        return ETS(season_length=m, trend="Ad", log=True)
    if calendar and 1 < m <= MAX_ETS_SEASON_STATES:
        return ETS(season_length=m, positive_error="M", warm_start=True)
    if m <= MAX_ETS_SEASON_STATES:
        return ETS(season_length=m)
    return ETS(season_length=m, trend="Ad", deseasonalize=True)


def is_calendar(freq: BaseOffset | None) -> bool:
    """Whether ``freq`` is one month, quarter or year (the competitions' frequencies)."""
    if freq is None or getattr(freq, "n", 1) != 1:
        return False
    code = freq.rule_code.split("-")[0].upper()
    return code in ("MS", "ME", "M", "QS", "QE", "Q", "YS", "YE", "Y", "AS", "A")


def is_yearly(freq: BaseOffset | None) -> bool:
    """Whether ``freq`` is one year (see :data:`YEARLY_MEMBERS`)."""
    if freq is None or getattr(freq, "n", 1) != 1:
        return False
    return freq.rule_code.split("-")[0].upper() in ("YS", "YE", "Y", "AS", "A", "BYS", "BYE")


def is_weekly(freq: BaseOffset | None) -> bool:
    """Whether ``freq`` is one week (Steward's flows are forecast per week)."""
    return freq is not None and freq.rule_code.split("-")[0].upper() == "W" and freq.n == 1


def _factories(
    names: Sequence[str], m: int, year: int = 52, *, calendar: bool = False, yearly: bool = False
) -> dict[str, Callable[[], Forecaster]]:
    recent = RECENT_SEASONS if calendar else None
    makers: dict[str, Callable[[], Forecaster]] = {
        "naive": Naive,
        "seasonal_naive": lambda: SeasonalNaive(season_length=m),
        "naive2": lambda: Naive2(season_length=m),
        "drift": Drift,
        "theta": lambda: Theta(season_length=m, recent_seasons=recent),
        "ets": lambda: ets_for(m, calendar, yearly),
        "arima": lambda: ARIMA(season_length=m),
        "croston": Croston,
        "sba": SBA,
        "tsb": TSB,
        "long_run_rate": LongRunRate,
        "mstl": MSTLForecaster,
        "window_mean": lambda: WindowMean(window=year),
        "seasonal_mean": lambda: SeasonalMean(season_length=m),
        "shrunk_seasonal_mean": lambda: ShrunkSeasonalMean(season_length=m),
    }
    unknown = [x for x in names if x not in makers]
    if unknown:
        raise ForecastError(f"unknown candidate method(s): {', '.join(unknown)}")
    return {x: makers[x] for x in names}


def default_candidates(n: int, m: int, freq: BaseOffset, intermittent: bool) -> list[str]:
    """Intermittent demand methods, or the default combination's members (for yearly
    series :data:`YEARLY_MEMBERS`, with the drift); plus MSTL
    for daily data long enough to show weekly and yearly seasons, and the long-memory
    means (:data:`LONG_MEMORY`) and, with at least one season of history,
    :data:`WEEKLY_DEFAULT` for weekly flows.

    Intermittent demand keeps its rate: a season read from a handful of loans
    (an orchard ladder borrowed in the same April week three years running)
    would put most of a year's demand into a few weeks, and a one-unit pool's
    overbooking risk there past what a tool borrowed once a year should show."""
    seasonal_weeks = is_weekly(freq) and m > 1 and n >= m
    if intermittent:
        return list(INTERMITTENT_METHODS)
    names = list(YEARLY_MEMBERS if is_yearly(freq) else DEFAULT_MEMBERS)
    code = freq.rule_code.split("-")[0].upper()
    if code in ("D", "B", "H") and n >= 28:
        names.append("mstl")
    if is_weekly(freq):
        names.extend(x for x in LONG_MEMORY if x != "seasonal_mean" or m > 1)
    if seasonal_weeks:
        names.append(WEEKLY_DEFAULT)
    return names


def _no_data(y: pd.Series, notes: list[str]) -> Selection:
    freq: BaseOffset = index_freq(y) or pd.tseries.frequencies.to_offset("D")
    last = y.index[-1] if len(y) else pd.Timestamp.now().normalize() - freq
    reason = "no data yet: nothing to forecast (predicting zeros)"
    if len(y):
        reason = (
            f"no usable values among {len(y)} timestamps: nothing to forecast (predicting zeros)"
        )
    return Selection(
        forecaster=Constant.without_data(freq, pd.Timestamp(last)),
        method="none",
        scores={},
        reason=reason,
        candidates=(),
        status="no_data",
        notes=tuple(notes),
    )


def _baseline(y: pd.Series, reason: str, notes: list[str], m: int, status: Status) -> Selection:
    model = SeasonalNaive(season_length=m).fit(y) if m > 1 and len(y) >= m else Naive().fit(y)
    return Selection(
        forecaster=model,
        method=model.name,
        scores={},
        reason=_with_notes(reason, notes),
        candidates=(model.name,),
        status=status,
        notes=tuple(notes),
        n_obs=len(y),
    )


def _rare_demand(y: pd.Series, reason: str, notes: list[str]) -> Selection:
    """Demand too short to backtest: its long-run rate, never a repeated last value."""
    model = LongRunRate().fit(y)
    return Selection(
        forecaster=Clipped.of_fitted(model, lower=0.0),
        method=model.label,
        scores={},
        reason=_with_notes(reason, notes),
        candidates=(model.name,),
        status="baseline",
        notes=tuple(notes),
        n_obs=len(y),
    )


def _handicap(name: str, baseline: str, combo: str | None) -> float:
    """Backtests on a few origins are noisy: a single model must beat the
    combination, and a baseline the models, by a margin before it is chosen."""
    if name == combo:
        return 1.0
    if name in (baseline, "naive", "naive2"):
        return 1.0 + BASELINE_MARGIN
    return 1.0 + SINGLE_MARGIN


def _alternative(name: str, combo: str) -> float:
    return 1.0 if name == combo else 1.0 + ALTERNATIVE_MARGIN


def combination_name(members: Sequence[str], method: str = "mean") -> str:
    """Canonical candidate name of an equal-weight combination: members sorted.

    ``method`` is "mean" (named ``combination(...)``) or "median" (``median(...)``).
    """
    kind = "median" if method == "median" else "combination"
    return f"{kind}(" + "+".join(sorted(members)) + ")"


def _add_combination(
    members: Sequence[str],
    results: dict[str, BacktestResult],
    fitted: dict[str, Forecaster],
    scores: dict[str, float],
    score: Callable[[BacktestResult], float],
    method: str = "mean",
) -> str:
    """Add the equal-weight mean (or median) of fitted ``members`` as a candidate;
    returns its name."""
    members = sorted(members)
    name = combination_name(members, method)
    results[name] = combine_backtests([results[x] for x in members], method)
    fitted[name] = Combination.of_fitted([fitted[x] for x in members], method=method)
    scores[name] = score(results[name])
    return name


def _with_notes(reason: str, notes: Sequence[str]) -> str:
    return reason if not notes else f"{reason}; {'; '.join(notes)}"


def _min_train(n: int, h: int, m: int) -> int:
    """Shortest training window of a backtest origin.

    Two seasons and a bit where the history allows; for a yearly season of weeks
    one season and a few weeks, so that two years of weekly flows still give
    several origins (the long-memory means need one season, not two).
    """
    if m <= 1:
        return 4
    if m > MAX_SEASON_FOR_TWO_YEAR_WINDOWS:
        return max(4, min(2 * m + 2, max(m + 4, n - h - m), n // 2))
    return max(4, min(2 * m + 2, n - h))


def _weekly_choice(
    scores: dict[str, float],
    results: dict[str, BacktestResult],
    fitted: dict[str, Forecaster],
    score: Callable[[BacktestResult], float],
    eligible: Sequence[str] | None = None,
) -> tuple[str, str | None]:
    """Best weekly candidate; returns it and the default it had to beat (if formed).

    The default for weekly flows with a season of history is
    :data:`WEEKLY_DEFAULT` (the last year's mean plus the seasonal profile, shrunk
    by its share of noise); without one, the mean of the long-memory means. Two
    years of weekly flows give a backtest of a few origins, and with one year no
    origin has a season to learn from (a seasonal model is then judged as the
    plain mean it falls back to): too noisy to trust a model that follows the
    last weeks unless it is far better (the same ``ALTERNATIVE_MARGIN`` as
    ETS/Theta's default). Only ``eligible`` candidates (default: all) may win.
    """
    allowed = [x for x in scores if eligible is None or x in eligible]
    if WEEKLY_DEFAULT in results:
        default = WEEKLY_DEFAULT
    elif all(x in results for x in LONG_MEMORY):
        default = _add_combination(LONG_MEMORY, results, fitted, scores, score)
        allowed.append(default)
    else:
        best = min(allowed, key=lambda x: (scores[x], x))
        return best, None
    if all(x in results for x in DEFAULT_MEMBERS):
        allowed.append(_add_combination(DEFAULT_MEMBERS, results, fitted, scores, score))
    best = min(allowed, key=lambda x: (scores[x] * _alternative(x, default), x))
    return best, default


def select(
    y: pd.Series,
    h: int,
    *,
    season_length: int | None = None,
    candidates: Sequence[str] | None = None,
    nonnegative: bool = False,
    origins: int = DEFAULT_ORIGINS,
    combine: bool = True,
    calibrate: bool = True,
    repair: bool = False,
) -> Selection:
    """Choose, fit and calibrate a forecaster for ``y`` by backtest.

    Regular series are scored by MASE, intermittent demand (a share of zero
    periods of at least ``INTERMITTENT_ZEROS``) by RMSSE among the intermittent
    methods. ``repair`` turns on the outlier and level-shift repair of
    :func:`prepare` (off by default: see ``REPAIR`` notes there). Never raises
    for bad data (only for a wrong type or an unknown candidate); the returned
    ``reason`` says what was chosen and why, in words a steward reads.
    """
    if not isinstance(y, pd.Series):
        raise ForecastError(f"select: expected a pandas Series, got {type(y).__name__}")
    if len(y) == 0 or not isinstance(y.index, pd.DatetimeIndex):
        if len(y) == 0:
            idx = y.index if isinstance(y.index, pd.DatetimeIndex) else pd.DatetimeIndex([])
            return _no_data(pd.Series([], index=idx, dtype=float), [])
        raise ForecastError("select: the series needs a DatetimeIndex", hint="index by timestamp")
    prep = prepare(y, nonnegative=nonnegative, season_length=season_length, repair=repair)
    series, notes = prep.series, prep.notes
    if len(series) == 0:
        return _no_data(y.sort_index(), notes)
    freq: BaseOffset = index_freq(series) or pd.tseries.frequencies.to_offset("D")
    if index_freq(series) is None:  # a single observation has no spacing to infer
        series = pd.Series(series.to_numpy(), index=pd.DatetimeIndex(series.index, freq=freq))
    m = season_length or season_length_for(freq)
    n = len(series)
    unit = _unit(freq)
    values = series.to_numpy()
    if n < 4:
        what = f"only {_count(n, unit)} of history: repeating the last value"
        if np.ptp(values) == 0 and values[0] == 0:
            what = f"only {_count(n, unit)} of history, all zero: forecasting zero"
        return _baseline(series, what, notes, 1, "baseline")
    if np.ptp(values) == 0:
        what = (
            f"all {n} values are zero: forecasting zero"
            if values[0] == 0
            else f"constant at {values[0]:.6g} over {_count(n, unit)}: repeating it"
        )
        return _baseline(series, what, notes, 1, "baseline")
    zeros = float(np.mean(values == 0))
    intermittent = zeros >= INTERMITTENT_ZEROS and values.min() >= 0
    short = m > 1 and n < m
    if short:
        notes.insert(0, f"only {_count(n, unit)}, less than one season ({m})")
        m_eff = 1
    else:
        m_eff = m
    names = (
        list(candidates)
        if candidates is not None
        else default_candidates(n, m_eff, freq, intermittent)
    )
    baseline_name = "seasonal_naive" if m_eff > 1 else "naive"
    names = [baseline_name, *[x for x in names if x != baseline_name]]
    factories = _factories(
        names, m_eff, year=max(m, 1), calendar=is_calendar(freq), yearly=is_yearly(freq)
    )
    positions = origin_positions(n, h, origins, _min_train(n, h, m_eff), season_length=m_eff)
    if not positions:
        if intermittent and candidates is None:
            what = f"intermittent demand ({zeros:.0%} zero {unit}), too short to backtest"
            return _rare_demand(series, f"{what}: its long-run rate", notes)
        return _baseline(
            series, f"only {_count(n, unit)}: too short to backtest", notes, m_eff, "baseline"
        )

    fitted: dict[str, Forecaster] = {}
    results: dict[str, BacktestResult] = {}
    failed: list[str] = []
    for name, factory in factories.items():
        try:
            with quiet():
                model = factory().fit(series)
                results[name] = backtest(model.frozen, series, h, positions, season_length=m_eff)
            fitted[name] = model
        except Exception:  # noqa: BLE001 - third-party fits fail in many ways; drop the candidate
            failed.append(name)
    if baseline_name not in results:
        return _baseline(series, "backtest of the baseline failed", notes, m_eff, "baseline")
    by_rate = intermittent and candidates is None
    measure = "RMSSE" if by_rate else "MASE"
    score: Callable[[BacktestResult], float] = (
        (lambda r: r.rmsse) if by_rate else (lambda r: r.mase)
    )
    scores = {name: score(r) for name, r in results.items()}
    default_combo = candidates is None and not intermittent
    wanted, how = (
        (YEARLY_MEMBERS, YEARLY_COMBINATION) if is_yearly(freq) else (DEFAULT_MEMBERS, "mean")
    )
    members = [x for x in wanted if x in results] if default_combo else []
    combo_name = None
    widen_by = None  # a plausible rival whose intervals a chosen baseline's must cover
    weekly_default = None
    if default_combo and is_weekly(freq):
        eligible = list(scores)
        if min(positions) < m_eff:
            # No origin had a season to learn from: a seasonal model was judged as
            # the plain naive or mean it falls back to, not as what it forecasts.
            eligible = [x for x in eligible if x not in SEASONAL_ONLY]
        best, widen_by = _weekly_choice(scores, results, fitted, score, eligible)
        weekly_default = widen_by
        if widen_by == best or widen_by is None or scores[widen_by] >= RIVAL_LIMIT * scores[best]:
            widen_by = None
    elif default_combo and len(members) == len(wanted):
        # The combination is the default; the others have to clearly beat it.
        primary = combo_name = _add_combination(members, results, fitted, scores, score, how)
        # A member beating the mean of both on a few origins is mostly noise (on M3
        # choosing it costs accuracy); a baseline or a different kind of model
        # (MSTL) that is far better points to something the members miss.
        rivals = [x for x in scores if x not in members]
        best = min(rivals, key=lambda x: (scores[x] * _alternative(x, primary), x))
        # A combination far worse on the backtest (a smooth forecast of dues that
        # arrive on the 1st) is no alternative: widening by it would only add noise.
        if best != primary and scores[primary] < RIVAL_LIMIT * scores[best]:
            widen_by = primary
    else:
        # Intermittent demand: a repeated last value (mostly zero) is no forecast of
        # how often demand comes, so only the intermittent methods are eligible.
        eligible = [x for x in scores if x in INTERMITTENT_METHODS] if by_rate else list(scores)
        ranked = sorted(
            (s, x)
            for x, s in scores.items()
            if x in eligible and x != baseline_name and np.isfinite(s)
        )
        if combine and len(ranked) >= 2:
            combo_name = _add_combination(
                [x for _, x in ranked[:3]], results, fitted, scores, score
            )
            eligible.append(combo_name)
        best = min(
            eligible or list(scores),
            key=lambda x: (scores[x] * _handicap(x, baseline_name, combo_name), x),
        )
    chosen = fitted[best]
    final: Forecaster = Calibrated.of_fitted(chosen, results[best]) if calibrate else chosen
    if calibrate and widen_by is not None:
        rival = Calibrated.of_fitted(fitted[widen_by], results[widen_by])
        final = Widened.of_fitted(final, rival)
    if nonnegative or intermittent:
        final = Clipped.of_fitted(final, lower=0.0)
    if intermittent:
        context = f"intermittent demand ({zeros:.0%} zero {unit})"
    else:
        context = f"{_count(n, unit)} of history" + (
            f", season length {m_eff}" if m_eff > 1 else ""
        )
    if best == weekly_default and min(scores.values()) < scores[best]:
        leader = min(scores, key=lambda x: (scores[x], x))
        why = (
            "no origin had a season of history to judge a seasonal model by"
            if min(positions) < m_eff and leader in SEASONAL_ONLY
            else f"none beat it by {ALTERNATIVE_MARGIN:.0%}"
        )
        verdict = (
            f"{chosen.label}, the default for weekly flows, kept: backtest {measure} "
            f"{scores[best]:.2f} against {leader.replace('_', ' ')} {scores[leader]:.2f} over "
            f"{_count(len(positions), 'origins')}; {why}"
        )
    else:
        verdict = _verdict(
            chosen.label, best, baseline_name, scores, measure, len(positions), by_rate
        )
    if failed:
        notes.append(f"skipped after failing: {', '.join(failed)}")
    return Selection(
        forecaster=final,
        method=chosen.label,
        scores=scores,
        reason=_with_notes(f"{context}: {verdict}", notes),
        candidates=tuple(scores),
        status="ok",
        notes=tuple(notes),
        n_obs=n,
        measure=measure,
        origins=len(positions),
        key=best,
    )


def _verdict(
    label: str,
    best: str,
    baseline: str,
    scores: dict[str, float],
    measure: str,
    k: int,
    by_rate: bool,
) -> str:
    """Why ``best`` was chosen, true to its backtest score against the baseline's."""
    over = f"over {_count(k, 'origins')}"
    base_label = baseline.replace("_", " ")
    mine, theirs = scores[best], scores[baseline]
    if best == baseline:
        return f"{label} chosen: its backtest {measure} {mine:.2f} beat every model {over}"
    if mine <= theirs:
        # The ratio reads the same whatever the scale: a seasonal series whose
        # off-season weeks are all 0 has a tiny in-sample scale and MASE near 20.
        ratio = (
            f": {1 - mine / theirs:.0%} smaller errors than {base_label}"
            if theirs > 0 and round(1 - mine / theirs, 2) > 0
            else ""
        )
        return (
            f"{label} chosen by backtest {measure} {mine:.2f} vs {base_label} {theirs:.2f} "
            f"{over}{ratio}"
        )
    if by_rate:
        return (
            f"{label} chosen among the intermittent-demand methods by backtest {measure} "
            f"{mine:.2f} {over} ({base_label} scored {theirs:.2f}, but a repeated last value "
            "says nothing about how often demand comes)"
        )
    return (
        f"{label} kept although {base_label} scored better on the backtest ({measure} "
        f"{theirs:.2f} vs {mine:.2f} {over}): too few origins to trust a baseline that is "
        "not clearly better"
    )
