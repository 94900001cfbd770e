"""The restricted master problem: pick one order schedule (column) per SKU.

Columns come from the per-SKU dynamic program under Lagrangian prices (plus the
classical plan and "order nothing"). The master restores everything the columns were
priced without: shared purchase orders, minimum order values, storage and budget.
Symbols: ``l[s,k]`` = 1 if SKU s follows its column k; ``z[p,t]`` purchase order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyomo.environ as pyo

from planner.core.problem import PlanningData


@dataclass(frozen=True)
class Columns:
    """Candidate schedules: ``orders[j]`` is x[s,t] (units by order week) of column j for SKU ``sku[j]``.

    ``cost[j]`` is the column's own cost (line costs, purchase, holding of planned units,
    shortfall penalty); ``volume[j, t]`` its slow-sales stock volume (exact), ``spend[j, t]`` its purchase
    value by order week.
    """

    sku: np.ndarray  # [J]
    orders: np.ndarray  # [J, H]
    cost: np.ndarray  # [J]
    volume: np.ndarray  # [J, H]
    spend: np.ndarray  # [J, H]


@dataclass(frozen=True)
class Background:
    """What SKUs outside the master (fixed to their plans) already use.

    ``volume[t]`` storage (m3), ``spend[t]`` budget (currency, order week), ``value[p,t]``
    purchase-order value and ``open[p,t]`` purchase orders their lines already place.
    """

    volume: np.ndarray
    spend: np.ndarray
    value: np.ndarray
    open: np.ndarray

    @staticmethod
    def empty(data: PlanningData) -> Background:
        h, p_count = data.horizon, len(data.suppliers)
        zeros = np.zeros((p_count, h))
        return Background(np.zeros(h), np.zeros(h), zeros, zeros.astype(bool))


def build_master(
    data: PlanningData, cols: Columns, background: Background | None = None
) -> pyo.ConcreteModel:
    """Build the master MIP over ``cols`` (pure); ``background`` = what fixed SKUs already use."""
    bg = background or Background.empty(data)
    m = pyo.ConcreteModel(name="master")
    j_all = range(len(cols.sku))
    m.J = pyo.Set(initialize=list(j_all))
    m.PT = pyo.Set(
        initialize=[(p, t) for p in range(len(data.suppliers)) for t in range(data.horizon)], dimen=2
    )
    m.l = pyo.Var(m.J, domain=pyo.Binary)
    m.z = pyo.Var(m.PT, domain=pyo.Binary, bounds=lambda m, p, t: (int(bg.open[p, t]), 1))
    define_one_column_per_sku(m, cols)
    define_purchase_order_link(m, data, cols)
    define_master_min_order_value(m, data, cols, bg)
    define_master_capacity(m, data, cols, bg)
    define_master_budget(m, data, cols, bg)
    m.obj = pyo.Objective(
        expr=sum(float(data.order_cost[p]) * m.z[p, t] for p, t in m.PT)
        + sum(float(cols.cost[j]) * m.l[j] for j in m.J),
        sense=pyo.minimize,
    )
    return m


def _by_sku(cols: Columns) -> dict[int, list[int]]:
    groups: dict[int, list[int]] = {}
    for j, s in enumerate(cols.sku.tolist()):
        groups.setdefault(s, []).append(j)
    return groups


def define_one_column_per_sku(m: pyo.ConcreteModel, cols: Columns) -> None:
    """sum_k l[s,k] = 1 for every SKU."""
    groups = _by_sku(cols)
    m.S = pyo.Set(initialize=sorted(groups))
    m.one = pyo.Constraint(m.S, rule=lambda m, s: sum(m.l[j] for j in groups[s]) == 1)


def define_purchase_order_link(m: pyo.ConcreteModel, data: PlanningData, cols: Columns) -> None:
    """sum_{k orders in t} l[s,k] <= z[p(s),t] for every SKU and week some column orders in."""
    rows: dict[tuple[int, int], list[int]] = {}
    for j, t in zip(*np.nonzero(cols.orders > 0), strict=True):
        rows.setdefault((int(cols.sku[j]), int(t)), []).append(int(j))
    m.LINK = pyo.Set(initialize=sorted(rows), dimen=2)
    m.link = pyo.Constraint(
        m.LINK, rule=lambda m, s, t: sum(m.l[j] for j in rows[s, t]) <= m.z[int(data.supplier_idx[s]), t]
    )


def define_master_min_order_value(
    m: pyo.ConcreteModel, data: PlanningData, cols: Columns, bg: Background
) -> None:
    """sum_{columns of p's SKUs} value[k,t] l[k] + value_bg[p,t] >= MOV_p z[p,t] (currency)."""
    supplier_of = data.supplier_idx[cols.sku]

    def rule(m: pyo.ConcreteModel, p: int, t: int) -> pyo.Expression:
        need = data.min_order_value[p] - bg.value[p, t]
        if data.min_order_value[p] <= 0 or need <= 0:
            return pyo.Constraint.Skip
        js = np.flatnonzero((supplier_of == p) & (cols.spend[:, t] > 0))
        if js.size == 0:
            return m.z[p, t] == 0 if not bg.open[p, t] else pyo.Constraint.Infeasible
        return sum(float(cols.spend[j, t]) * m.l[int(j)] for j in js) >= float(need) * m.z[p, t]

    m.min_order_value = pyo.Constraint(m.PT, rule=rule)


def _weekly_limit(use: np.ndarray, limit: np.ndarray) -> Callable[[pyo.ConcreteModel, int], pyo.Expression]:
    """Rule for sum_k use[k,t] l[k] <= limit[t], skipping weeks no column uses."""

    def rule(m: pyo.ConcreteModel, t: int) -> pyo.Expression:
        js = np.flatnonzero(use[:, t] > 0)
        if js.size == 0:
            return pyo.Constraint.Skip
        return sum(float(use[j, t]) * m.l[int(j)] for j in js) <= float(limit[t])

    return rule


def define_master_capacity(m: pyo.ConcreteModel, data: PlanningData, cols: Columns, bg: Background) -> None:
    """sum_k volume[k,t] l[k] <= Cap_t - volume_bg[t] (volume, slow-sales stock)."""
    if data.capacity is None:
        return
    m.T = pyo.RangeSet(0, data.horizon - 1)
    m.capacity = pyo.Constraint(m.T, rule=_weekly_limit(cols.volume, data.capacity - bg.volume))


def define_master_budget(m: pyo.ConcreteModel, data: PlanningData, cols: Columns, bg: Background) -> None:
    """sum_k spend[k,t] l[k] <= B_t - spend_bg[t] (currency, order week)."""
    if data.budget is None:
        return
    m.TB = pyo.RangeSet(0, data.horizon - 1)
    m.budget = pyo.Constraint(m.TB, rule=_weekly_limit(cols.spend, data.budget - bg.spend))


def chosen_columns(m: pyo.ConcreteModel, cols: Columns) -> np.ndarray:
    """Indices of the columns the solved master picked (one per SKU)."""
    return np.array([j for j in m.J if (m.l[j].value or 0.0) > 0.5], dtype=int)
