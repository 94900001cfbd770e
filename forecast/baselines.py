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


def seasonal_index(units: np.ndarray, week_of_year: np.ndarray) -> dict[int, float]:
    """Week-of-year demand index, mean 1, by classical decomposition.

    index[w] = mean over years of (5-week centred mean at t) / (52-week centred mean at t)
    for the weeks t with week-of-year w, shrunk towards 1 by n / (n + 1) for n years
    and clipped to ``INDEX_BOUNDS``.
    """
    s = pd.Series(units, dtype=float)
    local = s.rolling(5, center=True, min_periods=3).mean()
    level = s.rolling(52, center=True, min_periods=40).mean()
    ratio = (local / level.where(level > 0)).to_numpy()
    frame = pd.DataFrame({"w": week_of_year, "r": ratio}).dropna()
    if frame.empty:
        return {}
    grouped = frame.groupby("w")["r"].agg(["mean", "count"])
    shrunk = 1.0 + (grouped["mean"] - 1.0) * grouped["count"] / (grouped["count"] + 1.0)
    shrunk = shrunk.clip(*INDEX_BOUNDS)
    return (shrunk / shrunk.mean()).to_dict()


class EmpiricalQuantileForecaster(Forecaster):
    """Bootstrap of recent demand, seasonal where history allows."""

    name = "baseline"

    def __init__(self, window: int = 52, n_paths: int = 500, seed: int = 0):
        self.window = window
        self.n_paths = n_paths
        self.seed = seed

    def fit(self, history: pd.DataFrame) -> Self:
        self.pools_: dict[str, np.ndarray] = {}
        self.indices_: dict[str, dict[int, float]] = {}
        for sku, g in history.groupby("sku", sort=False):
            units = g["units"].to_numpy(dtype=float)
            woy = g["week"].dt.isocalendar().week.to_numpy(dtype=int)
            ok = g["stockout"].to_numpy() == 0
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
