"""Best responses: a feasible plan in which every SKU re-plans exactly against all the others.

:func:`best_response_plan` guarantees a plan within storage, budget and minimum order values (lines
of purchase orders it cannot raise to their minimum value are dropped); each SKU's row is the exact
optimum of its own lot-sizing problem given what the others leave (:class:`Market`), not a joint
optimum. The decomposition (:mod:`planner.optimizer.plan`) offers it to its pool of plans.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from planner.core.accounting import purchase_order_value, shift_by_lead_time, short_purchase_orders
from planner.core.problem import PlanningData
from planner.optimizer.lotsizing import LotSizingInstance, solve_lot_sizing
from planner.optimizer.model.objective import model_objective, objective_terms
from planner.optimizer.model.params import ModelParams
from planner.optimizer.repair import raise_short_orders
from planner.optimizer.schedules import least_stock_plan, without_short_orders

TOP_UP_MARGIN = 0.03  # share of storage best responses leave free for minimum-order-value top-ups


def best_response_plan(
    data: PlanningData,
    prm: ModelParams,
    mu: np.ndarray,
    passes: int = 2,
    rounds: int = 3,
    late: Callable[[], bool] = lambda: False,
) -> np.ndarray:
    """A feasible plan by best responses: each SKU in turn re-plans exactly given all the others.

    1. Every SKU takes its least-stock plan, so no SKU is squeezed out of storage by those planned
       before it; when even those overflow storage, every SKU starts from no orders instead, so the
       SKUs planned first (most shortfall cost per m3) get the room and the others what is left.
    2. SKU by SKU (most shortfall cost per unit volume first), the exact DP re-plans with true costs
       plus the Lagrangian budget prices, hard limits at what the others leave (storage per week less
       a small margin, budget per order week), and purchase orders that others already place costing
       only the line.
    3. Purchase orders below the supplier's minimum order value are raised by asking the supplier's
       SKUs for larger (or new) lines that week, accepted only when they cost no service elsewhere.
    4. Lines of orders that stay short are dropped and every SKU re-plans once more under rules that
       keep all purchase orders at or above their minimum value.

    Returns the cheaper of the plans after steps 2 and 4 (short orders dropped); ``late()`` returning
    True stops it early (the caller's safety net).
    """
    market = Market(data, prm, starting_plan(data, prm), mu)
    density = prm.penalty / np.maximum(data.unit_volume, 1e-12)
    order = np.argsort(-density, kind="stable")
    for _ in range(passes):
        for s in order:
            if late():
                break
            market.respond(int(s))
    candidates = [without_short_orders(data, raise_short_orders(data, prm, market.x))]
    for _ in range(rounds):
        short = market.below_minimum()
        if not short.any() or late():
            break
        for p, t in zip(*np.nonzero(short), strict=True):
            if late():
                break
            market.raise_order(int(p), int(t))
    short = market.below_minimum()
    if short.any():  # drop what could not be raised, then re-plan keeping every order valid
        for s in np.flatnonzero(short[data.supplier_idx].any(axis=1)):
            market.drop_lines(int(s), short[data.supplier_idx[s]])
        for _ in range(passes):
            for s in order:
                if late():
                    break
                market.respond(int(s), keep_minimum=True)
    candidates.append(without_short_orders(data, raise_short_orders(data, prm, market.x)))
    costs = [model_objective(data, prm, x) for x in candidates]
    return candidates[int(np.argmin(costs))]


class Market:
    """The shared state SKUs plan against: storage, budget and purchase orders used by the others."""

    def __init__(self, data: PlanningData, prm: ModelParams, x: np.ndarray, mu: np.ndarray):
        self.data, self.prm, self.mu = data, prm, mu
        h, p_count = data.horizon, len(data.suppliers)
        self.x = x.copy()
        self.barred = np.zeros((p_count, h), dtype=bool)
        self.alone = data.unit_volume[:, None] * prm.stock(np.zeros_like(x))  # [S, H] without new orders
        self.extra = objective_terms(data, prm, self.x, volume=True)["volume"] - self.alone
        self.used = (self.alone + self.extra).sum(axis=0)
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
        if int(self.data.lead_time[s]) >= self.data.horizon:
            return force is None
        inst = self._problem(s, force, keep_minimum)
        if inst is None:
            return False
        packs, cost = solve_lot_sizing(inst)
        new = self._accepted(s, force, packs[0], float(cost[0]))
        if new is None:
            return False
        self._apply(s, new)
        return True

    def _problem(
        self, s: int, force: tuple[int, int] | None = None, keep_minimum: bool = False
    ) -> LotSizingInstance | None:
        """SKU s's lot-sizing problem against the others (:meth:`respond`); None if ``force`` is barred."""
        data, prm = self.data, self.prm
        h = data.horizon
        lt, p = int(data.lead_time[s]), int(data.supplier_idx[s])
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
                return None
            week_min = np.zeros(h, dtype=np.int64) if week_min is None else week_min
            week_min[t + lt] = max(int(week_min[t + lt]), k)
            forced = np.zeros((1, h), dtype=bool) if forced is None else forced
            forced[0, t + lt] = True
        return LotSizingInstance(
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

    def _accepted(
        self, s: int, force: tuple[int, int] | None, packs: np.ndarray, cost: float
    ) -> np.ndarray | None:
        """SKU s's new order row from its DP solution (packs by arrival week), or None if ``force`` fails."""
        data = self.data
        h, lt = data.horizon, int(data.lead_time[s])
        if force is not None and (not np.isfinite(cost) or packs[force[0] + lt] < force[1]):
            return None
        new = np.zeros(h)
        new[: h - lt] = packs[lt:] * data.pack[s]
        if force is not None and self._shortfall(s, new) > self._shortfall(s, self.x[s]) + 1e-6:
            return None  # a forced order that costs service elsewhere is not worth a minimum order value
        if data.capacity is not None:
            # the DP prices storage on the relaxed stock; the exact one is higher where the slow
            # scenario runs out (receipts then land on an empty shelf)
            more = self._extra(s, new) - self.extra[s]
            if np.any((more > 1e-9) & (self.used + more > data.capacity + 1e-6)):
                return None
        return new

    def _extra(self, s: int, row: np.ndarray) -> np.ndarray:
        """Volume SKU s's order ``row`` adds per week to its stock without new orders (exact)."""
        lt = int(self.data.lead_time[s])
        cum = np.cumsum(np.r_[np.zeros(lt), row][: self.data.horizon])
        return self.data.unit_volume[s] * self.prm.stock(cum, s) - self.alone[s]

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
        data = self.data
        p = int(data.supplier_idx[s])
        new_extra = self._extra(s, new)
        self.used += new_extra - self.extra[s]
        self.extra[s] = new_extra
        new_spend = data.unit_cost[s] * new
        self.money += self.spend[s] - new_spend
        self.value[p] += new_spend - self.spend[s]
        self.spend[s] = new_spend
        self.lines[p] += (new > 0).astype(np.int64) - (self.x[s] > 0).astype(np.int64)
        self.x[s] = new


def starting_plan(data: PlanningData, prm: ModelParams) -> np.ndarray:
    """The least-stock plan when it fits in storage, else no orders (see :func:`best_response_plan`)."""
    least = least_stock_plan(data, prm)
    if data.capacity is None:
        return least
    volume = data.unit_volume @ prm.stock(np.cumsum(shift_by_lead_time(least, data.lead_time), axis=1))
    return least if np.all(volume <= data.capacity + 1e-9) else np.zeros_like(least)
