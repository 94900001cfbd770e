"""Forecasts supplied by the user as a file (``forecast: {model: file, path: ...}``).

Rows: ``sku, week, mean`` and optional weekly quantiles ``q0.05, q0.5, ...`` (the planner's data
layer reads and checks the file: ``planner.inputs.forecast_file``). With the mean only, demand is
deterministic. With quantiles, weeks are assumed **independent**: each week is
sampled from its piecewise-linear quantile function (see
:mod:`forecast.quantile_paths`: linear below the lowest level, floored at 0, and an
exponential tail above the highest), and cumulative quantiles come from those
sample paths. The mean is the file's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, Self

import numpy as np
import pandas as pd

from forecast.base import Forecast, Forecaster
from forecast.params import NPaths, Seed
from forecast.quantile_paths import forecast_from_quantiles

MAX_LISTED = 5


class FileForecaster(Forecaster):
    """A forecast file's rows as a forecaster; ``fit`` ignores history.

    The file is read and validated by the planner's data layer (``planner.inputs.forecast_file``), which
    hands its rows over with :meth:`use` (rows keyed by ``sku`` and Monday ``week``: ``mean`` and
    ``q<level>`` columns at ``levels``).
    """

    name = "file"

    def __init__(self, path: Any, n_paths: NPaths = 500, seed: Seed = 0):
        self.path = str(path)
        self.n_paths = n_paths
        self.seed = seed

    def use(self, table: pd.DataFrame, levels: Sequence[float]) -> Self:
        """Take the file's validated rows and quantile levels."""
        self.table_, self.file_levels_ = table, list(levels)
        return self

    def fit(
        self,
        history: pd.DataFrame,
        *,
        attributes: pd.DataFrame | None = None,
        events: pd.DataFrame | None = None,
    ) -> Self:
        if not hasattr(self, "table_"):
            raise ValueError(f"the rows of forecast file {self.path} were not given (FileForecaster.use)")
        self.fitted_ = True
        return self

    def predict(self, skus: Sequence[str], weeks: pd.DatetimeIndex, levels: Sequence[float]) -> Forecast:
        self._check_fitted()
        weeks = pd.DatetimeIndex(weeks)
        grid = pd.MultiIndex.from_product([list(skus), weeks], names=["sku", "week"])
        table = self.table_.set_index(["sku", "week"])
        missing = grid.difference(table.index)
        if len(missing):
            pairs = [f"{s} {w.date()}" for s, w in missing[:MAX_LISTED]]
            more = f" (+{len(missing) - MAX_LISTED} more)" if len(missing) > MAX_LISTED else ""
            raise ValueError(
                f"{self.path}: no forecast for {', '.join(pairs)}{more}. Fix: give a row for every SKU "
                f"and every week from {weeks[0].date()} to {weeks[-1].date()}"
            )
        rows = table.loc[grid]
        s, h = len(skus), len(weeks)
        mean = rows["mean"].to_numpy(dtype=float).reshape(s, h)
        if not self.file_levels_:
            paths = mean[:, None, :].astype(np.float32)
            quantiles = np.repeat(mean[:, :, None], len(levels), axis=2)
            return Forecast.from_paths(skus, weeks, levels, paths, self.name, mean=mean, quantiles=quantiles)
        given = np.stack(
            [rows[f"q{lv:g}"].to_numpy(dtype=float).reshape(s, h) for lv in self.file_levels_], axis=2
        )
        forecast = forecast_from_quantiles(
            skus,
            weeks,
            self.file_levels_,
            given,
            levels,
            n_paths=self.n_paths,
            rho=0.0,
            seed=self.seed,
            model=self.name,
        )
        return dataclasses.replace(forecast, mean=mean)
