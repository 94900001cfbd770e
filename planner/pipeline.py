"""The planning run: scenario -> data -> forecast -> policy -> verified outputs.

Each step is a function of the previous step's typed result; only :func:`write_plan`
touches the output folder, and it publishes all files together or none.
"""

from __future__ import annotations

import importlib.metadata
import logging
import platform
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
from upath import UPath

from forecast import Forecast, Forecaster, make_forecaster
from forecast.persist import (
    ModelFolderError,
    history_hash,
    load_forecaster,
    read_manifest,
    save_forecaster,
)
from forecast.segments import classify_demand
from planner.accounting import arrivals, replay_paths
from planner.classical import plan_classical
from planner.data import Dataset, check_open_orders, load_actuals, load_dataset
from planner.errors import ForecastError, PlannerError, Problem, ScenarioError
from planner.export import projection_frame, purchase_plan, summary
from planner.forecast_file import read_forecast_file
from planner.io import StagedOutputs, file_sha256
from planner.kpis import sku_kpis
from planner.location import PathOrURL, absolute, local_copy, reaching
from planner.optimizer import OptimizerSettings, plan_optimizer
from planner.problem import PlanningData, build_planning_data
from planner.results import PolicyResult
from planner.scenario import Scenario, SolverSpec, load_scenario
from planner.simulate import SimulationResult, simulate
from planner.verify import verify_plan
from planner.whatif import (
    apply_item_changes,
    apply_supplier_changes,
    check_references,
    demand_factors,
)

log = logging.getLogger(__name__)

POLICIES = ("optimizer", "classical")
MAX_HORIZON = 156
MAX_WEEKS_AFTER_HISTORY = 52  # a plan further from its history is forecast blind
BYTES_PER_PATH_CELL = 16  # peak bytes per SKU x path x week: 13 measured by plan and simulate


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
    warnings: list[Problem] = field(default_factory=list)
    forecast_file: tuple[pd.DataFrame, list[float]] | None = None  # model 'file': its rows, levels


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
    warnings: list[Problem] = field(default_factory=list)


def quiet(_: str) -> None:
    return None


def prepare(
    scenario_path: Path | str,
    step: Step = quiet,
    model_dir: PathOrURL | None = None,
    scenario: Scenario | None = None,
) -> Prepared:
    """Load the scenario and its dataset, check references and apply item/supplier what-ifs.

    ``model_dir`` (a folder saved by ``planner forecast``) replaces the scenario's ``forecast.load``;
    ``scenario``, when given, is the scenario already loaded from ``scenario_path`` (not read again).
    """
    t0 = time.perf_counter()
    source = Path(scenario_path).resolve()
    if scenario is None:
        step("reading scenario")
        scenario = load_scenario(source)
    if model_dir is not None:
        forecast = scenario.forecast.model_copy(update={"load": absolute(model_dir)})
        scenario = scenario.model_copy(update={"forecast": forecast})
    if scenario.forecast.load is not None:
        step("checking the saved forecast model")
        with _model_errors(scenario.forecast.model):
            check_saved_model(scenario.forecast.load)
    step("validating data")
    dataset = load_dataset(scenario.data)
    check_references(scenario, dataset.items, dataset.suppliers, source)
    plan_start = _plan_start(scenario, dataset, source)
    check_open_orders(dataset, plan_start)
    weeks = pd.date_range(plan_start, periods=scenario.horizon_weeks, freq="7D")
    history = dataset.history[dataset.history["week"] < plan_start]
    items = apply_item_changes(scenario, dataset.items)
    suppliers = apply_supplier_changes(scenario, dataset.suppliers)
    check_memory(scenario, len(items), source)
    rows = read_forecast_file(scenario.forecast.path) if scenario.forecast.model == "file" else None
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
        warnings=[
            *dataset.warnings,
            *_history_gap_warnings(plan_start, dataset, source),
            *_horizon_warnings(scenario, items, suppliers, source),
        ],
        forecast_file=rows,
    )


def _horizon_warnings(
    scenario: Scenario, items: pd.DataFrame, suppliers: pd.DataFrame, source: Path
) -> list[Problem]:
    """SKUs whose supplier's lead time reaches past the horizon: no new order can arrive in time."""
    horizon = scenario.horizon_weeks
    lead = items["supplier"].map(suppliers["lead_time_weeks"]).astype(int)
    late = lead[lead >= horizon]
    if late.empty:
        return []
    longest = int(late.max())
    fix = (
        f"raise horizon_weeks to at least {longest + 1}"
        if longest < MAX_HORIZON
        else "plan these suppliers' SKUs with a shorter lead time, or order them outside this plan"
    )
    names = ", ".join(sorted(items.loc[late.index, "supplier"].unique())[:5])
    return [
        Problem(
            str(source),
            f"{len(late)} SKU(s) cannot receive a new order within the {horizon}-week horizon "
            f"(supplier {names}: lead time up to {longest} weeks); the plan orders none of them",
            fix,
            key="horizon_weeks",
            code="lead_time_beyond_horizon",
            skus=tuple(late.index),
        )
    ]


def check_memory(scenario: Scenario, n_skus: int, source: Path) -> None:
    """Refuse a run whose sample paths cannot fit in this machine's memory, saying what to lower."""
    spec = scenario.forecast
    cells = n_skus * spec.n_paths * scenario.horizon_weeks
    need, have = cells * BYTES_PER_PATH_CELL, available_memory()
    if have is None or need <= have:
        return
    fits = int(have / (BYTES_PER_PATH_CELL * n_skus * scenario.horizon_weeks))
    fits = max(1, int(float(f"{fits:.2g}")) if fits >= 100 else fits)  # two significant digits
    raise ScenarioError(
        [
            Problem(
                str(source),
                f"{spec.n_paths:,} sample paths x {scenario.horizon_weeks} weeks x {n_skus:,} SKUs need "
                f"about {need / 2**30:.1f} GiB; this machine has {have / 2**30:.1f} GiB available",
                f"lower forecast.n_paths to at most {fits:,} (or horizon_weeks)",
                key="forecast.n_paths",
            )
        ]
    )


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation (Linux ``MemAvailable``), None if unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


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
    after = (start - dataset.last_week).days // 7 - 1
    if after > MAX_WEEKS_AFTER_HISTORY:
        raise ScenarioError(
            [
                Problem(
                    str(source),
                    f"{start.date()} is {after} weeks after the history ends ({dataset.last_week.date()}); "
                    "forecasts start from the end of the history",
                    f"bring the history up to date, or remove plan_start to plan from {default.date()}",
                    key="plan_start",
                )
            ]
        )
    return start


def _history_gap_warnings(prep_start: pd.Timestamp, dataset: Dataset, source: Path) -> list[Problem]:
    """A plan that starts weeks after the history ends: those weeks are forecast, not known."""
    after = (prep_start - dataset.last_week).days // 7 - 1
    if after <= 0:
        return []
    return [
        Problem(
            str(source),
            f"the plan starts {after} week(s) after the history ends ({dataset.last_week.date()}); "
            "demand in between is forecast, and stock is taken as on hand at the plan start",
            "bring the history up to the week before plan_start",
            key="plan_start",
            code="plan_start_after_history",
        )
    ]


def fit_forecaster(prep: Prepared, step: Step = quiet) -> Forecaster:
    """The scenario's forecaster, trained on the history before the plan start (or loaded)."""
    spec = prep.scenario.forecast
    lead = forecast_gap(prep)
    with _model_errors(spec.model):
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
    with _model_errors(model.name):
        return model.update(prep.history, **forecast_context(prep))


@contextmanager
def _model_errors(name: str) -> Iterator[None]:
    """A model that fails on the user's data or settings is a ForecastError (exit 1, no traceback)."""
    try:
        yield
    except (ValueError, OSError, KeyError) as exc:
        if isinstance(exc, PlannerError):
            raise
        raise ForecastError(f"forecast model '{name}' failed: {exc}") from exc


def forecast_gap(prep: Prepared) -> int:
    """Weeks between the end of the history and the plan start (quantile models must reach past them)."""
    return (prep.plan_start - prep.history["week"].max()).days // 7 - 1


@contextmanager
def _refused(folder: UPath) -> Iterator[None]:
    try:
        yield
    except ModelFolderError as exc:
        raise ForecastError(
            f"forecast.load: the model folder {folder} is refused: {exc}. Fix: point to the model/ "
            "folder that 'planner forecast SCENARIO --out DIR' wrote (DIR/model)"
        ) from None


def check_saved_model(folder: UPath) -> None:
    """A :class:`ForecastError` unless ``folder`` is a model folder that may be loaded: a manifest,
    every file listed with its checksum, no pickles or links (nothing is unpickled or trained)."""
    with reaching(folder), local_copy(folder) as local, _refused(folder):
        read_manifest(local)


def load_saved_model(folder: UPath, history: pd.DataFrame) -> Forecaster:
    """A model saved by ``planner forecast`` (a local folder or a URL); a warning if it was trained
    on other history."""
    with reaching(folder), local_copy(folder) as local, _refused(folder):
        manifest = read_manifest(local)
        model = load_forecaster(local)
    if manifest.get("data_sha256") != history_hash(history):
        log.warning(
            "forecast.load: %s was trained on different history; forecasting from this history", folder
        )
    return model


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
    with _model_errors(model.name):
        forecast = model.predict(list(prep.items.index), prep.weeks, sorted({*levels, *alphas}))
    if forecast.classes is None:
        forecast = forecast.with_classes(
            classify_demand(prep.history).reindex(list(prep.items.index)).fillna("new").to_numpy()
        )
    if whatifs:
        forecast = forecast.scaled(demand_factors(prep.scenario, prep.items, prep.weeks))
    prep.timings["forecast"] = time.perf_counter() - t0
    return forecast


def planning_data(prep: Prepared, forecast: Forecast, policy: str | None = None) -> PlanningData:
    """Arrays for the policies; for the optimiser (``policy``), with the planning level per SKU that
    meets the scenario's fill-rate target (:mod:`planner.service`)."""
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
        service_scope=sc.service_scope if policy == "optimizer" else None,
    )


def run_plan(
    scenario_path: Path | str,
    policy: str | None = None,
    step: Step = quiet,
    model_dir: PathOrURL | None = None,
) -> PlanRun:
    """Prepare, forecast, plan, evaluate and verify; nothing is written."""
    return plan_prepared(prepare(scenario_path, step, model_dir), policy, step)


def plan_prepared(
    prep: Prepared, policy: str | None = None, step: Step = quiet, forecast: Forecast | None = None
) -> PlanRun:
    """Forecast, plan, evaluate and verify a prepared scenario; nothing is written.

    ``forecast``: plan on this forecast (what-ifs already applied) instead of making one; it must
    hold the quantile levels the scenario's service levels and storage quantile need.
    """
    if forecast is None:
        forecast = make_forecast(prep, step)
    name = policy or prep.scenario.policy
    data = planning_data(prep, forecast, name)
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
    warnings = [*prep.warnings, *_plan_warnings(prep, info)]
    info["warnings"] = [w.as_warning() for w in warnings]
    prep.timings["evaluate"] = time.perf_counter() - t0
    return PlanRun(prep, data, result, lines, projection, info, dict(prep.timings), warnings)


def _plan_warnings(prep: Prepared, info: dict) -> list[Problem]:
    """A plan that orders nothing although it expects to lose sales says so."""
    lost = info["service"]["expected_lost_units"]
    if info["counts"]["order_lines"] or lost <= 0:
        return []
    return [
        Problem(
            str(prep.source),
            f"the plan orders nothing, yet {lost:,.0f} units of demand are expected to go unserved",
            "check the warnings above, the forecast (planner forecast) and the stock and open orders",
            code="plan_orders_nothing",
        )
    ]


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
        "warnings": [str(w) for w in run_prep.warnings],
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
        staged.manifest("manifest.json", manifest(run.prepared, run.timings, extra))
        return staged.commit()


def run_kpis(
    scenario_path: Path | str, step: Step = quiet, model_dir: PathOrURL | None = None
) -> tuple[Prepared, pd.DataFrame]:
    """KPIs per SKU on the scenario's forecast."""
    prep = prepare(scenario_path, step, model_dir)
    forecast = make_forecast(prep, step)
    return prep, sku_kpis(planning_data(prep, forecast))


def write_kpis(prep: Prepared, kpis: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Publish kpis.csv and its manifest together."""
    with StagedOutputs(out_dir) as staged:
        staged.csv("kpis.csv", kpis.replace([np.inf, -np.inf], np.nan).round(6))
        staged.manifest("kpis_manifest.json", manifest(prep, prep.timings))
        return staged.commit()


@dataclass(frozen=True)
class SimulationRun:
    """A verified plan and its simulation; ``actuals`` is the demand file, if one replaced the paths."""

    plan: PlanRun
    result: SimulationResult
    actuals: PathOrURL | None


def run_simulation(
    scenario_path: Path | str,
    policy: str | None = None,
    step: Step = quiet,
    model_dir: PathOrURL | None = None,
    actuals: PathOrURL | None = None,
    scenario: Scenario | None = None,
) -> SimulationRun:
    """Plan like :func:`run_plan`, then replay the plan against the forecast's sample paths
    (the first ``simulation.n_paths``) or, with ``actuals``, against that demand file.

    The actuals file is read and checked before anything is forecast or planned. ``scenario``:
    see :func:`prepare`.
    """
    prep = prepare(scenario_path, step, model_dir, scenario)
    demand = None
    if actuals is not None:
        step(f"reading actual demand from {actuals}")
        demand = load_actuals(actuals, list(prep.items.index), prep.weeks)
    run = plan_prepared(prep, policy, step)
    return simulate_plan(run, demand, step, actuals)


def simulate_plan(
    run: PlanRun, demand: np.ndarray | None = None, step: Step = quiet, actuals: PathOrURL | None = None
) -> SimulationRun:
    """Replay a verified plan against ``demand`` (default: the first ``simulation.n_paths`` of its
    forecast's sample paths), with the scenario's ``simulation.unmet_demand``."""
    prep = run.prepared
    spec = prep.scenario.simulation
    if demand is None:
        demand = run.data.forecast.paths
        available = demand.shape[1]
        if spec.n_paths is not None and spec.n_paths > available:
            raise ScenarioError(
                [
                    Problem(
                        str(prep.source),
                        f"{spec.n_paths} paths asked but the forecast has {available}",
                        f"set simulation.n_paths to at most {available}",
                        key="simulation.n_paths",
                    )
                ]
            )
        demand = demand[:, : spec.n_paths]
    step(f"simulating the plan ({spec.unmet_demand})")
    t0 = time.perf_counter()
    result = simulate(run.data, run.result.orders, demand, unmet_demand=spec.unmet_demand)
    timings = {**run.timings, "simulate": time.perf_counter() - t0}
    return SimulationRun(replace(run, timings=timings), result, actuals)


def write_simulation(run: SimulationRun, out_dir: Path) -> list[Path]:
    """Publish simulation_{summary,paths,weekly,sku}.csv and simulation.json together."""
    res = run.result
    extra = {}
    if run.actuals is not None:
        path = absolute(run.actuals)
        extra["actuals"] = {"path": str(path), "sha256": file_sha256(path)}
    info = {
        "policy": run.plan.result.policy,
        "plan_status": str(run.plan.result.status),
        "demand": "actuals" if run.actuals is not None else "forecast_paths",
        "unmet_demand": res.unmet_demand,
        "n_paths": res.n_paths,
        "summary": res.summary_dict(),
        "manifest": manifest(run.plan.prepared, run.plan.timings, extra),
    }
    with StagedOutputs(out_dir) as staged:
        staged.csv("simulation_summary.csv", res.summary.round(6))
        staged.csv("simulation_paths.csv", res.paths.round(6))
        staged.csv("simulation_weekly.csv", res.weekly.round(4))
        staged.csv("simulation_sku.csv", res.per_sku.round(6))
        staged.manifest("simulation.json", info)
        return staged.commit()


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


def paths_frame(forecast: Forecast) -> pd.DataFrame:
    """Sample paths, one row per SKU and path, one column per week (ISO date)."""
    s, n, h = forecast.paths.shape
    frame = pd.DataFrame(forecast.paths.reshape(s * n, h), columns=forecast.weeks.strftime("%Y-%m-%d"))
    frame.insert(0, "path", np.tile(np.arange(n), s))
    frame.insert(0, "sku", np.repeat(forecast.skus, n))
    return frame


def write_forecast(run: ForecastRun, out_dir: Path) -> list[Path]:
    """Publish forecasts.csv, cumulative.csv, paths.parquet, the model folder and a manifest together."""
    prep, fc = run.prepared, run.forecast
    data_hash = history_hash(prep.history)
    extra = {"forecast": {"model": run.model.name, "params": run.model.params(), "history_sha256": data_hash}}
    with StagedOutputs(out_dir) as staged:
        staged.csv("forecasts.csv", fc.weekly_frame().round(4))
        staged.csv("cumulative.csv", fc.cumulative_frame().round(4))
        staged.parquet("paths.parquet", paths_frame(fc))
        if spec_saves(prep):
            staged.directory("model", lambda d: save_forecaster(run.model, d, data_hash=data_hash))
        staged.manifest("forecast_manifest.json", manifest(prep, prep.timings, extra))
        return staged.commit()


def spec_saves(prep: Prepared) -> bool:
    """A trained model is saved unless it was loaded or reads a file."""
    spec = prep.scenario.forecast
    return spec.load is None and spec.model != "file"
