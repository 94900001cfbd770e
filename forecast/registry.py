"""Build the forecaster a scenario names."""

from __future__ import annotations

from typing import TYPE_CHECKING

from forecast.base import Forecaster
from forecast.baselines import EmpiricalQuantileForecaster
from forecast.file_source import FileForecaster

if TYPE_CHECKING:
    from planner.scenario import ForecastSpec


def make_forecaster(spec: ForecastSpec) -> Forecaster:
    """The (unfitted) forecaster for ``spec.model``."""
    if spec.model == "file":
        assert spec.path is not None  # guaranteed by ForecastSpec validation
        return FileForecaster(spec.path, n_paths=spec.n_paths, seed=spec.seed)
    return EmpiricalQuantileForecaster(window=spec.history_weeks, n_paths=spec.n_paths, seed=spec.seed)
