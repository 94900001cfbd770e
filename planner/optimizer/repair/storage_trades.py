"""Room in full storage made for short SKUs (:func:`trade_storage`): other SKUs postpone stock
they hold beyond their targets, or give it up where their shortfall costs less per m3.

**Guarantee**: a trade is kept only when the plan costs less in the model; MOQs, purchase orders'
minimum values, storage and the budget hold.
"""

from __future__ import annotations

import heapq
import time
from dataclasses import dataclass

import numpy as np

from planner.core.accounting import shift_by_lead_time
from planner.core.problem import PlanningData
from planner.optimizer.model.objective import COST_TERMS, objective_terms
from planner.optimizer.model.params import ModelParams
from planner.optimizer.repair.book import TOL, Book, keeps_minimum, line_limits, moq_kept
from planner.optimizer.repair.short_orders import pull_forward

TRADE_RECEIVERS = 50  # storage trades: short SKUs tried per round (most shortfall penalty first)


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
    book = Book(data, prm, orders.copy())
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


def _receiver_rows(book: Book, i: int) -> list[np.ndarray]:
    """New order rows for short SKU i, for each run of short weeks (largest net gap first: units
    short in the run less units above target until the next run), covering its short weeks from the
    run's first that a line can reach (:func:`_first_receivable`) until its next line arrives, or
    only that week: ordered the week that arrives then, or in its supplier's latest purchase order
    before."""
    gap = book.gap(np.array([i]))[0]
    is_short = gap > TOL
    starts = np.flatnonzero(is_short & ~np.r_[False, is_short[:-1]])
    if starts.size == 0:  # short only within the tolerance: nothing to receive
        return []
    ends = np.r_[starts[1:], len(gap)]
    runs = sorted(zip(starts.tolist(), ends.tolist(), strict=True), key=lambda r: -gap[r[0] : r[1]].sum())
    rows: list[np.ndarray] = []
    for run, end in runs:
        if (start := _first_receivable(book, i, run, end)) is not None:
            _run_rows(book, i, gap, start, rows)
    return rows


def _first_receivable(book: Book, i: int, run: int, end: int) -> int | None:
    """The first week of SKU i's short run ``[run, end)`` that a new line of its MOQ can reach: ordered
    inside the horizon, in a week whose budget still holds it."""
    data = book.data
    lt = int(data.lead_time[i])
    least = data.unit_cost[i] * data.min_units[i]
    for week in range(max(run, lt), end):
        if book.spend[week - lt] + least <= book.budget[week - lt] + TOL:
            return week
    return None


def _run_rows(book: Book, i: int, gap: np.ndarray, run: int, rows: list[np.ndarray]) -> None:
    """Append to ``rows`` the new rows of :func:`_receiver_rows` for the short run from week ``run``."""
    data = book.data
    lt, p = int(data.lead_time[i]), int(data.supplier_idx[i])
    first = run - lt
    earlier = np.flatnonzero(book.value[p, :first] > 0)
    for t in [first] + ([int(earlier[-1])] if earlier.size else []):
        later = t + 1 + np.flatnonzero(book.x[i, t + 1 :] > 0)
        end = int(later[0]) + lt if later.size else data.horizon
        least, most = line_limits(book, i, t)
        for need in (gap[t + lt : end].max(), gap[run]):  # until the next line, or the run's first week
            packs = min(max(int(np.ceil(need / data.pack[i] - 1e-9)), least), most)
            if packs < least:
                continue
            added = book.x[i].copy()
            added[t] += packs * data.pack[i]
            variants = [added]
            if later.size:  # brought forward from the next line: stock rises only until it arrives
                units = moq_kept(data, book.x, i, t, int(later[0]), packs) * data.pack[i]
                brought = book.x[i].copy()
                brought[later[0]] -= units
                brought[t] += units
                # the purchase order it leaves may fall below its minimum value: adding is the fallback
                left = book.value[p, later[0]] - data.unit_cost[i] * units
                variants = [brought] if keeps_minimum(data, p, left) else [brought, added]
            for row in variants:
                if not any(np.array_equal(row, r) for r in rows):
                    rows.append(row)


def _trade(book: Book, i: int, row: np.ndarray) -> Book | None:
    """``book`` with SKU i ordering ``row`` and donors making the room, if that costs less; else None."""
    data = book.data
    trial = book.copy()
    trial.set_row(i, row)
    p = int(data.supplier_idx[i])
    t = int(np.flatnonzero(row > book.x[i])[0])
    if trial.short()[p, t]:  # pull the supplier's later lines forward, storage aside (donors free it)
        cap, trial.cap = trial.cap, np.full(data.horizon, np.inf)
        pull_forward(trial, p, t)
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
        picker = Picker(donors)
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
                    open_[same] &= keeps_minimum(data, q, left)
            excess = np.maximum(0.0, trial.used - trial.cap)
    if (
        np.any(trial.spend > trial.budget + TOL)
        or trial.short()[sorted(touched)].any()
        or _cost_change(book, trial) >= -TOL
    ):
        return None
    return trial


def _cost_change(old: Book, new: Book) -> float:
    """Model objective of ``new``'s plan less ``old``'s: the rows that differ and their suppliers'
    purchase orders."""
    data, prm = old.data, old.prm
    rows = np.flatnonzero((old.x != new.x).any(axis=1))
    before = objective_terms(data, prm, old.x[rows], rows)
    after = objective_terms(data, prm, new.x[rows], rows)
    change = sum(float((after[c] - before[c]).sum()) for c in COST_TERMS)
    for p in np.unique(data.supplier_idx[rows]):
        members = data.supplier_idx == p
        opened = (new.x[members] > 0).any(axis=0).sum() - (old.x[members] > 0).any(axis=0).sum()
        change += data.order_cost[p] * float(opened)
    return change


@dataclass(frozen=True)
class Donors:
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


class Picker:
    """The open donor of least model cost per useful m3, ``cost / sum_t min(freed[k, t], excess[t])``,
    ties to the first; the same choice as computing every ratio each time, in far fewer ratios.

    While the overflow ``excess`` only falls (week by week) and donors only close, a donor's useful
    m3 only falls, so the ratio of a donor that costs >= 0 only rises: its last computed ratio is a
    lower bound, and a heap of them yields the cheapest after recomputing only the few at its top
    (lazy greedy). Donors that cost < 0 (their ratio falls as their useful m3 does) are all
    recomputed every time; if the overflow rises in any week, every ratio is recomputed.
    """

    def __init__(self, donors: Donors):
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


def _donors(book: Book, excess: np.ndarray, receiver: int) -> Donors | None:
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
    old = objective_terms(data, prm, x[rows], rows, volume=True)
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
        ok &= keeps_minimum(data, p, left)
        new = x[rows].copy()
        new[n, src] -= units
        orders = np.where(left <= TOL, -data.order_cost[p], 0.0)
        if postpone:
            new[n, dst] += units
            opened = book.value[p, dst] <= TOL
            ok &= ~opened | (money >= data.min_order_value[p] - TOL)
            ok &= book.spend[dst] + money <= book.budget[dst] + TOL
            orders += np.where(opened, data.order_cost[p], 0.0)
        terms = objective_terms(data, prm, new, rows, volume=True)
        cost = sum(terms[c] - old[c] for c in COST_TERMS) + orders
        freed = old["volume"] - terms["volume"]
        ok &= (freed[:, full] > TOL).any(axis=1)
        parts.append((rows[ok], new[ok], cost[ok], freed[ok], src[ok], money[ok]))
    if not sum(len(part[0]) for part in parts):
        return None
    return Donors(*(np.concatenate(arrays) for arrays in zip(*parts, strict=True)))
