"""Lot sizes: the economic order quantity and making a quantity orderable (MOQ, whole packs)."""

from __future__ import annotations

import numpy as np

__all__ = ["eoq", "order_quantity"]


def eoq(annual_demand: np.ndarray, order_cost: np.ndarray, annual_holding: np.ndarray) -> np.ndarray:
    """Economic order quantity sqrt(2 K D / H) in units (D units/year, K per order, H per unit-year).

    With H = 0 holding is free and a year's demand is ordered at once (EOQ = D).
    """
    d, k, h = (np.asarray(a, dtype=float) for a in (annual_demand, order_cost, annual_holding))
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.sqrt(2.0 * k * d / h)
    return np.where(h > 0, q, d)


def order_quantity(q: np.ndarray, min_units: np.ndarray, pack: np.ndarray) -> np.ndarray:
    """A lot size made orderable: at least the MOQ (in whole packs), rounded up to whole packs."""
    return np.ceil(np.maximum(q, min_units) / pack) * pack
