"""Scenarios side by side, and the cost-service frontier of one scenario.

Both plan and simulate exactly as ``planner simulate`` does (same policy choice, same
``--model`` reuse, the first ``simulation.n_paths`` forecast paths, the scenario's
``simulation.unmet_demand``) and summarise each simulation the same way:

- costs per category (``purchase``, ``ordering``, ``holding``, ``shortage``, ``total``):
  ``expected`` (mean across paths) and ``p90``;
- service KPIs (:data:`SERVICE_KPIS`): mean, p10, p50, p90 across paths.

:func:`compare_scenarios` runs several scenario files (names must be unique).
:func:`service_frontier` runs one scenario at several service levels: the forecaster is
fitted once and one forecast (holding every level's quantiles) is planned at every level,
so the levels see the same demand paths. A level replaces the scenario's
``service_level`` and every per-SKU target: the ``service_level`` column of items.csv
and any ``items: [{service_level: ...}]`` override of the scenario.

Nothing here prints; :func:`write_comparison` and :func:`write_frontier` publish their
files together or none (:class:`planner.base.io.StagedOutputs`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from forecast import Forecast
from planner.base.errors import PlannerError, Problem, ScenarioError
from planner.evaluation.simulate import SimulationRun, run_simulation, simulate_plan
from planner.inputs.location import PathOrURL
from planner.inputs.scenario import Scenario, load_scenario
from planner.run.compute import Compute
from planner.run.forecasting import fit_forecaster, make_forecast
from planner.run.planning import plan_prepared
from planner.run.prepare import Prepared, Step, prepare, quiet
from planner.run.record import manifest

__all__ = [
    "COST_CATEGORIES",
    "DEFAULT_LEVELS",
    "SERVICE_KPIS",
    "Comparison",
    "Frontier",
    "at_service_level",
    "check_levels",
    "compare_scenarios",
    "parse_levels",
    "service_frontier",
]

# cost category -> simulation KPI
COST_CATEGORIES = {
    "purchase": "purchase_cost",
    "ordering": "ordering_cost",
    "holding": "holding_cost",
    "shortage": "shortage_cost",
    "total": "total_cost",
}
SERVICE_KPIS = (
    "fill_rate",
    "cycle_service",
    "stockout_weeks",
    "avg_inventory_value",
    "inventory_turnover",
    "peak_storage",
    "overflow_weeks",
)
STATS = ("mean", "p10", "p50", "p90")
WEEKLY_COLUMNS = (
    "spend",
    "inventory_value_mean",
    "inventory_value_p10",
    "inventory_value_p90",
    "storage_mean",
    "storage_p90",
    "capacity",
)
DEFAULT_LEVELS = (0.8, 0.9, 0.95, 0.98, 0.99)


# ---------------------------------------------------------------------------
# one simulated scenario


def cost_summary(sim: SimulationRun) -> dict[str, dict[str, float]]:
    """``{category: {expected, p90}}`` of the simulated costs."""
    stats = sim.result.summary.set_index("kpi")
    return {
        cat: {"expected": float(stats.loc[kpi, "mean"]), "p90": float(stats.loc[kpi, "p90"])}
        for cat, kpi in COST_CATEGORIES.items()
    }


def service_summary(sim: SimulationRun) -> dict[str, dict[str, float | None]]:
    """``{kpi: {mean, p10, p50, p90}}`` for :data:`SERVICE_KPIS` (NaN as None)."""
    summary = sim.result.summary_dict()
    return {kpi: summary[kpi] for kpi in SERVICE_KPIS}


def plan_info(sim: SimulationRun) -> dict[str, object]:
    """The policy's outcome: status, and objective/bound/gap when it reports them."""
    res = sim.plan.result
    return {"status": str(res.status), "objective": res.objective, "bound": res.bound, "gap": res.gap}


def _run_manifest(sim: SimulationRun) -> dict:
    res = sim.plan.result
    solver = {**plan_info(sim), "timings_s": res.timings}
    return manifest(sim.plan.prepared, sim.plan.timings, {"policy": res.policy, "solver": solver})


def _spend_by_supplier(sim: SimulationRun) -> pd.DataFrame:
    """Purchase value ``sum_s c_s x[s,t]`` per order week and supplier (every pair, zeros included)."""
    data, orders = sim.plan.data, sim.plan.result.orders
    spend = np.zeros((len(data.suppliers), data.horizon))  # [P, H]
    np.add.at(spend, data.supplier_idx, data.unit_cost[:, None] * orders)
    return pd.DataFrame(
        {
            "week": np.tile(data.weeks.strftime("%Y-%m-%d"), len(data.suppliers)),
            "supplier": np.repeat(data.suppliers, data.horizon),
            "spend": spend.ravel(),
        }
    ).sort_values(["week", "supplier"], kind="stable", ignore_index=True)


# ---------------------------------------------------------------------------
# compare


@dataclass(frozen=True)
class Comparison:
    """Simulated plans of several scenarios, in the order given."""

    runs: tuple[SimulationRun, ...]

    @property
    def names(self) -> list[str]:
        return [sim.plan.prepared.scenario.name for sim in self.runs]

    def costs(self) -> pd.DataFrame:
        """One row per scenario and cost category: ``scenario, category, expected, p90``."""
        rows = [
            {"scenario": name, "category": cat, **stats}
            for name, sim in zip(self.names, self.runs, strict=True)
            for cat, stats in cost_summary(sim).items()
        ]
        return pd.DataFrame(rows, columns=["scenario", "category", "expected", "p90"])

    def service(self) -> pd.DataFrame:
        """One row per scenario and KPI of :data:`SERVICE_KPIS`: ``scenario, kpi, mean, p10, p50, p90``."""
        rows = [
            {"scenario": name, "kpi": kpi, **stats}
            for name, sim in zip(self.names, self.runs, strict=True)
            for kpi, stats in service_summary(sim).items()
        ]
        return pd.DataFrame(rows, columns=["scenario", "kpi", *STATS])

    def weekly(self) -> pd.DataFrame:
        """One row per scenario and week: spend by order week, inventory value and storage, capacity."""
        frames = [
            sim.result.weekly[["week", *WEEKLY_COLUMNS]].assign(scenario=name)
            for name, sim in zip(self.names, self.runs, strict=True)
        ]
        return pd.concat(frames, ignore_index=True)[["scenario", "week", *WEEKLY_COLUMNS]]

    def spend_by_supplier(self) -> pd.DataFrame:
        """One row per scenario, order week and supplier: ``scenario, week, supplier, spend``."""
        frames = [
            _spend_by_supplier(sim).assign(scenario=name)
            for name, sim in zip(self.names, self.runs, strict=True)
        ]
        return pd.concat(frames, ignore_index=True)[["scenario", "week", "supplier", "spend"]]

    def to_dict(self) -> dict:
        """Per scenario: name, description, policy, plan outcome, cost and service summaries, manifest."""
        return {
            "scenarios": [
                {
                    "name": sim.plan.prepared.scenario.name,
                    "description": sim.plan.prepared.scenario.description,
                    "source": str(sim.plan.prepared.source),
                    "policy": sim.plan.result.policy,
                    "plan": plan_info(sim),
                    "unmet_demand": sim.result.unmet_demand,
                    "n_paths": sim.result.n_paths,
                    "costs": cost_summary(sim),
                    "service": service_summary(sim),
                    "manifest": _run_manifest(sim),
                }
                for sim in self.runs
            ]
        }


def load_unique(scenario_paths: Sequence[Path | str]) -> list[tuple[Path, Scenario]]:
    """Each scenario file loaded, with its absolute path; :class:`ScenarioError` naming both files
    for every scenario name used twice."""
    loaded = [(source, load_scenario(source)) for source in (Path(p).resolve() for p in scenario_paths)]
    seen: dict[str, Path] = {}
    problems = []
    for source, scenario in loaded:
        name = scenario.name
        if name in seen:
            problems.append(
                Problem(
                    str(source),
                    f"scenario name '{name}' is also the name of {seen[name]}",
                    "give every compared scenario its own 'name'",
                    key="name",
                )
            )
        else:
            seen[name] = source
    if problems:
        raise ScenarioError(problems)
    return loaded


def compare_scenarios(
    scenario_paths: Sequence[Path | str],
    policy: str | None = None,
    step: Step = quiet,
    model_dir: PathOrURL | None = None,
    compute: Compute | None = None,
) -> Comparison:
    """Plan and simulate every scenario like :func:`planner.evaluation.simulate.run_simulation`.

    Names are checked for uniqueness before anything is forecast; ``model_dir`` (a model saved by
    ``planner forecast``) is used by every scenario instead of training one each. Scenarios are
    independent tasks of ``compute`` (in this process by default): the scenario files are read
    here, each task reads its scenario's data (and model) itself.
    """
    loaded = load_unique(scenario_paths)
    n = len(loaded)
    runs = (compute or Compute()).map(
        _ScenarioTask(policy, model_dir),
        loaded,
        lambda i, task: lambda msg: step(f"[{i + 1}/{n}] {task[0].name}: {msg}"),
    )
    return Comparison(tuple(runs))


@dataclass(frozen=True)
class _ScenarioTask:
    """One scenario of a comparison, planned and simulated (a picklable task)."""

    policy: str | None
    model_dir: PathOrURL | None

    def __call__(self, task: tuple[Path, Scenario], step: Step) -> SimulationRun:
        source, scenario = task
        return run_simulation(source, self.policy, step, self.model_dir, scenario=scenario)


# ---------------------------------------------------------------------------
# frontier


def check_levels(levels: Sequence[float]) -> tuple[float, ...]:
    """``levels`` as a tuple if each lies in (0, 1) and they increase strictly; else :class:`PlannerError`."""
    levels = tuple(float(v) for v in levels)
    if not levels:
        raise PlannerError("--levels: give at least one service level, e.g. 0.9,0.95,0.99")
    bad = [v for v in levels if not 0 < v < 1]
    if bad:
        raise PlannerError(
            f"--levels: {', '.join(f'{v:g}' for v in bad)} not strictly between 0 and 1; "
            "give probabilities such as 0.95"
        )
    if list(levels) != sorted(set(levels)):
        raise PlannerError(
            f"--levels: {','.join(f'{v:g}' for v in levels)} must be increasing without repeats; "
            f"write {','.join(f'{v:g}' for v in sorted(set(levels)))}"
        )
    return levels


def parse_levels(text: str) -> tuple[float, ...]:
    """Comma-separated service levels (``"0.8,0.9,0.95"``), checked by :func:`check_levels`."""
    parts = [p.strip() for p in text.split(",")]
    values = []
    for part in parts:
        try:
            values.append(float(part))
        except ValueError:
            raise PlannerError(
                f"--levels: {part!r} is not a number; give comma-separated levels such as 0.9,0.95,0.99"
            ) from None
    return check_levels(values)


def at_service_level(prep: Prepared, level: float) -> Prepared:
    """``prep`` with every service target at ``level``: the scenario default, the items' column
    and the scenario's per-item overrides (cleared, so the manifest shows what was planned)."""
    sc = prep.scenario
    changes = [c.model_copy(update={"service_level": None}) for c in sc.items]
    scenario = sc.model_copy(update={"service_level": level, "items": changes})
    items = prep.items.copy()
    items["service_level"] = level
    return replace(prep, scenario=scenario, items=items, timings=dict(prep.timings))


@dataclass(frozen=True)
class Frontier:
    """One scenario planned and simulated at each service level (same forecast for all)."""

    prepared: Prepared
    levels: tuple[float, ...]
    runs: tuple[SimulationRun, ...]
    timings: dict[str, float]

    def table(self) -> pd.DataFrame:
        """One row per level: expected and p90 total cost, expected cost excluding purchase,
        fill rate and cycle service (mean, p10, p90), expected average inventory value."""
        rows = []
        for level, sim in zip(self.levels, self.runs, strict=True):
            stats = sim.result.summary.set_index("kpi")
            paths = sim.result.paths
            rows.append(
                {
                    "level": level,
                    "expected_total_cost": stats.loc["total_cost", "mean"],
                    "p90_total_cost": stats.loc["total_cost", "p90"],
                    "expected_cost_excluding_purchase": float(
                        (paths["total_cost"] - paths["purchase_cost"]).mean()
                    ),
                    **{
                        f"{kpi}_{s}": stats.loc[kpi, s]
                        for kpi in ("fill_rate", "cycle_service")
                        for s in ("mean", "p10", "p90")
                    },
                    "avg_inventory_value": stats.loc["avg_inventory_value", "mean"],
                    "plan_status": str(sim.plan.result.status),
                }
            )
        return pd.DataFrame(rows)

    def to_dict(self) -> dict:
        """Scenario, levels, per level the plan outcome and cost/service summaries, one manifest."""
        sc = self.prepared.scenario
        policy = self.runs[0].plan.result.policy if self.runs else sc.policy
        return {
            "scenario": sc.name,
            "description": sc.description,
            "source": str(self.prepared.source),
            "policy": policy,
            "levels": list(self.levels),
            "service_level_override": "each level replaces the scenario's service_level, the items' "
            "service_level column and every per-item service_level override",
            "points": [
                {
                    "level": level,
                    "plan": plan_info(sim),
                    "unmet_demand": sim.result.unmet_demand,
                    "n_paths": sim.result.n_paths,
                    "costs": cost_summary(sim),
                    "service": service_summary(sim),
                    "timings_s": {k: round(v, 4) for k, v in sim.plan.timings.items()},
                }
                for level, sim in zip(self.levels, self.runs, strict=True)
            ],
            "manifest": manifest(self.prepared, self.timings, {"policy": policy}),
        }


def service_frontier(
    scenario_path: Path | str,
    levels: Sequence[float] = DEFAULT_LEVELS,
    policy: str | None = None,
    step: Step = quiet,
    model_dir: PathOrURL | None = None,
    compute: Compute | None = None,
) -> Frontier:
    """Plan and simulate the scenario at each service level in ``levels`` (see the module docstring).

    The forecaster is fitted (or loaded from ``model_dir``) once; its forecast, with the scenario's
    ``demand_scale`` applied, holds every level's quantiles and is planned at every level.
    """
    levels = check_levels(levels)
    prep = prepare(scenario_path, step, model_dir)
    t0 = time.perf_counter()
    model = fit_forecaster(prep, step)
    prep.timings["fit"] = time.perf_counter() - t0
    forecast = make_forecast(prep, step, model=model, extra_levels=levels)
    runs = (compute or Compute()).map(
        _LevelTask(prep, forecast, policy),
        list(levels),
        lambda i, level: lambda msg: step(f"service level {level:g}: {msg}"),
    )
    return Frontier(prep, levels, tuple(runs), dict(prep.timings))


@dataclass(frozen=True)
class _LevelTask:
    """The scenario planned and simulated at one service level (a picklable task)."""

    prep: Prepared
    forecast: Forecast
    policy: str | None

    def __call__(self, level: float, step: Step) -> SimulationRun:
        run = plan_prepared(at_service_level(self.prep, level), self.policy, step, forecast=self.forecast)
        return simulate_plan(run, step=step)
