"""Rolling-origin forecast backtests of a scenario's data (``planner backtest-forecast``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from forecast.backtest import BacktestResult, origins, run_backtest
from forecast.base import Forecaster
from forecast.registry import MODELS, make_forecaster
from forecast.spec import ForecastSpec
from planner.base.errors import Problem, ScenarioError
from planner.run.prepare import Prepared, Step, prepare, quiet

DEFAULT_MODELS = ("seasonal_naive", "baseline", "croston", "lightgbm", "lstm", "ensemble")
EVAL_LEVELS = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95)


def model_factories(
    spec: ForecastSpec, names: Sequence[str], horizon: int
) -> dict[str, Callable[[], Forecaster]]:
    """Fresh-model factories for ``names``, with the scenario's settings (its ``params`` only for
    its own model) and quantile models trained for ``horizon`` weeks."""
    unknown = [n for n in names if n not in MODELS or n == "file"]
    if unknown:
        raise ScenarioError(
            [
                Problem(
                    "--models",
                    f"unknown model(s): {', '.join(unknown)}",
                    f"choose from {', '.join(m for m in MODELS if m != 'file')}",
                )
            ]
        )
    out = {}
    for name in names:
        params = spec.params if name == spec.model else {}
        model_spec = spec.model_copy(update={"model": name, "params": params, "path": None, "load": None})
        out[name] = lambda s=model_spec: make_forecaster(s, horizon=horizon)
    return out


def backtest_forecasts(
    scenario_path: Path | str,
    names: Sequence[str] = DEFAULT_MODELS,
    n_origins: int = 4,
    horizon: int = 13,
    step: Step = quiet,
) -> tuple[Prepared, BacktestResult]:
    """Backtest ``names`` on the scenario's history (before its plan start) at ``n_origins`` origins.

    The last origin's window ends with the last history week; earlier origins are ``horizon``
    weeks apart. Every model is refitted at every origin on the weeks before it.
    """
    prep = prepare(scenario_path, step)
    factories = model_factories(prep.scenario.forecast, names, horizon)
    last = prep.history["week"].max()
    starts = origins(last, n_origins, horizon)
    first = prep.history["week"].min()
    if starts[0] <= first:
        raise ScenarioError(
            [
                Problem(
                    "--origins",
                    f"{n_origins} origins of {horizon} weeks start at {starts[0].date()}, "
                    f"not after the first history week {first.date()}",
                    "use fewer origins or a shorter horizon",
                )
            ]
        )
    step(f"backtesting {len(names)} models at {n_origins} origins")
    result = run_backtest(
        prep.history,
        factories,
        starts,
        horizon,
        EVAL_LEVELS,
        attributes=prep.items.reindex(columns=["category", "supplier"]),
        events=prep.dataset.calendar,
        lead_time=prep.items["supplier"].map(prep.suppliers["lead_time_weeks"]).astype(int),
    )
    return prep, result
