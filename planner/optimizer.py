"""The optimiser: Lagrangian decomposition over SKUs, exact per-SKU lot sizing, and a master MIP.

SKUs interact only through shared purchase orders (y[s,t] <= z[p,t]), minimum order values,
storage and budget. Relaxing storage (prices lambda_t), budget (mu_t) and the purchase-order
link (pi[s,t]) with Lagrange multipliers, and dropping minimum order values, splits the MIP of
:mod:`planner.model.monolithic` into one lot-sizing problem per SKU, solved exactly by the
dynamic program of :mod:`planner.lotsizing`, plus a trivial problem per supplier-week:

    LB(lambda, mu, pi) = sum_s V_s(lambda, mu, pi) + sum_{p,t} min(0, K_p - sum_{s in p} pi[s,t])
                         - sum_t lambda_t Cap_t - sum_t mu_t B_t

Every LB is a valid lower bound on the MIP optimum. Subgradient steps (Polyak, one step per
multiplier group, with the best plan's cost as target) raise it. Plans come from two places:
a best-response heuristic (:func:`_sequential_plan`: exact per-SKU re-planning against what the
other SKUs leave of storage, budget and purchase orders) and the restricted master
(:mod:`planner.model.master`, Pyomo + HiGHS), which picks one of the collected schedules per SKU
subject to every coupling constraint. The classical plan and "order nothing" are always among
the columns, so the optimiser never returns a plan costlier (in the model's objective) than the
classical policy's. Gaps are reported against the best LB, on the objective and on the costs
above the purchase floor (:mod:`planner.model.params`). Small instances (few orderable SKU-weeks)
are solved as one MIP instead.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass, field

import numpy as np

from planner.accounting import purchase_order_value, shift_by_lead_time, short_purchase_orders
from planner.classical import plan_classical
from planner.feasibility import check_feasible
from planner.lotsizing import LotSizingInstance, solve_lot_sizing
from planner.model.master import Columns, build_master, chosen_columns
from planner.model.monolithic import build_model, orders_from_model
from planner.model.params import ModelParams, model_params
from planner.problem import PlanningData
from planner.results import PlanStatus, PolicyResult
from planner.solve import SolveStatus, solve
from planner.verify import weekly_limit_violations

log = logging.getLogger(__name__)
TOP_UP_MARGIN = 0.03  # share of storage best responses leave free for minimum-order-value top-ups


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
    cum = np.cumsum(shift_by_lead_time(orders, data.lead_time[s]), axis=1)
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
        if gap <= settings.mip_gap / 2 or time.perf_counter() > started + 0.4 * settings.time_limit_s:
            break
        g_pi = (x > 0).astype(float) - z[data.supplier_idx].astype(float)
        g_lam = vol - cap if cap is not None else np.zeros(h)
        g_mu = spend - budget if budget is not None else np.zeros(h)
        # Polyak steps per multiplier group: links, storage and budget are in different units
        groups = [g for g in (g_pi, g_lam, g_mu) if float((g**2).sum()) > 1e-12]
        if not groups:
            break
        gain = theta * max(best_ub - lb, 1e-6 * abs(best_ub)) / len(groups)
        pi = np.maximum(0.0, pi + _step(gain, g_pi) * g_pi)
        lam = np.maximum(0.0, lam + _step(gain, g_lam) * g_lam)
        mu = np.maximum(0.0, mu + _step(gain, g_mu) * g_mu)
    t_lagrange = time.perf_counter() - started
    greedy = _sequential_plan(data, prm, mu, deadline=started + 0.8 * settings.time_limit_s)
    greedy_ub = model_objective(data, prm, greedy)
    pool.add(greedy)
    if greedy_ub < best_ub:
        best_ub, best_orders = greedy_ub, greedy
    t_greedy = time.perf_counter() - started - t_lagrange
    prices = (lam, mu, pi)
    if deadline - time.perf_counter() > 0.1 * settings.time_limit_s:
        master_orders, master_note = _master(data, prm, pool, prices, best_orders, settings, deadline)
    else:
        master_orders, master_note = None, "master MIP skipped: time budget used up"
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


def _step(gain: float, g: np.ndarray) -> float:
    norm = float((g**2).sum())
    return gain / norm if norm > 1e-12 else 0.0


def _repair_ub(data: PlanningData, prm: ModelParams, x: np.ndarray) -> tuple[float, np.ndarray] | None:
    """The DP plan's true cost when it already meets storage, budget and minimum order values."""
    if weekly_limit_violations(data, x):
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
    remaining = max(1.0, deadline - time.perf_counter())
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
    data: PlanningData,
    prm: ModelParams,
    mu: np.ndarray,
    deadline: float = np.inf,
    passes: int = 2,
    rounds: int = 3,
) -> np.ndarray:
    """A feasible plan by best responses: each SKU in turn re-plans exactly given all the others.

    1. Every SKU takes its least-stock plan, so no SKU is squeezed out of storage by those planned
       before it.
    2. SKU by SKU (most shortfall cost per unit volume first), the exact DP re-plans with true costs
       plus the Lagrangian budget prices, hard limits at what the others leave (storage per week less
       a small margin, budget per order week), and purchase orders that others already place costing
       only the line.
    3. Purchase orders below the supplier's minimum order value are raised by asking the supplier's
       SKUs for larger (or new) lines that week, accepted only when they cost no service elsewhere.
    4. Lines of orders that stay short are dropped and every SKU re-plans once more under rules that
       keep all purchase orders at or above their minimum value.

    Returns the cheaper of the plans after steps 2 and 4 (short orders dropped); stops early at
    ``deadline`` (``time.perf_counter()`` seconds).
    """
    market = _Market(data, prm, _least_stock_plan(data, prm), mu)
    density = prm.penalty / np.maximum(data.unit_volume, 1e-12)
    order = np.argsort(-density, kind="stable")
    for _ in range(passes):
        for s in order:
            if time.perf_counter() > deadline:
                break
            market.respond(int(s))
    candidates = [_without_short_orders(data, market.x)]
    for _ in range(rounds):
        short = market.below_minimum()
        if not short.any() or time.perf_counter() > deadline:
            break
        for p, t in zip(*np.nonzero(short), strict=True):
            if time.perf_counter() > deadline:
                break
            market.raise_order(int(p), int(t))
    short = market.below_minimum()
    if short.any():  # drop what could not be raised, then re-plan keeping every order valid
        for s in np.flatnonzero(short[data.supplier_idx].any(axis=1)):
            market.drop_lines(int(s), short[data.supplier_idx[s]])
        for _ in range(passes):
            for s in order:
                if time.perf_counter() > deadline:
                    break
                market.respond(int(s), keep_minimum=True)
    candidates.append(_without_short_orders(data, market.x))
    costs = [model_objective(data, prm, x) for x in candidates]
    return candidates[int(np.argmin(costs))]


def _without_short_orders(data: PlanningData, x: np.ndarray) -> np.ndarray:
    """x without the lines of purchase orders below the supplier's minimum order value."""
    return np.where(short_purchase_orders(data, x)[data.supplier_idx], 0.0, x)


class _Market:
    """The shared state SKUs plan against: storage, budget and purchase orders used by the others."""

    def __init__(self, data: PlanningData, prm: ModelParams, x: np.ndarray, mu: np.ndarray):
        self.data, self.prm, self.mu = data, prm, mu
        h, p_count = data.horizon, len(data.suppliers)
        self.x = x.copy()
        self.barred = np.zeros((p_count, h), dtype=bool)
        volume = objective_terms(data, prm, self.x)["volume"]
        self.extra = volume - data.unit_volume[:, None] * np.maximum(0.0, prm.cautious_base)
        self.used = volume.sum(axis=0)
        self.spend = data.unit_cost[:, None] * self.x
        self.money = np.full(h, np.inf) if data.budget is None else data.budget - self.spend.sum(axis=0)
        self.lines = np.zeros((p_count, h), dtype=np.int64)
        np.add.at(self.lines, data.supplier_idx, (self.x > 0).astype(np.int64))
        self.value = purchase_order_value(data, self.x)

    def below_minimum(self) -> np.ndarray:
        """[P, H]: purchase orders worth less than the supplier's minimum order value."""
        return short_purchase_orders(self.data, self.x)

    def _room(self, s: int, margin: float) -> np.ndarray:
        """Volume SKU s may add per week: what the others leave, less a margin for top-ups."""
        cap = self.data.capacity
        if cap is None:
            return np.full(self.data.horizon, np.inf)
        others = self.used - self.extra[s]
        slack = np.maximum(cap * (1.0 - margin) - others, np.minimum(cap - others, self.extra[s]))
        return np.maximum(slack, 0.0)

    def respond(self, s: int, force: tuple[int, int] | None = None, keep_minimum: bool = False) -> bool:
        """Re-plan SKU s exactly against the others; with ``force=(t, k)`` it must order >= k packs in week t.

        With ``keep_minimum`` every purchase order stays at or above the minimum order value: SKU s may
        open an order only with enough value, and must keep (enough of) a line that the others' lines
        alone would leave short. Returns False (and changes nothing) when a forced order cannot fit.
        """
        data, prm = self.data, self.prm
        h = data.horizon
        lt, p = int(data.lead_time[s]), int(data.supplier_idx[s])
        if lt >= h:
            return force is None
        weeks = np.arange(h - lt)
        others = self.lines[p, weeks] - (self.x[s, weeks] > 0)
        fixed = np.full(h, np.inf)
        fixed[lt:] = np.where(
            self.barred[p, weeks], np.inf, data.line_cost[s] + np.where(others > 0, 0.0, data.order_cost[p])
        )
        unit = np.zeros(h)
        unit[lt:] = data.unit_cost[s] * (1.0 + self.mu[weeks])
        per_pack = data.unit_cost[s] * data.pack[s]
        own_money = self.money[weeks] + self.spend[s, weeks]
        max_packs = np.zeros(h, dtype=np.int64)
        max_packs[lt:] = np.minimum(np.floor(own_money / per_pack + 1e-9) if per_pack > 0 else 1e9, 1e9)
        week_min = None
        forced = None
        if keep_minimum and data.min_order_value[p] > 0:
            week_min, forced, fixed = self._minimum_value_rules(s, p, lt, fixed)
        if force is not None:
            t, k = force
            if self.barred[p, t]:
                return False
            week_min = np.zeros(h, dtype=np.int64) if week_min is None else week_min
            week_min[t + lt] = max(int(week_min[t + lt]), k)
            forced = np.zeros((1, h), dtype=bool) if forced is None else forced
            forced[0, t + lt] = True
        inst = LotSizingInstance(
            lead_time=np.array([lt]),
            pack=data.pack[s : s + 1],
            min_packs=np.round(data.min_units[s : s + 1] / data.pack[s]).astype(np.int64),
            requirement=prm.requirement[s : s + 1],
            holding=data.holding_cost[s : s + 1],
            penalty=prm.penalty[s : s + 1],
            fixed=fixed[None, :],
            unit=unit[None, :],
            volume=data.unit_volume[s : s + 1],
            cautious_base=prm.cautious_base[s : s + 1],
            cap_price=np.zeros(h),
            extra_volume_cap=self._room(s, 0.0 if force is not None else TOP_UP_MARGIN)[None, :],
            max_packs=max_packs[None, :],
            week_min_packs=None if week_min is None else week_min[None, :],
            forced=forced,
        )
        packs, cost = solve_lot_sizing(inst)
        if force is not None and (not np.isfinite(cost[0]) or packs[0, force[0] + lt] < force[1]):
            return False
        new = np.zeros(h)
        new[: h - lt] = packs[0, lt:] * data.pack[s]
        if force is not None and self._shortfall(s, new) > self._shortfall(s, self.x[s]) + 1e-6:
            return False  # a forced order that costs service elsewhere is not worth a minimum order value
        self._apply(s, new)
        return True

    def _shortfall(self, s: int, row: np.ndarray) -> float:
        terms = objective_terms(self.data, self.prm, row[None, :], np.array([s]))
        return float(terms["shortfall"][0])

    def _minimum_value_rules(
        self, s: int, p: int, lt: int, fixed: np.ndarray
    ) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray]:
        """Least packs per arrival week and forced weeks that keep every purchase order valid."""
        data = self.data
        h = data.horizon
        weeks = np.arange(h - lt)
        others = self.value[p, weeks] - self.spend[s, weeks]
        mov = data.min_order_value[p]
        per_pack = data.unit_cost[s] * data.pack[s]
        fixed = fixed.copy()
        if per_pack <= 0:
            fixed[lt:] = np.where(others < mov - 1e-6, np.inf, fixed[lt:])
            return None, None, fixed
        need = np.where(others >= mov - 1e-6, 0.0, mov - others)
        week_min = np.zeros(h, dtype=np.int64)
        week_min[lt:] = np.ceil(need / per_pack - 1e-9).astype(np.int64)
        forced = np.zeros((1, h), dtype=bool)
        forced[0, lt:] = (others > 1e-9) & (others < mov - 1e-6)
        return week_min, forced, fixed

    def raise_order(self, p: int, t: int) -> bool:
        """Bring purchase order (p, t) to the minimum value with larger (or new) lines of p's SKUs.

        SKUs already in the order go first, then the others of the supplier, cheapest to hold per
        unit of value first; each is asked for the whole deficit, else for one more pack.
        """
        data = self.data
        pool = np.flatnonzero(data.supplier_idx == p)
        ratio = data.holding_cost[pool] / np.maximum(data.unit_cost[pool], 1e-12)
        pool = pool[np.lexsort((ratio, self.x[pool, t] <= 0))]
        for s in pool:
            per_pack = data.unit_cost[s] * data.pack[s]
            if per_pack <= 0 or t + int(data.lead_time[s]) >= data.horizon:
                continue
            own = int(round(self.x[s, t] / data.pack[s]))
            minimum = int(round(data.min_units[s] / data.pack[s]))
            deficit = data.min_order_value[p] - self.value[p, t]
            whole = own + int(np.ceil(deficit / per_pack - 1e-9))
            for k in dict.fromkeys((whole, max(own + 1, minimum))):
                if self.respond(int(s), force=(t, max(k, minimum))):
                    break
            if self.value[p, t] >= data.min_order_value[p] - 1e-6:
                return True
        return False

    def drop_lines(self, s: int, weeks: np.ndarray) -> None:
        """Remove SKU s's order lines in the given order weeks."""
        self._apply(s, np.where(weeks, 0.0, self.x[s]))

    def _apply(self, s: int, new: np.ndarray) -> None:
        data, prm = self.data, self.prm
        p = int(data.supplier_idx[s])
        lt = int(data.lead_time[s])
        cum = np.cumsum(np.r_[np.zeros(lt), new][: data.horizon])
        base = prm.cautious_base[s]
        new_extra = data.unit_volume[s] * (np.maximum(0.0, base + cum) - np.maximum(0.0, base))
        self.used += new_extra - self.extra[s]
        self.extra[s] = new_extra
        new_spend = data.unit_cost[s] * new
        self.money += self.spend[s] - new_spend
        self.value[p] += new_spend - self.spend[s]
        self.spend[s] = new_spend
        self.lines[p] += (new > 0).astype(np.int64) - (self.x[s] > 0).astype(np.int64)
        self.x[s] = new


def _least_stock_plan(data: PlanningData, prm: ModelParams) -> np.ndarray:
    """Per SKU, the plan that meets the targets with the least stock (budget and storage ignored).

    The DP with holding raised by P_s / (2 H) per unit-week: a unit held all horizon then costs less
    than one unit-week short, so stock is minimised among plans with the least shortfall.
    """
    zero = np.zeros(data.horizon)
    inst = _instance(data, prm, zero, zero, np.zeros_like(prm.requirement))
    heavy = dataclasses.replace(inst, holding=data.holding_cost + prm.penalty / (2.0 * data.horizon))
    packs, _ = solve_lot_sizing(heavy)
    return _to_order_weeks(data, packs)
