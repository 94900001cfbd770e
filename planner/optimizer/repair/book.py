"""A plan under repair with its running totals, and the line-level moves every repair shares.

:class:`Book` keeps cumulative arrivals, slow-sales stock and storage use, spend and purchase-order
values in step with the plan; its moves (:meth:`Book.move`, :meth:`Book.add`) and the helpers
here change a line only when MOQs, the tight line bound, storage and the weekly budget still hold.
"""

from __future__ import annotations

import copy

import numpy as np

from planner.core.accounting import purchase_order_value, shift_by_lead_time
from planner.core.problem import PlanningData
from planner.optimizer.model.objective import COST_TERMS, objective_terms
from planner.optimizer.model.params import ModelParams

TOL = 1e-6


class Book:
    """A plan with its cumulative arrivals, storage use, spend and purchase-order values."""

    def __init__(self, data: PlanningData, prm: ModelParams, x: np.ndarray):
        self.data, self.prm, self.x = data, prm, x
        self.cum = np.cumsum(shift_by_lead_time(x, data.lead_time), axis=1)
        self.stock = prm.stock(self.cum)
        self.used = data.unit_volume @ self.stock
        self.cap = data.capacity if data.capacity is not None else np.full(data.horizon, np.inf)
        self.spend = data.unit_cost @ x
        self.budget = data.budget if data.budget is not None else np.full(data.horizon, np.inf)
        self.value = purchase_order_value(data, x)

    def copy(self) -> Book:
        new = copy.copy(self)
        for name in ("x", "cum", "stock", "used", "spend", "value"):
            setattr(new, name, getattr(self, name).copy())
        return new

    def short(self) -> np.ndarray:
        return (self.value > 0) & (self.value < self.data.min_order_value[:, None] - TOL)

    def move(self, lines: list[tuple[int, float]], src: int, dst: int) -> bool:
        """Move each (SKU, units) line from order week ``src`` to ``dst``: all of them, or none."""
        data, prm = self.data, self.prm
        used, spend = self.used.copy(), self.spend.copy()
        rows = []
        for s, units in lines:
            if dst + data.lead_time[s] >= data.horizon:
                return False
            ends = sorted((int(dst + data.lead_time[s]), int(src + data.lead_time[s])))
            a, a2 = ends[0], min(ends[1], data.horizon)
            cum = self.cum[s].copy()
            cum[a:a2] += units if dst < src else -units
            stock = prm.stock(cum, s)  # later weeks move too where the slow scenario runs out
            used += data.unit_volume[s] * (stock - self.stock[s])
            money = data.unit_cost[s] * units
            spend[dst] += money
            spend[src] -= money
            rows.append((s, cum, stock, units, money))
        if np.any(used > self.cap + TOL) or spend[dst] > self.budget[dst] + TOL:
            return False
        self.used, self.spend = used, spend
        for s, cum, stock, units, money in rows:
            p = data.supplier_idx[s]
            self.cum[s], self.stock[s] = cum, stock
            self.x[s, dst] += units
            self.x[s, src] -= units
            self.value[p, dst] += money
            self.value[p, src] -= money
        return True

    def gap(self, skus: np.ndarray | slice = slice(None)) -> np.ndarray:
        """Target less cumulative supply (units; > 0 where short) of ``skus`` per week, 0 before the
        SKU's first possible arrival (week L_s)."""
        data = self.data
        weeks = np.arange(data.horizon)[None, :]
        lead = np.atleast_1d(data.lead_time[skus])[:, None]
        return np.where(weeks >= lead, self.prm.requirement[skus] - self.cum[skus], 0.0)

    def set_row(self, s: int, row: np.ndarray) -> None:
        """SKU s orders ``row`` instead (storage use, spend and order values follow; no limit checked)."""
        data = self.data
        cum = np.cumsum(shift_by_lead_time(row[None, :], data.lead_time[s : s + 1]), axis=1)[0]
        stock = self.prm.stock(cum, s)
        self.used += data.unit_volume[s] * (stock - self.stock[s])
        money = data.unit_cost[s] * (row - self.x[s])
        self.spend += money
        self.value[data.supplier_idx[s]] += money
        self.cum[s], self.stock[s] = cum, stock
        self.x[s] = row

    def _after_adding(self, s: int, t: int, units: float) -> tuple[np.ndarray, np.ndarray] | None:
        """SKU s's stock row and storage use per week with ``units`` more of it ordered in week t;
        None when storage or the budget would not hold."""
        data = self.data
        a = int(t + data.lead_time[s])
        cum = self.cum[s].copy()
        cum[a:] += units
        stock = self.prm.stock(cum, s)
        used = self.used + data.unit_volume[s] * (stock - self.stock[s])
        if (
            np.any(used[a:] > self.cap[a:] + TOL)  # earlier weeks do not change
            or self.spend[t] + data.unit_cost[s] * units > self.budget[t] + TOL
        ):
            return None
        return stock, used

    def fits(self, s: int, t: int, units: float) -> bool:
        """Whether ``units`` more of SKU s ordered in week t keep storage and the budget."""
        return self._after_adding(s, t, units) is not None

    def add(self, s: int, t: int, units: float) -> bool:
        """Order ``units`` more of SKU s in week t if storage and budget allow."""
        data = self.data
        after = self._after_adding(s, t, units)
        if after is None:
            return False
        a = int(t + data.lead_time[s])
        money = data.unit_cost[s] * units
        self.stock[s], self.used = after
        self.cum[s, a:] += units
        self.spend[t] += money
        self.x[s, t] += units
        self.value[data.supplier_idx[s], t] += money
        return True


def supplier_cost(data: PlanningData, prm: ModelParams, x: np.ndarray, p: int, members: np.ndarray) -> float:
    """Supplier p's part of the model objective: its purchase orders and its SKUs' costs."""
    terms = objective_terms(data, prm, x[members], members)
    rows = sum(float(terms[k].sum()) for k in COST_TERMS)
    return rows + data.order_cost[p] * float((x[members] > 0).any(axis=0).sum())


def keeps_minimum(data: PlanningData, p: int | np.ndarray, left: float | np.ndarray) -> np.ndarray:
    """Whether purchase orders of suppliers ``p`` left worth ``left`` stay valid: empty, or at least
    the minimum order value."""
    return (left <= TOL) | (left >= data.min_order_value[p] - TOL)


def top_up_order(book: Book, p: int, t: int, dense: bool = False) -> bool:
    """Add packs to purchase order (p, t) until it reaches the minimum order value (step 2b).

    SKUs in the order of step 2b (present lines, then least holding per unit of value), or with
    ``dense`` most value per unit volume first (the most value where storage is short).
    """
    data = book.data
    h = data.horizon
    members = np.flatnonzero((data.supplier_idx == p) & (data.lead_time + t < h) & (data.unit_cost > 0))
    if dense:
        order = np.lexsort((members, -data.unit_cost[members] / np.maximum(data.unit_volume[members], 1e-12)))
    else:
        held = data.holding_cost[members] * (h - t - data.lead_time[members]) / data.unit_cost[members]
        order = np.lexsort((members, held, book.x[members, t] <= 0))
    for s in members[order]:
        deficit = data.min_order_value[p] - book.value[p, t]
        if deficit <= TOL:
            break
        least, most = line_limits(book, int(s), t)
        want = int(np.ceil(deficit / (data.unit_cost[s] * data.pack[s]) - 1e-9))
        add_most_that_fit(book, int(s), t, least, min(want, most))
    return book.value[p, t] >= data.min_order_value[p] - TOL


def line_limits(book: Book, s: int, t: int) -> tuple[int, int]:
    """Fewest packs SKU s's line in week t may grow by (1, or the MOQ for a new line) and most
    (the MIP's line bound)."""
    data = book.data
    have = int(round(book.x[s, t] / data.pack[s]))
    least = 1 if have else int(max(1, round(data.min_units[s] / data.pack[s])))
    return least, int(np.floor(book.prm.max_units[s] / data.pack[s] + 1e-9)) - have


def add_most_that_fit(book: Book, s: int, t: int, least: int, most: int) -> None:
    """Order the most packs of SKU s in week t, from ``least`` to ``most``, that storage and budget
    hold (fewer fit, never more, as packs grow: bisection); nothing if ``least`` does not fit."""
    pack = book.data.pack[s]
    if most < least or not book.fits(s, t, least * pack):
        return
    lo, hi = least, most
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if book.fits(s, t, mid * pack):
            lo = mid
        else:
            hi = mid - 1
    book.add(s, t, lo * pack)


def add_packs(book: Book, s: int, t: int, packs: int) -> None:
    """Add up to ``packs`` packs of SKU s in week t (a new line at least its MOQ), as many as fit."""
    least, most = line_limits(book, s, t)
    add_most_that_fit(book, s, t, least, min(max(packs, least), most))


def bring_forward(book: Book, s: int, t: int, packs: int) -> None:
    """Move ``packs`` packs of SKU s's next line after week t to week t (MOQs kept at both ends)."""
    later = t + 1 + np.flatnonzero(book.x[s, t + 1 :] > 0)
    if later.size:
        t2 = int(later[0])
        book.move([(s, moq_kept(book.data, book.x, s, t, t2, packs) * book.data.pack[s])], t2, t)


def moq_kept(data: PlanningData, x: np.ndarray, s: int, t: int, t2: int, want: int) -> int:
    """Packs to move from line x[s,t2] to week t for ``want``: a new line in week t reaches the MOQ,
    and what would stay below the MOQ in week t2 moves too."""
    have = int(round(x[s, t2] / data.pack[s]))
    minimum = int(round(data.min_units[s] / data.pack[s]))
    if x[s, t] <= 0:
        want = max(want, minimum)
    return have if have - want < minimum else want
