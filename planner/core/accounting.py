"""One cost and stock accounting for every policy and the simulator.

Conventions (docs/model.md): an order placed in week t with lead time L
arrives at the start of week t+L and serves that week's demand; holding cost is
charged on end-of-week stock; unmet demand is lost (the planner's basis; the
simulator can also backorder it, see :func:`replay_weeks`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from planner.core.problem import PlanningData

STOCKOUT_TOL = 1e-9  # units: a week "stocks out" when more than this much of its demand goes unmet
OVERFLOW_TOL = 1e-6  # volume above capacity that counts as overflow


@dataclass(frozen=True)
class PathOutcome:
    """Expected stock and service from replaying arrivals against the forecast's sample paths.

    Arrays ``[S, H]``: ``end_stock`` E[end-of-week stock], ``short`` E[lost units],
    ``stockout_prob`` P(some demand lost in the week), ``demand`` E[demand]; ``storage``
    ``[H, N]`` the volume of stock after receipts, ``sum_s v_s x[s,n,t]``, per week and path.
    """

    end_stock: np.ndarray
    short: np.ndarray
    stockout_prob: np.ndarray
    demand: np.ndarray
    storage: np.ndarray | None = None


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


def slow_stock(supply: np.ndarray, slow_cum: np.ndarray, planned: np.ndarray | float = 0.0) -> np.ndarray:
    """Stock after receipts ``[..., H]`` if sales are slow, under lost sales (exact).

    ``supply`` = ``B[t] = I0 + sum_{u<=t} O[u]`` (stock and open orders), ``slow_cum`` = ``D_q[t]`` the
    slow scenario's cumulative demand, ``planned`` = ``P[t]`` cumulative planned receipts. With
    ``C = B + P`` the Lindley recursion ``s_t = A_t + max(0, s_{t-1} - d_{t-1})`` (``A`` all receipts,
    ``d`` weekly slow demand) has the closed form

        s_t = C_t - D_q[t-1] + lost[t-1],   lost[j] = max(0, max_{i<=j} (D_q[i] - C_i))

    (units): demand the shelf could not serve is gone and does not use up later receipts. Without
    a stock-out (``lost = 0``) it is ``C_t - D_q[t-1]``.
    """
    total = supply + planned
    lost = np.maximum.accumulate(np.maximum(slow_cum - total, 0.0), axis=-1)
    before = np.zeros_like(total)
    before[..., 1:] = (slow_cum - lost)[..., :-1]
    return total - before


def cautious_base(data: PlanningData) -> np.ndarray:
    """Slow-sales stock after receipts without new orders ``[S, H]``, and the linear part of every
    plan's: :func:`slow_stock` with the losses up to each SKU's first possible arrival (week ``L_s``).

    Planned receipts start at ``L_s``, so ``max(0, cb + P)`` is a plan's slow-sales stock while it
    loses nothing from week ``L_s`` on and never more than it (the optimiser's dynamic program prices
    storage on it: a relaxation). :func:`cautious_stock` is exact.
    """
    base = cumulative_supply(data, data.open_arrivals)
    deficit = np.where(
        np.arange(data.horizon)[None, :] < data.lead_time[:, None], data.storage_cum - base, 0.0
    )
    lost = np.maximum.accumulate(np.maximum(deficit, 0.0), axis=1)
    before = np.zeros_like(base)
    before[:, 1:] = data.storage_cum[:, :-1] - lost[:, :-1]
    return base - before


def cautious_stock(data: PlanningData, receipts: np.ndarray) -> np.ndarray:
    """Stock after receipts on the storage basis ``[S, H]``: :func:`slow_stock` of all receipts
    ``A`` (open orders included): the stock to shelve if sales are slow, under lost sales."""
    planned = np.cumsum(receipts - data.open_arrivals, axis=1)
    return slow_stock(cumulative_supply(data, data.open_arrivals), data.storage_cum, planned)


def storage_volume(data: PlanningData, receipts: np.ndarray) -> np.ndarray:
    """Volume used per week ``[H]``: ``sum_s v_s s[s,t]`` with ``s`` from :func:`cautious_stock`."""
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


@dataclass(frozen=True)
class WeekFlow:
    """One week of a replay; every array is ``[S, N]`` (SKUs x demand paths).

    ``available`` stock after the week's receipts, before demand (physical, >= 0);
    ``demand`` the week's demand; ``served_now`` the part of it served this week;
    ``unmet`` the rest (lost, or newly backordered); ``shipped`` units leaving stock
    (``served_now`` plus backlog cleared); ``end_stock`` stock at the end of the week;
    ``backlog`` units owed at the end of the week (always 0 under lost sales).
    """

    available: np.ndarray
    demand: np.ndarray
    served_now: np.ndarray
    unmet: np.ndarray
    shipped: np.ndarray
    end_stock: np.ndarray
    backlog: np.ndarray


def replay_weeks(
    on_hand: np.ndarray, receipts: np.ndarray, paths: np.ndarray, backorders: bool = False
) -> Iterator[WeekFlow]:
    """Step stock through the weeks of every demand path; yield one :class:`WeekFlow` per week.

    ``on_hand`` I0 ``[S]``, ``receipts`` A ``[S, H]`` or, when deliveries differ by path,
    ``[S, N, H]`` (arriving at the start of the week), ``paths`` D ``[S, N, H]``. With
    ``avail = stock + A[s,t]``:

    - lost sales: ``unmet = max(0, D - avail)``, ``end = max(0, avail - D)``;
    - backorders (``backorders=True``): the backlog ``B`` is served first, so
      ``served_now = min(D, max(0, avail - B))``, ``shipped = min(avail, B + D)``,
      ``end = avail - shipped``, ``B <- B + D - shipped``.
    """
    _, n, h = paths.shape
    stock = np.repeat(np.asarray(on_hand, dtype=float)[:, None], n, axis=1)  # [S, N]
    backlog = np.zeros_like(stock)
    for t in range(h):
        available = stock + (receipts[:, :, t] if receipts.ndim == 3 else receipts[:, t : t + 1])
        demand = paths[:, :, t]
        if backorders:
            served_now = np.minimum(demand, np.maximum(0.0, available - backlog))
            due = backlog + demand
            shipped = np.minimum(available, due)
            backlog = due - shipped
            unmet = demand - served_now
            stock = available - shipped
        else:
            unmet = np.maximum(0.0, demand - available)
            stock = np.maximum(0.0, available - demand)
            served_now = demand - unmet
            shipped = served_now
        yield WeekFlow(available, demand, served_now, unmet, shipped, stock, backlog)


def replay_paths(data: PlanningData, receipts: np.ndarray) -> PathOutcome:
    """Replay receipts against every sample path (lost sales) and average."""
    paths = data.forecast.paths  # [S, N, H]
    shape = (data.n_skus, data.horizon)
    end, short, prob = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    storage = np.zeros((data.horizon, paths.shape[1]))
    for t, week in enumerate(replay_weeks(data.on_hand, receipts, paths)):
        end[:, t] = week.end_stock.mean(axis=1)
        short[:, t] = week.unmet.mean(axis=1)
        prob[:, t] = (week.unmet > STOCKOUT_TOL).mean(axis=1)
        storage[t] = data.unit_volume @ week.available
    return PathOutcome(end, short, prob, paths.mean(axis=1, dtype=np.float64), storage)


def storage_excess(data: PlanningData, volume: np.ndarray) -> np.ndarray:
    """Volume above capacity ``[H, N]`` of stock volumes ``[H, N]`` (0 without a capacity)."""
    if data.capacity is None:
        return np.zeros_like(volume)
    return np.maximum(0.0, volume - data.capacity[:, None])


def order_events(data: PlanningData, orders: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """y[s,t] = 1 if SKU s is ordered in week t; z[p,t] = 1 if supplier p gets a purchase order."""
    y = orders > 0
    z = np.zeros((len(data.suppliers), data.horizon), dtype=bool)
    np.logical_or.at(z, data.supplier_idx, y)
    return y, z


def order_costs(data: PlanningData, orders: np.ndarray) -> dict[str, float]:
    """Costs fixed by the orders alone: purchase = sum c_s x[s,t]; ordering = sum K_p z[p,t] + sum k_s y[s,t].

    Keys ``purchase``, ``ordering_purchase_orders``, ``ordering_lines``, ``ordering``.
    """
    y, z = order_events(data, orders)
    costs = {
        "purchase": float((data.unit_cost[:, None] * orders).sum()),
        "ordering_purchase_orders": float((data.order_cost[:, None] * z).sum()),
        "ordering_lines": float((data.line_cost[:, None] * y).sum()),
    }
    costs["ordering"] = costs["ordering_purchase_orders"] + costs["ordering_lines"]
    return costs


def cost_breakdown(data: PlanningData, orders: np.ndarray, outcome: PathOutcome) -> dict[str, float]:
    """Expected costs of a plan over the horizon, in currency units.

    purchase = sum c_s x[s,t]; ordering = sum K_p z[p,t] + sum k_s y[s,t];
    holding = sum h_s E[end stock]; shortage = sum b_s E[lost units].
    """
    fixed = order_costs(data, orders)
    costs = {
        "purchase": fixed["purchase"],
        "ordering_purchase_orders": fixed["ordering_purchase_orders"],
        "ordering_lines": fixed["ordering_lines"],
        "holding": float((data.holding_cost[:, None] * outcome.end_stock).sum()),
        "shortage": float((data.shortage_cost[:, None] * outcome.short).sum()),
    }
    costs["ordering"] = costs["ordering_purchase_orders"] + costs["ordering_lines"]
    costs["total"] = costs["purchase"] + costs["ordering"] + costs["holding"] + costs["shortage"]
    costs["total_excluding_purchase"] = costs["total"] - costs["purchase"]
    return costs
