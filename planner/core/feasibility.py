"""Diagnose scenarios no plan can satisfy, before any policy runs.

Each check names the constraint, the week(s) and the SKU(s) involved and says how to fix it.
Shortfalls that only some SKUs suffer are not infeasibility: plans report them.
"""

from __future__ import annotations

import numpy as np

from planner.base.errors import InfeasibleError
from planner.core.accounting import cautious_stock, storage_volume
from planner.core.problem import PlanningData

TOL = 1e-6


def check_feasible(data: PlanningData) -> None:
    """Run every check; raise :class:`InfeasibleError` on the first that fails."""
    check_capacity_feasible(data)
    check_budget_feasible(data)


def check_capacity_feasible(data: PlanningData) -> None:
    """Raise :class:`InfeasibleError` when stock on hand and open orders alone exceed storage."""
    if data.capacity is None:
        return
    volume = storage_volume(data, data.open_arrivals)
    over = np.flatnonzero(volume > data.capacity * (1 + TOL) + TOL)
    if over.size == 0:
        return
    stock = cautious_stock(data, data.open_arrivals) * data.unit_volume[:, None]
    t = int(over[np.argmax(volume[over] - data.capacity[over])])
    top = np.argsort(-stock[:, t])[:5]
    who = ", ".join(f"{data.skus[s]} ({stock[s, t]:.3g})" for s in top if stock[s, t] > 0)
    weeks = ", ".join(str(data.weeks[i].date()) for i in over[:6]) + (" ..." if over.size > 6 else "")
    raise InfeasibleError(
        f"storage capacity is exceeded before any new order in {over.size} week(s): {weeks}. "
        f"Worst week {data.weeks[t].date()}: stock on hand and open orders need {volume[t]:.4g} "
        f"(at the slow-sales {data.storage_quantile:g} demand quantile) against storage_capacity "
        f"{data.capacity[t]:.4g}; largest volumes: {who}. Fix: raise storage_capacity for those weeks, "
        "or move or cancel open orders."
    )


def check_budget_feasible(data: PlanningData) -> None:
    """Raise when the weekly budget is below the smallest order of every SKU that needs one.

    A SKU needs an order when its service target exceeds stock plus open orders in some week it can
    still receive one (t >= L_s); its smallest order costs c_s * MOQ (whole packs).
    """
    if data.budget is None:
        return
    base = data.on_hand[:, None] + np.cumsum(data.open_arrivals, axis=1)
    weeks = np.arange(data.horizon)[None, :]
    reachable = weeks >= data.lead_time[:, None]
    needs = ((data.target_cum - base > TOL) & reachable).any(axis=1)
    if not needs.any():
        return
    smallest = data.unit_cost * data.min_units
    order_weeks = weeks + data.lead_time[:, None] < data.horizon
    best_budget = np.where(order_weeks, data.budget[None, :], -np.inf).max(axis=1)
    affordable = smallest <= best_budget + TOL
    if affordable[needs].any():
        return
    idx = np.flatnonzero(needs)[np.argsort(smallest[needs])][:5]
    who = ", ".join(
        f"{data.skus[s]} ({smallest[s]:.2f} = {data.min_units[s]:g} units x {data.unit_cost[s]:.2f})"
        for s in idx
    )
    raise InfeasibleError(
        f"budget_per_week (at most {float(data.budget.max()):.2f} in any week) is below the smallest order "
        f"of every SKU that needs one ({int(needs.sum())} SKUs); cheapest: {who}. Fix: raise budget_per_week "
        "or lower the MOQs (items.csv or the scenario's items changes)."
    )
