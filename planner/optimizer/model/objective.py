"""The model's objective evaluated on plans in NumPy (the same costs as the MIP's objective)."""

from __future__ import annotations

import numpy as np

from planner.core.accounting import shift_by_lead_time
from planner.core.problem import PlanningData
from planner.optimizer.model.params import ModelParams

__all__ = ["COST_TERMS", "model_objective", "objective_terms"]

COST_TERMS = ("lines", "purchase", "holding", "shortfall")  # the per-SKU costs objective_terms returns


def objective_terms(
    data: PlanningData,
    prm: ModelParams,
    orders: np.ndarray,
    sku: np.ndarray | None = None,
    *,
    volume: bool = False,
) -> dict[str, np.ndarray]:
    """Per-row model costs of order vectors ``orders[j, t]`` (units by order week) for SKUs ``sku[j]``.

    lines k_s #orders; purchase c_s sum x; holding h_s sum_t A[s,t]; shortfall P_s sum_{t>=L} (r - A)^+;
    with ``volume``, also ``volume[J, H]``: v_s times the slow-sales stock (:meth:`ModelParams.stock`).
    """
    s = np.arange(orders.shape[0]) if sku is None else sku
    h = data.horizon
    cum = np.cumsum(shift_by_lead_time(orders, data.lead_time[s]), axis=1)
    short = np.maximum(0.0, prm.requirement[s] - cum)
    short[np.arange(h)[None, :] < data.lead_time[s][:, None]] = 0.0
    terms = {
        "lines": data.line_cost[s] * (orders > 0).sum(axis=1),
        "purchase": data.unit_cost[s] * orders.sum(axis=1),
        "holding": data.holding_cost[s] * cum.sum(axis=1),
        "shortfall": prm.penalty[s] * short.sum(axis=1),
    }
    if volume:
        terms["volume"] = data.unit_volume[s][:, None] * prm.stock(cum, s)
    return terms


def model_objective(data: PlanningData, prm: ModelParams, orders: np.ndarray) -> float:
    """The MIP objective of a full plan x[s,t]: purchase orders, lines, purchase, holding, shortfall."""
    terms = objective_terms(data, prm, orders)
    z = np.zeros((len(data.suppliers), data.horizon), dtype=bool)
    np.logical_or.at(z, data.supplier_idx, orders > 0)
    return float((data.order_cost[:, None] * z).sum() + sum(terms[k].sum() for k in COST_TERMS))
