"""Build the forecaster a scenario names.

Heavy models (LightGBM, Keras) are imported only when asked for, so commands that do not
train stay fast.
"""

from __future__ import annotations

import importlib
import inspect
from typing import TYPE_CHECKING, Any, Literal

from forecast.base import Forecaster
from forecast.params import check_params

if TYPE_CHECKING:
    from forecast.spec import ForecastSpec

QUANTILE_MODELS = ("lightgbm", "lstm", "ensemble")

CLASSES = {
    "baseline": "forecast.baselines:EmpiricalQuantileForecaster",
    "seasonal_naive": "forecast.baselines:SeasonalNaiveForecaster",
    "croston": "forecast.baselines:CrostonForecaster",
    "bootstrap": "forecast.intermittent:BootstrapForecaster",
    "lightgbm": "forecast.gbm:LightGBMForecaster",
    "tweedie": "forecast.count_model:CountForecaster",
    "lstm": "forecast.lstm:LSTMForecaster",
    "ensemble": "forecast.ensemble:EnsembleForecaster",
    "file": "forecast.file_source:FileForecaster",
}
MODELS = tuple(CLASSES)
ModelName = Literal[MODELS]  # type: ignore[valid-type]
"""The model names a scenario may give (``forecast.model``); this registry is their one list."""


def forecaster_class(name: str) -> type[Forecaster]:
    """The class behind a model name (its module imported on first use)."""
    if name not in CLASSES:
        raise ValueError(f"unknown forecast model '{name}' (one of {', '.join(MODELS)})")
    module, cls = CLASSES[name].split(":")
    return getattr(importlib.import_module(module), cls)


def model_parameters(name: str) -> list[str]:
    """Constructor parameters a scenario may set under ``forecast.params`` for ``name``."""
    names = inspect.signature(forecaster_class(name).__init__).parameters
    return [p for p in names if p != "self"]


def check_model_params(name: str, params: dict[str, Any], prefix: str = "params") -> dict[str, Any]:
    """``params`` of model ``name`` checked against its constructor's types and bounds (an ensemble's
    ``member_params`` against each member's); ValueError naming each bad key."""
    checked = check_params(forecaster_class(name), params, prefix)
    for member, member_params in (checked.get("member_params") or {}).items():
        key = ".".join(p for p in (prefix, "member_params", member) if p)
        check_params(forecaster_class(member), member_params, prefix=key)
    return checked


def build_forecaster(name: str, params: dict[str, Any]) -> Forecaster:
    """Model ``name`` built from ``params`` after :func:`check_model_params`."""
    return forecaster_class(name)(**check_model_params(name, params))


def make_forecaster(
    spec: ForecastSpec, horizon: int | None = None, file_rows: tuple[Any, list[float]] | None = None
) -> Forecaster:
    """The (unfitted) forecaster for ``spec.model``, with ``spec.params`` on top of the defaults.

    Quantile models are trained on ``spec.quantiles``; models with a ``max_horizon`` are trained,
    when ``horizon`` is given, for exactly that many weeks ahead. ``file_rows``: a forecast file's
    validated rows and levels, for model ``file`` (the planner's data layer reads the file).
    """
    kwargs: dict[str, Any] = {"n_paths": spec.n_paths, "seed": spec.seed}
    if spec.model == "file":
        kwargs["path"] = str(spec.path)
    elif spec.model == "baseline":
        kwargs["window"] = spec.history_weeks
    elif spec.model in QUANTILE_MODELS:
        kwargs["quantiles"] = spec.quantiles
    if horizon is not None and "max_horizon" in model_parameters(spec.model):
        kwargs["max_horizon"] = horizon
    kwargs.update(spec.params)
    model = build_forecaster(spec.model, kwargs)
    if file_rows is not None and hasattr(model, "use"):
        model.use(*file_rows)
    return model
