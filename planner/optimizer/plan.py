"""The optimiser: Lagrangian decomposition over SKUs, exact per-SKU lot sizing, and a master MIP.

SKUs interact only through shared purchase orders (y[s,t] <= z[p,t]), minimum order values,
storage and budget. Relaxing storage (prices lambda_t), budget (mu_t), the purchase-order link
(pi[s,t]) and minimum order values (rho[p,t], a reward per currency unit ordered) with Lagrange
multipliers splits the MIP of :mod:`planner.optimizer.model.monolithic` into one lot-sizing problem per
SKU, solved exactly by the dynamic program of :mod:`planner.optimizer.lotsizing`, plus a trivial problem
per supplier-week:

    LB = sum_s V_s(lambda, mu, pi, rho) + sum_{p,t} min(0, K_p + rho[p,t] M_p - sum_{s in p} pi[s,t])
         - sum_t lambda_t Cap_t - sum_t mu_t B_t

Every LB is a valid lower bound on the MIP optimum, whatever the prices (>= 0; rho capped so
that the DP stays exact, :func:`_relax`). Phases:

1. Subgradient (:func:`_subgradient`): Polyak steps from evenly shared purchase-order costs
   (plus shortfall-priced storage where the targets exceed it, :func:`_price_storage`);
   cheap, diverse columns (per-SKU schedules) and a first bound.
2. Column generation (:func:`_column_generation`): the LP relaxation of the restricted master
   (:mod:`planner.optimizer.model.pricing`, HiGHS) gives dual prices; the DP prices new columns at them
   (smoothed towards the best prices so far); repeated until the bound meets the LP value.
3. Plans: the least-stock plan, order cycles (:mod:`planner.optimizer.cycles`) and best
   responses (:mod:`planner.optimizer.best_response`), all
   with short purchase orders raised by :mod:`planner.optimizer.repair`; then the restricted master MIP
   (:mod:`planner.optimizer.model.master`, Pyomo + HiGHS) improves the best plan neighbourhood by
   neighbourhood (fix and optimise, :func:`_master`). Every plan is polished by
   :func:`planner.optimizer.repair.fill_shortfall` (lines added or brought forward where they cost less
   than the shortfall they cover, e.g. a last order topped up to its minimum value). Before the
   master and on its plan, :func:`planner.optimizer.repair.trade_storage` moves storage from SKUs that need
   it least to short SKUs that need it most where storage is full (others postpone stock they
   hold beyond their targets, or give it up at their lower penalty).

The classical plan and "order nothing" are always among the columns, so the optimiser never
returns a plan costlier (in the model's objective) than the classical policy's. Gaps are
reported against the best LB, on the objective and on the costs above the purchase floor
(:mod:`planner.optimizer.model.params`). Small instances (few orderable SKU-weeks) are solved as one MIP.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import pyomo.environ as pyo

from planner.core.accounting import purchase_order_value, shift_by_lead_time
from planner.core.feasibility import check_feasible
from planner.core.problem import PlanningData
from planner.core.results import Phase, PlanStatus, PolicyResult
from planner.core.verify import weekly_limit_violations
from planner.optimizer.best_response import best_response_plan
from planner.optimizer.cycles import cycle_plan
from planner.optimizer.lotsizing import solve_in_groups
from planner.optimizer.model.master import Background, Columns, build_master, chosen_columns
from planner.optimizer.model.monolithic import build_model, orders_from_model
from planner.optimizer.model.objective import COST_TERMS, model_objective, objective_terms
from planner.optimizer.model.params import ModelParams, model_params
from planner.optimizer.model.pricing import Prices, master_lp
from planner.optimizer.repair import fill_shortfall, merge_lines, raise_short_orders, trade_storage
from planner.optimizer.schedules import (
    feasible_or_none,
    least_stock_plan,
    lot_sizing_instance,
    order_weeks,
    without_short_orders,
)
from planner.optimizer.solve import SolveStatus, solve
from planner.policies.classical import plan_classical

log = logging.getLogger(__name__)
TARGET_SHARE = 0.05  # subgradient: aim this share above the best bound
SMOOTHING = 0.5  # column generation: weight of the best prices so far in the pricing prices
# Work is sized deterministically from the instance and the time limit, so the same inputs give the
# same plan whatever the machine's load; the time limit itself is only a safety net, and a plan cut
# short by it says so in its notes. The sizes are planning rates tuned on the bundled company
# (240 SKUs x 26 weeks, 60 s, 2 cores: 15 column-generation rounds and 8 master neighbourhoods),
# plus one master sweep over the suppliers' SKUs.
ROUND_SECONDS_PER_CELL = 1.6e-4  # planned seconds of one column-generation round per SKU-week
NEIGHBOURHOOD_SECONDS = 1.5  # planned seconds of one master neighbourhood
COLUMN_SHARE = 0.25  # of the time limit: planned column-generation work
MASTER_SHARE = 0.2  # of the time limit: planned master MIP work
NEIGHBOURHOOD_NODES = 2000  # branch-and-bound nodes of one master neighbourhood at most
NEIGHBOURHOOD_GAP_SHARE = 0.2  # a neighbourhood MIP stops within this share of the target gap
# safety nets (shares of the time limit at which a phase stops whatever its work left)
SUBGRADIENT_SHARE = 0.15
DUAL_SHARE = 0.5
SEQUENTIAL_SHARE = 0.75
TRADE_SHARE = 0.75  # storage trades before the master MIP
MASTER_END_SHARE = 0.95  # then storage trades on the master's plan until FINAL_TRADE_SHARE
FINAL_TRADE_SHARE = 0.97  # then fill_shortfall on the result
MERGE_SHARE = 0.99  # then line merges on the best plan; the rest is slack


@dataclass(frozen=True)
class OptimizerSettings:
    """Stopping rules and strategy (the scenario's ``solver`` block supplies the first four)."""

    mip_gap: float = 0.01
    time_limit_s: float = 60.0
    threads: int = 2
    seed: int = 0
    iterations: int = 60  # subgradient iterations at most
    strategy: str = "auto"  # auto | monolithic | decomposition
    monolithic_max_pairs: int = 1500  # auto: orderable SKU-weeks up to which the full MIP is solved
    master_columns: int = 12000  # master MIP: about this many columns in all (least reduced cost) ...
    columns_per_sku: tuple[int, int] = (6, 40)  # ... but at least / at most this many per SKU
    column_rounds: int = 40  # column generation: rounds at most
    neighbourhood_skus: int = 60  # master MIP: SKUs freed at once
    neighbourhood_sweeps: int = 3  # master MIP: sweeps over all SKUs at most (1st by supplier, then random)
    neighbourhood_time_s: float = 30.0  # master MIP: time limit of one neighbourhood (a safety net)
    lp_columns_per_sku: int = 5  # column generation: columns per SKU in the master LP


@dataclass
class _Pool:
    """Distinct columns per SKU, keyed by their order vector."""

    seen: set[tuple[int, bytes]] = field(default_factory=set)
    sku: list[int] = field(default_factory=list)
    orders: list[np.ndarray] = field(default_factory=list)

    scored: dict[str, np.ndarray] = field(default_factory=dict)  # arrays over the first columns

    def add(self, orders: np.ndarray) -> None:
        for s in range(orders.shape[0]):
            key = (s, orders[s].tobytes())
            if key not in self.seen:
                self.seen.add(key)
                self.sku.append(s)
                self.orders.append(orders[s].copy())

    def columns(self, data: PlanningData, prm: ModelParams) -> dict[str, np.ndarray]:
        """``sku[J]``, ``orders[J, H]``, model ``cost[J]`` and ``volume[J, H]`` of every column (each
        column scored once)."""
        done = len(self.scored.get("sku", ()))
        if done < len(self.sku):
            sku, orders = np.array(self.sku[done:]), np.array(self.orders[done:])
            terms = objective_terms(data, prm, orders, sku, volume=True)
            cost = sum(terms[c] for c in COST_TERMS)
            new = {"sku": sku, "orders": orders, "cost": cost, "volume": terms["volume"]}
            self.scored = {k: np.concatenate([self.scored[k], v]) if done else v for k, v in new.items()}
        return self.scored


@dataclass
class _Clock:
    """The time limit as safety nets; remembers which phases they cut short."""

    started: float
    limit: float
    cut: list[Phase] = field(default_factory=list)

    def left(self, share: float = 1.0) -> float:
        """Seconds until ``share`` of the time limit has passed."""
        return self.started + share * self.limit - time.perf_counter()

    def past(self, share: float, phase: Phase) -> bool:
        """True (and ``phase`` recorded) once ``share`` of the time limit has passed."""
        if self.left(share) >= 0:
            return False
        self.record(phase)
        return True

    def record(self, phase: Phase) -> None:
        """Remember that the time limit cut ``phase`` short (once)."""
        if phase not in self.cut:
            self.cut.append(phase)


def work_plan(data: PlanningData, settings: OptimizerSettings) -> tuple[int, int]:
    """(column-generation rounds, master neighbourhoods): deterministic, from size and time limit."""
    cells = max(data.n_skus * data.horizon, 1)
    rounds = int(COLUMN_SHARE * settings.time_limit_s / (ROUND_SECONDS_PER_CELL * cells))
    neighbourhoods = int(MASTER_SHARE * settings.time_limit_s / NEIGHBOURHOOD_SECONDS)
    # at least one sweep over every supplier's SKUs: minimum order values are settled there
    sizes = np.bincount(data.supplier_idx, minlength=len(data.suppliers))
    sweep = int(np.ceil(sizes / max(settings.neighbourhood_skus, 1)).sum())
    # fewer than two rounds planned: the master LP is too slow to converge, its time goes to plans
    rounds = min(rounds, settings.column_rounds) if rounds >= 2 else 0
    return rounds, sweep + neighbourhoods


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


def gaps(objective: float, bound: float, floor: float) -> tuple[float, float]:
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
    _, decision_gap = gaps(objective, bound, prm.purchase_floor)
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
        cut=(Phase.FULL_MIP,) if res.status == SolveStatus.FEASIBLE else (),
    )


def _solve_decomposed(data: PlanningData, prm: ModelParams, settings: OptimizerSettings) -> PolicyResult:
    clock = _Clock(time.perf_counter(), settings.time_limit_s)
    rounds_planned, neighbourhoods = work_plan(data, settings)
    classical = plan_classical(data).orders
    pool = _Pool()
    pool.add(np.zeros_like(classical))
    pool.add(classical)
    best = _Best(model_objective(data, prm, classical), classical, -np.inf, _start_prices(data))
    least_stock = least_stock_plan(data, prm)
    least = feasible_or_none(data, without_short_orders(data, raise_short_orders(data, prm, least_stock)))
    if least is not None:
        _polish(data, prm, pool, best, least)
    _price_storage(data, prm, least_stock, pool, best)
    marks = [time.perf_counter()]
    iterations = _subgradient(data, prm, settings, pool, best, clock)
    cycled = cycle_plan(data, prm, least_stock)
    if cycled is not None:
        _polish(data, prm, pool, best, cycled)
    marks.append(time.perf_counter())
    rounds = _column_generation(data, prm, settings, pool, best, clock, rounds_planned)
    marks.append(time.perf_counter())
    late = partial(clock.past, SEQUENTIAL_SHARE, Phase.BEST_RESPONSES)
    _polish(data, prm, pool, best, best_response_plan(data, prm, best.prices.mu, late=late))
    marks.append(time.perf_counter())
    _trade(data, prm, pool, best, clock, TRADE_SHARE)
    marks.append(time.perf_counter())
    master_orders, master_note = _master(
        data, prm, pool, best.prices, best.orders, settings, clock, neighbourhoods
    )
    _polish(data, prm, pool, best, master_orders)
    _trade(data, prm, pool, best, clock, FINAL_TRADE_SHARE)
    _merge(data, prm, pool, best, clock, MERGE_SHARE)
    marks.append(time.perf_counter())
    total_gap, decision_gap = gaps(best.ub, best.lb, prm.purchase_floor)
    status = PlanStatus.OPTIMAL if decision_gap <= settings.mip_gap else PlanStatus.FEASIBLE
    phases = ("lagrangian", "column_generation", "sequential", "storage_trades", "master")
    timings = {name: b - a for name, a, b in zip(phases, marks[:-1], marks[1:], strict=True)}
    timings["lagrangian"] += marks[0] - clock.started
    notes = [
        f"strategy: decomposition ({iterations} subgradient iterations, {rounds} column-generation rounds, "
        f"{len(pool.sku)} columns); gap {decision_gap:.4%} on costs above the purchase floor, "
        f"{total_gap:.4%} on the objective",
        master_note,
    ]
    if clock.cut:
        notes.append(
            f"the time limit cut short: {', '.join(clock.cut)}; a rerun may give a different plan "
            "(raise solver.time_limit_s for a reproducible one)"
        )
    return PolicyResult(
        "optimizer",
        best.orders,
        status,
        objective=best.ub,
        bound=float(best.lb),
        gap=decision_gap,
        timings=timings,
        notes=notes,
        cut=tuple(clock.cut),
    )


def _polish(data: PlanningData, prm: ModelParams, pool: _Pool, best: _Best, orders: np.ndarray) -> None:
    """``orders`` with shortfall filled (:func:`fill_shortfall`), added to the columns and offered."""
    orders = fill_shortfall(data, prm, orders)
    pool.add(orders)
    best.offer(model_objective(data, prm, orders), orders)


def _trade(
    data: PlanningData, prm: ModelParams, pool: _Pool, best: _Best, clock: _Clock, share: float
) -> None:
    """Storage trades on the best plan until ``share`` of the time limit, then :func:`_polish`."""
    traded, cut = trade_storage(data, prm, best.orders, deadline=clock.started + share * clock.limit)
    if cut:
        clock.record(Phase.STORAGE_TRADES)
    _polish(data, prm, pool, best, traded)


def _merge(
    data: PlanningData, prm: ModelParams, pool: _Pool, best: _Best, clock: _Clock, share: float
) -> None:
    """Line merges (:func:`planner.optimizer.repair.merge_lines`) on the best plan until ``share`` of the time
    limit; the result is offered."""
    merged, cut = merge_lines(data, prm, best.orders, deadline=clock.started + share * clock.limit)
    if cut:
        clock.record(Phase.LINE_MERGES)
    pool.add(merged)
    best.offer(model_objective(data, prm, merged), merged)


@dataclass
class _Best:
    """Best plan (upper bound) and best Lagrangian bound with the prices that gave it."""

    ub: float
    orders: np.ndarray
    lb: float
    prices: Prices

    def offer(self, objective: float, orders: np.ndarray) -> None:
        if objective < self.ub:
            self.ub, self.orders = objective, orders

    def bound(self, lb: float, prices: Prices) -> bool:
        """Keep ``lb`` if it is the best so far; True when it improved."""
        if np.isfinite(self.lb) and lb <= self.lb + 1e-9 * max(1.0, abs(self.lb)):
            return False
        self.lb, self.prices = lb, prices
        return True


@dataclass(frozen=True)
class _Relaxed:
    """One evaluation of the Lagrangian relaxation at some prices."""

    lb: float
    orders: np.ndarray  # the per-SKU optima x[s,t]
    z: np.ndarray  # [P, H] purchase orders the relaxation opens
    volume: np.ndarray  # [H] storage use of the per-SKU optima as the DP prices it (relaxed)
    spend: np.ndarray  # [H] purchase value by order week
    supplier_spend: np.ndarray  # [P, H] purchase value by supplier and order week


def _start_prices(data: PlanningData) -> Prices:
    """Storage and budget free; each purchase order's cost shared evenly by the supplier's SKUs."""
    h = data.horizon
    members = np.bincount(data.supplier_idx, minlength=len(data.suppliers))
    pi = np.repeat((data.order_cost / np.maximum(members, 1))[data.supplier_idx][:, None], h, axis=1)
    return dataclasses.replace(Prices.zero(data), pi=pi)


def shortfall_storage_prices(data: PlanningData, prm: ModelParams, receipts: np.ndarray) -> np.ndarray:
    """Storage prices lambda_t [currency/m3] at which falling short of targets pays for the overflow.

    ``receipts[s,t]``: cumulative planned receipts (units) of a plan meeting every target with the
    least stock. Where its slow-sales volume ``V_t`` exceeds ``Cap_t``, only shortfall can relieve
    storage: each unit SKU s is short in week t (t >= L_s, on stock it would hold) frees v_s m3 and
    costs P_s. The cheapest relief of ``V_t - Cap_t`` m3 is a fractional knapsack over SKUs sorted
    by P_s / v_s; its critical ratio is the storage price. Any prices >= 0 give a valid bound; these
    are a starting point the subgradient refines (0 in weeks that do not overflow).
    """
    lam = np.zeros(data.horizon)
    if data.capacity is None:
        return lam
    held = prm.stock(receipts)
    excess = (data.unit_volume[:, None] * held).sum(axis=0) - data.capacity
    relievable = np.arange(data.horizon)[None, :] >= data.lead_time[:, None]
    room = data.unit_volume[:, None] * np.where(relievable, np.minimum(receipts, held), 0.0)
    ratio = prm.penalty / np.maximum(data.unit_volume, 1e-12)
    order = np.argsort(ratio, kind="stable")
    freed = np.cumsum(room[order], axis=0)  # [S, H] m3 freed by the cheapest SKUs first
    for t in np.flatnonzero(excess > 1e-9):
        critical = min(int(np.searchsorted(freed[:, t], excess[t])), len(order) - 1)
        lam[t] = ratio[order[critical]]
    return lam


def _price_storage(
    data: PlanningData, prm: ModelParams, least_stock: np.ndarray, pool: _Pool, best: _Best
) -> None:
    """Start the bound from shortfall-priced storage where least-stock plans overflow it.

    Candidates: storage prices (:func:`shortfall_storage_prices`) from the continuous least-stock
    plan (receipts = requirement) and from the whole-pack one. A candidate that bounds better than
    the start prices becomes the subgradient's start (its columns join the pool); otherwise, and
    without overflow, nothing changes.
    """
    packs_plan = np.cumsum(shift_by_lead_time(least_stock, data.lead_time), axis=1)
    start = best.prices
    candidates = [shortfall_storage_prices(data, prm, receipts) for receipts in (prm.requirement, packs_plan)]
    candidates = [lam for lam in candidates if lam.any()]
    if not candidates:
        return
    floor = _relax(data, prm, start).lb
    for lam in candidates:
        prices = dataclasses.replace(start, lam=lam)
        rel = _relax(data, prm, prices)
        if rel.lb <= max(floor, best.lb):
            continue
        best.bound(rel.lb, prices)
        pool.add(rel.orders)
        if not weekly_limit_violations(data, rel.orders):
            best.offer(model_objective(data, prm, rel.orders), rel.orders)


def _relax(data: PlanningData, prm: ModelParams, prices: Prices) -> _Relaxed:
    """LB(lambda, mu, pi, rho) and columns: exact per-SKU lot sizing under the prices (module docstring).

    The minimum order value ``sum_{s in p} c_s x[s,t] >= M_p z[p,t]`` is relaxed with rho[p,t] >= 0:
    a reward of rho per currency unit ordered, and rho M_p added to the cost of opening (p, t).
    Rewards are capped at 1 + mu_t, where a unit still costs c_s (1 + mu_t - rho) >= 0 plus its
    holding: buying beyond the DP's states (peak requirement plus one order) then never pays, the
    DP stays exact and the bound valid.
    """
    rho = np.minimum(prices.rho, 1.0 + prices.mu[None, :])
    prices = dataclasses.replace(prices, rho=rho)
    packs, values = solve_in_groups(lot_sizing_instance(data, prm, prices))
    x = order_weeks(data, packs)
    supplier_pi = np.zeros((len(data.suppliers), data.horizon))
    np.add.at(supplier_pi, data.supplier_idx, prices.pi)
    z_cost = data.order_cost[:, None] + rho * data.min_order_value[:, None] - supplier_pi
    lb = values.sum() + np.minimum(0.0, z_cost).sum()
    if data.capacity is not None:
        lb -= float(prices.lam @ data.capacity)
    if data.budget is not None:
        lb -= float(prices.mu @ data.budget)
    cum = np.cumsum(shift_by_lead_time(x, data.lead_time), axis=1)
    volume = data.unit_volume @ np.maximum(0.0, prm.cautious_base + cum)  # the volume the DP priced
    value = data.unit_cost[:, None] * x
    supplier_spend = np.zeros((len(data.suppliers), data.horizon))
    np.add.at(supplier_spend, data.supplier_idx, value)
    return _Relaxed(float(lb), x, z_cost < 0, volume, value.sum(axis=0), supplier_spend)


def _subgradient(
    data: PlanningData, prm: ModelParams, settings: OptimizerSettings, pool: _Pool, best: _Best, clock: _Clock
) -> int:
    """Polyak subgradient steps from the start prices: cheap, diverse columns and a first bound.

    The step aims at a level a share above the best bound (not at the best plan's cost, which
    early on may carry large shortfall penalties and overshoot); the share halves on stalls.
    """
    prices, share, stall = best.prices, TARGET_SHARE, 0
    cap, budget = data.capacity, data.budget
    for it in range(settings.iterations):
        rel = _relax(data, prm, prices)
        pool.add(rel.orders)
        if best.bound(rel.lb, prices):
            stall = 0
        else:
            stall += 1
            if stall >= 5:
                share, stall = share / 2, 0
        if not weekly_limit_violations(data, rel.orders):
            best.offer(model_objective(data, prm, rel.orders), rel.orders)
        _, gap = gaps(best.ub, best.lb, prm.purchase_floor)
        log.debug("subgradient %d: LB %.2f UB %.2f gap %.4f", it, rel.lb, best.ub, gap)
        if gap <= settings.mip_gap / 2 or clock.past(SUBGRADIENT_SHARE, Phase.SUBGRADIENT):
            return it + 1
        g_pi = (rel.orders > 0).astype(float) - rel.z[data.supplier_idx].astype(float)
        g_lam = rel.volume - cap if cap is not None else np.zeros(data.horizon)
        g_mu = rel.spend - budget if budget is not None else np.zeros(data.horizon)
        movs = data.min_order_value[:, None]
        g_rho = np.where(movs > 0, movs * rel.z - rel.supplier_spend, 0.0)
        # Polyak steps per multiplier group: links, storage, budget and order values differ in units
        groups = [g for g in (g_pi, g_lam, g_mu, g_rho) if float((g**2).sum()) > 1e-12]
        if not groups:
            return it + 1
        target = min(best.ub, best.lb + share * max(abs(best.lb), 1.0))
        gain = max(target - rel.lb, 1e-6 * abs(target)) / len(groups)
        prices = Prices(
            np.maximum(0.0, prices.lam + _step(gain, g_lam) * g_lam),
            np.maximum(0.0, prices.mu + _step(gain, g_mu) * g_mu),
            np.maximum(0.0, prices.pi + _step(gain, g_pi) * g_pi),
            np.maximum(0.0, prices.rho + _step(gain, g_rho) * g_rho),
        )
    return settings.iterations


def _column_generation(
    data: PlanningData,
    prm: ModelParams,
    settings: OptimizerSettings,
    pool: _Pool,
    best: _Best,
    clock: _Clock,
    max_rounds: int,
) -> int:
    """Dantzig-Wolfe rounds: duals of the restricted master LP price new columns in the DP.

    Pricing happens at a blend of the LP duals and the best prices so far (Wentges smoothing),
    which damps the oscillation of raw duals. Every pricing gives a valid bound. Stops when the
    bound is within half the target gap of the LP value, after ``max_rounds``, or at the safety net.
    """
    rounds, active = 0, np.zeros(0, dtype=bool)
    fresh = [best.orders]
    while rounds < max_rounds and not clock.past(DUAL_SHARE, Phase.COLUMN_GENERATION):
        # the LP's columns only grow (no cycling): the previous ones, the newest, the k best at start
        k = settings.lp_columns_per_sku if rounds == 0 else 0
        cols, active = _candidate_columns(
            data,
            prm,
            pool,
            best.prices,
            fresh,
            k,
            np.r_[active, np.zeros(len(pool.sku) - len(active), dtype=bool)],
        )
        lp = master_lp(data, cols, time_limit_s=clock.left(DUAL_SHARE), threads=settings.threads)
        if lp is None:
            clock.past(DUAL_SHARE, Phase.COLUMN_GENERATION)
            break
        rounds += 1
        before = len(pool.sku)
        fresh = [best.orders]
        for prices in (best.prices.blend(lp.prices, SMOOTHING), lp.prices):
            rel = _relax(data, prm, prices)
            pool.add(rel.orders)
            fresh.append(rel.orders)
            if not weekly_limit_violations(data, rel.orders):
                best.offer(model_objective(data, prm, rel.orders), rel.orders)
            if best.bound(rel.lb, prices):
                break  # the smoothed prices raised the bound; else try the LP duals themselves
        lp_gap = (lp.value - best.lb) / max(lp.value - prm.purchase_floor, 1e-9)
        log.debug("column generation %d: LP %.2f LB %.2f (%.4f)", rounds, lp.value, best.lb, lp_gap)
        if lp_gap <= settings.mip_gap / 2 or len(pool.sku) == before:
            break
    return rounds


def _candidate_columns(
    data: PlanningData,
    prm: ModelParams,
    pool: _Pool,
    prices: Prices,
    plans: list[np.ndarray],
    k: int,
    also: np.ndarray | None = None,
) -> tuple[Columns, np.ndarray]:
    """Per SKU the ``k`` least reduced-cost columns at ``prices``, "order nothing", rows of ``plans``
    and the pool columns flagged in ``also``; returns them and their mask over the pool."""
    scored = pool.columns(data, prm)
    sku, orders, cost, volume = (scored[k] for k in ("sku", "orders", "cost", "volume"))
    spend = data.unit_cost[sku][:, None] * orders
    reduced = (
        cost
        + ((orders > 0) * prices.pi[sku]).sum(axis=1)
        + volume @ prices.lam
        + spend @ prices.mu
        - (spend * prices.rho[data.supplier_idx[sku]]).sum(axis=1)
    )
    keep = _best_per_sku(sku, reduced, k)
    keep |= (orders == 0).all(axis=1)  # "order nothing": always feasible
    for plan in plans:  # e.g. the best plan so far (classical at worst), the latest priced columns
        keep |= (orders == plan[sku]).all(axis=1)
    if also is not None:
        keep |= also
    cols = Columns(
        sku=sku[keep], orders=orders[keep], cost=cost[keep], volume=volume[keep], spend=spend[keep]
    )
    return cols, keep


def _step(gain: float, g: np.ndarray) -> float:
    norm = float((g**2).sum())
    return gain / norm if norm > 1e-12 else 0.0


def _master(
    data: PlanningData,
    prm: ModelParams,
    pool: _Pool,
    prices: Prices,
    incumbent: np.ndarray,
    settings: OptimizerSettings,
    clock: _Clock,
    max_neighbourhoods: int,
) -> tuple[np.ndarray, str]:
    """Improve the incumbent by the restricted master MIP over neighbourhoods of SKUs (fix and optimise).

    Each SKU may take one of its most promising columns (least reduced cost at ``prices``). Round
    after round, one group of SKUs (a supplier's SKUs, in chunks, then random mixes across
    suppliers for storage and budget) is freed while all others keep the incumbent's columns and
    enter the master only as what they use (:class:`Background`). A small master solves in
    seconds where the whole one stalls; the incumbent stays feasible in every neighbourhood, so
    the plan never gets worse. Stops after a sweep without improvement, after
    ``neighbourhood_sweeps`` sweeps or ``max_neighbourhoods`` neighbourhoods, or at the time limit.
    """
    low, high = settings.columns_per_sku
    per_sku = int(np.clip(settings.master_columns // max(data.n_skus, 1), low, high))
    cols, _ = _candidate_columns(data, prm, pool, prices, [incumbent], per_sku)
    x, cost = incumbent.copy(), model_objective(data, prm, incumbent)
    rng = np.random.default_rng(settings.seed)
    solved = improved = 0
    for sweep in _neighbourhoods(data, settings.neighbourhood_skus, settings.neighbourhood_sweeps, rng):
        better = False
        for group in sweep:
            if solved >= max_neighbourhoods:
                break
            if clock.left(MASTER_END_SHARE) < 0.5:
                clock.record(Phase.MASTER_MIP)
                break
            limit = min(clock.left(MASTER_END_SHARE), settings.neighbourhood_time_s)
            t0 = time.perf_counter()
            y = _solve_neighbourhood(data, prm, cols, x, group, settings, limit)
            if time.perf_counter() - t0 >= limit - 0.05:
                clock.record(Phase.MASTER_MIP)  # HiGHS stopped at its time limit, not its node limit
            solved += 1
            if y is not None and (c := model_objective(data, prm, y)) < cost - 1e-6 * max(1.0, abs(cost)):
                x, cost, improved, better = y, c, improved + 1, True
        if not better or solved >= max_neighbourhoods or "master MIP" in clock.cut:
            break
    note = (
        f"master MIP: {solved} neighbourhoods of up to {settings.neighbourhood_skus} SKUs over "
        f"{len(cols.sku)} of {len(pool.sku)} columns, {improved} improved the plan"
    )
    return x, note


def _neighbourhoods(
    data: PlanningData, size: int, sweeps: int, rng: np.random.Generator
) -> Iterator[list[np.ndarray]]:
    """Sweeps of SKU groups to free: each supplier's SKUs in chunks of ``size``, then random groups."""
    by_supplier = [np.flatnonzero(data.supplier_idx == p) for p in range(len(data.suppliers))]
    yield [c for m in by_supplier for c in np.array_split(m, max(1, int(np.ceil(len(m) / size))))]
    for _ in range(sweeps - 1):
        order = rng.permutation(data.n_skus)
        yield np.array_split(order, max(1, int(np.ceil(data.n_skus / size))))


def _solve_neighbourhood(
    data: PlanningData,
    prm: ModelParams,
    cols: Columns,
    x: np.ndarray,
    group: np.ndarray,
    settings: OptimizerSettings,
    time_limit_s: float,
) -> np.ndarray | None:
    """Re-choose the columns of the SKUs in ``group``, all others fixed to ``x``; None without a plan."""
    free = np.isin(cols.sku, group)
    fixed = np.ones(data.n_skus, dtype=bool)
    fixed[group] = False
    others = np.where(fixed[:, None], x, 0.0)
    cum = np.cumsum(shift_by_lead_time(others, data.lead_time), axis=1)
    volume = data.unit_volume[fixed] @ prm.stock(cum[fixed], fixed)
    value = purchase_order_value(data, others)
    background = Background(volume, data.unit_cost @ others, value, value > 0)
    sub = Columns(
        sku=cols.sku[free],
        orders=cols.orders[free],
        cost=cols.cost[free],
        volume=cols.volume[free],
        spend=cols.spend[free],
    )
    model = build_master(data, sub, background)
    res = solve(
        model,
        mip_gap=settings.mip_gap * NEIGHBOURHOOD_GAP_SHARE,
        time_limit_s=time_limit_s,
        threads=settings.threads,
        seed=settings.seed,
        # HiGHS 1.16's presolve rule Sparsify, and the presolve of its sub-MIP heuristics RENS and
        # root reduced cost (strengthenInequalities) were seen to run for minutes on the master's
        # dense storage and order-value rows, deaf to time limits and interrupts (root reduced
        # cost for over 20 minutes at 10,000 SKUs); RINS runs the same sub-MIP presolve. Without
        # them a neighbourhood still solves: it is small and starts from the incumbent (the cost
        # in plan quality shows in bench/optimizer_scale.py).
        options={
            "mip_heuristic_run_rens": False,
            "mip_heuristic_run_rins": False,
            "mip_heuristic_run_root_reduced_cost": False,
            "presolve": "off",
            "mip_max_nodes": NEIGHBOURHOOD_NODES,
        },
        start=_incumbent_start(model, sub, x),
    )
    if not res.has_solution:
        return None
    chosen = chosen_columns(model, sub)
    y = others.copy()
    y[sub.sku[chosen]] = sub.orders[chosen]
    return y


def _incumbent_start(model: pyo.ConcreteModel, sub: Columns, x: np.ndarray) -> list[tuple[pyo.Var, float]]:
    """The master's column choice that reproduces ``x`` for the free SKUs (a MIP start); purchase
    order binaries are left for HiGHS to complete."""
    same = (sub.orders == x[sub.sku]).all(axis=1)
    return [(model.l[j], float(same[j])) for j in range(len(sub.sku))]


def _best_per_sku(sku: np.ndarray, score: np.ndarray, k: int) -> np.ndarray:
    """Mask of the ``k`` lowest-score rows of every SKU (ties by position)."""
    order = np.lexsort((np.arange(len(sku)), score, sku))
    first = np.r_[0, np.flatnonzero(np.diff(sku[order])) + 1]
    rank = np.arange(len(order)) - np.repeat(first, np.diff(np.r_[first, len(order)]))
    keep = np.zeros(len(sku), dtype=bool)
    keep[order[rank < k]] = True
    return keep
