"""Shape a plan into the tables users receive (purchase plan, projection, summary)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecast.base import quantile_column
from planner.core.accounting import (
    OVERFLOW_TOL,
    STOCKOUT_TOL,
    PathOutcome,
    cautious_stock,
    cost_breakdown,
    cumulative_supply,
    mean_projection,
    order_events,
    storage_excess,
    storage_volume,
)
from planner.core.problem import PlanningData
from planner.core.results import PolicyResult

PLAN_COLUMNS = ["order_week", "sku", "supplier", "units", "packs", "arrival_week", "unit_cost", "order_value"]


def _iso(weeks: pd.DatetimeIndex | pd.Series) -> np.ndarray:
    return np.asarray(pd.DatetimeIndex(weeks).strftime("%Y-%m-%d"))


def purchase_plan(data: PlanningData, orders: np.ndarray) -> pd.DataFrame:
    """One row per order line, sorted by order week and SKU."""
    s, t = np.nonzero(orders > 0)
    order = np.lexsort((s, t))
    s, t = s[order], t[order]
    units = orders[s, t]
    arrival = data.weeks[0] + pd.to_timedelta(7 * (t + data.lead_time[s]), unit="D")
    frame = pd.DataFrame(
        {
            "order_week": _iso(data.weeks[t]),
            "sku": np.asarray(data.skus, dtype=object)[s],
            "supplier": np.asarray(data.suppliers, dtype=object)[data.supplier_idx[s]],
            "units": units.round().astype(np.int64),
            "packs": np.round(units / data.pack[s]).astype(np.int64),
            "arrival_week": _iso(arrival),
            "unit_cost": data.unit_cost[s].round(4),
            "order_value": (units * data.unit_cost[s]).round(2),
        }
    )
    return frame[PLAN_COLUMNS]


def projection_frame(data: PlanningData, receipts: np.ndarray, outcome: PathOutcome) -> pd.DataFrame:
    """Per SKU and week: receipts, demand, planned stock on two bases, storage volume, expected shortage.

    ``on_hand_start``/``on_hand_end``: mean demand, lost sales (the basis the verifier checks).
    ``on_hand_start_cautious``/``volume``: the storage basis (slow sales, ``storage_quantile``).
    ``expected_end_stock``/``expected_short``/``stockout_prob``: averaged over the sample paths.
    ``cum_supply``/``cum_demand_target``: the service-level comparison I0 + sum A vs Q_{D[1..t]}(alpha).
    """
    s_count, h = data.n_skus, data.horizon
    start, end = mean_projection(data, receipts)
    cautious = cautious_stock(data, receipts)
    frame = pd.DataFrame(
        {
            "sku": np.repeat(data.skus, h),
            "week": np.tile(_iso(data.weeks), s_count),
            "horizon": np.tile(np.arange(1, h + 1), s_count),
            "arrivals": receipts.reshape(-1),
            "open_order_arrivals": data.open_arrivals.reshape(-1),
            "demand_mean": data.demand_mean.reshape(-1),
        }
    )
    fc = data.forecast
    for k, level in enumerate(fc.levels):
        frame[f"demand_{quantile_column(level)}"] = fc.quantiles[:, :, k].reshape(-1)
    frame["on_hand_start"] = start.reshape(-1)
    frame["on_hand_end"] = end.reshape(-1)
    frame["on_hand_start_cautious"] = cautious.reshape(-1)
    frame["volume"] = (cautious * data.unit_volume[:, None]).reshape(-1)
    frame["cum_supply"] = cumulative_supply(data, receipts).reshape(-1)
    frame["cum_demand_target"] = data.target_cum.reshape(-1)
    frame["expected_end_stock"] = outcome.end_stock.reshape(-1)
    frame["expected_short"] = outcome.short.reshape(-1)
    frame["stockout_prob"] = outcome.stockout_prob.reshape(-1)
    return frame


def _reachable_fill(data: PlanningData, outcome: PathOutcome) -> float:
    """Expected fill rate over the weeks a new order can reach (t >= L_s): what the target is on."""
    reach = np.arange(data.horizon)[None, :] >= data.lead_time[:, None]
    demand = float(outcome.demand[reach].sum())
    return 1.0 - float(outcome.short[reach].sum()) / demand if demand > 0 else 1.0


def _cycle_service(data: PlanningData, outcome: PathOutcome) -> float:
    """Expected share of SKU-weeks with demand whose demand is met in full (1 without demand)."""
    demand_weeks = float((data.forecast.paths > STOCKOUT_TOL).mean(axis=1).sum())
    return 1.0 - float(outcome.stockout_prob.sum()) / demand_weeks if demand_weeks > 0 else 1.0


def summary(
    data: PlanningData, result: PolicyResult, receipts: np.ndarray, outcome: PathOutcome, lines: pd.DataFrame
) -> dict:
    """Costs, service, storage and counts for ``summary.json``."""
    costs = cost_breakdown(data, result.orders, outcome)
    y, z = order_events(data, result.orders)
    volume = storage_volume(data, receipts)
    shortfall = np.maximum(0.0, data.target_cum - cumulative_supply(data, receipts))
    fixed = np.arange(data.horizon)[None, :] < data.lead_time[:, None]  # before any new order can land
    short_skus = np.flatnonzero((shortfall * ~fixed).max(axis=1) > 1e-6)
    short_before_lead = np.flatnonzero((shortfall * fixed).max(axis=1) > 1e-6)
    demand = outcome.demand.sum()
    storage = [
        {
            "week": str(w.date()),
            "volume": float(v),
            "capacity": None if data.capacity is None else float(data.capacity[t]),
            "utilisation": None
            if data.capacity is None or data.capacity[t] == 0
            else float(v / data.capacity[t]),
            **simulated,
        }
        for t, (w, v, simulated) in enumerate(
            zip(data.weeks, volume, _simulated_storage(data, outcome), strict=True)
        )
    ]
    spend = data.unit_cost @ result.orders
    return {
        "policy": result.policy,
        "status": str(result.status),
        "objective": result.objective,
        "bound": result.bound,
        "gap": result.gap,
        "horizon": {
            "start": str(data.weeks[0].date()),
            "end": str(data.weeks[-1].date()),
            "weeks": data.horizon,
        },
        "costs_expected": costs,
        "service": {
            "target_default": float(np.median(data.service_level)),
            "targets_by_sku_distinct": sorted({float(a) for a in data.service_level}),
            "expected_fill_rate": float(1.0 - outcome.short.sum() / demand) if demand > 0 else 1.0,
            "expected_fill_rate_reachable": _reachable_fill(data, outcome),
            "planning_levels": None
            if data.planning_level is None
            else {
                "min": float(np.min(data.planning_level)),
                "median": float(np.median(data.planning_level)),
                "max": float(np.max(data.planning_level)),
            },
            "expected_cycle_service": _cycle_service(data, outcome),
            "expected_lost_units": float(outcome.short.sum()),
            "sku_weeks_below_target": int(((shortfall > 1e-6) & ~fixed).sum()),
            "sku_weeks_below_target_unavoidable": int(((shortfall > 1e-6) & fixed).sum()),
            "skus_below_target": [data.skus[s] for s in short_skus[:50]],
            "skus_below_target_count": int(short_skus.size),
            "skus_below_target_unavoidable_count": int(short_before_lead.size),
            "note": "the service target is a fill rate over the weeks a new order can reach "
            "(expected_fill_rate_reachable); each SKU is planned on cumulative demand at its planning "
            "level (planner.core.service); 'below target' counts weeks where cumulative supply is under that "
            "quantile, 'unavoidable' those before the first possible arrival of a new order; fill rate "
            "and cycle service (weeks with demand met in full) replay the plan against the forecast's "
            "sample paths",
        },
        "storage": {
            "basis_quantile": data.storage_quantile,
            "weeks": storage,
            "binding_weeks": [
                s["week"] for s in storage if s["utilisation"] is not None and s["utilisation"] >= 0.99
            ],
            **_storage_risk(data, storage),
        },
        "spend_by_week": [
            {
                "week": str(w.date()),
                "spend": float(v),
                "budget": None if data.budget is None else float(data.budget[t]),
            }
            for t, (w, v) in enumerate(zip(data.weeks, spend, strict=True))
        ],
        "budget_binding_weeks": []
        if data.budget is None
        else [str(data.weeks[t].date()) for t in np.flatnonzero(spend >= 0.99 * data.budget)],
        "counts": {
            "skus": data.n_skus,
            "suppliers": len(data.suppliers),
            "order_lines": int(y.sum()),
            "purchase_orders": int(z.sum()),
            "skus_ordered": int(y.any(axis=1).sum()),
            "units_ordered": float(lines["units"].sum()),
        },
        "time_limit_cut": list(result.cut),
        "notes": result.notes[:100],
        "notes_count": len(result.notes),
    }


def _simulated_storage(data: PlanningData, outcome: PathOutcome) -> list[dict]:
    """Each week replayed on the forecast's paths with lost sales: the expected volume of stock after
    receipts and the probability that it exceeds capacity (None without paths or capacity)."""
    if outcome.storage is None:
        return [{"expected_volume": None, "overflow_probability": None}] * data.horizon
    over = (storage_excess(data, outcome.storage) > OVERFLOW_TOL).mean(axis=1)
    return [
        {
            "expected_volume": float(mean),
            "overflow_probability": None if data.capacity is None else float(p),
        }
        for mean, p in zip(outcome.storage.mean(axis=1), over, strict=True)
    ]


def _storage_risk(data: PlanningData, weeks: list[dict]) -> dict:
    """Headline of the simulated storage: the worst week's overflow probability, the weeks where it
    exceeds the storage quantile (the basis promises at most that), and the weeks whose expected
    stock after receipts is above capacity."""
    probs = [(w["overflow_probability"], w["week"]) for w in weeks if w["overflow_probability"] is not None]
    if not probs:
        return {
            "overflow_probability_max": None,
            "weeks_overflow_above_quantile": [],
            "weeks_expected_over": [],
        }
    return {
        "overflow_probability_max": max(p for p, _ in probs),
        "weeks_overflow_above_quantile": [w for p, w in probs if p > data.storage_quantile + 1e-9],
        "weeks_expected_over": [
            w["week"] for w in weeks if w["expected_volume"] > w["capacity"] * (1 + 1e-9) + OVERFLOW_TOL
        ],
    }
