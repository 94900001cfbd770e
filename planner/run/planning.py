"""Planning a prepared run: the policy's plan, evaluated on the forecast's paths and verified.

Nothing here writes files (:mod:`planner.app.outputs` does).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from forecast import Forecast
from planner.base.errors import Problem
from planner.core.accounting import arrivals, replay_paths
from planner.core.problem import PlanningData, build_planning_data
from planner.core.results import PolicyResult
from planner.core.tables import projection_frame, purchase_plan, summary
from planner.core.verify import verify_plan
from planner.inputs.location import PathOrURL
from planner.inputs.scenario import SolverSpec
from planner.optimizer.plan import OptimizerSettings, plan_optimizer
from planner.policies.classical import plan_classical
from planner.policies.kpis import sku_kpis
from planner.run.forecasting import make_forecast
from planner.run.prepare import Prepared, Step, prepare, quiet

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


def planning_data(prep: Prepared, forecast: Forecast, policy: str | None = None) -> PlanningData:
    """Arrays for the policies; for the optimiser (``policy``), with the planning level per SKU that
    meets the scenario's fill-rate target (:mod:`planner.core.service`)."""
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
    """A plan that orders nothing although it expects to lose sales says so; so does one whose
    simulated stock overflows storage more often than the storage quantile allows."""
    out = []
    lost = info["service"]["expected_lost_units"]
    if not info["counts"]["order_lines"] and lost > 0:
        out.append(
            Problem(
                str(prep.source),
                f"the plan orders nothing, yet {lost:,.0f} units of demand are expected to go unserved",
                "check the warnings above, the forecast (planner forecast) and the stock and open orders",
                code="plan_orders_nothing",
            )
        )
    storage = info["storage"]
    risky = storage["weeks_overflow_above_quantile"]
    if risky:
        out.append(
            Problem(
                str(prep.source),
                f"simulated stock after receipts exceeds storage_capacity with probability above "
                f"storage_quantile {storage['basis_quantile']:g} in {len(risky)} weeks (first {risky[0]}, "
                f"worst {storage['overflow_probability_max']:.0%})",
                "see summary.json storage.weeks; lower storage_quantile or check the weeks' open orders",
                code="storage_overflow_risk",
            )
        )
    return out


def run_kpis(
    scenario_path: Path | str, step: Step = quiet, model_dir: PathOrURL | None = None
) -> tuple[Prepared, pd.DataFrame]:
    """KPIs per SKU on the scenario's forecast."""
    prep = prepare(scenario_path, step, model_dir)
    forecast = make_forecast(prep, step)
    return prep, sku_kpis(planning_data(prep, forecast))
