"""Simple forecasters that every model must beat.

``EmpiricalQuantileForecaster``: the recent weeks' demand, resampled. Each
future week draws independently (with replacement) from the SKU's last
``window`` uncensored weeks; where a SKU has two years of history and smooth demand
(:mod:`forecast.segments`: a sale nearly every week, sizes that vary little), draws are
deseasonalised by the week-of-year index of the weeks they come from and reseasonalised by
that of the target week. On intermittent or lumpy demand a week-of-year index is the noise of
a few large orders, so it is not used there.

``SeasonalNaiveForecaster``: last year's value in the same week plus bootstrapped
seasonal-naive errors. ``CrostonForecaster``: Croston / SBA / TSB mean for intermittent
demand with a negative-binomial weekly distribution.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Annotated, Literal, Self

import numpy as np
import pandas as pd
from pydantic import Field

from forecast.base import Forecast, Forecaster
from forecast.params import Float, Int, NPaths, Seed, Window
from forecast.segments import demand_class

MIN_SEASONAL_WEEKS = 104
MIN_SEASONAL_MEAN = 2.0  # units/week below which a seasonal index is mostly noise
INDEX_BOUNDS = (0.25, 4.0)


def sku_rng(seed: int, sku: str) -> np.random.Generator:
    """A generator for one SKU that does not depend on which other SKUs are forecast."""
    return np.random.default_rng([seed, zlib.crc32(sku.encode("utf-8"))])


def centred_mean(x: np.ndarray, window: int, min_periods: int) -> np.ndarray:
    """Mean of the non-NaN values in x[i - window//2 .. i + (window-1)//2]; NaN below ``min_periods``."""
    valid = ~np.isnan(x)
    csum = np.concatenate([[0.0], np.cumsum(np.where(valid, x, 0.0))])
    ccount = np.concatenate([[0], np.cumsum(valid)])
    i = np.arange(len(x))
    lo = np.clip(i - window // 2, 0, len(x))
    hi = np.clip(i + (window - 1) // 2 + 1, 0, len(x))
    count = ccount[hi] - ccount[lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count >= min_periods, (csum[hi] - csum[lo]) / count, np.nan)


def seasonal_index(units: np.ndarray, week_of_year: np.ndarray) -> dict[int, float]:
    """Week-of-year demand index, mean 1, by classical decomposition.

    index[w] = mean over years of (5-week centred mean at t) / (52-week centred mean at t)
    for the weeks t with week-of-year w (NaN weeks skipped), shrunk towards 1 by
    n / (n + 1) for n years and clipped to ``INDEX_BOUNDS``.
    """
    units = np.asarray(units, dtype=float)
    local = centred_mean(units, 5, 3)
    level = centred_mean(units, 52, 40)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(level > 0, local / level, np.nan)
    ok = ~np.isnan(ratio)
    if not ok.any():
        return {}
    weeks = np.asarray(week_of_year)[ok]
    total = np.bincount(weeks, weights=ratio[ok])
    count = np.bincount(weeks)
    present = np.flatnonzero(count)
    mean = total[present] / count[present]
    shrunk = np.clip(1.0 + (mean - 1.0) * count[present] / (count[present] + 1.0), *INDEX_BOUNDS)
    shrunk /= shrunk.mean()
    return {int(w): float(v) for w, v in zip(present, shrunk, strict=True)}


class EmpiricalQuantileForecaster(Forecaster):
    """Bootstrap of recent demand, seasonal where history allows."""

    name = "baseline"

    def __init__(self, window: Window = 52, n_paths: NPaths = 500, seed: Seed = 0):
        self.window = window
        self.n_paths = n_paths
        self.seed = seed

    def fit(
        self,
        history: pd.DataFrame,
        *,
        attributes: pd.DataFrame | None = None,
        events: pd.DataFrame | None = None,
    ) -> Self:
        self.pools_: dict[str, np.ndarray] = {}
        self.indices_: dict[str, dict[int, float]] = {}
        history, skus, bounds = _sku_blocks(history)
        all_units = history["units"].to_numpy(dtype=float)
        all_woy = history["week"].dt.isocalendar().week.to_numpy(dtype=int)
        all_ok = history["stockout"].to_numpy() == 0
        for sku, a, b in zip(skus, bounds[:-1], bounds[1:], strict=True):
            units, woy, ok = all_units[a:b], all_woy[a:b], all_ok[a:b]
            index = {}
            if (
                len(units) >= MIN_SEASONAL_WEEKS
                and ok.any()
                and units[ok].mean() >= MIN_SEASONAL_MEAN
                and demand_class(units[ok]) == "smooth"
            ):
                index = seasonal_index(np.where(ok, units, np.nan), woy)
            recent = slice(max(0, len(units) - self.window), len(units))
            keep = ok[recent]
            factors = np.array([index.get(w, 1.0) for w in woy[recent]])
            self.pools_[sku] = units[recent][keep] / factors[keep]
            self.indices_[sku] = index
        self.fitted_ = True
        return self

    def predict(self, skus: Sequence[str], weeks: pd.DatetimeIndex, levels: Sequence[float]) -> Forecast:
        self._check_fitted()
        weeks = pd.DatetimeIndex(weeks)
        woy = weeks.isocalendar().week.to_numpy(dtype=int)
        paths = np.zeros((len(skus), self.n_paths, len(weeks)), dtype=np.float32)
        mean = np.zeros((len(skus), len(weeks)))
        for i, sku in enumerate(skus):
            pool = self.pools_.get(sku)
            if pool is None or pool.size == 0:
                continue
            season = np.array([self.indices_[sku].get(w, 1.0) for w in woy])
            draws = sku_rng(self.seed, sku).choice(pool, size=(self.n_paths, len(weeks)), replace=True)
            paths[i] = draws * season
            mean[i] = pool.mean() * season
        return Forecast.from_paths(skus, weeks, levels, paths, self.name, mean=mean)


def _sku_blocks(history: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """History sorted by SKU and week, the SKUs and the row bounds of each SKU's block."""
    history = history.sort_values(["sku", "week"], kind="stable")
    skus, starts = np.unique(history["sku"].to_numpy(), return_index=True)
    return history, skus, np.append(starts, len(history))


# --- seasonal naive -----------------------------------------------------------------------

SEASONAL_ERROR_WEEKS = 104  # seasonal-naive errors come from the SKU's last two years
MIN_SEASONAL_ERRORS = 13  # fewer than this: errors are deviations from the recent mean instead
RECENT_WEEKS = 13  # fallback point forecast: mean of the last 13 uncensored weeks


def seasonal_naive_point(lagged: np.ndarray, steps: np.ndarray, fallback: float) -> np.ndarray:
    """Point forecast ``y_hat[T+k] = y[T+k-m]`` for steps ``k >= 1`` ahead of the last week ``T``.

    ``lagged`` holds the last ``m`` weeks (``lagged[j]`` is week ``T-m+1+j``; NaN = censored or
    before the SKU's first week). Steps beyond a season reuse the last observed season
    (``j = (k-1) mod m``); where that week is NaN the point is ``fallback``.
    """
    m = len(lagged)
    point = lagged[(np.asarray(steps) - 1) % m]
    return np.where(np.isnan(point), fallback, point)


def seasonal_naive_errors(y: np.ndarray, season: int, weeks: int = SEASONAL_ERROR_WEEKS) -> np.ndarray:
    """Errors ``e_t = y_t - y_{t-m}`` over the last ``weeks`` weeks where both are finite (not censored)."""
    n = len(y)
    t = np.arange(max(season, n - weeks), n)
    e = y[t] - y[t - season]
    return e[np.isfinite(e)]


class SeasonalNaiveForecaster(Forecaster):
    """Last year's demand in the same week plus a bootstrap of the SKU's seasonal-naive errors.

    Point ``p[h] = y[T+h-m]`` (``m = season``; censored or unavailable weeks fall back to the mean
    of the last ``RECENT_WEEKS`` uncensored weeks, 0 without any). Demand in week ``h`` is
    ``max(p[h] + e, 0)`` with ``e`` drawn from the SKU's errors ``y_t - y_{t-m}`` over its last
    ``SEASONAL_ERROR_WEEKS`` weeks (pairs with a censored week skipped). With fewer than
    ``MIN_SEASONAL_ERRORS`` such errors, ``e`` is drawn from the deviations of the last 52
    uncensored weeks from their mean; without any, demand is the point itself.

    Weekly quantiles and the mean are exact for that error distribution (no sampling noise);
    paths draw an error independently per path and week (``sku_rng``).
    """

    name = "seasonal_naive"

    def __init__(
        self, season: Annotated[Int, Field(ge=1, le=104)] = 52, n_paths: NPaths = 500, seed: Seed = 0
    ):
        self.season = season
        self.n_paths = n_paths
        self.seed = seed

    def fit(
        self,
        history: pd.DataFrame,
        *,
        attributes: pd.DataFrame | None = None,
        events: pd.DataFrame | None = None,
    ) -> Self:
        if self.season < 1:
            raise ValueError(f"season must be >= 1, got {self.season}")
        self.last_week_: dict[str, pd.Timestamp] = {}
        self.lagged_: dict[str, np.ndarray] = {}
        self.level_: dict[str, float] = {}
        self.errors_: dict[str, np.ndarray] = {}
        history, skus, bounds = _sku_blocks(history)
        all_y = np.where(history["stockout"].to_numpy() == 0, history["units"].to_numpy(dtype=float), np.nan)
        all_weeks = history["week"].to_numpy()
        m = self.season
        for sku, a, b in zip(skus, bounds[:-1], bounds[1:], strict=True):
            y = all_y[a:b]  # [T] weekly units, NaN where censored
            seen = y[np.isfinite(y)]
            self.last_week_[sku] = pd.Timestamp(all_weeks[b - 1])
            self.lagged_[sku] = np.concatenate([np.full(max(0, m - len(y)), np.nan), y[-m:]])  # [m]
            self.level_[sku] = float(seen[-RECENT_WEEKS:].mean()) if seen.size else 0.0
            errors = seasonal_naive_errors(y, m)
            if errors.size < MIN_SEASONAL_ERRORS:
                recent = seen[-52:]
                errors = recent - recent.mean() if recent.size else np.zeros(1)
            self.errors_[sku] = errors
        self.fitted_ = True
        return self

    def predict(self, skus: Sequence[str], weeks: pd.DatetimeIndex, levels: Sequence[float]) -> Forecast:
        self._check_fitted()
        weeks = pd.DatetimeIndex(weeks)
        levels_arr = np.asarray(levels, dtype=float)
        s, n, h = len(skus), self.n_paths, len(weeks)
        paths = np.zeros((s, n, h), dtype=np.float32)
        mean = np.zeros((s, h))
        quantiles = np.zeros((s, h, len(levels_arr)))
        for i, sku in enumerate(skus):
            if sku not in self.last_week_:
                continue
            steps = np.asarray((weeks - self.last_week_[sku]).days // 7, dtype=int)  # [H], 1 = next week
            point = seasonal_naive_point(self.lagged_[sku], steps, self.level_[sku])  # [H]
            errors = self.errors_[sku]  # [E]
            outcomes = np.maximum(point[:, None] + errors[None, :], 0.0)  # [H, E] equally likely values
            mean[i] = outcomes.mean(axis=1)
            quantiles[i] = np.quantile(outcomes, levels_arr, axis=1).T  # [H, Q]
            draws = sku_rng(self.seed, sku).integers(0, errors.size, size=(n, h))  # [N, H]
            paths[i] = outcomes[np.arange(h)[None, :], draws]
        return Forecast.from_paths(skus, weeks, levels_arr, paths, self.name, mean=mean, quantiles=quantiles)


# --- Croston family -----------------------------------------------------------------------

CROSTON_METHODS = ("croston", "sba", "tsb")
VARIANCE_WEEKS = 52  # weeks of the sample variance behind the negative binomial
NB_MIN_DISPERSION = 1.01  # variance floor (times the mean) when the sample is overdispersed


def ses_level(x: np.ndarray, alpha: float) -> float:
    """Simple exponential smoothing level after the last value, started at the first one.

    ``l_0 = x_0``, ``l_i = l_{i-1} + alpha (x_i - l_{i-1})``; in closed form
    ``l_{n-1} = (1-alpha)^{n-1} x_0 + sum_{i>=1} alpha (1-alpha)^{n-1-i} x_i``. Empty ``x`` -> 0.
    """
    x = np.asarray(x, dtype=float)
    if x.size == 0:
        return 0.0
    powers = (1.0 - alpha) ** np.arange(x.size - 1, -1, -1)  # (1-alpha)^{n-1-i}
    weights = alpha * powers
    weights[0] = powers[0]
    return float(weights @ x)


def croston_mean(y: np.ndarray, alpha: float, method: str = "croston") -> float:
    """Expected demand per week from the classic intermittent-demand estimators.

    With ``z`` the non-zero demands, ``q`` the intervals between them (the first counted from
    the start of ``y``: ``q_1 = i_1 + 1``) and ``d_t = 1[y_t > 0]``, all smoothed by
    :func:`ses_level`:

    - ``croston``: ``SES(z) / SES(q)`` (Croston 1972);
    - ``sba``: ``(1 - alpha/2) SES(z) / SES(q)`` (Syntetos & Boylan 2005 bias correction);
    - ``tsb``: ``SES(d) * SES(z)`` (Teunter, Syntetos & Babai 2011; the probability is
      updated every week, so it decays while no demand occurs).

    ``y`` without any demand -> 0.
    """
    if method not in CROSTON_METHODS:
        raise ValueError(f"unknown Croston method '{method}' (use one of {', '.join(CROSTON_METHODS)})")
    y = np.asarray(y, dtype=float)
    where = np.flatnonzero(y > 0)
    if where.size == 0:
        return 0.0
    size = ses_level(y[where], alpha)
    if method == "tsb":
        return ses_level((y > 0).astype(float), alpha) * size
    interval = ses_level(np.diff(where + 1, prepend=0), alpha)
    factor = 1.0 - alpha / 2.0 if method == "sba" else 1.0
    return factor * size / interval


def discrete_quantiles(levels: np.ndarray, mean: float, variance: float) -> np.ndarray:
    """Quantiles (smallest ``k`` with ``F(k) >= level``) of Poisson(``mean``) when ``variance <= mean``,
    else of the negative binomial with that mean and variance (``n = mean^2/(variance-mean)``,
    ``p = mean/variance``; ``F(k) = I_p(n, k+1)``, the regularised incomplete beta function).

    Same values as ``scipy.stats.{poisson,nbinom}.ppf`` without importing ``scipy.stats``.
    """
    from scipy.special import betainc, gammaincc

    levels = np.asarray(levels, dtype=float)
    if not variance > mean:

        def cdf(k: np.ndarray) -> np.ndarray:
            return gammaincc(k + 1.0, mean)
    else:
        n, p = mean * mean / (variance - mean), mean / variance

        def cdf(k: np.ndarray) -> np.ndarray:
            return betainc(n, k + 1.0, p)

    top = float(levels.max(initial=0.0))
    k_max = int(mean + 12.0 * np.sqrt(max(variance, mean)) + 16)
    while True:
        c = cdf(np.arange(k_max + 1, dtype=float))  # [K+1] cumulative probabilities
        if c[-1] >= top or k_max > 10**8:
            break
        k_max *= 4
    return np.minimum(np.searchsorted(c, levels - 1e-12, side="left"), k_max).astype(float)


class CrostonForecaster(Forecaster):
    """Croston / SBA / TSB mean with a negative-binomial (or Poisson) weekly distribution.

    The estimators (:func:`croston_mean`) run on the SKU's uncensored weeks only: censored
    weeks are dropped, so intervals count uncensored weeks. Weekly demand is NB with mean ``mu``
    and variance ``v = max(s^2, 1.01 mu)`` where ``s^2`` is the sample variance (ddof 1) of the
    last 52 uncensored weeks; Poisson(``mu``) when ``s^2 <= mu`` or fewer than two weeks; 0 when
    ``mu = 0``. NB parameters: ``n = mu^2 / (v - mu)``, ``p = mu / v``. Weeks are independent;
    weekly quantiles are the exact distribution's, paths are sampled with ``sku_rng``.
    """

    name = "croston"

    def __init__(
        self,
        method: Literal["croston", "sba", "tsb"] = "sba",
        alpha: Annotated[Float, Field(gt=0, le=1)] = 0.1,
        n_paths: NPaths = 500,
        seed: Seed = 0,
    ):
        self.method = method
        self.alpha = alpha
        self.n_paths = n_paths
        self.seed = seed

    def fit(
        self,
        history: pd.DataFrame,
        *,
        attributes: pd.DataFrame | None = None,
        events: pd.DataFrame | None = None,
    ) -> Self:
        if self.method not in CROSTON_METHODS:
            raise ValueError(
                f"unknown Croston method '{self.method}' (use one of {', '.join(CROSTON_METHODS)})"
            )
        if not 0.0 < self.alpha <= 1.0:
            raise ValueError(f"alpha must be in (0, 1], got {self.alpha}")
        self.mean_: dict[str, float] = {}
        self.variance_: dict[str, float] = {}
        history, skus, bounds = _sku_blocks(history)
        all_units = history["units"].to_numpy(dtype=float)
        all_ok = history["stockout"].to_numpy() == 0
        for sku, a, b in zip(skus, bounds[:-1], bounds[1:], strict=True):
            y = all_units[a:b][all_ok[a:b]]  # uncensored weeks, in order
            recent = y[-VARIANCE_WEEKS:]
            self.mean_[sku] = croston_mean(y, self.alpha, self.method)
            self.variance_[sku] = float(recent.var(ddof=1)) if recent.size >= 2 else float("nan")
        self.fitted_ = True
        return self

    def predict(self, skus: Sequence[str], weeks: pd.DatetimeIndex, levels: Sequence[float]) -> Forecast:
        self._check_fitted()
        weeks = pd.DatetimeIndex(weeks)
        levels_arr = np.asarray(levels, dtype=float)
        s, n, h = len(skus), self.n_paths, len(weeks)
        paths = np.zeros((s, n, h), dtype=np.float32)
        mean = np.zeros((s, h))
        quantiles = np.zeros((s, h, len(levels_arr)))
        for i, sku in enumerate(skus):
            mu = self.mean_.get(sku, 0.0)
            if not mu > 0.0:
                continue
            var = self.variance_[sku]
            rng = sku_rng(self.seed, sku)
            if not var > mu:  # also NaN: too few weeks for a variance
                var = mu
                paths[i] = rng.poisson(mu, size=(n, h))
            else:
                var = max(var, NB_MIN_DISPERSION * mu)
                paths[i] = rng.negative_binomial(mu * mu / (var - mu), mu / var, size=(n, h))
            mean[i] = mu
            quantiles[i] = discrete_quantiles(levels_arr, mu, var)[None, :]
        return Forecast.from_paths(skus, weeks, levels_arr, paths, self.name, mean=mean, quantiles=quantiles)
