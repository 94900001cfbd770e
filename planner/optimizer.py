"""The optimiser: Lagrangian decomposition over SKUs, exact per-SKU lot sizing, and a master MIP.

SKUs interact only through shared purchase orders (y[s,t] <= z[p,t]), minimum order values,
storage and budget. Relaxing storage (prices lambda_t), budget (mu_t) and the purchase-order
link (pi[s,t]) with Lagrange multipliers, and dropping minimum order values, splits the MIP of
:mod:`planner.model.monolithic` into one lot-sizing problem per SKU, solved exactly by the
dynamic program of :mod:`planner.lotsizing`, plus a trivial problem per supplier-week:

    LB(lambda, mu, pi) = sum_s V_s(lambda, mu, pi) + sum_{p,t} min(0, K_p - sum_{s in p} pi[s,t])
                         - sum_t lambda_t Cap_t - sum_t mu_t B_t

Every LB is a valid lower bound on the MIP optimum. Subgradient steps (Polyak, with the best
plan's cost as target) raise it. Each iteration's per-SKU schedules are kept as columns; the
restricted master (:mod:`planner.model.master`, Pyomo + HiGHS) then picks one column per SKU
subject to every coupling constraint. The classical plan and "order nothing" are always among
the columns, so the optimiser never returns a plan costlier (in the model's objective) than
the classical policy's. Gaps are reported against the best LB.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np

from planner.classical import plan_classical
from planner.feasibility import check_feasible
from planner.lotsizing import LotSizingInstance, solve_lot_sizing
from planner.model.master import Columns, build_master, chosen_columns
from planner.model.monolithic import build_model, orders_from_model
from planner.model.params import ModelParams, model_params
from planner.problem import PlanningData
from planner.results import PlanStatus, PolicyResult
from planner.solve import SolveStatus, solve

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OptimizerSettings:
    """Stopping rules and strategy (the scenario's ``solver`` block supplies the first four)."""

    mip_gap: float = 0.01
    time_limit_s: float = 60.0
    threads: int = 2
    seed: int = 0
    iterations: int = 150
    strategy: str = "auto"  # auto | monolithic | decomposition
    monolithic_max_pairs: int = 1500  # auto: orderable SKU-weeks up to which the full MIP is solved
    columns_per_sku: int = 6  # master: columns kept per SKU (lowest reduced cost)


@dataclass
class _Pool:
    """Distinct columns per SKU, keyed by their order vector."""

    seen: set[tuple[int, bytes]] = field(default_factory=set)
    sku: list[int] = field(default_factory=list)
    orders: list[np.ndarray] = field(default_factory=list)

    def add(self, orders: np.ndarray) -> None:
        for s in range(orders.shape[0]):
            key = (s, orders[s].tobytes())
            if key not in self.seen:
                self.seen.add(key)
                self.sku.append(s)
                self.orders.append(orders[s].copy())


def objective_terms(
    data: PlanningData, prm: ModelParams, orders: np.ndarray, sku: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Per-row model costs of order vectors ``orders[j, t]`` (units by order week) for SKUs ``sku[j]``.

    lines k_s #orders; purchase c_s sum x; holding h_s sum_t A[s,t]; shortfall P_s sum_{t>=L} (r - A)^+.
    """
    s = np.arange(orders.shape[0]) if sku is None else sku
    h = data.horizon
    arrivals = np.zeros_like(orders, dtype=float)
    for lt in np.unique(data.lead_time[s]):
        rows = data.lead_time[s] == lt
        if lt < h:
            arrivals[rows, lt:] = orders[rows, : h - lt]
    cum = np.cumsum(arrivals, axis=1)
    short = np.maximum(0.0, prm.requirement[s] - cum)
    short[np.arange(h)[None, :] < data.lead_time[s][:, None]] = 0.0
    return {
        "lines": data.line_cost[s] * (orders > 0).sum(axis=1),
        "purchase": data.unit_cost[s] * orders.sum(axis=1),
        "holding": data.holding_cost[s] * cum.sum(axis=1),
        "shortfall": prm.penalty[s] * short.sum(axis=1),
        "volume": data.unit_volume[s][:, None] * np.maximum(0.0, prm.cautious_base[s] + cum),
    }


def model_objective(data: PlanningData, prm: ModelParams, orders: np.ndarray) -> float:
    """The MIP objective of a full plan x[s,t]: purchase orders, lines, purchase, holding, shortfall."""
    terms = objective_terms(data, prm, orders)
    z = np.zeros((len(data.suppliers), data.horizon), dtype=bool)
    np.logical_or.at(z, data.supplier_idx, orders > 0)
    return float(
        (data.order_cost[:, None] * z).sum()
        + sum(terms[k].sum() for k in ("lines", "purchase", "holding", "shortfall"))
    )


def _instance(
    data: PlanningData, prm: ModelParams, lam: np.ndarray, mu: np.ndarray, pi: np.ndarray
) -> LotSizingInstance:
    """The per-SKU DP under prices; arrays by arrival week a = t + L_s."""
    s_count, h = data.n_skus, data.horizon
    fixed = np.full((s_count, h), np.inf)
    unit = np.zeros((s_count, h))
    for s in range(s_count):
        lt = int(data.lead_time[s])
        if lt < h:
            fixed[s, lt:] = data.line_cost[s] + pi[s, : h - lt]
            unit[s, lt:] = data.unit_cost[s] * (1.0 + mu[: h - lt])
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


def _to_order_weeks(data: PlanningData, packs_by_arrival: np.ndarray) -> np.ndarray:
    """x[s,t] (units by order week) from packs by arrival week."""
    x = np.zeros(packs_by_arrival.shape)
    h = data.horizon
    for s in range(data.n_skus):
        lt = int(data.lead_time[s])
        if lt < h:
            x[s, : h - lt] = packs_by_arrival[s, lt:] * data.pack[s]
    return x


def plan_optimizer(data: PlanningData, settings: OptimizerSettings | None = None) -> PolicyResult:
    """Optimise the purchase plan; the result states objective, lower bound and gap."""
    settings = settings or OptimizerSettings()
    check_feasible(data)
    prm = model_params(data)
    pairs = int(prm.orderable.sum())
    use_full = settings.strategy == "monolithic" or (
        settings.strategy == "auto" and pairs <= settings.monolithic_max_pairs
    )
    if use_full:
        return _solve_monolithic(data, prm, settings)
    return _solve_decomposed(data, prm, settings)


def _gaps(objective: float, bound: float, floor: float) -> tuple[float, float]:
    """(gap on the objective, gap on the costs above the purchase floor)."""
    total = max(0.0, objective - bound) / max(abs(objective), 1e-9)
    decision = max(0.0, objective - bound) / max(objective - floor, 1e-9)
    return total, decision


def _solve_monolithic(data: PlanningData, prm: ModelParams, settings: OptimizerSettings) -> PolicyResult:
    t0 = time.perf_counter()
    model = build_model(data)
    t1 = time.perf_counter()
    res = solve(
        model,
        mip_gap=settings.mip_gap / 10,
        time_limit_s=settings.time_limit_s,
        threads=settings.threads,
        seed=settings.seed,
    )
    timings = {"build": t1 - t0, "solve": res.seconds}
    if res.status in (SolveStatus.ERROR, SolveStatus.INFEASIBLE):
        raise RuntimeError(
            f"HiGHS ended '{res.status}' ({res.termination}) on a model that always has a plan"
        )
    if not res.has_solution or res.objective is None:
        fallback = plan_classical(data)
        notes = [f"full MIP ended '{res.status}' without a plan; the classical plan is returned"]
        return PolicyResult("optimizer", fallback.orders, PlanStatus.HEURISTIC, timings=timings, notes=notes)
    orders = orders_from_model(model, data)
    objective = model_objective(data, prm, orders)
    bound = res.bound if res.bound is not None else -np.inf
    _, decision_gap = _gaps(objective, bound, prm.purchase_floor)
    status = PlanStatus.OPTIMAL if decision_gap <= settings.mip_gap else PlanStatus.FEASIBLE
    return PolicyResult(
        "optimizer",
        orders,
        status,
        objective=objective,
        bound=float(bound),
        gap=decision_gap,
        timings=timings,
        notes=[f"strategy: full MIP ({res.status})"],
    )


def _solve_decomposed(data: PlanningData, prm: ModelParams, settings: OptimizerSettings) -> PolicyResult:
    started = time.perf_counter()
    deadline = started + settings.time_limit_s
    h, p_count = data.horizon, len(data.suppliers)
    classical = plan_classical(data).orders
    pool = _Pool()
    pool.add(np.zeros_like(classical))
    pool.add(classical)
    best_ub = model_objective(data, prm, classical)
    best_orders = classical
    members = np.bincount(data.supplier_idx, minlength=p_count)
    pi = np.zeros((data.n_skus, h))
    pi[:] = (data.order_cost / np.maximum(members, 1))[data.supplier_idx][:, None]
    lam = np.zeros(h)
    mu = np.zeros(h)
    cap = data.capacity if data.capacity is not None else None
    budget = data.budget if data.budget is not None else None
    best_lb, theta, stall = -np.inf, 1.0, 0
    iterations = 0
    for it in range(settings.iterations):
        iterations = it + 1
        packs, values = solve_lot_sizing(_instance(data, prm, lam, mu, pi))
        x = _to_order_weeks(data, packs)
        pool.add(x)
        supplier_pi = np.zeros((p_count, h))
        np.add.at(supplier_pi, data.supplier_idx, pi)
        z = data.order_cost[:, None] - supplier_pi < 0
        lb = values.sum() + np.minimum(0.0, data.order_cost[:, None] - supplier_pi).sum()
        terms = objective_terms(data, prm, x)
        vol = terms["volume"].sum(axis=0)
        spend = data.unit_cost @ x
        if cap is not None:
            lb -= float(lam @ cap)
        if budget is not None:
            lb -= float(mu @ budget)
        if not np.isfinite(best_lb) or lb > best_lb + 1e-9 * max(1.0, abs(best_lb)):
            best_lb, stall = lb, 0
        else:
            stall += 1
            if stall >= 5:
                theta, stall = theta / 2, 0
        ub = _repair_ub(data, prm, x)
        if ub is not None and ub[0] < best_ub:
            best_ub, best_orders = ub
            pool.add(best_orders)
        _, gap = _gaps(best_ub, best_lb, prm.purchase_floor)
        log.debug("iteration %d: LB %.2f UB %.2f gap %.4f theta %.3g", it, lb, best_ub, gap, theta)
        if gap <= settings.mip_gap / 2 or time.perf_counter() > started + 0.5 * settings.time_limit_s:
            break
        g_pi = (x > 0).astype(float) - z[data.supplier_idx].astype(float)
        g_lam = vol - cap if cap is not None else np.zeros(h)
        g_mu = spend - budget if budget is not None else np.zeros(h)
        norm = float((g_pi**2).sum() + (g_lam**2).sum() + (g_mu**2).sum())
        if norm <= 1e-12:
            break
        step = theta * max(best_ub - lb, 1e-6 * abs(best_ub)) / norm
        pi = np.maximum(0.0, pi + step * g_pi)
        lam = np.maximum(0.0, lam + step * g_lam)
        mu = np.maximum(0.0, mu + step * g_mu)
    t_lagrange = time.perf_counter() - started
    greedy = _sequential_plan(data, prm, lam, mu)
    greedy_ub = model_objective(data, prm, greedy)
    pool.add(greedy)
    if greedy_ub < best_ub:
        best_ub, best_orders = greedy_ub, greedy
    t_greedy = time.perf_counter() - started - t_lagrange
    prices = (lam, mu, pi)
    master_orders, master_note = _master(data, prm, pool, prices, best_orders, settings, deadline)
    if master_orders is not None:
        master_ub = model_objective(data, prm, master_orders)
        if master_ub < best_ub:
            best_ub, best_orders = master_ub, master_orders
    total_gap, decision_gap = _gaps(best_ub, best_lb, prm.purchase_floor)
    status = PlanStatus.OPTIMAL if decision_gap <= settings.mip_gap else PlanStatus.FEASIBLE
    timings = {
        "lagrangian": t_lagrange,
        "sequential": t_greedy,
        "master": time.perf_counter() - started - t_lagrange - t_greedy,
    }
    notes = [
        f"strategy: decomposition ({iterations} Lagrangian iterations, {len(pool.sku)} columns); "
        f"gap {decision_gap:.4%} on costs above the purchase floor, {total_gap:.4%} on the objective",
        master_note,
    ]
    return PolicyResult(
        "optimizer",
        best_orders,
        status,
        objective=best_ub,
        bound=float(best_lb),
        gap=decision_gap,
        timings=timings,
        notes=notes,
    )


def _repair_ub(data: PlanningData, prm: ModelParams, x: np.ndarray) -> tuple[float, np.ndarray] | None:
    """The DP plan's true cost when it already meets storage, budget and minimum order values."""
    terms = objective_terms(data, prm, x)
    if data.capacity is not None and (terms["volume"].sum(axis=0) > data.capacity + 1e-6).any():
        return None
    if data.budget is not None and (data.unit_cost @ x > data.budget + 1e-6).any():
        return None
    value = np.zeros((len(data.suppliers), data.horizon))
    np.add.at(value, data.supplier_idx, data.unit_cost[:, None] * x)
    if ((value > 0) & (value < data.min_order_value[:, None] - 1e-6)).any():
        return None
    return model_objective(data, prm, x), x


def _master(
    data: PlanningData,
    prm: ModelParams,
    pool: _Pool,
    prices: tuple[np.ndarray, ...],
    incumbent: np.ndarray,
    settings: OptimizerSettings,
    deadline: float,
) -> tuple[np.ndarray | None, str]:
    """Solve the restricted master over each SKU's most promising columns (lowest reduced cost)."""
    lam, mu, pi = prices
    sku = np.array(pool.sku)
    orders = np.array(pool.orders)
    terms = objective_terms(data, prm, orders, sku)
    cost = terms["lines"] + terms["purchase"] + terms["holding"] + terms["shortfall"]
    spend = data.unit_cost[sku][:, None] * orders
    reduced = cost + ((orders > 0) * pi[sku]).sum(axis=1) + terms["volume"] @ lam + spend @ mu
    keep = _best_per_sku(sku, reduced, settings.columns_per_sku)
    keep |= (orders == 0).all(axis=1)  # "order nothing": always feasible
    keep |= (orders == incumbent[sku]).all(axis=1)  # the best plan so far (classical at worst)
    cols = Columns(
        sku=sku[keep], orders=orders[keep], cost=cost[keep], volume=terms["volume"][keep], spend=spend[keep]
    )
    model = build_master(data, cols)
    remaining = max(5.0, deadline - time.perf_counter())
    res = solve(
        model,
        mip_gap=settings.mip_gap / 10,
        time_limit_s=remaining,
        threads=settings.threads,
        seed=settings.seed,
    )
    if not res.has_solution:
        return None, f"master MIP ended '{res.status}'"
    chosen = chosen_columns(model, cols)
    x = np.zeros((data.n_skus, data.horizon))
    x[cols.sku[chosen]] = cols.orders[chosen]
    return x, f"master MIP over {len(cols.sku)} of {len(sku)} columns: {res.status}"


def _best_per_sku(sku: np.ndarray, score: np.ndarray, k: int) -> np.ndarray:
    """Mask of the ``k`` lowest-score rows of every SKU (ties by position)."""
    order = np.lexsort((np.arange(len(sku)), score, sku))
    first = np.r_[0, np.flatnonzero(np.diff(sku[order])) + 1]
    rank = np.arange(len(order)) - np.repeat(first, np.diff(np.r_[first, len(order)]))
    keep = np.zeros(len(sku), dtype=bool)
    keep[order[rank < k]] = True
    return keep


def _sequential_plan(
    data: PlanningData, prm: ModelParams, lam: np.ndarray, mu: np.ndarray, rounds: int = 5
) -> np.ndarray:
    """A feasible plan: SKUs planned one at a time (most shortfall cost per unit volume first).

    Each SKU's exact DP sees what the SKUs before it left: storage (hard), budget (hard, by order
    week) and purchase orders already opened (their fixed cost is sunk), plus the Lagrangian storage
    and budget prices. Supplier-weeks whose orders stay below the minimum order value are barred and
    the pass repeated.
    """
    barred = np.zeros((len(data.suppliers), data.horizon), dtype=bool)
    x = np.zeros((data.n_skus, data.horizon))
    for _ in range(rounds):
        x = _sequential_pass(data, prm, lam, mu, barred)
        value = np.zeros_like(barred, dtype=float)
        np.add.at(value, data.supplier_idx, data.unit_cost[:, None] * x)
        short = (value > 0) & (value < data.min_order_value[:, None] - 1e-6)
        if not short.any():
            return x
        barred |= short
    return _drop_short_orders(data, x)


def _drop_short_orders(data: PlanningData, x: np.ndarray) -> np.ndarray:
    """Remove the lines of supplier-weeks still below their minimum order value."""
    value = np.zeros((len(data.suppliers), data.horizon))
    np.add.at(value, data.supplier_idx, data.unit_cost[:, None] * x)
    short = (value > 0) & (value < data.min_order_value[:, None] - 1e-6)
    return np.where(short[data.supplier_idx], 0.0, x)


def _sequential_pass(
    data: PlanningData, prm: ModelParams, lam: np.ndarray, mu: np.ndarray, barred: np.ndarray
) -> np.ndarray:
    h = data.horizon
    x = np.zeros((data.n_skus, h))
    opened = np.zeros_like(barred)
    base_volume = data.unit_volume @ np.maximum(0.0, prm.cautious_base)
    room = np.full(h, np.inf) if data.capacity is None else data.capacity - base_volume
    money = np.full(h, np.inf) if data.budget is None else data.budget.astype(float).copy()
    density = prm.penalty / np.maximum(data.unit_volume, 1e-12)
    for s in np.argsort(-density, kind="stable"):
        lt, p = int(data.lead_time[s]), int(data.supplier_idx[s])
        if lt >= h or prm.requirement[s, lt:].max() <= 0:
            continue
        weeks = np.arange(h - lt)  # order weeks whose arrivals land inside the horizon
        fixed = np.full(h, np.inf)
        fixed[lt:] = np.where(
            barred[p, weeks], np.inf, data.line_cost[s] + np.where(opened[p, weeks], 0.0, data.order_cost[p])
        )
        unit = np.zeros(h)
        unit[lt:] = data.unit_cost[s] * (1.0 + mu[weeks])
        max_packs = np.zeros(h, dtype=np.int64)
        per_pack = data.unit_cost[s] * data.pack[s]
        limit = np.where(per_pack > 0, np.floor(money[weeks] / max(per_pack, 1e-12) + 1e-9), 1e9)
        max_packs[lt:] = np.minimum(limit, 1e9).astype(np.int64)
        inst = LotSizingInstance(
            lead_time=np.array([lt]),
            pack=data.pack[s : s + 1],
            min_packs=np.round(data.min_units[s : s + 1] / data.pack[s]).astype(int),
            requirement=prm.requirement[s : s + 1],
            holding=data.holding_cost[s : s + 1],
            penalty=prm.penalty[s : s + 1],
            fixed=fixed[None, :],
            unit=unit[None, :],
            volume=data.unit_volume[s : s + 1],
            cautious_base=prm.cautious_base[s : s + 1],
            cap_price=lam,
            extra_volume_cap=np.maximum(room, 0.0)[None, :],
            max_packs=max_packs[None, :],
        )
        packs, _ = solve_lot_sizing(inst)
        arrivals_units = packs[0] * data.pack[s]
        if not arrivals_units.any():
            continue
        x[s, : h - lt] = arrivals_units[lt:]
        cum = np.cumsum(arrivals_units)
        base = prm.cautious_base[s]
        room -= data.unit_volume[s] * (np.maximum(0.0, base + cum) - np.maximum(0.0, base))
        money[: h - lt] -= data.unit_cost[s] * arrivals_units[lt:]
        opened[p, : h - lt] |= arrivals_units[lt:] > 0
    return x
