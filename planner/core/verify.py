"""The plan verifier: independent checks of an exported plan against the hard rules.

It reads the order lines as they will be written (not the policy's internals),
rebuilds receipts and stock from them, and lists every violation. The pipeline
runs it before writing anything; a plan that fails is never exported.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from planner.base.errors import PlanVerificationError
from planner.core.accounting import (
    planned_arrivals,
    purchase_order_value,
    short_purchase_orders,
    storage_volume,
)
from planner.core.problem import PlanningData

TOL = 1e-6


def orders_from_lines(data: PlanningData, lines: pd.DataFrame) -> np.ndarray:
    """x[s,t] rebuilt from purchase-plan rows (order_week, sku, units)."""
    x = np.zeros((data.n_skus, data.horizon))
    s = pd.Index(data.skus).get_indexer(lines["sku"])
    t = data.weeks.get_indexer(pd.to_datetime(lines["order_week"]))
    np.add.at(x, (s, t), lines["units"].to_numpy(dtype=float))
    return x


def plan_violations(data: PlanningData, lines: pd.DataFrame, projection: pd.DataFrame) -> list[str]:
    """Every hard rule the plan breaks, one message each (empty when the plan is sound)."""
    out: list[str] = []
    sku_idx = pd.Index(data.skus).get_indexer(lines["sku"])
    order_t = data.weeks.get_indexer(pd.to_datetime(lines["order_week"]))
    if (sku_idx < 0).any():
        out.append(f"unknown SKUs in plan: {sorted(set(lines['sku'][sku_idx < 0]))[:5]}")
    if (order_t < 0).any():
        out.append("order weeks outside the planning horizon")
    if out:
        return out
    supplier = np.asarray(data.suppliers, dtype=object)[data.supplier_idx[sku_idx]]
    for i in np.flatnonzero(lines["supplier"].to_numpy(dtype=object) != supplier):
        out.append(
            f"{lines['sku'].iloc[i]}: supplier {lines['supplier'].iloc[i]} is not the SKU's "
            f"supplier {supplier[i]}"
        )
    units = lines["units"].to_numpy(dtype=float)
    packs = lines["packs"].to_numpy(dtype=float)
    for i in np.flatnonzero(np.abs(units - packs * data.pack[sku_idx]) > TOL):
        out.append(f"{lines['sku'].iloc[i]}: {units[i]:g} units is not packs x pack size")
    for i in np.flatnonzero(np.abs(packs - np.round(packs)) > TOL):
        out.append(f"{lines['sku'].iloc[i]}: {packs[i]:g} is not a whole number of packs")
    for i in np.flatnonzero(units < data.min_units[sku_idx] - TOL):
        out.append(
            f"{lines['sku'].iloc[i]} {lines['order_week'].iloc[i]}: {units[i]:g} units below the "
            f"minimum order {data.min_units[sku_idx[i]]:g}"
        )
    arrive = data.weeks[0] + pd.to_timedelta(7 * (order_t + data.lead_time[sku_idx]), unit="D")
    bad = np.flatnonzero(pd.to_datetime(lines["arrival_week"]).to_numpy() != arrive.to_numpy())
    out += [f"{lines['sku'].iloc[i]}: arrival_week is not order_week + lead time" for i in bad]
    if (order_t + data.lead_time[sku_idx] >= data.horizon).any():
        out.append("orders arriving after the horizon")
    if lines.duplicated(["sku", "order_week"]).any():
        out.append("more than one line for the same SKU and week")
    x = orders_from_lines(data, lines)
    receipts = _receipts(data, x)
    out += _receipts_and_balance(data, receipts, projection)
    out += weekly_limit_violations(data, x)
    return out


def _receipts(data: PlanningData, x: np.ndarray) -> np.ndarray:
    """Open orders plus x[s, t - L_s] in week t, rebuilt from the plan rows, not the policy's arrays."""
    return data.open_arrivals + planned_arrivals(data, x)


def _projection_grid(data: PlanningData, projection: pd.DataFrame) -> pd.DataFrame | None:
    """Projection rows ordered as (SKU, week); None when rows are missing or repeated."""
    keyed = projection.assign(week=pd.to_datetime(projection["week"])).set_index(["sku", "week"])
    grid = pd.MultiIndex.from_product([data.skus, data.weeks], names=["sku", "week"])
    if not keyed.index.is_unique or len(keyed) != len(grid) or not grid.isin(keyed.index).all():
        return None
    return keyed.loc[grid]


def _receipts_and_balance(data: PlanningData, expected: np.ndarray, projection: pd.DataFrame) -> list[str]:
    """Projection arrivals equal open orders plus orders shifted by lead time; stock balances."""
    grid = _projection_grid(data, projection)
    if grid is None:
        return ["projection does not hold exactly one row per SKU and week of the horizon"]
    out = []
    shape = (data.n_skus, data.horizon)
    got = grid["arrivals"].to_numpy(dtype=float).reshape(shape)
    if not np.allclose(got, expected, atol=TOL):
        out.append("projection arrivals differ from open orders plus planned orders shifted by lead time")
    start = grid["on_hand_start"].to_numpy(dtype=float).reshape(shape)
    end = grid["on_hand_end"].to_numpy(dtype=float).reshape(shape)
    prev = np.concatenate([data.on_hand[:, None], end[:, :-1]], axis=1)
    if not np.allclose(start, prev + expected, atol=1e-4):
        out.append("inventory balance broken: on_hand_start != previous on_hand_end + arrivals")
    if not np.allclose(end, np.maximum(0.0, start - data.demand_mean), atol=1e-4):
        out.append("inventory balance broken: on_hand_end != max(0, on_hand_start - demand_mean)")
    return out


def weekly_limit_violations(data: PlanningData, x: np.ndarray) -> list[str]:
    """Storage (slow-sales stock, lost sales), budget and minimum order value breaches of orders
    x[s,t], one line each."""
    out = []
    if data.capacity is not None:
        vol = storage_volume(data, _receipts(data, x))
        for t in np.flatnonzero(vol > data.capacity * (1 + TOL) + TOL):
            out.append(
                f"week {data.weeks[t].date()}: storage {vol[t]:.4g} above capacity {data.capacity[t]:.4g}"
            )
    spend = data.unit_cost @ x
    if data.budget is not None:
        for t in np.flatnonzero(spend > data.budget * (1 + TOL) + TOL):
            out.append(f"week {data.weeks[t].date()}: spend {spend[t]:.2f} above budget {data.budget[t]:.2f}")
    value = purchase_order_value(data, x)
    for p, t in zip(*np.nonzero(short_purchase_orders(data, x, TOL)), strict=True):
        out.append(
            f"week {data.weeks[t].date()}: order to {data.suppliers[p]} worth {value[p, t]:.2f} is below "
            f"its minimum order value {data.min_order_value[p]:.2f}"
        )
    return out


def verify_plan(data: PlanningData, lines: pd.DataFrame, projection: pd.DataFrame) -> None:
    """Raise :class:`PlanVerificationError` listing every violation; return quietly if none."""
    problems = plan_violations(data, lines, projection)
    if problems:
        shown = "\n".join(f"- {p}" for p in problems[:20])
        more = f"\n- (+{len(problems) - 20} more)" if len(problems) > 20 else ""
        raise PlanVerificationError(
            f"the plan breaks {len(problems)} hard rule(s) and was not written:\n{shown}{more}"
        )
