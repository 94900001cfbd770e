"""Build the forecaster a scenario names.

Heavy models (LightGBM, Keras) are imported only when asked for, so commands that do not
train stay fast.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

from forecast.base import Forecaster

if TYPE_CHECKING:
    from planner.scenario import ForecastSpec

MODELS = ("baseline", "seasonal_naive", "croston", "lightgbm", "lstm", "ensemble", "file")
QUANTILE_MODELS = ("lightgbm", "lstm", "ensemble")


def forecaster_class(name: str) -> type[Forecaster]:
    """The class behind a model name."""
    if name == "baseline":
        from forecast.baselines import EmpiricalQuantileForecaster

        return EmpiricalQuantileForecaster
    if name == "seasonal_naive":
        from forecast.baselines import SeasonalNaiveForecaster

        return SeasonalNaiveForecaster
    if name == "croston":
        from forecast.baselines import CrostonForecaster

        return CrostonForecaster
    if name == "lightgbm":
        from forecast.gbm import LightGBMForecaster

        return LightGBMForecaster
    if name == "lstm":
        from forecast.lstm import LSTMForecaster

        return LSTMForecaster
    if name == "ensemble":
        from forecast.ensemble import EnsembleForecaster

        return EnsembleForecaster
    if name == "file":
        from forecast.file_source import FileForecaster

        return FileForecaster
    raise ValueError(f"unknown forecast model '{name}' (one of {', '.join(MODELS)})")


def model_parameters(name: str) -> list[str]:
    """Constructor parameters a scenario may set under ``forecast.params`` for ``name``."""
    names = inspect.signature(forecaster_class(name).__init__).parameters
    return [p for p in names if p != "self"]


def make_forecaster(spec: ForecastSpec, horizon: int | None = None) -> Forecaster:
    """The (unfitted) forecaster for ``spec.model``, with ``spec.params`` on top of the defaults.

    Quantile models are trained on ``spec.quantiles`` and, when ``horizon`` is given, for
    exactly that many weeks ahead.
    """
    kwargs: dict[str, Any] = {"n_paths": spec.n_paths, "seed": spec.seed}
    if spec.model == "file":
        kwargs["path"] = spec.path
    elif spec.model == "baseline":
        kwargs["window"] = spec.history_weeks
    elif spec.model in QUANTILE_MODELS:
        kwargs["quantiles"] = spec.quantiles
        if horizon is not None:
            kwargs["max_horizon"] = horizon
    kwargs.update(spec.params)
    return forecaster_class(spec.model)(**kwargs)
