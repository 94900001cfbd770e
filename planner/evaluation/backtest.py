"""Rolling policy backtest: plan every Monday on that Monday's forecast, commit the first week, replay it.

The window is the last K weeks of history before the plan start, w_1 .. w_K (K =
``backtest.origins``). At origin w_k every rolling policy sees

- its own state: stock on hand at the start of w_k (before receipts) and its pipeline (orders it
  committed at earlier origins that arrive in w_k or later);
- the forecast of weeks w_k .. w_k+H-1 by the scenario's forecaster, trained on the history
  before w_k only (refitted every ``backtest.refit_every`` origins; in between the fitted model
  forecasts from the newer history without retraining);

plans H weeks (``horizon_weeks``), commits its orders of week w_k only, and week w_k is replayed
against the actual demand with lost sales, as a planner does every Monday. Policies:

- ``optimizer`` and ``classical``: the planner's policies at the scenario's service level;
- ``base_stock``: order-up-to on empirical quantiles of past demand (:mod:`planner.policies.basestock`);
- ``perfect_foresight``: the optimiser's model solved once over the whole window on the actual
  demand (a deterministic plan that meets the demand wherever an order can arrive in time).

Assumptions (stated in ``backtest.json``): every policy starts w_1 with the inventory file's stock
on hand and no open orders; actual demand is the history's units (weeks flagged as stockouts
understate demand); storage capacity and budget are the scenario's (one number each).

Every policy's committed orders are scored by :func:`planner.evaluation.simulate.simulate` on the window
with the actual demand as its one path, so costs are the planner's accounting. Per policy:

- ``purchase_cost`` sum c_s x[s,t] of all committed orders (also those arriving after the window);
- ``opening_stock_value`` sum c_s I0_s; ``closing_stock_value`` sum c_s (stock at the end of the
  window + units on order then);
- ``total_cost`` = purchase - (closing - opening) + ordering + holding + shortage: the cost of
  the goods sold plus the costs of operating the policy (stock-adjusted, so a policy is not
  rewarded for ending the window with an empty pipeline);
- ``operating_cost`` = ordering + holding + shortage (the classical inventory cost);
- ``gap_total`` and ``gap_operating``: how far above perfect foresight, as a share of its cost.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import ValidationError

from forecast import Forecast, Forecaster
from planner.base.config import validation_problems
from planner.base.errors import InfeasibleError, Problem, ScenarioError
from planner.core.leadtime import draw_delays
from planner.core.problem import PlanningData
from planner.core.results import PolicyResult
from planner.evaluation.simulate import SimulationResult, simulate
from planner.inputs.scenario import BacktestSpec, SolverSpec
from planner.policies.basestock import (
    demand_moments_from_history,
    empirical_order_up_to,
    plan_base_stock,
    plan_textbook,
)
from planner.run.compute import Compute
from planner.run.forecasting import fit_forecaster, make_forecast, update_forecaster
from planner.run.planning import planning_data, run_policy
from planner.run.prepare import Prepared, Step, prepare, quiet

log = logging.getLogger(__name__)

WEEK = pd.Timedelta(weeks=1)
PERFECT = "perfect_foresight"
MIN_TRAINING_WEEKS = 8
ASSUMPTIONS = (
    "every policy starts the first origin with the inventory file's stock on hand and no open orders",
    "actual demand is the history's units; weeks flagged as stockouts understate demand",
    "unmet demand is lost (the planner's basis)",
    "perfect foresight: the optimiser's model solved once over the window on the actual demand",
)
SUMMARY_KPIS = (
    "purchase_cost",
    "ordering_cost",
    "holding_cost",
    "shortage_cost",
    "fill_rate",
    "cycle_service",
    "stockout_weeks",
    "avg_inventory_value",
    "inventory_turnover",
    "overflow_weeks",
)

TABLE = {
    "policy": "policy",
    "total_cost": "total cost",
    "operating_cost": "operating cost",
    "ordering_cost": "ordering",
    "holding_cost": "holding",
    "shortage_cost": "shortage",
    "fill_rate": "fill rate",
    "fill_vs_target": "fill vs target",
    "cycle_service": "cycle service",
    "avg_inventory_value": "avg inventory value",
    "inventory_turnover": "turnover",
    "gap_total": "gap total",
    "gap_operating": "gap operating",
}


@dataclass
class _Rolling:
    """One rolling policy's state: stock on hand and receipts by window week (past the window too)."""

    on_hand: np.ndarray  # [S]
    receipts: np.ndarray  # [S, K + max L]
    orders: np.ndarray  # [S, K], committed
    origins: list[dict] = field(default_factory=list)


@dataclass(frozen=True)
class BacktestResult:
    """The backtest of a scenario.

    ``summary``: one row per policy (module docstring); ``weekly``: the simulator's weekly frame
    per policy; ``origins``: one row per policy and origin (plan status, objective, bound, gap,
    seconds, order lines and value committed, note); ``orders``: committed order lines
    (``policy, sku, supplier, order_week, arrival_week, units, value``).
    """

    prepared: Prepared
    spec: BacktestSpec
    window: PlanningData
    summary: pd.DataFrame
    weekly: pd.DataFrame
    origins: pd.DataFrame
    orders: pd.DataFrame
    simulations: dict[str, SimulationResult]
    timings: dict[str, float]

    def table(self) -> pd.DataFrame:
        """The policy table for screens: one row per policy, columns labelled (:data:`TABLE`)."""
        cols = [c for c in TABLE if c in self.summary.columns]
        return self.summary[cols].rename(columns=TABLE)


def run_backtest(
    scenario_path: Path | str,
    step: Step = quiet,
    *,
    origins: int | None = None,
    policies: Sequence[str] | None = None,
    refit_every: int | None = None,
    time_limit_s: float | None = None,
    compute: Compute | None = None,
) -> BacktestResult:
    """Backtest the scenario's policies over its last weeks of history (module docstring).

    ``origins``, ``policies``, ``refit_every`` and ``time_limit_s`` override the scenario's
    ``backtest`` block. The forecasts of all origins are made first; then every policy is an
    independent task of ``compute`` (in this process by default).
    """
    started = time.perf_counter()
    prep = prepare(scenario_path, step)
    given = {
        "origins": origins,
        "policies": policies,
        "refit_every": refit_every,
        "time_limit_s": time_limit_s,
    }
    spec = _settings(prep, {k: v for k, v in given.items() if v is not None})
    _check_supported(prep)
    weeks = backtest_weeks(prep, spec.origins)
    actual = actual_demand(prep.history, list(prep.items.index), weeks)
    window = _window_data(prep, weeks, actual)
    names = policy_names(spec)
    rolling = [p for p in names if p != PERFECT]
    origins_in = _origin_forecasts(prep, spec, weeks, step) if rolling else []
    delays = _delays(window, prep.scenario.solver.seed)
    task = _PolicyTask(prep, spec, weeks, actual, window, tuple(origins_in), delays)
    n = len(names)
    done = (compute or Compute()).map(
        task, names, lambda i, name: lambda msg: step(f"[{i + 1}/{n}] {name}: {msg}")
    )
    states = dict(zip(names, done, strict=True))
    orders = {p: states[p].orders for p in names}
    simulations = {
        p: simulate(window, orders[p], actual, unmet_demand="lost_sales", delays=delays) for p in names
    }
    summary = _summary(window, orders, simulations, states)
    summary.insert(
        summary.columns.get_loc("fill_rate") + 1,
        "fill_vs_target",
        summary["fill_rate"] - prep.scenario.service_level,
    )
    weekly = pd.concat(
        [sim.weekly.assign(policy=p)[["policy", *sim.weekly.columns]] for p, sim in simulations.items()],
        ignore_index=True,
    )
    origin_rows = pd.DataFrame([row for p in names for row in states[p].origins])
    timings = {**prep.timings, "backtest": time.perf_counter() - started}
    return BacktestResult(
        prep, spec, window, summary, weekly, origin_rows, _order_lines(window, orders), simulations, timings
    )


def _settings(prep: Prepared, overrides: dict) -> BacktestSpec:
    """The scenario's ``backtest`` block with command-line overrides, validated."""
    try:
        return BacktestSpec.model_validate({**prep.scenario.backtest.model_dump(), **overrides})
    except ValidationError as exc:
        where = str(prep.source)
        problems = validation_problems(
            exc,
            BacktestSpec,
            lambda loc: "command line" if loc and loc[0] in overrides else where,
            "docs/scenarios.md",
        )
        raise ScenarioError([replace(p, key=f"backtest.{p.key}") if p.key else p for p in problems]) from None


def backtest_weeks(prep: Prepared, n_origins: int) -> pd.DatetimeIndex:
    """The last ``n_origins`` history weeks before the plan start (the origins), ascending."""
    hist_weeks = pd.DatetimeIndex(sorted(prep.history["week"].unique()))
    if len(hist_weeks) < n_origins + MIN_TRAINING_WEEKS:
        raise ScenarioError(
            [
                Problem(
                    str(prep.source),
                    f"{n_origins} origins leave {len(hist_weeks) - n_origins} weeks of history to train on "
                    f"(the history has {len(hist_weeks)} weeks before the plan start)",
                    f"use at most {max(len(hist_weeks) - MIN_TRAINING_WEEKS, 0)} origins",
                    key="backtest.origins",
                )
            ]
        )
    last = hist_weeks[-1]
    return pd.date_range(last - (n_origins - 1) * WEEK, periods=n_origins, freq="7D")


def actual_demand(history: pd.DataFrame, skus: list[str], weeks: pd.DatetimeIndex) -> np.ndarray:
    """Units sold ``[S, K]`` per SKU and week (0 before a SKU's history starts)."""
    rows = history[history["week"].isin(weeks)]
    wide = rows.pivot_table(index="sku", columns="week", values="units", aggfunc="sum")
    return wide.reindex(index=skus, columns=weeks).fillna(0.0).to_numpy(dtype=float)


def _check_supported(prep: Prepared) -> None:
    sc = prep.scenario
    problems = [
        Problem(
            str(prep.source),
            "per-week values are dated from the plan start, not from the backtest's origins",
            f"give one number for {key} to backtest this scenario",
            key=key,
        )
        for key in ("storage_capacity", "budget_per_week")
        if isinstance(getattr(sc, key), list)
    ]
    if sc.simulation.unmet_demand != "lost_sales":
        problems.append(
            Problem(
                str(prep.source),
                "the backtest replays lost sales only (the planner's basis)",
                "set simulation.unmet_demand: lost_sales, or leave it out",
                key="simulation.unmet_demand",
            )
        )
    if problems:
        raise ScenarioError(problems)
    if sc.forecast.load is not None:
        log.warning("backtest: forecast.load is ignored; the forecaster is trained before every origin")


def _at(prep: Prepared, origin: pd.Timestamp, on_hand: np.ndarray, open_orders: pd.DataFrame) -> Prepared:
    """``prep`` moved to ``origin``: history before it, H plan weeks from it, the given stock."""
    ds = replace(
        prep.dataset,
        on_hand=pd.Series(on_hand, index=prep.items.index, name="on_hand"),
        open_orders=open_orders,
    )
    forecast_spec = prep.scenario.forecast.model_copy(update={"load": None})
    return replace(
        prep,
        scenario=prep.scenario.model_copy(update={"forecast": forecast_spec}),
        dataset=ds,
        plan_start=origin,
        weeks=pd.date_range(origin, periods=prep.scenario.horizon_weeks, freq="7D"),
        history=prep.dataset.history[prep.dataset.history["week"] < origin],
        timings={},
    )


def _window_data(prep: Prepared, weeks: pd.DatetimeIndex, actual: np.ndarray) -> PlanningData:
    """The window as a plan with deterministic demand = the actual demand (scoring, perfect foresight)."""
    levels = sorted({*prep.scenario.forecast.quantiles, prep.scenario.storage_quantile})
    forecast = Forecast.from_paths(
        list(prep.items.index),
        weeks,
        levels,
        actual[:, None, :],
        "actual demand",
        mean=actual,
        quantiles=np.repeat(actual[:, :, None], len(levels), axis=2),
    )
    at = _at(
        prep, weeks[0], prep.dataset.on_hand.reindex(prep.items.index).fillna(0.0).to_numpy(), _no_orders()
    )
    at = replace(at, scenario=at.scenario.model_copy(update={"horizon_weeks": len(weeks)}), weeks=weeks)
    return planning_data(at, forecast)


def _no_orders() -> pd.DataFrame:
    return pd.DataFrame(
        {"sku": pd.Series(dtype=str), "week": pd.Series(dtype="datetime64[ns]"), "units": 0.0}
    )


def _start(window: PlanningData) -> _Rolling:
    s, k = window.n_skus, window.horizon
    return _Rolling(
        window.on_hand.astype(float).copy(),
        np.zeros((s, k + int(window.lead_time.max()) + 1 + _latest(window))),
        np.zeros((s, k)),
    )


def _origin_forecasts(
    prep: Prepared, spec: BacktestSpec, weeks: pd.DatetimeIndex, step: Step
) -> list[tuple[Prepared, Forecast]]:
    """Per origin, the scenario moved there (no stock yet) and its forecast from the history before it.

    Forecasts do not depend on the policies, so every policy plans on the same ones.
    """
    model: Forecaster | None = None
    out = []
    for k, origin in enumerate(weeks):
        base = _at(prep, origin, np.zeros(len(prep.items)), _no_orders())
        if model is None or k % spec.refit_every == 0:
            step(f"origin {k + 1}/{len(weeks)} ({origin.date()}): training the forecaster")
            model = fit_forecaster(base, quiet)
        else:
            model = update_forecaster(base, model)
        out.append((base, make_forecast(base, quiet, model=model)))
    return out


@dataclass(frozen=True)
class _PolicyTask:
    """One policy through the whole backtest (a picklable task): rolled over the origins, or perfect
    foresight planned once on the window."""

    prep: Prepared
    spec: BacktestSpec
    weeks: pd.DatetimeIndex
    actual: np.ndarray
    window: PlanningData
    origins: tuple[tuple[Prepared, Forecast], ...]
    delays: np.ndarray  # [S, K, 1] weeks each committed order arrives late (or early)

    def __call__(self, name: str, step: Step) -> _Rolling:
        if name == PERFECT:
            step("planning with perfect foresight")
            orders, row = _perfect_foresight(self.prep, self.window)
            return _Rolling(self.window.on_hand, np.zeros(0), orders, [row])
        return self._roll(name, step)

    def _roll(self, name: str, step: Step) -> _Rolling:
        """Step the rolling policy ``name`` through the origins (module docstring)."""
        solver = self.prep.scenario.solver
        if self.spec.time_limit_s is not None:
            solver = solver.model_copy(update={"time_limit_s": self.spec.time_limit_s})
        skus = list(self.prep.items.index)
        state = _start(self.window)
        for k, (base, forecast) in enumerate(self.origins):
            origin = self.weeks[k]
            step(f"origin {k + 1}/{len(self.weeks)} ({origin.date()})")
            stock = {
                "on_hand": _series(self.prep, state.on_hand),
                "open_orders": _pipeline(state, self.weeks, k, skus),
            }
            at = replace(base, dataset=replace(base.dataset, **stock))
            data = planning_data(at, forecast, name)
            t0 = time.perf_counter()
            result, note = _first_week(
                name, data, partial(self._plan, name, history=at.history, solver=solver)
            )
            _commit(state, data, k, result.orders[:, 0], self.delays[:, k, 0])
            state.origins.append(_origin_row(name, origin, result, data, time.perf_counter() - t0, note))
            _replay_week(state, k, self.actual[:, k])
        return state

    def _plan(
        self, name: str, data: PlanningData, *, history: pd.DataFrame, solver: SolverSpec
    ) -> PolicyResult:
        """Policy ``name``'s plan of ``data`` (the history before the origin feeds the policies that
        plan on past demand alone)."""
        skus = list(self.prep.items.index)
        if name == "base_stock":
            window = self.spec.base_stock_window
            levels = empirical_order_up_to(history, skus, data.lead_time, data.service_level, window)
            return plan_base_stock(data, levels)
        if name in textbook_names(self.spec):
            mu, sigma = demand_moments_from_history(history, skus, self.spec.base_stock_window)
            return plan_textbook(data, mu, sigma, textbook_names(self.spec)[name])
        return run_policy(name, data, solver)


def textbook_names(spec: BacktestSpec) -> dict[str, float]:
    """The textbook policy's runs, one per safety factor: ``textbook_z1.645`` -> 1.645."""
    if "textbook" not in spec.policies:
        return {}
    return {f"textbook_z{z:g}": z for z in spec.textbook_z}


def policy_names(spec: BacktestSpec) -> list[str]:
    """The policies as run: ``textbook`` becomes one run per ``textbook_z``."""
    out: list[str] = []
    for p in spec.policies:
        out.extend(textbook_names(spec) if p == "textbook" else [p])
    return out


def _series(prep: Prepared, values: np.ndarray) -> pd.Series:
    return pd.Series(values, index=prep.items.index, name="on_hand")


def _pipeline(state: _Rolling, weeks: pd.DatetimeIndex, k: int, skus: list[str]) -> pd.DataFrame:
    """Orders committed before origin ``k`` that arrive in week k or later, as open orders."""
    s_idx, j_idx = np.nonzero(state.receipts[:, k:])
    return pd.DataFrame(
        {
            "sku": np.asarray(skus, dtype=object)[s_idx],
            "week": weeks[0] + pd.to_timedelta(7 * (j_idx + k), unit="D"),
            "units": state.receipts[s_idx, j_idx + k],
        }
    )


def _first_week(
    name: str, data: PlanningData, plan: Callable[[PlanningData], PolicyResult]
) -> tuple[PolicyResult | _NoPlan, str]:
    """The policy's plan at this origin; no orders (with the reason) when no plan can be made."""
    try:
        return plan(data), ""
    except InfeasibleError as exc:
        log.warning("backtest: %s orders nothing in %s: %s", name, data.weeks[0].date(), exc)
        return _NoPlan(np.zeros((data.n_skus, data.horizon))), str(exc)


@dataclass(frozen=True)
class _NoPlan:
    orders: np.ndarray
    status: str = "infeasible"
    objective: float | None = None
    bound: float | None = None
    gap: float | None = None


def _commit(state: _Rolling, data: PlanningData, k: int, first: np.ndarray, delay: np.ndarray) -> None:
    """Commit origin k's orders; each arrives ``L_s + delay_s`` weeks later (not before week k)."""
    state.orders[:, k] = first
    arrive = np.maximum(k + data.lead_time + delay, k)
    inside = arrive < state.receipts.shape[1]
    np.add.at(state.receipts, (np.flatnonzero(inside), arrive[inside]), first[inside])


def _latest(window: PlanningData) -> int:
    """The most weeks a delivery can be late (four standard deviations)."""
    sd = (
        0.0
        if window.lead_time_sd is None or not len(window.lead_time_sd)
        else float(window.lead_time_sd.max())
    )
    return int(np.ceil(4 * sd))


def _delays(window: PlanningData, seed: int) -> np.ndarray:
    """Weeks every order committed at an origin arrives late or early ``[S, K, 1]``, drawn once per
    backtest from its suppliers' lead-time deviations (zeros where there are none)."""
    sd = np.zeros(window.n_skus) if window.lead_time_sd is None else window.lead_time_sd
    return draw_delays(sd, window.lead_time, (window.horizon, 1), np.random.default_rng(seed))


def _replay_week(state: _Rolling, k: int, demand: np.ndarray) -> None:
    """Receipts arrive at the start of the week; unmet demand is lost."""
    state.on_hand = np.maximum(0.0, state.on_hand + state.receipts[:, k] - demand)


def _origin_row(
    name: str, origin: pd.Timestamp, result, data: PlanningData, seconds: float, note: str
) -> dict:
    first = result.orders[:, 0]
    return {
        "policy": name,
        "origin": origin.date().isoformat(),
        "status": str(result.status),
        "objective": result.objective,
        "bound": result.bound,
        "gap": result.gap,
        "seconds": seconds,
        "lines": int((first > 0).sum()),
        "units": float(first.sum()),
        "value": float(data.unit_cost @ first),
        "note": note,
    }


def _perfect_foresight(prep: Prepared, window: PlanningData) -> tuple[np.ndarray, dict]:
    t0 = time.perf_counter()
    try:
        result = run_policy("optimizer", window, prep.scenario.solver)
        note = ""
    except InfeasibleError as exc:
        result, note = _NoPlan(np.zeros((window.n_skus, window.horizon))), str(exc)
    row = _origin_row(PERFECT, window.weeks[0], result, window, time.perf_counter() - t0, note)
    row.update(lines=int((result.orders > 0).sum()), units=float(result.orders.sum()))
    row["value"] = float((window.unit_cost[:, None] * result.orders).sum())
    return result.orders, row


def _summary(
    window: PlanningData,
    orders: dict[str, np.ndarray],
    simulations: dict[str, SimulationResult],
    states: dict[str, _Rolling],
) -> pd.DataFrame:
    rows = []
    opening = float(window.unit_cost @ window.on_hand)
    for p, sim in simulations.items():
        kpi = sim.paths.iloc[0]
        end_stock = _end_stock(window, orders[p], sim)
        closing = float(window.unit_cost @ end_stock)
        operating = float(kpi["ordering_cost"] + kpi["holding_cost"] + kpi["shortage_cost"])
        row = {"policy": p, **{k: float(kpi[k]) for k in SUMMARY_KPIS}}
        row.update(
            opening_stock_value=opening,
            closing_stock_value=closing,
            operating_cost=operating,
            total_cost=float(kpi["purchase_cost"]) - (closing - opening) + operating,
            plan_seconds=float(sum(r["seconds"] for r in states[p].origins)),
        )
        rows.append(row)
    frame = pd.DataFrame(rows)
    if PERFECT in orders:
        pf = frame.set_index("policy").loc[PERFECT]
        frame["gap_total"] = frame["total_cost"] / pf["total_cost"] - 1.0
        frame["gap_operating"] = frame["operating_cost"] / pf["operating_cost"] - 1.0
    return frame


def _end_stock(window: PlanningData, orders: np.ndarray, sim: SimulationResult) -> np.ndarray:
    """Units per SKU on hand at the end of the window plus units ordered and not yet arrived."""
    served = sim.per_sku["served"].to_numpy(dtype=float)
    return window.on_hand + window.open_arrivals.sum(axis=1) + orders.sum(axis=1) - served


def _order_lines(window: PlanningData, orders: dict[str, np.ndarray]) -> pd.DataFrame:
    frames = []
    for p, x in orders.items():
        s_idx, t_idx = np.nonzero(x > 0)
        units = x[s_idx, t_idx]
        frames.append(
            pd.DataFrame(
                {
                    "policy": p,
                    "sku": np.asarray(window.skus, dtype=object)[s_idx],
                    "supplier": np.asarray(window.suppliers, dtype=object)[window.supplier_idx[s_idx]],
                    "order_week": window.weeks[t_idx].strftime("%Y-%m-%d"),
                    "arrival_week": (
                        window.weeks[t_idx] + pd.to_timedelta(7 * window.lead_time[s_idx], unit="D")
                    ).strftime("%Y-%m-%d"),
                    "units": units,
                    "value": units * window.unit_cost[s_idx],
                }
            )
        )
    return pd.concat(frames, ignore_index=True)
