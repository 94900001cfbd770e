"""One cost and stock accounting for every policy (and later the simulator).

Conventions (README, model section): an order placed in week t with lead time L
arrives at the start of week t+L and serves that week's demand; holding cost is
charged on end-of-week stock; unmet demand is lost.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from planner.problem import PlanningData


@dataclass(frozen=True)
class PathOutcome:
    """Expected stock and service from replaying arrivals against the forecast's sample paths.

    All arrays ``[S, H]``: ``end_stock`` E[end-of-week stock], ``short`` E[lost units],
    ``stockout_prob`` P(some demand lost in the week), ``demand`` E[demand].
    """

    end_stock: np.ndarray
    short: np.ndarray
    stockout_prob: np.ndarray
    demand: np.ndarray


def shift_by_lead_time(orders: np.ndarray, lead_time: np.ndarray) -> np.ndarray:
    """Receipts ``[R, H]`` of order rows ``[R, H]``: x[r, t - L_r] arrives in week t (later ones dropped)."""
    out = np.zeros_like(orders, dtype=float)
    h = orders.shape[1]
    for lt in np.unique(lead_time):
        rows = lead_time == lt
        if lt < h:
            out[rows, lt:] = orders[rows, : h - lt]
    return out


def planned_arrivals(data: PlanningData, orders: np.ndarray) -> np.ndarray:
    """Planned receipts ``[S, H]``: x[s, t - L_s] arrives in week t (orders landing after H dropped)."""
    return shift_by_lead_time(orders, data.lead_time)


def purchase_order_value(data: PlanningData, orders: np.ndarray) -> np.ndarray:
    """Value ``[P, H]`` of each supplier's purchase order per week: sum_{s in p} c_s x[s,t]."""
    value = np.zeros((len(data.suppliers), data.horizon))
    np.add.at(value, data.supplier_idx, data.unit_cost[:, None] * orders)
    return value


def short_purchase_orders(data: PlanningData, orders: np.ndarray, tol: float = 1e-6) -> np.ndarray:
    """``[P, H]``: purchase orders placed but worth less than the supplier's minimum order value."""
    value = purchase_order_value(data, orders)
    return (value > 0) & (value < data.min_order_value[:, None] - tol)


def arrivals(data: PlanningData, orders: np.ndarray) -> np.ndarray:
    """All receipts ``[S, H]``: open orders plus planned orders."""
    return data.open_arrivals + planned_arrivals(data, orders)


def cumulative_supply(data: PlanningData, receipts: np.ndarray) -> np.ndarray:
    """I0_s + sum_{u<=t} receipts[s,u], in units ``[S, H]``."""
    return data.on_hand[:, None] + np.cumsum(receipts, axis=1)


def cautious_stock(data: PlanningData, receipts: np.ndarray) -> np.ndarray:
    """Stock after receipts on the storage basis ``[S, H]``.

    on_hand_cautious[s,t] = max(0, I0_s + sum_{u<=t} A[s,u] - Q_{D[s,1..t-1]}(q)), with q the
    scenario's (low) storage quantile: the stock to shelve if sales are slow.
    """
    sold_before = np.zeros_like(data.storage_cum)
    sold_before[:, 1:] = data.storage_cum[:, :-1]
    return np.maximum(0.0, cumulative_supply(data, receipts) - sold_before)


def storage_volume(data: PlanningData, receipts: np.ndarray) -> np.ndarray:
    """Volume used per week ``[H]``: sum_s v_s * on_hand_cautious[s,t]."""
    return data.unit_volume @ cautious_stock(data, receipts)


def mean_projection(data: PlanningData, receipts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Stock at the start (after receipts) and end of each week with mean demand and lost sales."""
    start = np.zeros_like(receipts, dtype=float)
    end = np.zeros_like(receipts, dtype=float)
    stock = data.on_hand.astype(float).copy()
    for t in range(data.horizon):
        start[:, t] = stock + receipts[:, t]
        stock = np.maximum(0.0, start[:, t] - data.demand_mean[:, t])
        end[:, t] = stock
    return start, end


def replay_paths(data: PlanningData, receipts: np.ndarray) -> PathOutcome:
    """Replay receipts against every sample path (lost sales) and average."""
    paths = data.forecast.paths  # [S, N, H]
    stock = np.repeat(data.on_hand[:, None], paths.shape[1], axis=1).astype(float)  # [S, N]
    shape = (data.n_skus, data.horizon)
    end, short, prob = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    for t in range(data.horizon):
        stock = stock + receipts[:, t : t + 1]
        demand = paths[:, :, t]
        lost = np.maximum(0.0, demand - stock)
        stock = np.maximum(0.0, stock - demand)
        end[:, t] = stock.mean(axis=1)
        short[:, t] = lost.mean(axis=1)
        prob[:, t] = (lost > 1e-9).mean(axis=1)
    return PathOutcome(end, short, prob, paths.mean(axis=1, dtype=np.float64))


def order_events(data: PlanningData, orders: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """y[s,t] = 1 if SKU s is ordered in week t; z[p,t] = 1 if supplier p gets a purchase order."""
    y = orders > 0
    z = np.zeros((len(data.suppliers), data.horizon), dtype=bool)
    np.logical_or.at(z, data.supplier_idx, y)
    return y, z


def cost_breakdown(data: PlanningData, orders: np.ndarray, outcome: PathOutcome) -> dict[str, float]:
    """Expected costs of a plan over the horizon, in currency units.

    purchase = sum c_s x[s,t]; ordering = sum K_p z[p,t] + sum k_s y[s,t];
    holding = sum h_s E[end stock]; shortage = sum b_s E[lost units].
    """
    y, z = order_events(data, orders)
    costs = {
        "purchase": float((data.unit_cost[:, None] * orders).sum()),
        "ordering_purchase_orders": float((data.order_cost[:, None] * z).sum()),
        "ordering_lines": float((data.line_cost[:, None] * y).sum()),
        "holding": float((data.holding_cost[:, None] * outcome.end_stock).sum()),
        "shortage": float((data.shortage_cost[:, None] * outcome.short).sum()),
    }
    costs["ordering"] = costs["ordering_purchase_orders"] + costs["ordering_lines"]
    costs["total"] = costs["purchase"] + costs["ordering"] + costs["holding"] + costs["shortage"]
    costs["total_excluding_purchase"] = costs["total"] - costs["purchase"]
    return costs
