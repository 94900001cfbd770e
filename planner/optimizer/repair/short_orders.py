"""Purchase orders below the supplier's minimum order value raised (:func:`raise_short_orders`).

1. A purchase order (p, t) worth less than MOV_p is topped up with packs of the same
   supplier's later order lines (x[s,t2], t2 > t), moved to week t, cheapest extra holding
   per unit of value (h_s (t2 - t) / c_s) first (:func:`pull_forward`).
2. A purchase order still short gets the cheapest (in the model's objective) of:
   a. merged whole into the supplier's latest earlier order (no service lost: extra holding);
   b. topped up with extra packs of the supplier's SKUs, on lines it already has first, then
      on new lines at the MOQ, least holding to the horizon's end per unit of value
      (h_s (H - t - L_s) / c_s) first (no service lost: extra stock and purchase);
   c. merged whole into the supplier's next later order: units arrive late and fall short of
      the target for those weeks only, where dropping the lines would leave them short to the
      end of the horizon.

**Guarantee**: each change keeps MOQs (a line stays 0 or >= its minimum), the tight line bound of
the MIP, storage capacity (slow-sales stock) and the weekly budget, or is not made. Purchase orders
that stay short are left as they are (the caller drops them).
"""

from __future__ import annotations

import numpy as np

from planner.core.accounting import purchase_order_value
from planner.core.problem import PlanningData
from planner.optimizer.model.params import ModelParams
from planner.optimizer.repair.book import TOL, Book, moq_kept, supplier_cost, top_up_order


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
    book = Book(data, prm, x)
    for p, t in zip(*np.nonzero(short), strict=True):
        pull_forward(book, int(p), int(t))
    for p, t in zip(*np.nonzero(book.short() & short.any(axis=1)[:, None]), strict=True):
        book = _cheapest_fix(data, prm, book, int(p), int(t))
    return book.x


def pull_forward(book: Book, p: int, t: int) -> bool:
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


def _fitting(book: Book, candidates: list[tuple[int, int]], t: int) -> list[tuple[int, int]]:
    """The (SKU, week t2) candidates of which one pack moved to week t fits storage while it is held
    earlier (weeks t + L_s to t2 + L_s). Moving more packs only raises the stock of those weeks, so
    the others never fit (a fast filter that leaves the result as it was)."""
    if not candidates:
        return candidates
    data, h = book.data, book.data.horizon
    skus = np.array([s for s, _ in candidates])
    later = np.array([t2 for _, t2 in candidates])
    lt = data.lead_time[skus]
    weeks = np.arange(h)[None, :]
    held = (weeks >= (t + lt)[:, None]) & (weeks < (later + lt)[:, None])
    moved = book.cum[skus] + data.pack[skus][:, None] * held
    rise = data.unit_volume[skus][:, None] * (book.prm.stock(moved, skus) - book.stock[skus])
    over = held & (book.used[None, :] + rise > book.cap[None, :] + TOL)
    keep = (t + lt < h) & ~over.any(axis=1)
    return [c for c, k in zip(candidates, keep, strict=True) if k]


def _cheapest_fix(data: PlanningData, prm: ModelParams, book: Book, p: int, t: int) -> Book:
    """``book`` with short purchase order (p, t) fixed the cheapest way that fits (step 2), or as is."""
    lines = [(int(s), book.x[s, t]) for s in np.flatnonzero((data.supplier_idx == p) & (book.x[:, t] > 0))]
    earlier = np.flatnonzero(book.value[p, :t] > 0)
    later = t + 1 + np.flatnonzero(book.value[p, t + 1 :] > 0)
    options = []
    if earlier.size and (trial := book.copy()).move(lines, t, int(earlier[-1])):
        options.append(trial)
    if top_up_order(trial := book.copy(), p, t):
        options.append(trial)
    if later.size and (trial := book.copy()).move(lines, t, int(later[0])):
        options.append(trial)
    if not options:
        return book
    members = np.flatnonzero(data.supplier_idx == p)  # the options differ in p's SKUs and orders only
    return min(options, key=lambda b: supplier_cost(data, prm, b.x, p, members))


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
    return moq_kept(data, x, s, t, t2, int(np.ceil(deficit / per_pack - 1e-9)))
