"""Per-SKU schedules from the exact lot-sizing DP, and the plan filters every heuristic shares.

- :func:`lot_sizing_instance`: the per-SKU problems under Lagrangian prices (arrays by arrival week);
- :func:`order_weeks`: the DP's packs by arrival week as units by order week;
- :func:`least_stock_plan`: per SKU, the plan with the least shortfall and, among those, the least
  stock (exact per SKU; storage, budget and minimum order values ignored);
- :func:`without_short_orders` and :func:`feasible_or_none`: a plan without the lines of purchase
  orders below their minimum value; a plan only if it keeps every weekly limit.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from planner.core.accounting import short_purchase_orders
from planner.core.problem import PlanningData
from planner.core.verify import weekly_limit_violations
from planner.optimizer.lotsizing import LotSizingInstance, solve_in_groups
from planner.optimizer.model.params import ModelParams
from planner.optimizer.model.pricing import Prices


def lot_sizing_instance(data: PlanningData, prm: ModelParams, prices: Prices) -> LotSizingInstance:
    """The per-SKU DP under prices; arrays by arrival week a = t + L_s.

    Per unit ordered in week t: c_s (1 + mu_t - rho[p(s),t]); per line: k_s + pi[s,t].
    """
    lam, mu, pi, rho = prices.lam, prices.mu, prices.pi, prices.rho
    s_count, h = data.n_skus, data.horizon
    fixed = np.full((s_count, h), np.inf)
    unit = np.zeros((s_count, h))
    for s in range(s_count):
        lt = int(data.lead_time[s])
        if lt < h:
            fixed[s, lt:] = data.line_cost[s] + pi[s, : h - lt]
            unit[s, lt:] = data.unit_cost[s] * (1.0 + mu[: h - lt] - rho[data.supplier_idx[s], : h - lt])
    return LotSizingInstance(
        lead_time=data.lead_time.astype(np.int64),
        pack=data.pack,
        min_packs=np.round(data.min_units / data.pack),
        requirement=prm.requirement,
        holding=data.holding_cost,
        penalty=prm.penalty,
        fixed=fixed,
        unit=unit,
        volume=data.unit_volume,
        cautious_base=prm.cautious_base,
        cap_price=lam,
    )


def order_weeks(data: PlanningData, packs_by_arrival: np.ndarray) -> np.ndarray:
    """x[s,t] (units by order week) from packs by arrival week."""
    x = np.zeros(packs_by_arrival.shape)
    h = data.horizon
    for s in range(data.n_skus):
        lt = int(data.lead_time[s])
        if lt < h:
            x[s, : h - lt] = packs_by_arrival[s, lt:] * data.pack[s]
    return x


def least_stock_plan(data: PlanningData, prm: ModelParams) -> np.ndarray:
    """Per SKU, the plan that meets the targets with the least stock (budget and storage ignored).

    The DP with holding raised by P_s / (2 H) per unit-week: a unit held all horizon then costs less
    than one unit-week short, so stock is minimised among plans with the least shortfall.
    """
    inst = lot_sizing_instance(data, prm, Prices.zero(data))
    heavy = dataclasses.replace(inst, holding=data.holding_cost + prm.penalty / (2.0 * data.horizon))
    packs, _ = solve_in_groups(heavy)
    return order_weeks(data, packs)


def without_short_orders(data: PlanningData, x: np.ndarray) -> np.ndarray:
    """x without the lines of purchase orders below the supplier's minimum order value."""
    return np.where(short_purchase_orders(data, x)[data.supplier_idx], 0.0, x)


def feasible_or_none(data: PlanningData, x: np.ndarray) -> np.ndarray | None:
    """x if it meets storage, budget and minimum order values, else None."""
    return None if weekly_limit_violations(data, x) else x
