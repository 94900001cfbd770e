"""Order cycles: suppliers with a minimum order value ordered from every k-th week.

:func:`cycle_plan` returns a plan within every limit (or None) whose model cost is below the
least-stock plan's once short purchase orders are raised or dropped; :func:`fit_storage` puts SKUs
back to a plan that fits until storage holds.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from planner.core.accounting import short_purchase_orders
from planner.core.problem import PlanningData
from planner.optimizer.lotsizing import solve_in_groups
from planner.optimizer.model.objective import objective_terms
from planner.optimizer.model.params import ModelParams
from planner.optimizer.model.pricing import Prices
from planner.optimizer.repair import raise_short_orders, supplier_cost
from planner.optimizer.schedules import (
    feasible_or_none,
    lot_sizing_instance,
    order_weeks,
    without_short_orders,
)

ORDER_CYCLES = (2, 3, 4)  # weeks between a supplier's purchase orders in cycle plans


def cycle_plan(data: PlanningData, prm: ModelParams, least: np.ndarray) -> np.ndarray | None:
    """A plan that meets minimum order values by ordering from a supplier every k-th week.

    The least-stock plan orders every week it can, so small suppliers' purchase orders fall
    below their minimum value, and dropping them costs service. For every cycle (every k-th
    week from week o, k in ``ORDER_CYCLES``) the least-stock DP is solved with orders allowed
    only in the cycle's weeks. Starting from the least-stock plan, the best move (one supplier
    with a minimum order value takes one cycle's schedules; where that overflows storage, the
    SKUs adding most volume in the fullest week keep their schedules) is made while it lowers
    the model cost of the plan with short orders dropped. Returns the result with short orders
    raised (:mod:`planner.optimizer.repair`) and dropped, or None when no supplier needs it or it breaks
    a limit.
    """
    candidates = np.flatnonzero(short_purchase_orders(data, least).any(axis=1))
    if candidates.size == 0:
        return None
    h = data.horizon
    heavy = dataclasses.replace(
        lot_sizing_instance(data, prm, Prices.zero(data)), holding=data.holding_cost + prm.penalty / (2.0 * h)
    )
    order_week = np.arange(h)[None, :] - data.lead_time[:, None]  # by arrival week
    cycles = []
    for k in ORDER_CYCLES:
        allowed = (order_week >= 0) & (order_week % k == 0)
        packs, _ = solve_in_groups(dataclasses.replace(heavy, fixed=np.where(allowed, heavy.fixed, np.inf)))
        cycles.append(order_weeks(data, packs))

    def cost(x: np.ndarray, p: int) -> float:
        """Supplier p's part of the model cost once its short orders are raised, or dropped."""
        y = raise_short_orders(data, prm, x, supplier=p)
        members = np.flatnonzero(data.supplier_idx == p)
        y[members] = np.where(short_purchase_orders(data, y)[p], 0.0, y[members])
        return supplier_cost(data, prm, y, p, members)

    x = least
    for _ in range(2 * len(candidates)):
        moves = []  # (change in cost, supplier, plan)
        for p in candidates:
            members = data.supplier_idx == p
            now = cost(x, p)
            for plan in cycles:
                y = fit_storage(data, prm, np.where(members[:, None], plan, x), x, members)
                if y is not None and not np.array_equal(y, x):
                    moves.append((cost(y, p) - now, int(p), y))
        if not moves:
            break
        change, _, y = min(moves, key=lambda m: (m[0], m[1]))
        if change >= -1e-6 * max(1.0, prm.purchase_floor):
            break
        x = y
    if x is least:
        return None
    return feasible_or_none(data, without_short_orders(data, raise_short_orders(data, prm, x)))


def fit_storage(
    data: PlanningData, prm: ModelParams, y: np.ndarray, x: np.ndarray, members: np.ndarray
) -> np.ndarray | None:
    """``y`` with SKUs in ``members`` put back to their rows of ``x`` (most extra volume in the fullest
    week first) until storage holds; None when it cannot (``x`` is assumed to fit)."""
    if data.capacity is None:
        return y
    changed = np.flatnonzero(members & (y != x).any(axis=1))
    if changed.size == 0:
        return y
    v_new = objective_terms(data, prm, y[changed], changed, volume=True)["volume"]
    v_old = objective_terms(data, prm, x[changed], changed, volume=True)["volume"]
    total = objective_terms(data, prm, y, volume=True)["volume"].sum(axis=0)
    y = y.copy()
    alive = np.ones(changed.size, dtype=bool)
    while (over := total - data.capacity).max() > 1e-9:
        w = int(np.argmax(over))
        extra = np.where(alive, v_new[:, w] - v_old[:, w], -np.inf)
        j = int(np.argmax(extra))
        if extra[j] <= 0:
            return None
        total += v_old[j] - v_new[j]
        y[changed[j]] = x[changed[j]]
        alive[j] = False
    return y
