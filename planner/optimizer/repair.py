"""Make a plan meet suppliers' minimum order values (:func:`raise_short_orders`), and cover
shortfall where that costs less than its penalty (:func:`fill_shortfall`, :func:`trade_storage`).

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
Where storage is full, :func:`trade_storage` makes room for short SKUs: other SKUs postpone stock
they hold beyond their targets, or give it up where their shortfall costs less per m3.
:func:`merge_lines` merges a SKU's neighbouring lines where storage has room and that costs less.
"""

from __future__ import annotations

import copy
import heapq
import time
from dataclasses import dataclass

import numpy as np

from planner.core.accounting import purchase_order_value, shift_by_lead_time
from planner.core.problem import PlanningData
from planner.optimizer.model.objective import objective_terms
from planner.optimizer.model.params import ModelParams

TOL = 1e-6
TRADE_RECEIVERS = 50  # storage trades: short SKUs tried per round (most shortfall penalty first)


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
        _pull_forward(book, int(p), int(t))
    for p, t in zip(*np.nonzero(book.short() & short.any(axis=1)[:, None]), strict=True):
        book = _cheapest_fix(data, prm, book, int(p), int(t))
    return book.x


def _pull_forward(book: _Book, p: int, t: int) -> bool:
    """Move packs of supplier p's later lines to purchase order (p, t) until it reaches the minimum
    order value (step 1), least extra holding per unit of value first; whether it does."""
    data = book.data
    members = np.flatnonzero(data.supplier_idx == p)
    for s, t2 in _fitting(book, _candidates(data, book.x, members, t), t):
        deficit = data.min_order_value[p] - book.value[p, t]
        if deficit <= TOL:
            break
        packs = _packs_to_move(data, book.x, s, t, t2, deficit)
        if packs > 0:
            book.move([(s, packs * data.pack[s])], t2, t)
    return book.value[p, t] >= data.min_order_value[p] - TOL


def _fitting(book: _Book, candidates: list[tuple[int, int]], t: int) -> list[tuple[int, int]]:
    """The (SKU, week t2) candidates of which one pack moved to week t fits storage while it is held
    earlier (weeks t + L_s to t2 + L_s). Moving stock earlier only raises storage use, so the
    others never fit (a fast filter that leaves the result as it was)."""
    if not candidates:
        return candidates
    data, h = book.data, book.data.horizon
    skus = np.array([s for s, _ in candidates])
    later = np.array([t2 for _, t2 in candidates])
    lt = data.lead_time[skus]
    weeks = np.arange(h)[None, :]
    held = (weeks >= (t + lt)[:, None]) & (weeks < (later + lt)[:, None])
    level = book.prm.cautious_base[skus] + book.cum[skus]
    rise = data.unit_volume[skus][:, None] * (
        np.maximum(0.0, level + data.pack[skus][:, None]) - np.maximum(0.0, level)
    )
    over = held & (book.used[None, :] + rise > book.cap[None, :] + TOL)
    keep = (t + lt < h) & ~over.any(axis=1)
    return [c for c, k in zip(candidates, keep, strict=True) if k]


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
        base = self.prm.cautious_base[s]
        self.used += data.unit_volume[s] * (np.maximum(0.0, base + cum) - np.maximum(0.0, base + self.cum[s]))
        money = data.unit_cost[s] * (row - self.x[s])
        self.spend += money
        self.value[data.supplier_idx[s]] += money
        self.cum[s] = cum
        self.x[s] = row

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
        # largest shortfall from arrival on
        gap = np.where(weeks >= arrival[:, None], book.gap(), 0.0).max(axis=1)
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


def merge_lines(
    data: PlanningData, prm: ModelParams, orders: np.ndarray, deadline: float = np.inf
) -> tuple[np.ndarray, bool]:
    """``orders`` with neighbouring lines of a SKU merged where that lowers the model cost; and
    whether ``deadline`` (a ``time.perf_counter()`` instant) cut the merging short.

    SKU by SKU, each pair of consecutive lines (t1 < t2) tries both merges: the later line brought
    forward whole to t1 (a line cost and maybe a purchase order saved for extra holding and
    storage), and the earlier one postponed whole to t2 (holding saved, shortfall where the stock
    before t2 does not cover the targets). The cheaper is kept if the plan costs less; storage, the
    budget and MOQs hold, and the purchase order a line leaves keeps its minimum value or empties.
    Sweeps repeat until one changes nothing.
    """
    book = _Book(data, prm, orders.copy())
    changed = True
    while changed:
        changed = False
        for s in range(data.n_skus):
            if time.perf_counter() >= deadline:
                return book.x, True
            changed |= _merge_sku(book, s)
    return book.x, False


def _merge_sku(book: _Book, s: int) -> bool:
    """Merges of :func:`merge_lines` on SKU s, cheapest first, until none lowers the cost; whether
    any was made."""
    data, prm = book.data, book.prm
    p = int(data.supplier_idx[s])
    merged = False
    while True:
        lines = np.flatnonzero(book.x[s] > 0)
        if lines.size < 2:
            return merged
        src = np.r_[lines[1:], lines[:-1]]
        dst = np.r_[lines[:-1], lines[1:]]
        units = book.x[s, src]
        rows = np.repeat(book.x[s][None, :], src.size, axis=0)
        k = np.arange(src.size)
        rows[k, src] = 0.0
        rows[k, dst] += units
        new = objective_terms(data, prm, rows, np.full(src.size, s))
        old = objective_terms(data, prm, book.x[s][None, :], np.array([s]))
        delta = sum(new[c] - old[c] for c in ("lines", "purchase", "holding", "shortfall"))
        left = book.value[p, src] - data.unit_cost[s] * units
        delta = delta - data.order_cost[p] * (left <= TOL)  # the order it leaves may empty
        ok = _keeps_minimum(data, p, left) & (rows[k, dst] <= prm.max_units[s] + TOL) & (delta < -TOL)
        for i in np.lexsort((dst, delta)):
            if ok[i] and book.move([(s, float(units[i]))], int(src[i]), int(dst[i])):
                merged = True
                break
        else:
            return merged


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


def trade_storage(
    data: PlanningData,
    prm: ModelParams,
    orders: np.ndarray,
    receivers: int = TRADE_RECEIVERS,
    deadline: float = np.inf,
) -> tuple[np.ndarray, bool]:
    """``orders`` with storage traded from SKUs that need it least to short SKUs that need it most;
    and whether ``deadline`` (a ``time.perf_counter()`` instant) cut the trading short.

    Where storage is full, :func:`fill_shortfall` cannot cover a short SKU: any stock it adds
    overflows. A trade makes room. The *receiver*, one of the ``receivers`` SKUs of most shortfall
    penalty, gets a line for one run of its short weeks (runs by their net gap first: units short
    in the run less units held above target until the next run; a run that cannot be covered
    leaves the next one to try) covering the run's weeks until its next line arrives, or only the
    run's first (packs brought forward from that line, or added; also added where bringing forward
    would leave that line's purchase order below the minimum value), ordered the week it must be or
    in its supplier's latest purchase order before. A new
    purchase order below the supplier's minimum value pulls that supplier's later lines forward
    (step 1 above; orders it leaves short move whole). Then *donors* free the overflowing m3,
    cheapest model cost per useful m3 first, each one of:

    - postpone: the packs of its latest line arriving by the first full week that its stock holds
      beyond its targets through the last full week move to a line arriving just after it
      (no service lost; holding saved, perhaps a new line or purchase order);
    - cut: packs of that line for the largest overflow (or the whole line at its MOQ) are not
      ordered (shortfall at its own, lower penalty).

    Donors keep MOQs and purchase orders' minimum values (a source order may empty), the budget
    holds, and a trade is kept only when the plan costs less in the model. Trading goes on, most
    penalty first, until no receiver trades or at the deadline.
    """
    if data.capacity is None:
        return orders, False
    book = _Book(data, prm, orders.copy())
    tried: set[tuple[int, bytes]] = set()
    while True:
        score = prm.penalty * np.maximum(0.0, book.gap()).sum(axis=1)
        ranked = [int(s) for s in np.argsort(-score, kind="stable") if score[s] > TOL]
        ranked = [s for s in ranked if (s, book.x[s].tobytes()) not in tried][:receivers]
        traded = None
        for i in ranked:
            if time.perf_counter() >= deadline:
                return book.x, True
            tried.add((i, book.x[i].tobytes()))
            for row in _receiver_rows(book, i):
                if (traded := _trade(book, i, row)) is not None:
                    break
            if traded is not None:
                break
        if traded is None:
            return book.x, False
        book = traded


def _keeps_minimum(data: PlanningData, p: int | np.ndarray, left: float | np.ndarray) -> np.ndarray:
    """Whether purchase orders of suppliers ``p`` left worth ``left`` stay valid: empty, or at least
    the minimum order value."""
    return (left <= TOL) | (left >= data.min_order_value[p] - TOL)


def _receiver_rows(book: _Book, i: int) -> list[np.ndarray]:
    """New order rows for short SKU i, for each run of short weeks (largest net gap first: units
    short in the run less units above target until the next run), covering its short weeks from the
    run's first until its next line arrives, or only that week: ordered the week that arrives then,
    or in its supplier's latest purchase order before."""
    gap = book.gap(np.array([i]))[0]
    is_short = gap > TOL
    starts = np.flatnonzero(is_short & ~np.r_[False, is_short[:-1]])
    if starts.size == 0:  # short only within the tolerance: nothing to receive
        return []
    ends = np.r_[starts[1:], len(gap)]
    runs = sorted(zip(starts.tolist(), ends.tolist(), strict=True), key=lambda r: -gap[r[0] : r[1]].sum())
    rows: list[np.ndarray] = []
    for run, _ in runs:
        _run_rows(book, i, gap, run, rows)
    return rows


def _run_rows(book: _Book, i: int, gap: np.ndarray, run: int, rows: list[np.ndarray]) -> None:
    """Append to ``rows`` the new rows of :func:`_receiver_rows` for the short run from week ``run``."""
    data = book.data
    lt, p = int(data.lead_time[i]), int(data.supplier_idx[i])
    first = run - lt
    earlier = np.flatnonzero(book.value[p, :first] > 0)
    for t in [first] + ([int(earlier[-1])] if earlier.size else []):
        later = t + 1 + np.flatnonzero(book.x[i, t + 1 :] > 0)
        end = int(later[0]) + lt if later.size else data.horizon
        least, most = _line_limits(book, i, t)
        for need in (gap[t + lt : end].max(), gap[run]):  # until the next line, or the run's first week
            packs = min(max(int(np.ceil(need / data.pack[i] - 1e-9)), least), most)
            if packs < least:
                continue
            added = book.x[i].copy()
            added[t] += packs * data.pack[i]
            variants = [added]
            if later.size:  # brought forward from the next line: stock rises only until it arrives
                units = _moq_kept(data, book.x, i, t, int(later[0]), packs) * data.pack[i]
                brought = book.x[i].copy()
                brought[later[0]] -= units
                brought[t] += units
                # the purchase order it leaves may fall below its minimum value: adding is the fallback
                left = book.value[p, later[0]] - data.unit_cost[i] * units
                variants = [brought] if _keeps_minimum(data, p, left) else [brought, added]
            for row in variants:
                if not any(np.array_equal(row, r) for r in rows):
                    rows.append(row)


def _trade(book: _Book, i: int, row: np.ndarray) -> _Book | None:
    """``book`` with SKU i ordering ``row`` and donors making the room, if that costs less; else None."""
    data = book.data
    trial = book.copy()
    trial.set_row(i, row)
    p = int(data.supplier_idx[i])
    t = int(np.flatnonzero(row > book.x[i])[0])
    if trial.short()[p, t]:  # pull the supplier's later lines forward, storage aside (donors free it)
        cap, trial.cap = trial.cap, np.full(data.horizon, np.inf)
        _pull_forward(trial, p, t)
        for t2 in np.flatnonzero(trial.short()[p]):
            members = np.flatnonzero((data.supplier_idx == p) & (trial.x[:, t2] > 0))
            trial.move([(int(s), trial.x[s, t2]) for s in members], int(t2), t)
        trial.cap = cap
    touched = {p}
    gain = -_cost_change(book, trial)
    if gain <= TOL or trial.short()[p].any():
        return None
    excess = np.maximum(0.0, trial.used - trial.cap)
    if excess.sum() > TOL:
        donors = _donors(trial, excess, i)
        if donors is None:
            return None
        open_ = np.ones(len(donors.sku), dtype=bool)
        by_sku = _groups(donors.sku)
        by_order = _groups(data.supplier_idx[donors.sku] * data.horizon + donors.week)
        picker = _Picker(donors)
        spent = 0.0
        while excess.sum() > TOL:
            k = picker.cheapest(excess, open_)
            if k is None:
                return None
            spent += max(float(donors.cost[k]), 0.0)
            if spent >= gain:
                return None
            j = int(donors.sku[k])
            q = int(data.supplier_idx[j])
            changed = np.flatnonzero(donors.rows[k] != trial.x[j])
            trial.set_row(j, donors.rows[k])
            touched.add(q)
            open_[by_sku[j]] = False
            # donors from one purchase order keep its minimum value together
            for week in changed.tolist():
                if (same := by_order.get(q * data.horizon + week)) is not None:
                    left = trial.value[q, week] - donors.money[same]
                    open_[same] &= _keeps_minimum(data, q, left)
            excess = np.maximum(0.0, trial.used - trial.cap)
    if (
        np.any(trial.spend > trial.budget + TOL)
        or trial.short()[sorted(touched)].any()
        or _cost_change(book, trial) >= -TOL
    ):
        return None
    return trial


def _cost_change(old: _Book, new: _Book) -> float:
    """Model objective of ``new``'s plan less ``old``'s: the rows that differ and their suppliers'
    purchase orders."""
    data, prm = old.data, old.prm
    rows = np.flatnonzero((old.x != new.x).any(axis=1))
    before = objective_terms(data, prm, old.x[rows], rows)
    after = objective_terms(data, prm, new.x[rows], rows)
    change = sum(float((after[c] - before[c]).sum()) for c in ("lines", "purchase", "holding", "shortfall"))
    for p in np.unique(data.supplier_idx[rows]):
        members = data.supplier_idx == p
        opened = (new.x[members] > 0).any(axis=0).sum() - (old.x[members] > 0).any(axis=0).sum()
        change += data.order_cost[p] * float(opened)
    return change


@dataclass(frozen=True)
class _Donors:
    """Donor options: SKU, its new order row, model cost change, m3 freed per week, and the order
    week and value taken from its purchase order."""

    sku: np.ndarray
    rows: np.ndarray
    cost: np.ndarray
    freed: np.ndarray
    week: np.ndarray
    money: np.ndarray


def _groups(keys: np.ndarray) -> dict[int, np.ndarray]:
    """The positions (ascending) at which each distinct key occurs in ``keys``."""
    order = np.argsort(keys, kind="stable")
    unique, starts = np.unique(keys[order], return_index=True)
    return dict(zip(unique.tolist(), np.split(order, starts[1:]), strict=True))


class _Picker:
    """The open donor of least model cost per useful m3, ``cost / sum_t min(freed[k, t], excess[t])``,
    ties to the first; the same choice as computing every ratio each time, in far fewer ratios.

    While the overflow ``excess`` only falls (week by week) and donors only close, a donor's useful
    m3 only falls, so the ratio of a donor that costs >= 0 only rises: its last computed ratio is a
    lower bound, and a heap of them yields the cheapest after recomputing only the few at its top
    (lazy greedy). Donors that cost < 0 (their ratio falls as their useful m3 does) are all
    recomputed every time; if the overflow rises in any week, every ratio is recomputed.
    """

    def __init__(self, donors: _Donors):
        self.freed, self.cost = donors.freed, donors.cost
        self.negative = np.flatnonzero(donors.cost < 0)
        self.rest = np.flatnonzero(donors.cost >= 0)
        self.heap: list[tuple[float, int]] = []
        self.excess: np.ndarray | None = None

    def _ratio(self, k: np.ndarray, excess: np.ndarray, open_: np.ndarray) -> np.ndarray:
        useful = np.minimum(self.freed[k], excess[None, :]).sum(axis=1)
        return np.where(open_[k] & (useful > TOL), self.cost[k] / np.maximum(useful, 1e-12), np.inf)

    def cheapest(self, excess: np.ndarray, open_: np.ndarray) -> int | None:
        """The donor to take next, or None when no open donor frees any overflowing m3."""
        if self.excess is None or np.any(excess > self.excess):
            ratio = self._ratio(self.rest, excess, open_)
            live = np.isfinite(ratio)
            self.heap = list(zip(ratio[live].tolist(), self.rest[live].tolist(), strict=True))
            heapq.heapify(self.heap)
        self.excess = excess
        best = (np.inf, -1)
        if self.negative.size:
            ratio = self._ratio(self.negative, excess, open_)
            j = int(np.argmin(ratio))
            if np.isfinite(ratio[j]):
                best = (float(ratio[j]), int(self.negative[j]))
        while self.heap and self.heap[0] < best:
            stale, k = self.heap[0]
            ratio = float(self._ratio(np.array([k]), excess, open_)[0])
            if not np.isfinite(ratio):
                heapq.heappop(self.heap)
            elif ratio == stale:  # up to date and below every other lower bound
                best = (ratio, k)
                break
            else:
                heapq.heapreplace(self.heap, (ratio, k))
        return best[1] if best[1] >= 0 else None


def _donors(book: _Book, excess: np.ndarray, receiver: int) -> _Donors | None:
    """Every SKU's postpone and cut options (see :func:`trade_storage`) that free room where
    ``excess`` (m3 per week) overflows; None if there are none."""
    data, prm, x = book.data, book.prm, book.x
    h, lt = data.horizon, data.lead_time
    full = np.flatnonzero(excess > TOL)
    first, last_full = int(full[0]), int(full[-1])
    arrived = shift_by_lead_time(x, lt)[:, : first + 1] > 0
    arrival = np.where(arrived, np.arange(first + 1)[None, :], -1).max(axis=1)
    arrival[receiver] = -1
    rows = np.flatnonzero(arrival >= 0)
    src = arrival[rows] - lt[rows]
    pack = data.pack[rows]
    have = np.round(x[rows, src] / pack).astype(int)
    minimum = np.round(data.min_units[rows] / pack).astype(int)
    p = data.supplier_idx[rows]
    n = np.arange(len(rows))
    old = objective_terms(data, prm, x[rows], rows)
    parts = []
    for postpone in (True, False):
        if postpone:
            if last_full + 1 >= h:
                continue
            dst = last_full + 1 - lt[rows]
            window = (np.arange(h)[None, :] >= arrival[rows][:, None]) & (np.arange(h)[None, :] <= last_full)
            spare = np.where(window, book.cum[rows] - prm.requirement[rows], np.inf).min(axis=1)
            k = np.minimum(np.floor(spare / pack + 1e-9), have).astype(int)
            k = np.where((have - k > 0) & (have - k < minimum), have - minimum, k)  # MOQ at the source
            dst = np.clip(dst, 0, h - 1)
            k = np.where((x[rows, dst] <= 0) & (k < minimum), 0, k)  # a new line reaches the MOQ
            ok = (k > 0) & (last_full + 1 - lt[rows] > src)
        else:  # enough packs for the largest overflow, or the whole line at its MOQ
            per_pack = np.maximum(data.unit_volume[rows] * pack, 1e-12)
            k = np.minimum(np.ceil(excess[full].max() / per_pack - 1e-9), have)
            k = np.where(have - np.maximum(k, 1) < minimum, have, np.maximum(k, 1)).astype(int)
            ok = k > 0
        units = k * pack
        money = data.unit_cost[rows] * units
        left = book.value[p, src] - money
        ok &= _keeps_minimum(data, p, left)
        new = x[rows].copy()
        new[n, src] -= units
        orders = np.where(left <= TOL, -data.order_cost[p], 0.0)
        if postpone:
            new[n, dst] += units
            opened = book.value[p, dst] <= TOL
            ok &= ~opened | (money >= data.min_order_value[p] - TOL)
            ok &= book.spend[dst] + money <= book.budget[dst] + TOL
            orders += np.where(opened, data.order_cost[p], 0.0)
        terms = objective_terms(data, prm, new, rows)
        cost = sum(terms[c] - old[c] for c in ("lines", "purchase", "holding", "shortfall")) + orders
        freed = old["volume"] - terms["volume"]
        ok &= (freed[:, full] > TOL).any(axis=1)
        parts.append((rows[ok], new[ok], cost[ok], freed[ok], src[ok], money[ok]))
    if not sum(len(part[0]) for part in parts):
        return None
    return _Donors(*(np.concatenate(arrays) for arrays in zip(*parts, strict=True)))
