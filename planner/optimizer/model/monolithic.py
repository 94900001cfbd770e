"""The full purchase-planning MIP in Pyomo: every SKU, week and coupling constraint at once.

Exact on small instances (tests, oracles, the "naive" column of the scale benchmark);
the decomposition in :mod:`planner.optimizer.plan` is what scales. Symbols as in the README:
``n[s,t]`` packs ordered in week t (``x = pack_s n``), ``y[s,t]`` order line placed,
``z[p,t]`` purchase order to supplier p, ``u[s,t]`` shortfall against the service target,
``w[s,t]`` slow-sales stock after receipts. ``A[s,t] = sum_{a <= t - L_s} pack_s n[s,a]``
are the planned receipts up to week t.
"""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo

from planner.core.problem import PlanningData
from planner.optimizer.model.params import ModelParams, model_params


def build_model(data: PlanningData) -> pyo.ConcreteModel:
    """Build the MIP from validated data (pure: no files, no solver calls)."""
    prm = model_params(data)
    m = pyo.ConcreteModel(name="purchase_plan")
    define_sets(m, data, prm)
    define_variables(m, data, prm)
    define_service(m, data, prm)
    define_order_size(m, data, prm)
    define_supplier_orders(m, data)
    define_min_order_value(m, data)
    define_storage(m, data, prm)
    define_budget(m, data)
    define_objective(m, data, prm)
    return m


def _planned(m: pyo.ConcreteModel, data: PlanningData, s: int, t: int) -> pyo.Expression:
    """A[s,t] = sum_{a <= t - L_s} pack_s n[s,a] (units)."""
    last = t - int(data.lead_time[s])
    return sum(data.pack[s] * m.n[s, a] for a in range(last + 1) if (s, a) in m.SA)


def define_sets(m: pyo.ConcreteModel, data: PlanningData, prm: ModelParams) -> None:
    """SA: orderable (s, t) pairs (order in week t arrives by week H-1); SERV: (s, t) with t >= L_s."""
    s_idx, t_idx = np.nonzero(prm.orderable)
    m.SA = pyo.Set(initialize=list(zip(s_idx.tolist(), t_idx.tolist(), strict=True)), dimen=2)
    serv = [(s, t) for s in range(data.n_skus) for t in range(int(data.lead_time[s]), data.horizon)]
    m.SERV = pyo.Set(initialize=serv, dimen=2)
    m.PT = pyo.Set(
        initialize=[(p, t) for p in range(len(data.suppliers)) for t in range(data.horizon)], dimen=2
    )
    m.T = pyo.RangeSet(0, data.horizon - 1)


def define_variables(m: pyo.ConcreteModel, data: PlanningData, prm: ModelParams) -> None:
    """n integer packs with tight bounds, binaries y and z, shortfall u >= 0."""
    m.n = pyo.Var(
        m.SA,
        domain=pyo.NonNegativeIntegers,
        bounds=lambda _, s, t: (0, float(prm.max_units[s] / data.pack[s])),
    )
    m.y = pyo.Var(m.SA, domain=pyo.Binary)
    m.z = pyo.Var(m.PT, domain=pyo.Binary)
    m.u = pyo.Var(
        m.SERV, domain=pyo.NonNegativeReals, bounds=lambda _, s, t: (0, float(prm.requirement[s, t]))
    )


def define_service(m: pyo.ConcreteModel, data: PlanningData, prm: ModelParams) -> None:
    """Service target, weeks t >= L_s: A[s,t] + u[s,t] >= r[s,t] = max(0, Q_{D[s,1..t]}(alpha_s) - base[s,t]).

    Units. Weeks before the first possible arrival have no decision and are reported, not modelled.
    """

    def rule(m: pyo.ConcreteModel, s: int, t: int) -> pyo.Expression:
        if prm.requirement[s, t] <= 0:
            return pyo.Constraint.Skip
        return _planned(m, data, s, t) + m.u[s, t] >= float(prm.requirement[s, t])

    m.service = pyo.Constraint(m.SERV, rule=rule)


def define_order_size(m: pyo.ConcreteModel, data: PlanningData, prm: ModelParams) -> None:
    """MOQ and tight upper bound: MOQ_s y[s,t] <= pack_s n[s,t] <= U_s y[s,t] (units).

    U_s = max(MOQ_s, peak requirement rounded up to packs) + a top-up for the supplier's minimum
    order value: no optimal plan orders more in one line.
    """
    m.moq = pyo.Constraint(
        m.SA, rule=lambda m, s, t: data.pack[s] * m.n[s, t] >= data.min_units[s] * m.y[s, t]
    )
    m.upper = pyo.Constraint(
        m.SA, rule=lambda m, s, t: data.pack[s] * m.n[s, t] <= prm.max_units[s] * m.y[s, t]
    )


def define_supplier_orders(m: pyo.ConcreteModel, data: PlanningData) -> None:
    """Purchase-order link: y[s,t] <= z[p(s),t] (an order line needs its supplier's purchase order)."""
    m.link = pyo.Constraint(m.SA, rule=lambda m, s, t: m.y[s, t] <= m.z[int(data.supplier_idx[s]), t])


def define_min_order_value(m: pyo.ConcreteModel, data: PlanningData) -> None:
    """Minimum order value: sum_{s in p} c_s pack_s n[s,t] >= MOV_p z[p,t] (currency)."""
    members = _members(m, data)

    def rule(m: pyo.ConcreteModel, p: int, t: int) -> pyo.Expression:
        if data.min_order_value[p] <= 0 or not members[p, t]:
            return pyo.Constraint.Skip
        value = sum(data.unit_cost[s] * data.pack[s] * m.n[s, t] for s in members[p, t])
        return value >= data.min_order_value[p] * m.z[p, t]

    m.min_order_value = pyo.Constraint(m.PT, rule=rule)


def _members(m: pyo.ConcreteModel, data: PlanningData) -> dict[tuple[int, int], list[int]]:
    members: dict[tuple[int, int], list[int]] = {pt: [] for pt in m.PT}
    for s, t in m.SA:
        members[int(data.supplier_idx[s]), t].append(s)
    return members


def define_storage(m: pyo.ConcreteModel, data: PlanningData, prm: ModelParams) -> None:
    """Storage on slow-sales stock under lost sales (volume).

    With ``A[s,t]`` all receipts in week t (stock on hand in week 0, open and planned orders; units)
    and ``d[s,t] = D_q[s,t] - D_q[s,t-1]`` the slow scenario's weekly demand (units), the Lindley
    recursion ``w_t = A_t + max(0, w_{t-1} - d_{t-1})`` as its linear relaxation:

        w[s,t] >= A[s,t],  w[s,t] >= w[s,t-1] - d[s,t-1] + A[s,t],  w >= 0;  sum_s v_s w[s,t] <= Cap_t.

    ``w`` appears in no cost, so a plan fits exactly when its slow-sales stock
    (:func:`planner.core.accounting.slow_stock`) does.
    """
    if data.capacity is None:
        return
    m.ST = pyo.Set(
        initialize=[
            (s, t) for s in range(data.n_skus) for t in range(data.horizon) if data.unit_volume[s] > 0
        ],
        dimen=2,
    )
    m.w = pyo.Var(m.ST, domain=pyo.NonNegativeReals)
    weekly = np.diff(prm.slow_cum, axis=1, prepend=0.0)

    def receipts(m: pyo.ConcreteModel, s: int, t: int) -> pyo.Expression:
        a = t - int(data.lead_time[s])
        planned = data.pack[s] * m.n[s, a] if (s, a) in m.SA else 0.0
        return float(data.open_arrivals[s, t] + (data.on_hand[s] if t == 0 else 0.0)) + planned

    m.received = pyo.Constraint(m.ST, rule=lambda m, s, t: m.w[s, t] >= receipts(m, s, t))
    m.carried = pyo.Constraint(
        m.ST,
        rule=lambda m, s, t: (
            m.w[s, t] >= m.w[s, t - 1] - float(weekly[s, t - 1]) + receipts(m, s, t)
            if t > 0
            else pyo.Constraint.Skip
        ),
    )
    by_week: dict[int, list[int]] = {t: [] for t in range(data.horizon)}
    for s, t in m.ST:
        by_week[t].append(s)

    def rule(m: pyo.ConcreteModel, t: int) -> pyo.Expression:
        if not by_week[t]:
            return pyo.Constraint.Skip
        return sum(data.unit_volume[s] * m.w[s, t] for s in by_week[t]) <= float(data.capacity[t])

    m.storage = pyo.Constraint(m.T, rule=rule)


def define_budget(m: pyo.ConcreteModel, data: PlanningData) -> None:
    """Budget: sum_s c_s pack_s n[s,t] <= B_t (currency, order week t)."""
    if data.budget is None:
        return
    by_week: dict[int, list[int]] = {t: [] for t in range(data.horizon)}
    for s, t in m.SA:
        by_week[t].append(s)

    def rule(m: pyo.ConcreteModel, t: int) -> pyo.Expression:
        if not by_week[t]:
            return pyo.Constraint.Skip
        return sum(data.unit_cost[s] * data.pack[s] * m.n[s, t] for s in by_week[t]) <= float(data.budget[t])

    m.budget = pyo.Constraint(m.T, rule=rule)


def define_objective(m: pyo.ConcreteModel, data: PlanningData, prm: ModelParams) -> None:
    """Minimise sum K_p z + sum k_s y + sum (c_s + h_s (H - t - L_s)) pack_s n + sum P_s u (currency).

    The holding term charges each planned unit from its arrival week to the horizon's end, which
    equals h_s * sum_t A[s,t]; holding of stock without new orders is a constant left out.
    """
    h = data.horizon

    def unit_cost(s: int, t: int) -> float:
        weeks_held = h - t - int(data.lead_time[s])
        return float((data.unit_cost[s] + data.holding_cost[s] * weeks_held) * data.pack[s])

    m.obj = pyo.Objective(
        expr=sum(float(data.order_cost[p]) * m.z[p, t] for p, t in m.PT)
        + sum(float(data.line_cost[s]) * m.y[s, t] + unit_cost(s, t) * m.n[s, t] for s, t in m.SA)
        + sum(float(prm.penalty[s]) * m.u[s, t] for s, t in m.SERV),
        sense=pyo.minimize,
    )


def orders_from_model(m: pyo.ConcreteModel, data: PlanningData) -> np.ndarray:
    """x[s,t] in units from a solved model (rounded to whole packs)."""
    x = np.zeros((data.n_skus, data.horizon))
    for s, t in m.SA:
        value = m.n[s, t].value
        if value is not None:
            x[s, t] = data.pack[s] * round(value)
    return x
