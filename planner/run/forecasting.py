"""The forecast of a prepared run: the scenario's forecaster trained (or loaded and moved to the end
of the history) and its forecast of the planning weeks.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from forecast import Forecast, Forecaster, make_forecaster
from forecast.segments import classify_demand
from planner.inputs.whatif import (
    demand_factors,
)
from planner.run.models import load_saved_model, model_errors
from planner.run.prepare import Prepared, Step, prepare, quiet

log = logging.getLogger(__name__)


def fit_forecaster(prep: Prepared, step: Step = quiet) -> Forecaster:
    """The scenario's forecaster, trained on the history before the plan start (or loaded)."""
    spec = prep.scenario.forecast
    lead = forecast_gap(prep)
    with model_errors(spec.model):
        if spec.load is not None:
            step(f"loading the forecast model in {spec.load}")
            return update_forecaster(prep, load_saved_model(spec.load, prep.history))
        step(f"forecasting with '{spec.model}'")
        model = make_forecaster(spec, horizon=lead + len(prep.weeks), file_rows=prep.forecast_file)
        return model.fit(prep.history, **forecast_context(prep))


def forecast_context(prep: Prepared) -> dict[str, pd.DataFrame]:
    """What forecasters may use besides the history: item attributes and calendar events."""
    return {
        "attributes": prep.items.reindex(columns=["category", "supplier"]),
        "events": prep.dataset.calendar,
    }


def update_forecaster(prep: Prepared, model: Forecaster) -> Forecaster:
    """A fitted model made to forecast from the end of ``prep.history`` (``Forecaster.update``:
    models whose training is costly move their origin without retraining)."""
    with model_errors(model.name):
        return model.update(prep.history, **forecast_context(prep))


def forecast_gap(prep: Prepared) -> int:
    """Weeks between the end of the history and the plan start (quantile models must reach past them)."""
    return (prep.plan_start - prep.history["week"].max()).days // 7 - 1


def make_forecast(
    prep: Prepared,
    step: Step = quiet,
    model: Forecaster | None = None,
    whatifs: bool = True,
    extra_levels: Sequence[float] = (),
) -> Forecast:
    """Forecast the planning weeks (fitting the scenario's forecaster unless ``model`` is given).

    ``whatifs=False`` leaves out the scenario's ``demand_scale`` changes (the model's own forecast).
    ``extra_levels``: quantile levels to hold besides the scenario's (e.g. other service levels
    the same forecast will be planned at).
    """
    t0 = time.perf_counter()
    model = model or fit_forecaster(prep, step)
    levels = sorted({*prep.scenario.forecast.quantiles})
    alphas = {
        prep.scenario.service_level,
        prep.scenario.storage_quantile,
        *prep.items["service_level"].dropna().tolist(),
        *extra_levels,
    }
    with model_errors(model.name):
        forecast = model.predict(list(prep.items.index), prep.weeks, sorted({*levels, *alphas}))
    if forecast.classes is None:
        forecast = forecast.with_classes(
            classify_demand(prep.history).reindex(list(prep.items.index)).fillna("new").to_numpy()
        )
    if whatifs:
        forecast = forecast.scaled(demand_factors(prep.scenario, prep.items, prep.weeks))
    prep.timings["forecast"] = time.perf_counter() - t0
    return forecast


@dataclass(frozen=True)
class ForecastRun:
    """A trained forecaster and its forecast of the planning weeks (no what-ifs applied)."""

    prepared: Prepared
    model: Forecaster
    forecast: Forecast


def run_forecast(scenario_path: Path | str, step: Step = quiet) -> ForecastRun:
    """Fit the scenario's forecaster on history before the plan start and forecast the horizon."""
    prep = prepare(scenario_path, step)
    t0 = time.perf_counter()
    model = fit_forecaster(prep, step)
    prep.timings["fit"] = time.perf_counter() - t0
    step("predicting")
    forecast = make_forecast(prep, step, model=model, whatifs=False)
    return ForecastRun(prep, model, forecast)
