"""Policies on past demand alone, no forecast: base stock on empirical quantiles, and the textbook
reorder point with EOQ lots.

For SKU s with lead time L_s and service level alpha_s, the order-up-to level is the empirical
alpha_s-quantile of demand over L_s + 1 consecutive weeks (lead time plus one review week) in
the last ``window`` weeks of history:

    S_s = Quantile_{alpha_s}( sum_{u=t}^{t+L_s} d[s,u] : windows of L_s + 1 weeks in the history )

Each week t, when the inventory position IP[s,t] (stock at the end of week t-1 plus receipts
due in weeks >= t) is below S_s, it orders S_s - IP[s,t], at least the MOQ and in whole packs;
storage, budget and minimum order values are then respected exactly as the classical policy
does (:func:`planner.policies.classical.reorder_plan`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from planner.core.lots import eoq, order_quantity
from planner.core.problem import WEEKS_PER_YEAR, PlanningData
from planner.core.results import PolicyResult
from planner.policies.classical import reorder_plan
from planner.policies.kpis import reorder_point, safety_stock

DEFAULT_WINDOW = 52


def empirical_order_up_to(
    history: pd.DataFrame,
    skus: list[str],
    lead_time: np.ndarray,
    service_level: np.ndarray,
    window: int = DEFAULT_WINDOW,
) -> np.ndarray:
    """S_s in units, from ``history`` (``sku, week, units``; weeks before the plan start).

    A SKU with fewer than L_s + 1 weeks of history gets its mean weekly demand times L_s + 1;
    one without history gets 0 (it is never ordered).
    """
    wide = history.pivot_table(index="week", columns="sku", values="units", aggfunc="sum").sort_index()
    wide = wide.reindex(columns=skus).iloc[-window:]
    levels = np.zeros(len(skus))
    for s, sku in enumerate(skus):
        demand = wide[sku].dropna().to_numpy(dtype=float)
        span = int(lead_time[s]) + 1
        if demand.size == 0:
            continue
        if demand.size < span:
            levels[s] = demand.mean() * span
            continue
        sums = np.convolve(demand, np.ones(span), mode="valid")
        levels[s] = float(np.quantile(sums, service_level[s]))
    return levels


def plan_base_stock(data: PlanningData, order_up_to: np.ndarray) -> PolicyResult:
    """Run the base-stock policy with order-up-to levels ``order_up_to[S]`` (units)."""
    levels = np.asarray(order_up_to, dtype=float)
    return reorder_plan(data, "base_stock", lambda t: levels, np.zeros(data.n_skus), levels > 0)


def demand_moments_from_history(
    history: pd.DataFrame, skus: list[str], window: int = DEFAULT_WINDOW
) -> tuple[np.ndarray, np.ndarray]:
    """mu and sigma of weekly demand per SKU over its last ``window`` uncensored weeks (0 without history)."""
    ok = history[history["stockout"] == 0] if "stockout" in history else history
    wide = ok.pivot_table(index="week", columns="sku", values="units", aggfunc="sum").sort_index()
    wide = wide.reindex(columns=skus).iloc[-window:]
    mu = wide.mean(axis=0).fillna(0.0).to_numpy(dtype=float)
    sigma = wide.std(axis=0, ddof=1).fillna(0.0).to_numpy(dtype=float)
    return mu, sigma


def plan_textbook(data: PlanningData, mu: np.ndarray, sigma: np.ndarray, z: float) -> PolicyResult:
    """The textbook reorder-point policy with EOQ lots, on past demand's mean and standard deviation.

    Protection interval L_s + 1 weeks (lead time plus the weekly review):

        ROP_s = mu_s (L_s + 1) + z sqrt((L_s + 1) sigma_s^2 + mu_s^2 sigma_L^2)
        Q_s = max(EOQ_s, MOQ_s) in whole packs, EOQ_s = sqrt(2 k_s 52 mu_s / (52 h_s))

    with k_s the cost of an order (line plus purchase order) and h_s the holding cost per unit-week.
    Each week a SKU whose inventory position is below ROP_s orders ``max(Q_s, ROP_s - IP)``; storage,
    budget and minimum order values as the classical policy (:func:`planner.policies.classical.reorder_plan`).
    """
    lead = data.lead_time
    lead_sd = 0.0 if data.lead_time_sd is None else data.lead_time_sd
    rop = reorder_point(
        mu, lead, safety_stock(np.full(data.n_skus, z), sigma, lead, mu=mu, lead_time_sd=lead_sd)
    )
    k = data.order_cost[data.supplier_idx] + data.line_cost
    lot = order_quantity(
        eoq(mu * WEEKS_PER_YEAR, k, data.holding_cost * WEEKS_PER_YEAR), data.min_units, data.pack
    )
    return reorder_plan(data, "textbook", lambda t: rop, np.where(mu > 0, lot, 0.0), mu > 0)
