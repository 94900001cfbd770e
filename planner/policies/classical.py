"""The classical policy: periodic-review reorder point with EOQ lots.

Each week t (in order), for every SKU whose order would arrive inside the horizon:

    IP[s,t] = stock at the end of week t-1 (mean demand, lost sales) + receipts due in weeks >= t
    ROP[s,t] = sum_{u=t}^{t+L_s} E[D[s,u]] + SS_s          (protection interval L_s + 1 weeks)
    if IP < ROP: order max(EOQ_s, ROP - IP), at least the MOQ, rounded up to whole packs

Hard rules are then respected greedily, most urgent SKU first ((IP - ROP) / mu):
storage capacity (slow-sales stock under lost sales) and the weekly budget cut a line to the
largest whole-pack quantity that fits (or drop it below the MOQ); a supplier's
minimum order value is met by adding packs to that week's lines, or the
supplier's lines wait a week. It is the baseline the optimiser must beat.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from planner.core.accounting import cautious_stock, cumulative_supply, mean_projection, slow_stock
from planner.core.feasibility import check_feasible
from planner.core.problem import PlanningData
from planner.core.results import PlanStatus, PolicyResult
from planner.policies.kpis import sku_kpis

log = logging.getLogger(__name__)
TOL = 1e-6


@dataclass
class _State:
    """Mutable bookkeeping while orders are placed."""

    orders: np.ndarray  # x[s,t]
    receipts: np.ndarray  # A[s,t], open + planned
    supply: np.ndarray  # B[s,t] = I0 + cum open orders
    planned: np.ndarray  # cum planned receipts P[s,t]
    stock: np.ndarray  # slow-sales stock after receipts (lost sales)
    used: np.ndarray  # volume per week
    cap: np.ndarray
    budget_left: np.ndarray

    def stock_after(self, data: PlanningData, s: int, a: int, q: float) -> np.ndarray:
        """SKU s's slow-sales stock row with ``q`` more units arriving in week a."""
        planned = self.planned[s].copy()
        planned[a:] += q
        return slow_stock(self.supply[s], data.storage_cum[s], planned)

    def fits(self, data: PlanningData, s: int, t: int, q: float) -> bool:
        a = t + int(data.lead_time[s])
        if data.unit_cost[s] * q > self.budget_left[t] + TOL:
            return False
        new = self.used[a:] + data.unit_volume[s] * (self.stock_after(data, s, a, q) - self.stock[s])[a:]
        return bool(np.all(new <= self.cap[a:] + TOL * np.maximum(1.0, self.cap[a:])))

    def apply(self, data: PlanningData, s: int, t: int, q: float) -> None:
        a = t + int(data.lead_time[s])
        stock = self.stock_after(data, s, a, q)
        self.used += data.unit_volume[s] * (stock - self.stock[s])
        self.stock[s] = stock
        self.planned[s, a:] += q
        self.orders[s, t] += q
        self.receipts[s, a] += q
        self.budget_left[t] -= data.unit_cost[s] * q


def plan_classical(data: PlanningData) -> PolicyResult:
    """Run the classical policy on ``data``; the result respects every hard rule."""
    kpi = sku_kpis(data)
    ss = kpi["safety_stock"].to_numpy()
    padded_mean = np.concatenate([data.demand_mean, np.repeat(data.demand_mean[:, -1:], 53, axis=1)], axis=1)

    def reorder_point(t: int) -> np.ndarray:
        return (
            np.array([padded_mean[s, t : t + data.lead_time[s] + 1].sum() for s in range(data.n_skus)]) + ss
        )

    active = kpi["mean_weekly_demand"].to_numpy() > 0
    return reorder_plan(data, "classical", reorder_point, kpi["order_quantity"].to_numpy(), active)


def reorder_plan(
    data: PlanningData,
    name: str,
    reorder_point: Callable[[int], np.ndarray],
    lot: np.ndarray,
    active: np.ndarray,
) -> PolicyResult:
    """Weekly review: order ``max(lot_s, ROP[s,t] - IP[s,t])`` when ``IP < ROP``, then the hard rules.

    ``reorder_point(t)`` gives ROP[., t] in units; ``lot`` the smallest lot per SKU (EOQ, or 0 for
    an order-up-to policy); only ``active`` SKUs are ever ordered.
    """
    started = time.perf_counter()
    check_feasible(data)
    h = data.horizon
    state = _State(
        orders=np.zeros((data.n_skus, h)),
        receipts=data.open_arrivals.astype(float).copy(),
        supply=cumulative_supply(data, data.open_arrivals),
        planned=np.zeros((data.n_skus, h)),
        stock=cautious_stock(data, data.open_arrivals),
        used=np.zeros(h),
        cap=np.full(h, np.inf) if data.capacity is None else data.capacity.astype(float),
        budget_left=np.full(h, np.inf) if data.budget is None else data.budget.astype(float).copy(),
    )
    state.used = data.unit_volume @ state.stock
    notes: list[str] = []
    scale = np.maximum(data.demand_mean.mean(axis=1), TOL)
    for t in range(h):
        _, end = mean_projection(data, state.receipts)
        stock = data.on_hand if t == 0 else end[:, t - 1]
        position = stock + state.receipts[:, t:].sum(axis=1)
        rop = reorder_point(t)
        due = (position < rop - TOL) & (t + data.lead_time < h) & active
        urgency = (position - rop) / scale
        wanted = {s: max(lot[s], rop[s] - position[s]) for s in np.flatnonzero(due)}
        for p in _suppliers_by_urgency(data, wanted, urgency):
            _order_from_supplier(data, state, p, t, wanted, urgency, notes)
    log.info(
        "%s policy: %d order lines in %.2f s",
        name,
        int((state.orders > 0).sum()),
        time.perf_counter() - started,
    )
    return PolicyResult(
        name,
        state.orders,
        PlanStatus.HEURISTIC,
        timings={"policy": time.perf_counter() - started},
        notes=notes,
    )


def _suppliers_by_urgency(data: PlanningData, wanted: dict[int, float], urgency: np.ndarray) -> list[int]:
    first: dict[int, float] = {}
    for s in wanted:
        p = int(data.supplier_idx[s])
        first[p] = min(first.get(p, np.inf), urgency[s])
    return sorted(first, key=lambda p: (first[p], p))


def _order_from_supplier(
    data: PlanningData,
    state: _State,
    p: int,
    t: int,
    wanted: dict[int, float],
    urgency: np.ndarray,
    notes: list[str],
) -> None:
    lines = sorted((s for s in wanted if data.supplier_idx[s] == p), key=lambda s: (urgency[s], s))
    placed: list[tuple[int, float]] = []
    for s in lines:
        q = _largest_fitting(data, state, s, t, wanted[s])
        if q < wanted[s] - TOL:
            notes.append(
                f"{data.weeks[t].date()} {data.skus[s]}: cut from {wanted[s]:g} to {q:g} units "
                "by storage capacity or budget"
            )
        if q > 0:
            state.apply(data, s, t, q)
            placed.append((s, q))
    mov = data.min_order_value[p]
    value = sum(data.unit_cost[s] * q for s, q in placed)
    while placed and value < mov - TOL:
        grown = False
        for s, _ in placed:
            if data.unit_cost[s] > 0 and state.fits(data, s, t, data.pack[s]):
                state.apply(data, s, t, data.pack[s])
                value += data.unit_cost[s] * data.pack[s]
                grown = True
                if value >= mov - TOL:
                    break
        if not grown:
            break
    if placed and value < mov - TOL:
        for s, _ in placed:
            state.apply(data, s, t, -state.orders[s, t])
        notes.append(
            f"{data.weeks[t].date()} {data.suppliers[p]}: order value {value:.2f} below the "
            f"minimum {mov:.2f} and cannot be raised; lines deferred"
        )


def _largest_fitting(data: PlanningData, state: _State, s: int, t: int, want: float) -> float:
    """Largest whole-pack quantity in [min_units, ceil(want)] that fits, else 0."""
    pack = data.pack[s]
    lo = int(round(data.min_units[s] / pack))
    hi = max(lo, int(np.ceil(want / pack - TOL)))
    if not state.fits(data, s, t, lo * pack):
        return 0.0
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if state.fits(data, s, t, mid * pack):
            lo = mid
        else:
            hi = mid - 1
    return lo * pack
