"""The base-stock policy on empirical quantiles: order up to what past demand says, no forecast.

For SKU s with lead time L_s and service level alpha_s, the order-up-to level is the empirical
alpha_s-quantile of demand over L_s + 1 consecutive weeks (lead time plus one review week) in
the last ``window`` weeks of history:

    S_s = Quantile_{alpha_s}( sum_{u=t}^{t+L_s} d[s,u] : windows of L_s + 1 weeks in the history )

Each week t, when the inventory position IP[s,t] (stock at the end of week t-1 plus receipts
due in weeks >= t) is below S_s, it orders S_s - IP[s,t], at least the MOQ and in whole packs;
storage, budget and minimum order values are then respected exactly as the classical policy
does (:func:`planner.classical.reorder_plan`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from planner.classical import reorder_plan
from planner.problem import PlanningData
from planner.results import PolicyResult

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
