"""Forecasters whose model states weekly quantiles at fixed levels (LightGBM, LSTM, ensemble).

They implement :meth:`QuantileForecaster.predict_quantiles`; :meth:`predict` turns those
quantiles into a full :class:`Forecast` (any levels, copula paths, cumulative quantiles).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from typing import Self

import numpy as np
import pandas as pd

from forecast.base import Forecast, Forecaster
from forecast.quantile_paths import forecast_from_quantiles


def check_weeks(last_week: pd.Timestamp, weeks: pd.DatetimeIndex, max_horizon: int, model: str) -> None:
    """Forecast weeks must be consecutive Mondays right after the history, within the trained horizon."""
    expected = pd.date_range(last_week + pd.Timedelta(days=7), periods=len(weeks), freq="7D")
    if not pd.DatetimeIndex(weeks).equals(expected):
        raise ValueError(
            f"{model} forecasts the weeks right after its history (from {expected[0].date()}); "
            f"got {pd.DatetimeIndex(weeks)[0].date()} onwards"
        )
    if len(weeks) > max_horizon:
        raise ValueError(
            f"{model} was trained for {max_horizon} weeks ahead; {len(weeks)} asked (raise max_horizon)"
        )


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

    def predict(self, skus: Sequence[str], weeks: pd.DatetimeIndex, levels: Sequence[float]) -> Forecast:
        self._check_fitted()
        weeks = pd.DatetimeIndex(weeks)
        check_weeks(self.last_week_, weeks, self.max_horizon, self.name)
        q = self.predict_quantiles(skus, len(weeks))
        return forecast_from_quantiles(
            skus,
            weeks,
            self.quantiles,
            q,
            levels,
            n_paths=self.n_paths,
            rho=self.rho_,
            seed=self.seed,
            model=self.name,
        )
