"""Shortfall covered where that costs less than its penalty (:func:`fill_shortfall`).

Dropping a short purchase order can leave its SKUs short for weeks, at a penalty far above the
order's value; this finds, for instance, the last order of the horizon topped up with the
supplier's SKUs of most value per unit volume (c_s / v_s) where storage is full.

**Guarantee**: never a costlier plan in the model's objective; every hard limit kept.
"""

from __future__ import annotations

import numpy as np

from planner.core.problem import PlanningData
from planner.optimizer.model.params import ModelParams
from planner.optimizer.repair.book import TOL, Book, add_packs, bring_forward, supplier_cost, top_up_order


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
    book = Book(data, prm, orders.copy())
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
                        bring_forward(trial, int(s), t, packs)
                    else:
                        add_packs(trial, int(s), t, packs)
                if not trial.short()[p].any():
                    options.append(trial)
                    continue
                for dense in (False, True):
                    topped = trial.copy()
                    if top_up_order(topped, int(p), t, dense) and not topped.short()[p].any():
                        options.append(topped)
            costs = [supplier_cost(data, prm, b.x, int(p), members) for b in options]
            now = supplier_cost(data, prm, book.x, int(p), members)
            if options and min(costs) < now - TOL:
                book = options[int(np.argmin(costs))]
    return book.x
