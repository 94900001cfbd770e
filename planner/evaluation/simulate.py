"""Replay a purchase plan week by week against demand paths and measure cost and service.

The plan is fixed: orders ``x[s,t]`` (units, by order week) arrive at the start of
week ``t + L_s`` and serve that week's demand (orders landing after the horizon are
left out), on top of open orders ``O[s,t]`` and the starting stock ``I0_s``. Demand
comes from the forecast's sample paths ``[S, N, H]`` or from actual demand ``[S, H]``
(one path). Stock is stepped by :func:`planner.core.accounting.replay_weeks`, the same
core the planner's :func:`~planner.core.accounting.replay_paths` uses, so under lost
sales the simulator's mean holding and shortage costs are the planner's expected ones.

Unmet demand (``unmet_demand``):

- ``lost_sales``: demand not served in its week is lost; shortage cost ``b_s`` per
  unit lost (as in :func:`planner.core.accounting.cost_breakdown`).
- ``backorders``: it waits and is served first from later receipts; shortage cost
  ``b_s`` per unit backordered per week (units owed at the end of each week), so a
  unit served three weeks late costs ``3 b_s``. Units still owed at the end of the
  horizon are charged for the weeks they waited and reported as ``backlog_end_units``.

KPIs per path (columns of :attr:`SimulationResult.paths`):

- costs: ``purchase_cost`` sum c_s x[s,t] (all orders, also those landing after the
  horizon), ``ordering_cost`` sum K_p z[p,t] + sum k_s y[s,t], ``holding_cost``
  sum h_s * end-of-week stock, ``shortage_cost`` (above), ``total_cost``;
- ``fill_rate``: units of demand served in the week they were demanded / units demanded,
  over all SKUs (1 when there is no demand); backorders filled later do not count;
- ``cycle_service``: share of the SKU-weeks with demand whose demand was met in full in the
  week (1 when there is no demand), ``stockout_weeks``: SKU-weeks with unmet demand (> 1e-9
  units);
- ``avg_inventory_value``: mean over weeks of sum_s c_s * end-of-week stock;
- ``inventory_turnover``: annualised, (cost of goods shipped x 52 / H) / avg_inventory_value,
  with cost of goods shipped ``cogs`` = sum c_s * units leaving stock (backorders included);
  NaN when no stock is held;
- storage: physical stock after receipts ``sum_s v_s * avail[s,t]`` (not the planner's
  cautious basis); ``peak_storage``, ``mean_storage``; against ``Cap_t``:
  ``overflow_weeks`` (weeks above capacity) and ``overflow_volume`` (sum of the excess).

:attr:`SimulationResult.summary` holds their mean and 10/50/90th percentiles across paths
(``numpy.percentile``, linear; NaN paths left out).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal, get_args

import numpy as np
import pandas as pd

from planner.base.errors import Problem, ScenarioError
from planner.core.accounting import (
    OVERFLOW_TOL,
    STOCKOUT_TOL,
    arrivals,
    order_costs,
    replay_weeks,
    storage_excess,
)
from planner.core.leadtime import delayed_receipts, draw_delays
from planner.core.problem import WEEKS_PER_YEAR, PlanningData
from planner.inputs.data import load_actuals
from planner.inputs.location import PathOrURL
from planner.inputs.scenario import Scenario
from planner.run.planning import PlanRun, plan_prepared
from planner.run.prepare import Step, prepare, quiet

__all__ = [
    "KPIS",
    "SimulationResult",
    "SimulationRun",
    "UnmetDemand",
    "run_simulation",
    "simulate",
    "simulate_plan",
]

log = logging.getLogger(__name__)

UnmetDemand = Literal["lost_sales", "backorders"]
PERCENTILES = (10, 50, 90)
MAX_CHUNK_CELLS = 100_000  # SKU x path cells stepped at once: arrays of 0.8 MB stay in cache

KPIS = (
    "purchase_cost",
    "ordering_cost",
    "holding_cost",
    "shortage_cost",
    "total_cost",
    "demand_units",
    "served_units",
    "unmet_units",
    "fill_rate",
    "cycle_service",
    "stockout_weeks",
    "avg_inventory_value",
    "cogs",
    "inventory_turnover",
    "peak_storage",
    "mean_storage",
    "overflow_weeks",
    "overflow_volume",
    "backlog_end_units",
)

# per week and path [H, N], summed over SKUs
_WEEKLY = (
    "demand",
    "served_now",
    "unmet",
    "stockouts",
    "demand_weeks",
    "holding",
    "shortage",
    "inventory_value",
    "storage",
    "cogs",
    "backlog",
)
# per SKU [S], averaged over paths and summed over weeks (end_stock: mean over weeks)
_PER_SKU = ("demand", "served_now", "unmet", "stockouts", "end_stock", "holding", "shortage", "backlog_end")


@dataclass(frozen=True)
class SimulationResult:
    """Cost and service of a plan replayed against ``n_paths`` demand paths.

    ``paths``: one row per path (``path`` and the :data:`KPIS` columns);
    ``summary``: one row per KPI (``kpi, mean, p10, p50, p90``);
    ``weekly``: one row per week: ``spend`` (purchase value by order week), ``receipts_value``
    (mean over paths),
    mean ``demand``, ``served``, ``unmet``, ``backlog``, inventory value and storage use
    (mean, p10, p50, p90 across paths), ``capacity`` and ``overflow_share`` (share of paths
    above capacity);
    ``per_sku``: one row per SKU: expected ``demand``, ``served``, ``unmet``, ``fill_rate``,
    ``expected_stock`` (mean end-of-week stock), ``stockout_weeks``, ``holding_cost``,
    ``shortage_cost``, ``backlog_end``.
    """

    unmet_demand: UnmetDemand
    n_paths: int
    paths: pd.DataFrame
    summary: pd.DataFrame
    weekly: pd.DataFrame
    per_sku: pd.DataFrame

    def summary_dict(self) -> dict[str, dict[str, float | None]]:
        """The summary as ``{kpi: {mean, p10, p50, p90}}`` (NaN as None)."""
        return {
            row.kpi: {k: (None if np.isnan(v) else float(v)) for k, v in row._asdict().items() if k != "kpi"}
            for row in self.summary.itertuples(index=False)
        }


def simulate(
    data: PlanningData,
    orders: np.ndarray,
    demand: np.ndarray | None = None,
    *,
    unmet_demand: UnmetDemand = "lost_sales",
    max_chunk_cells: int = MAX_CHUNK_CELLS,
    delays: np.ndarray | None = None,
    seed: int = 0,
) -> SimulationResult:
    """Replay ``orders`` ``[S, H]`` against demand and return per-path KPIs and their summaries.

    ``demand``: ``None`` for the forecast's sample paths ``data.forecast.paths`` ``[S, N, H]``,
    an array ``[S, N, H]`` of paths, or actual demand ``[S, H]`` (one path). SKUs are stepped
    in chunks of at most ``max_chunk_cells`` SKU-path cells, so memory stays at a few
    arrays of that size whatever the number of SKUs.

    Deliveries: on time, unless the SKU's supplier has a lead-time deviation (``data.lead_time_sd``):
    then every order line arrives ``delays[s, t, n]`` weeks late (or early) on path n, drawn from a
    generator seeded with ``seed`` unless given (:mod:`planner.core.leadtime`).
    """
    if unmet_demand not in get_args(UnmetDemand):
        raise ValueError(f"unmet_demand must be one of {get_args(UnmetDemand)}, got {unmet_demand!r}")
    s_count, h = data.n_skus, data.horizon
    paths = data.forecast.paths if demand is None else np.asarray(demand)
    if paths.ndim == 2:
        paths = paths[:, None, :]
    if paths.shape[0] != s_count or paths.shape[2] != h or orders.shape != (s_count, h):
        raise ValueError(
            f"shapes disagree: {s_count} SKUs x {h} weeks, orders {orders.shape}, demand {paths.shape}"
        )
    n = paths.shape[1]
    receipts = arrivals(data, orders)  # [S, H]
    sd = data.lead_time_sd
    if delays is None and sd is not None and np.any(sd > 0):
        delays = draw_delays(sd, data.lead_time, (h, n), np.random.default_rng(seed))
    if delays is not None:
        delays = np.broadcast_to(delays.reshape(s_count, h, -1), (s_count, h, n))
        receipts = data.open_arrivals[:, None, :] + delayed_receipts(orders, data.lead_time, delays)
    weekly, per_sku = _replay(data, receipts, paths, unmet_demand == "backorders", max_chunk_cells)
    log.info("simulated %d SKUs x %d weeks x %d paths (%s)", s_count, h, n, unmet_demand)
    path_kpis = _path_kpis(data, orders, weekly)
    return SimulationResult(
        unmet_demand=unmet_demand,
        n_paths=n,
        paths=path_kpis,
        summary=_summarise(path_kpis),
        weekly=_weekly_frame(data, orders, receipts, weekly),
        per_sku=_sku_frame(data, per_sku),
    )


def _replay(
    data: PlanningData, receipts: np.ndarray, paths: np.ndarray, backorders: bool, max_chunk_cells: int
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Step every SKU chunk through the weeks; accumulate ``[H, N]`` and per-SKU ``[S]`` totals."""
    s_count, n, h = paths.shape
    weekly = {k: np.zeros((h, n)) for k in _WEEKLY}
    per_sku = {k: np.zeros(s_count) for k in _PER_SKU}
    chunk = max(1, max_chunk_cells // n)
    for lo in range(0, s_count, chunk):
        sl = slice(lo, min(s_count, lo + chunk))
        c, hc, bc, vc = (
            data.unit_cost[sl],
            data.holding_cost[sl],
            data.shortage_cost[sl],
            data.unit_volume[sl],
        )
        flows = replay_weeks(data.on_hand[sl], receipts[sl], paths[sl], backorders)
        for t, w in enumerate(flows):  # every array [S_chunk, N]
            charged = w.backlog if backorders else w.unmet  # units charged b_s this week
            stockout = w.unmet > STOCKOUT_TOL
            weekly["demand"][t] += w.demand.sum(axis=0, dtype=np.float64)
            weekly["served_now"][t] += w.served_now.sum(axis=0)
            weekly["unmet"][t] += w.unmet.sum(axis=0)
            weekly["stockouts"][t] += stockout.sum(axis=0)
            weekly["demand_weeks"][t] += (w.demand > STOCKOUT_TOL).sum(axis=0)
            weekly["holding"][t] += hc @ w.end_stock
            weekly["shortage"][t] += bc @ charged
            weekly["inventory_value"][t] += c @ w.end_stock
            weekly["storage"][t] += vc @ w.available
            weekly["cogs"][t] += c @ w.shipped
            weekly["backlog"][t] += w.backlog.sum(axis=0)
            per_sku["demand"][sl] += w.demand.mean(axis=1, dtype=np.float64)
            per_sku["served_now"][sl] += w.served_now.mean(axis=1)
            per_sku["unmet"][sl] += w.unmet.mean(axis=1)
            per_sku["stockouts"][sl] += stockout.mean(axis=1)
            per_sku["end_stock"][sl] += w.end_stock.mean(axis=1) / h
            per_sku["holding"][sl] += hc * w.end_stock.mean(axis=1)
            per_sku["shortage"][sl] += bc * charged.mean(axis=1)
            if t == h - 1:
                per_sku["backlog_end"][sl] = w.backlog.mean(axis=1)
    return weekly, per_sku


def _ratio(num: np.ndarray, den: np.ndarray, empty: float) -> np.ndarray:
    """``num / den`` elementwise, ``empty`` where ``den`` is 0."""
    out = np.full(np.shape(num), empty, dtype=float)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _path_kpis(data: PlanningData, orders: np.ndarray, weekly: dict[str, np.ndarray]) -> pd.DataFrame:
    h, n = weekly["demand"].shape
    fixed = order_costs(data, orders)
    total = {k: v.sum(axis=0) for k, v in weekly.items()}  # [N]
    avg_value = weekly["inventory_value"].mean(axis=0)
    excess = storage_excess(data, weekly["storage"])
    kpis = {
        "purchase_cost": np.full(n, fixed["purchase"]),
        "ordering_cost": np.full(n, fixed["ordering"]),
        "holding_cost": total["holding"],
        "shortage_cost": total["shortage"],
    }
    kpis["total_cost"] = sum(kpis.values())
    kpis.update(
        demand_units=total["demand"],
        served_units=total["served_now"],
        unmet_units=total["unmet"],
        fill_rate=_ratio(total["served_now"], total["demand"], 1.0),
        cycle_service=1.0 - _ratio(total["stockouts"], total["demand_weeks"], 0.0),
        stockout_weeks=total["stockouts"],
        avg_inventory_value=avg_value,
        cogs=total["cogs"],
        inventory_turnover=_ratio(total["cogs"] * WEEKS_PER_YEAR / h, avg_value, np.nan),
        peak_storage=weekly["storage"].max(axis=0),
        mean_storage=weekly["storage"].mean(axis=0),
        overflow_weeks=(excess > OVERFLOW_TOL).sum(axis=0).astype(float),
        overflow_volume=excess.sum(axis=0),
        backlog_end_units=weekly["backlog"][-1],
    )
    frame = pd.DataFrame({"path": np.arange(n), **{k: kpis[k] for k in KPIS}})
    return frame


def _stats(values: np.ndarray) -> list[float]:
    """Mean and the :data:`PERCENTILES` of the finite values (NaN if there are none)."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return [np.nan] * (1 + len(PERCENTILES))
    return [float(finite.mean()), *np.percentile(finite, PERCENTILES).tolist()]


def _summarise(paths: pd.DataFrame) -> pd.DataFrame:
    rows = [[kpi, *_stats(paths[kpi].to_numpy(dtype=float))] for kpi in KPIS]
    return pd.DataFrame(rows, columns=["kpi", "mean", *(f"p{p}" for p in PERCENTILES)])


def _weekly_frame(
    data: PlanningData, orders: np.ndarray, receipts: np.ndarray, weekly: dict[str, np.ndarray]
) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "week": data.weeks.strftime("%Y-%m-%d"),
            "spend": data.unit_cost @ orders,
            "receipts_value": data.unit_cost @ (receipts.mean(axis=1) if receipts.ndim == 3 else receipts),
            "demand": weekly["demand"].mean(axis=1),
            "served": weekly["served_now"].mean(axis=1),
            "unmet": weekly["unmet"].mean(axis=1),
            "backlog": weekly["backlog"].mean(axis=1),
        }
    )
    for name in ("inventory_value", "storage"):
        values = weekly[name]  # [H, N]
        frame[f"{name}_mean"] = values.mean(axis=1)
        for p, q in zip(PERCENTILES, np.percentile(values, PERCENTILES, axis=1), strict=True):
            frame[f"{name}_p{p}"] = q
    frame["capacity"] = np.nan if data.capacity is None else data.capacity
    frame["overflow_share"] = (storage_excess(data, weekly["storage"]) > OVERFLOW_TOL).mean(axis=1)
    return frame


def _sku_frame(data: PlanningData, per_sku: dict[str, np.ndarray]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "sku": data.skus,
            "supplier": np.asarray(data.suppliers, dtype=object)[data.supplier_idx],
            "demand": per_sku["demand"],
            "served": per_sku["served_now"],
            "unmet": per_sku["unmet"],
            "fill_rate": _ratio(per_sku["served_now"], per_sku["demand"], 1.0),
            "expected_stock": per_sku["end_stock"],
            "stockout_weeks": per_sku["stockouts"],
            "holding_cost": per_sku["holding"],
            "shortage_cost": per_sku["shortage"],
            "backlog_end": per_sku["backlog_end"],
        }
    )


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
