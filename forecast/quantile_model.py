"""Forecasters whose model states weekly quantiles at fixed levels (LightGBM, LSTM, ensemble).

They implement :meth:`QuantileForecaster.predict_quantiles`; :meth:`predict` turns those
quantiles into a full :class:`Forecast` (any levels, copula paths, cumulative quantiles).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Sequence
from typing import Self

import numpy as np
import pandas as pd

from forecast.base import Forecast, Forecaster
from forecast.quantile_paths import forecast_from_quantiles
from forecast.tasks import map_tasks, partitions, split

DEFAULT_LEVELS = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95)
"""Quantile levels the models are trained on unless told otherwise (``forecast.quantiles``)."""


def horizon_offset(last_week: pd.Timestamp, weeks: pd.DatetimeIndex, max_horizon: int, model: str) -> int:
    """Weeks between the history and ``weeks`` (consecutive Mondays, ending within the trained horizon)."""
    weeks = pd.DatetimeIndex(weeks)
    offset = (weeks[0] - last_week).days // 7 - 1
    expected = pd.date_range(weeks[0], periods=len(weeks), freq="7D")
    if offset < 0 or (weeks[0] - last_week).days % 7 or not weeks.equals(expected):
        raise ValueError(
            f"{model} forecasts consecutive Mondays after its history (which ends {last_week.date()}); "
            f"got {', '.join(str(w.date()) for w in weeks[:3])}..."
        )
    if offset + len(weeks) > max_horizon:
        raise ValueError(
            f"{model} was trained for {max_horizon} weeks ahead; {offset + len(weeks)} asked "
            "(fit it with a larger max_horizon)"
        )
    return offset


class QuantileForecaster(Forecaster):
    """Base for models with weekly quantiles at ``self.quantiles`` up to ``self.max_horizon`` weeks.

    Fitted subclasses set ``last_week_`` (the forecast origin) and ``rho_`` (copula correlation).
    """

    quantiles: tuple[float, ...]
    max_horizon: int
    n_paths: int
    seed: int

    @abstractmethod
    def update(
        self,
        history: pd.DataFrame,
        *,
        attributes: pd.DataFrame | None = None,
        events: pd.DataFrame | None = None,
    ) -> Self:
        """Forecast from the end of ``history`` (later than the fit's) without retraining."""

    @abstractmethod
    def predict_quantiles(self, skus: Sequence[str], horizon: int) -> np.ndarray:
        """Quantiles ``[S, horizon, Q]`` in units at ``self.quantiles``, sorted along the last axis."""

    def _for_fitted_skus(
        self, skus: Sequence[str], horizon: int, predict: Callable[[np.ndarray], np.ndarray]
    ) -> np.ndarray:
        """``[S, horizon, Q]``: ``predict(known)`` (``known`` indexes ``self.skus_``) for the SKUs
        seen at fit, zeros for the others."""
        pos = pd.Index(self.skus_).get_indexer(list(skus))
        out = np.zeros((len(skus), horizon, len(self.quantiles)))
        if (pos >= 0).any():
            out[pos >= 0] = predict(pos[pos >= 0])
        return out

    def predict(self, skus: Sequence[str], weeks: pd.DatetimeIndex, levels: Sequence[float]) -> Forecast:
        """Quantiles, paths and cumulative quantiles, group of SKUs by group (one task per group:
        on a cluster each worker predicts its SKUs with the fitted model, sent to it once)."""
        self._check_fitted()
        weeks = pd.DatetimeIndex(weeks)
        offset = horizon_offset(self.last_week_, weeks, self.max_horizon, self.name)
        skus = list(skus)
        groups = [[skus[i] for i in g] for g in split(len(skus), partitions())]
        shared = (self, weeks, offset, tuple(levels))
        return Forecast.concat(map_tasks(_forecast_group, groups, shared=shared))


def _forecast_group(skus: list[str], shared: tuple) -> Forecast:
    """Prediction, paths and quantiles of one group of SKUs (a task); each SKU draws from its own
    generator and is predicted on its own rows, so its forecast does not depend on its group."""
    model, weeks, offset, levels = shared
    q = model.predict_quantiles(skus, offset + len(weeks))[:, offset:]
    return forecast_from_quantiles(
        skus,
        weeks,
        model.quantiles,
        q,
        levels,
        n_paths=model.n_paths,
        rho=model.rho_,
        seed=model.seed,
        model=model.name,
    )
