"""The planning run: scenario -> data -> forecast -> policy -> verified outputs.

Each step is a function of the previous step's typed result; only :func:`write_plan`
touches the output folder, and it publishes all files together or none.
"""

from __future__ import annotations

import importlib.metadata
import logging
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from forecast import Forecast, make_forecaster
from planner.accounting import arrivals, replay_paths
from planner.classical import plan_classical
from planner.data import Dataset, check_open_orders, load_dataset
from planner.errors import Problem, ScenarioError
from planner.export import projection_frame, purchase_plan, summary
from planner.io import StagedOutputs, file_sha256
from planner.kpis import sku_kpis
from planner.optimizer import OptimizerSettings, plan_optimizer
from planner.problem import PlanningData, build_planning_data
from planner.results import PolicyResult
from planner.scenario import Scenario, SolverSpec, load_scenario
from planner.verify import verify_plan
from planner.whatif import (
    apply_item_changes,
    apply_supplier_changes,
    check_references,
    demand_factors,
)

log = logging.getLogger(__name__)

POLICIES = ("optimizer", "classical")


def run_policy(name: str, data: PlanningData, solver: SolverSpec) -> PolicyResult:
    """Plan with the named policy; the optimiser takes its settings from the scenario's ``solver``."""
    if name == "classical":
        return plan_classical(data)
    settings = OptimizerSettings(
        mip_gap=solver.mip_gap, time_limit_s=solver.time_limit_s, threads=solver.threads, seed=solver.seed
    )
    return plan_optimizer(data, settings)


PACKAGES = ("purchase-planner", "pyomo", "highspy", "lightgbm", "pandas", "numpy", "pydantic", "click")
Step = Callable[[str], None]


@dataclass
class Prepared:
    """A scenario with its validated data, what-ifs applied, and the planning weeks."""

    scenario: Scenario
    source: Path
    dataset: Dataset
    items: pd.DataFrame
    suppliers: pd.DataFrame
    plan_start: pd.Timestamp
    weeks: pd.DatetimeIndex
    history: pd.DataFrame
    timings: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class PlanRun:
    """Everything a plan run produces, verified, before it is written."""

    prepared: Prepared
    data: PlanningData
    result: PolicyResult
    lines: pd.DataFrame
    projection: pd.DataFrame
    summary: dict
    timings: dict[str, float]


def _noop(_: str) -> None:
    return None


def prepare(scenario_path: Path | str, step: Step = _noop) -> Prepared:
    """Load the scenario and its dataset, check references and apply item/supplier what-ifs."""
    t0 = time.perf_counter()
    source = Path(scenario_path).resolve()
    step("reading scenario")
    scenario = load_scenario(source)
    step("validating data")
    dataset = load_dataset(scenario.data)
    check_references(scenario, dataset.items, dataset.suppliers, source)
    plan_start = _plan_start(scenario, dataset, source)
    check_open_orders(dataset, plan_start)
    weeks = pd.date_range(plan_start, periods=scenario.horizon_weeks, freq="7D")
    history = dataset.history[dataset.history["week"] < plan_start]
    items = apply_item_changes(scenario, dataset.items)
    suppliers = apply_supplier_changes(scenario, dataset.suppliers)
    return Prepared(
        scenario,
        source,
        dataset,
        items,
        suppliers,
        plan_start,
        weeks,
        history,
        timings={"prepare": time.perf_counter() - t0},
    )


def _plan_start(scenario: Scenario, dataset: Dataset, source: Path) -> pd.Timestamp:
    default = dataset.last_week + pd.Timedelta(days=7)
    if scenario.plan_start is None:
        return default
    start = pd.Timestamp(scenario.plan_start)
    first = dataset.history["week"].min()
    if start <= first:
        raise ScenarioError(
            [
                Problem(
                    str(source),
                    f"{start.date()} leaves no history to forecast from (history starts {first.date()})",
                    f"use a Monday after {first.date()}, or remove plan_start to plan from {default.date()}",
                    key="plan_start",
                )
            ]
        )
    if start > default:
        log.warning(
            "plan_start %s is %d weeks after the last history week %s",
            start.date(),
            (start - dataset.last_week).days // 7,
            dataset.last_week.date(),
        )
    return start


def make_forecast(prep: Prepared, step: Step = _noop) -> Forecast:
    """Fit the scenario's forecaster on history before the plan start and predict the horizon."""
    t0 = time.perf_counter()
    spec = prep.scenario.forecast
    step(f"forecasting with '{spec.model}'")
    levels = sorted({*spec.quantiles})
    forecaster = make_forecaster(spec).fit(prep.history)
    alphas = {
        prep.scenario.service_level,
        prep.scenario.storage_quantile,
        *prep.items["service_level"].dropna().tolist(),
    }
    forecast = forecaster.predict(list(prep.items.index), prep.weeks, sorted({*levels, *alphas}))
    forecast = forecast.scaled(demand_factors(prep.scenario, prep.items, prep.weeks))
    prep.timings["forecast"] = time.perf_counter() - t0
    return forecast


def planning_data(prep: Prepared, forecast: Forecast) -> PlanningData:
    """Arrays for the policies."""
    sc = prep.scenario
    return build_planning_data(
        prep.items,
        prep.suppliers,
        prep.dataset.on_hand,
        prep.dataset.open_orders,
        forecast,
        service_level=sc.service_level,
        holding_rate=sc.holding_rate,
        shortage_cost_factor=sc.shortage_cost_factor,
        storage_quantile=sc.storage_quantile,
        capacity=sc.weekly("storage_capacity"),
        budget=sc.weekly("budget_per_week"),
        penalty_factor=sc.solver.shortfall_penalty_factor,
    )


def run_plan(scenario_path: Path | str, policy: str | None = None, step: Step = _noop) -> PlanRun:
    """Prepare, forecast, plan, evaluate and verify; nothing is written."""
    prep = prepare(scenario_path, step)
    forecast = make_forecast(prep, step)
    data = planning_data(prep, forecast)
    name = policy or prep.scenario.policy
    step(f"planning with the {name} policy")
    t0 = time.perf_counter()
    result = run_policy(name, data, prep.scenario.solver)
    prep.timings["policy"] = time.perf_counter() - t0
    step("evaluating and verifying the plan")
    t0 = time.perf_counter()
    receipts = arrivals(data, result.orders)
    outcome = replay_paths(data, receipts)
    lines = purchase_plan(data, result.orders)
    projection = projection_frame(data, receipts, outcome)
    verify_plan(data, lines, projection)
    info = summary(data, result, receipts, outcome, lines)
    prep.timings["evaluate"] = time.perf_counter() - t0
    return PlanRun(prep, data, result, lines, projection, info, dict(prep.timings))


def manifest(run_prep: Prepared, timings: dict[str, float], extra: dict | None = None) -> dict:
    """Resolved scenario, input hashes, versions, seeds and timings."""
    sc = run_prep.scenario
    inputs = {
        name: {"path": str(path), "sha256": file_sha256(path)}
        for name, path in sorted(run_prep.dataset.files.items())
    }
    if sc.forecast.path is not None:
        inputs["forecast"] = {"path": str(sc.forecast.path), "sha256": file_sha256(sc.forecast.path)}
    inputs["scenario"] = {"path": str(run_prep.source), "sha256": file_sha256(run_prep.source)}
    return {
        "scenario": sc.model_dump(mode="json"),
        "plan_start": str(run_prep.plan_start.date()),
        "inputs": inputs,
        "versions": {"python": platform.python_version(), **_versions()},
        "seeds": {"forecast": sc.forecast.seed, "solver": sc.solver.seed},
        "timings_s": {k: round(v, 4) for k, v in timings.items()},
        "data_warnings": [str(w) for w in run_prep.dataset.warnings],
        **(extra or {}),
    }


def _versions() -> dict[str, str]:
    out = {}
    for pkg in PACKAGES:
        try:
            out[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def write_plan(run: PlanRun, out_dir: Path) -> list[Path]:
    """Publish purchase_plan.csv, projection.csv, summary.json and manifest.json together."""
    res = run.result
    extra = {
        "policy": res.policy,
        "solver": {
            "status": str(res.status),
            "objective": res.objective,
            "bound": res.bound,
            "gap": res.gap,
            "timings_s": res.timings,
        },
    }
    with StagedOutputs(out_dir) as staged:
        staged.csv("purchase_plan.csv", run.lines)
        staged.csv("projection.csv", run.projection.round(4))
        staged.json("summary.json", run.summary)
        staged.json("manifest.json", manifest(run.prepared, run.timings, extra))
        return staged.commit()


def run_kpis(scenario_path: Path | str, step: Step = _noop) -> tuple[Prepared, pd.DataFrame]:
    """KPIs per SKU on the scenario's forecast."""
    prep = prepare(scenario_path, step)
    forecast = make_forecast(prep, step)
    return prep, sku_kpis(planning_data(prep, forecast))


def write_kpis(prep: Prepared, kpis: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Publish kpis.csv and its manifest together."""
    with StagedOutputs(out_dir) as staged:
        staged.csv("kpis.csv", kpis.replace([np.inf, -np.inf], np.nan).round(6))
        staged.json("kpis_manifest.json", manifest(prep, prep.timings))
        return staged.commit()
