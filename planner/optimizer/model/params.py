"""Derived parameters shared by the MIP, the master problem and the per-SKU dynamic program.

All in units and currency, indexed by SKU ``s`` and week ``t`` (notation of the README):

- ``base[s,t] = I0_s + sum_{u<=t} O[s,u]``: supply without new orders;
- ``requirement[s,t] = max(0, Q_{D[s,1..t]}(alpha_s) - base[s,t])``: what new orders must have
  delivered by week t to meet the service target;
- ``cautious_base[s,t]``: slow-sales stock without new orders
  (:func:`planner.core.accounting.cautious_base`); ``max(0, cb + P)`` is the linear relaxation of a
  plan's slow-sales stock that the per-SKU dynamic program prices, :meth:`ModelParams.stock` the
  exact one (``slow_cum = D_q``, the slow scenario's cumulative demand) that storage is checked on;
- ``penalty_s`` = ``data.shortfall_penalty`` = factor * (b_s + c_s) per unit-week short of the target
  in weeks t >= L_s (factor > 1, default 100: the target is met wherever storage, budget and
  lead times allow; never cheaper than buying, which the purchase floor below relies on);
- ``holding weight`` of a unit arriving in week a: h_s (H - a) (held to the horizon's end);
- ``purchase_floor = sum_s c_s requirement[s,H-1]`` over SKUs that can still order: every plan pays
  at least this in purchase plus final-week shortfall, so gaps are measured above it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from planner.core.accounting import cautious_base, cumulative_supply, slow_stock
from planner.core.problem import PlanningData


@dataclass(frozen=True)
class ModelParams:
    """Arrays derived once from :class:`PlanningData`."""

    base: np.ndarray
    requirement: np.ndarray
    cautious_base: np.ndarray
    slow_cum: np.ndarray
    penalty: np.ndarray
    orderable: np.ndarray  # [S, H] bool: an order placed in week t arrives inside the horizon
    max_units: np.ndarray  # [S] tight upper bound on one order line (units)
    purchase_floor: float

    def stock(self, cum: np.ndarray, rows: np.ndarray | slice | int = slice(None)) -> np.ndarray:
        """Slow-sales stock after receipts (units, lost sales) of SKUs ``rows`` whose planned receipts
        add up to ``cum[..., t]`` by week t (:func:`planner.core.accounting.slow_stock`)."""
        return slow_stock(self.base[rows], self.slow_cum[rows], cum)


def model_params(data: PlanningData) -> ModelParams:
    """Compute :class:`ModelParams` (pure)."""
    base = cumulative_supply(data, data.open_arrivals)
    requirement = np.maximum(0.0, data.target_cum - base)
    weeks = np.arange(data.horizon)[None, :]
    orderable = weeks + data.lead_time[:, None] < data.horizon
    need = data.pack * np.ceil(requirement.max(axis=1) / data.pack - 1e-9)
    mov = data.min_order_value[data.supplier_idx]
    # one line may have to reach the supplier's minimum order value on its own
    mov_units = np.where(data.unit_cost > 0, mov / np.maximum(data.unit_cost, 1e-12), 0.0)
    mov_top_up = np.where(mov > 0, data.pack * np.ceil(mov_units / data.pack - 1e-9), 0.0)
    max_units = np.maximum(data.min_units, need) + mov_top_up
    can_order = data.lead_time < data.horizon
    return ModelParams(
        base=base,
        requirement=requirement,
        cautious_base=cautious_base(data),
        slow_cum=data.storage_cum,
        penalty=data.shortfall_penalty,
        orderable=orderable,
        max_units=max_units,
        purchase_floor=float((data.unit_cost * requirement[:, -1])[can_order].sum()),
    )
