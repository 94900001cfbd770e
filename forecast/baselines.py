"""Simple forecasters that every model must beat.

``EmpiricalQuantileForecaster``: the recent weeks' demand, resampled. Each
future week draws independently (with replacement) from the SKU's last
``window`` uncensored weeks; where a SKU has two years of history and regular
sales, draws are deseasonalised by the week-of-year index of the weeks they come
from and reseasonalised by that of the target week.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Self

import numpy as np
import pandas as pd

from forecast.base import Forecast, Forecaster

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

    def __init__(self, window: int = 52, n_paths: int = 500, seed: int = 0):
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
        history = history.sort_values(["sku", "week"], kind="stable")
        skus, starts = np.unique(history["sku"].to_numpy(), return_index=True)
        bounds = np.append(starts, len(history))
        all_units = history["units"].to_numpy(dtype=float)
        all_woy = history["week"].dt.isocalendar().week.to_numpy(dtype=int)
        all_ok = history["stockout"].to_numpy() == 0
        for sku, a, b in zip(skus, bounds[:-1], bounds[1:], strict=True):
            units, woy, ok = all_units[a:b], all_woy[a:b], all_ok[a:b]
            index = {}
            if len(units) >= MIN_SEASONAL_WEEKS and units[ok].mean() >= MIN_SEASONAL_MEAN:
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
