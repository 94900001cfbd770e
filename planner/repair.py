"""Make a plan meet suppliers' minimum order values (:func:`raise_short_orders`), and cover
shortfall where that costs less than its penalty (:func:`fill_shortfall`).

1. A purchase order (p, t) worth less than MOV_p is topped up with packs of the same
   supplier's later order lines (x[s,t2], t2 > t), moved to week t, cheapest extra holding
   per unit of value (h_s (t2 - t) / c_s) first.
2. A purchase order still short gets the cheapest (in the model's objective) of:
   a. merged whole into the supplier's latest earlier order (no service lost: extra holding);
   b. topped up with extra packs of the supplier's SKUs, on lines it already has first, then
      on new lines at the MOQ, least holding to the horizon's end per unit of value
      (h_s (H - t - L_s) / c_s) first (no service lost: extra stock and purchase);
   c. merged whole into the supplier's next later order: units arrive late and fall short of
      the target for those weeks only, where dropping the lines would leave them short to the
      end of the horizon.

Each change keeps MOQs (a line stays 0 or >= its minimum), the tight line bound of the MIP,
storage capacity (cautious basis) and the weekly budget, or is not made. Purchase orders that
stay short are left as they are (the caller drops them).

Dropping a short order can leave its SKUs short for weeks, at a penalty far above the order's
value; :func:`fill_shortfall` then finds, for instance, the last order of the horizon topped up
with the supplier's SKUs of most value per unit volume (c_s / v_s) where storage is full.
"""

from __future__ import annotations

import copy

import numpy as np

from planner.accounting import purchase_order_value, shift_by_lead_time
from planner.model.objective import objective_terms
from planner.model.params import ModelParams
from planner.problem import PlanningData

TOL = 1e-6


def raise_short_orders(
    data: PlanningData, prm: ModelParams, orders: np.ndarray, supplier: int | None = None
) -> np.ndarray:
    """``orders`` with short purchase orders (of ``supplier`` only, if given) fixed where storage and
    budget allow."""
    x = orders.copy()
    value = purchase_order_value(data, x)
    short = (value > 0) & (value < data.min_order_value[:, None] - TOL)
    if supplier is not None:
        short[np.arange(len(short)) != supplier] = False
    if not short.any():
        return x
    book = _Book(data, prm, x)
    for p, t in zip(*np.nonzero(short), strict=True):
        members = np.flatnonzero(data.supplier_idx == p)
        for s, t2 in _candidates(data, book.x, members, int(t)):
            deficit = data.min_order_value[p] - book.value[p, t]
            if deficit <= TOL:
                break
            packs = _packs_to_move(data, book.x, s, int(t), t2, deficit)
            if packs > 0:
                book.move([(s, packs * data.pack[s])], t2, int(t))
    for p, t in zip(*np.nonzero(book.short() & short.any(axis=1)[:, None]), strict=True):
        book = _cheapest_fix(data, prm, book, int(p), int(t))
    return book.x


def _cheapest_fix(data: PlanningData, prm: ModelParams, book: _Book, p: int, t: int) -> _Book:
    """``book`` with short purchase order (p, t) fixed the cheapest way that fits (step 2), or as is."""
    lines = [(int(s), book.x[s, t]) for s in np.flatnonzero((data.supplier_idx == p) & (book.x[:, t] > 0))]
    earlier = np.flatnonzero(book.value[p, :t] > 0)
    later = t + 1 + np.flatnonzero(book.value[p, t + 1 :] > 0)
    options = []
    if earlier.size and (trial := book.copy()).move(lines, t, int(earlier[-1])):
        options.append(trial)
    if _top_up_order(trial := book.copy(), p, t):
        options.append(trial)
    if later.size and (trial := book.copy()).move(lines, t, int(later[0])):
        options.append(trial)
    if not options:
        return book
    members = np.flatnonzero(data.supplier_idx == p)  # the options differ in p's SKUs and orders only
    return min(options, key=lambda b: supplier_cost(data, prm, b.x, p, members))


def supplier_cost(data: PlanningData, prm: ModelParams, x: np.ndarray, p: int, members: np.ndarray) -> float:
    """Supplier p's part of the model objective: its purchase orders and its SKUs' costs."""
    terms = objective_terms(data, prm, x[members], members)
    rows = sum(float(terms[k].sum()) for k in ("lines", "purchase", "holding", "shortfall"))
    return rows + data.order_cost[p] * float((x[members] > 0).any(axis=0).sum())


class _Book:
    """A plan with its cumulative arrivals, storage use, spend and purchase-order values."""

    def __init__(self, data: PlanningData, prm: ModelParams, x: np.ndarray):
        self.data, self.prm, self.x = data, prm, x
        self.cum = np.cumsum(shift_by_lead_time(x, data.lead_time), axis=1)
        self.used = data.unit_volume @ np.maximum(0.0, prm.cautious_base + self.cum)
        self.cap = data.capacity if data.capacity is not None else np.full(data.horizon, np.inf)
        self.spend = data.unit_cost @ x
        self.budget = data.budget if data.budget is not None else np.full(data.horizon, np.inf)
        self.value = purchase_order_value(data, x)

    def copy(self) -> _Book:
        new = copy.copy(self)
        for name in ("x", "cum", "used", "spend", "value"):
            setattr(new, name, getattr(self, name).copy())
        return new

    def short(self) -> np.ndarray:
        return (self.value > 0) & (self.value < self.data.min_order_value[:, None] - TOL)

    def move(self, lines: list[tuple[int, float]], src: int, dst: int) -> bool:
        """Move each (SKU, units) line from order week ``src`` to ``dst``: all of them, or none."""
        data, prm = self.data, self.prm
        used, spend = self.used.copy(), self.spend.copy()
        cums = []
        for s, units in lines:
            if dst + data.lead_time[s] >= data.horizon:
                return False
            ends = sorted((int(dst + data.lead_time[s]), int(src + data.lead_time[s])))
            a, a2 = ends[0], min(ends[1], data.horizon)
            new_cum = self.cum[s, a:a2] + (units if dst < src else -units)
            base = prm.cautious_base[s, a:a2]
            used[a:a2] += data.unit_volume[s] * (
                np.maximum(0.0, base + new_cum) - np.maximum(0.0, base + self.cum[s, a:a2])
            )
            money = data.unit_cost[s] * units
            spend[dst] += money
            spend[src] -= money
            cums.append((s, a, a2, new_cum, units, money))
        if np.any(used > self.cap + TOL) or spend[dst] > self.budget[dst] + TOL:
            return False
        self.used, self.spend = used, spend
        for s, a, a2, new_cum, units, money in cums:
            p = data.supplier_idx[s]
            self.cum[s, a:a2] = new_cum
            self.x[s, dst] += units
            self.x[s, src] -= units
            self.value[p, dst] += money
            self.value[p, src] -= money
        return True

    def _use_after_adding(self, s: int, t: int, units: float) -> np.ndarray | None:
        """Storage use per arrival week from t + L_s on with ``units`` more of SKU s ordered in week t;
        None when storage or the budget would not hold."""
        data = self.data
        a = int(t + data.lead_time[s])
        base = self.prm.cautious_base[s, a:]
        used = self.used[a:] + data.unit_volume[s] * (
            np.maximum(0.0, base + self.cum[s, a:] + units) - np.maximum(0.0, base + self.cum[s, a:])
        )
        if (
            np.any(used > self.cap[a:] + TOL)
            or self.spend[t] + data.unit_cost[s] * units > self.budget[t] + TOL
        ):
            return None
        return used

    def fits(self, s: int, t: int, units: float) -> bool:
        """Whether ``units`` more of SKU s ordered in week t keep storage and the budget."""
        return self._use_after_adding(s, t, units) is not None

    def add(self, s: int, t: int, units: float) -> bool:
        """Order ``units`` more of SKU s in week t if storage and budget allow."""
        data = self.data
        used = self._use_after_adding(s, t, units)
        if used is None:
            return False
        a = int(t + data.lead_time[s])
        money = data.unit_cost[s] * units
        self.used[a:], self.cum[s, a:] = used, self.cum[s, a:] + units
        self.spend[t] += money
        self.x[s, t] += units
        self.value[data.supplier_idx[s], t] += money
        return True


def _top_up_order(book: _Book, p: int, t: int, dense: bool = False) -> bool:
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
        least, most = _line_limits(book, int(s), t)
        want = int(np.ceil(deficit / (data.unit_cost[s] * data.pack[s]) - 1e-9))
        _add_most_that_fit(book, int(s), t, least, min(want, most))
    return book.value[p, t] >= data.min_order_value[p] - TOL


def _line_limits(book: _Book, s: int, t: int) -> tuple[int, int]:
    """Fewest packs SKU s's line in week t may grow by (1, or the MOQ for a new line) and most
    (the MIP's line bound)."""
    data = book.data
    have = int(round(book.x[s, t] / data.pack[s]))
    least = 1 if have else int(max(1, round(data.min_units[s] / data.pack[s])))
    return least, int(np.floor(book.prm.max_units[s] / data.pack[s] + 1e-9)) - have


def _add_most_that_fit(book: _Book, s: int, t: int, least: int, most: int) -> None:
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


def _candidates(data: PlanningData, x: np.ndarray, members: np.ndarray, t: int) -> list[tuple[int, int]]:
    """(SKU, later order week) pairs of the supplier's lines after week t, least extra holding first."""
    rows, weeks = np.nonzero(x[members, t + 1 :] > 0)
    skus, weeks = members[rows], weeks + t + 1
    # extra holding per unit of value moved: h_s (t2 - t) / c_s
    score = data.holding_cost[skus] * (weeks - t) / np.maximum(data.unit_cost[skus], 1e-12)
    order = np.lexsort((skus, score))
    return [(int(skus[i]), int(weeks[i])) for i in order]


def _packs_to_move(data: PlanningData, x: np.ndarray, s: int, t: int, t2: int, deficit: float) -> int:
    """Whole packs of line x[s,t2] to move to week t: enough for ``deficit``, MOQs kept at both ends."""
    per_pack = data.unit_cost[s] * data.pack[s]
    if per_pack <= 0:
        return 0
    return _moq_kept(data, x, s, t, t2, int(np.ceil(deficit / per_pack - 1e-9)))


def _moq_kept(data: PlanningData, x: np.ndarray, s: int, t: int, t2: int, want: int) -> int:
    """Packs to move from line x[s,t2] to week t for ``want``: a new line in week t reaches the MOQ,
    and what would stay below the MOQ in week t2 moves too."""
    have = int(round(x[s, t2] / data.pack[s]))
    minimum = int(round(data.min_units[s] / data.pack[s]))
    if x[s, t] <= 0:
        want = max(want, minimum)
    return have if have - want < minimum else want


def fill_shortfall(data: PlanningData, prm: ModelParams, orders: np.ndarray) -> np.ndarray:
    """``orders`` with lines added or brought forward where they cover shortfall for less than its penalty.

    Week by week, for each supplier whose SKUs fall short of their targets from the week an order
    placed now would arrive (t + L_s), two changes are tried: every such SKU gets a line covering
    its largest remaining shortfall (whole packs, at least the MOQ, within the MIP's line bound and
    what storage and budget leave), either as extra units or moved forward from its next line
    (which then holds less stock later); a purchase order left below the minimum value is topped
    up (step 2b, or densest value first). The cheapest change is kept when it lowers the
    supplier's part of the model cost, the only part it changes (storage and budget are kept).
    """
    h = data.horizon
    book = _Book(data, prm, orders.copy())
    weeks = np.arange(h)[None, :]
    for t in range(h):
        arrival = t + data.lead_time
        gap = np.where(weeks >= data.lead_time[:, None], prm.requirement - book.cum, 0.0)
        gap = np.where(weeks >= arrival[:, None], gap, 0.0).max(axis=1)  # largest shortfall from arrival on
        short = (arrival < h) & (gap > TOL)
        for p in np.unique(data.supplier_idx[short]):
            members = np.flatnonzero(data.supplier_idx == p)
            skus = np.flatnonzero(short & (data.supplier_idx == p))
            options = []
            for advance in (False, True):
                trial = book.copy()
                for s in skus:
                    packs = int(np.ceil(gap[s] / data.pack[s] - 1e-9))
                    if advance:
                        _bring_forward(trial, int(s), t, packs)
                    else:
                        _add_packs(trial, int(s), t, packs)
                if not trial.short()[p].any():
                    options.append(trial)
                    continue
                for dense in (False, True):
                    topped = trial.copy()
                    if _top_up_order(topped, int(p), t, dense) and not topped.short()[p].any():
                        options.append(topped)
            costs = [supplier_cost(data, prm, b.x, int(p), members) for b in options]
            now = supplier_cost(data, prm, book.x, int(p), members)
            if options and min(costs) < now - TOL:
                book = options[int(np.argmin(costs))]
    return book.x


def _add_packs(book: _Book, s: int, t: int, packs: int) -> None:
    """Add up to ``packs`` packs of SKU s in week t (a new line at least its MOQ), as many as fit."""
    least, most = _line_limits(book, s, t)
    _add_most_that_fit(book, s, t, least, min(max(packs, least), most))


def _bring_forward(book: _Book, s: int, t: int, packs: int) -> None:
    """Move ``packs`` packs of SKU s's next line after week t to week t (MOQs kept at both ends)."""
    later = t + 1 + np.flatnonzero(book.x[s, t + 1 :] > 0)
    if later.size:
        t2 = int(later[0])
        book.move([(s, _moq_kept(book.data, book.x, s, t, t2, packs) * book.data.pack[s])], t2, t)
