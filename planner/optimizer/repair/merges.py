"""A SKU's neighbouring lines merged where storage has room and that costs less (:func:`merge_lines`).

**Guarantee**: never a costlier plan in the model's objective; every hard limit kept.
"""

from __future__ import annotations

import time

import numpy as np

from planner.core.problem import PlanningData
from planner.optimizer.model.objective import COST_TERMS, objective_terms
from planner.optimizer.model.params import ModelParams
from planner.optimizer.repair.book import TOL, Book, keeps_minimum


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
    book = Book(data, prm, orders.copy())
    changed = True
    while changed:
        changed = False
        for s in range(data.n_skus):
            if time.perf_counter() >= deadline:
                return book.x, True
            changed |= _merge_sku(book, s)
    return book.x, False


def _merge_sku(book: Book, s: int) -> bool:
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
        delta = sum(new[c] - old[c] for c in COST_TERMS)
        left = book.value[p, src] - data.unit_cost[s] * units
        delta = delta - data.order_cost[p] * (left <= TOL)  # the order it leaves may empty
        ok = keeps_minimum(data, p, left) & (rows[k, dst] <= prm.max_units[s] + TOL) & (delta < -TOL)
        for i in np.lexsort((dst, delta)):
            if ok[i] and book.move([(s, float(units[i]))], int(src[i]), int(dst[i])):
                merged = True
                break
        else:
            return merged
