"""The validated, array-shaped input of every planning policy.

:class:`PlanningData` is what ``build_model(data)`` and the classical policy read:
no files, no scenario objects, only numbers indexed by SKU ``s``, week ``t`` and
supplier ``p`` (notation of docs/model.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecast.base import Forecast, quantile_per_row
from planner.core.service import Scope, planning_levels

WEEKS_PER_YEAR = 52.0


@dataclass(frozen=True)
class PlanningData:
    """Everything a policy needs, as arrays.

    Per SKU (length S): ``supplier_idx``, ``lead_time`` L_s (weeks), ``unit_cost`` c_s,
    ``unit_volume`` v_s, ``pack`` (units per pack), ``min_units`` (the MOQ rounded up to
    whole packs), ``holding_cost`` h_s (per unit-week), ``shortage_cost`` b_s (per unit),
    ``line_cost`` k_s (per order line), ``service_level`` alpha_s, ``on_hand`` I0_s.
    Per supplier (length P): ``order_cost`` K_p, ``min_order_value`` MOV_p.
    ``service_level`` is each SKU's fill-rate target (the scenario's unless items.csv sets one);
    ``planning_level`` alpha_s the quantile the SKU is planned on to meet it (:mod:`planner.core.service`).
    Per SKU-week ``[S, H]``: ``open_arrivals`` O[s,t], ``demand_mean`` E[D[s,t]],
    ``target_cum`` Q_{D[s,1..t]}(alpha_s), ``storage_cum`` Q_{D[s,1..t]}(storage quantile).
    Per week (length H): ``capacity`` Cap_t and ``budget`` B_t (``None`` = unconstrained).
    ``lead_time_sd`` sigma_L per SKU (its supplier's; :mod:`planner.core.leadtime`): the service target
    is read on demand over the uncertain lead time.
    ``shortfall_penalty`` P_s: cost per unit-week below the service target in weeks t >= L_s.
    """

    skus: list[str]
    weeks: pd.DatetimeIndex
    suppliers: list[str]
    supplier_idx: np.ndarray
    lead_time: np.ndarray
    unit_cost: np.ndarray
    unit_volume: np.ndarray
    pack: np.ndarray
    min_units: np.ndarray
    holding_cost: np.ndarray
    shortage_cost: np.ndarray
    line_cost: np.ndarray
    service_level: np.ndarray
    on_hand: np.ndarray
    order_cost: np.ndarray
    min_order_value: np.ndarray
    open_arrivals: np.ndarray
    demand_mean: np.ndarray
    target_cum: np.ndarray
    storage_cum: np.ndarray
    storage_quantile: float
    capacity: np.ndarray | None
    budget: np.ndarray | None
    forecast: Forecast
    shortfall_penalty: np.ndarray  # [S] per unit-week short of the service target (optimiser)
    planning_level: np.ndarray | None = None  # [S] alpha_s (None: the service level itself)
    lead_time_sd: np.ndarray | None = None  # [S] sigma_L of the SKU's supplier, weeks (None: certain)
    expected_fill: float | None = None  # the fill rate the planning levels give on the forecast

    @property
    def n_skus(self) -> int:
        return len(self.skus)

    @property
    def horizon(self) -> int:
        return len(self.weeks)


def holding_cost_per_week(items: pd.DataFrame, default_rate: float) -> np.ndarray:
    """h_s = holding_cost if given, else holding_rate (item's or scenario's, annual) * c_s / 52."""
    rate = items["holding_rate"].fillna(default_rate).to_numpy(dtype=float)
    derived = rate * items["unit_cost"].to_numpy(dtype=float) / WEEKS_PER_YEAR
    return items["holding_cost"].fillna(pd.Series(derived, index=items.index)).to_numpy(dtype=float)


def min_order_units(moq: np.ndarray, pack: np.ndarray) -> np.ndarray:
    """Smallest orderable quantity: the MOQ rounded up to whole packs, at least one pack."""
    return np.maximum(np.ceil(moq / pack), 1) * pack


def build_planning_data(
    items: pd.DataFrame,
    suppliers: pd.DataFrame,
    on_hand: pd.Series,
    open_orders: pd.DataFrame,
    forecast: Forecast,
    *,
    service_level: float,
    holding_rate: float,
    shortage_cost_factor: float,
    storage_quantile: float,
    capacity: list[float] | None,
    budget: list[float] | None,
    penalty_factor: float = 100.0,
    service_scope: Scope | None = "portfolio",
) -> PlanningData:
    """Assemble :class:`PlanningData`; ``items`` and ``forecast`` must list the same SKUs in order.

    ``service_scope``: how the planning levels meet the fill-rate targets (:func:`planning_levels`);
    None plans every SKU on its service level itself.
    """
    if list(items.index) != list(forecast.skus):
        raise ValueError("items and forecast must list the same SKUs in the same order")
    weeks = forecast.weeks
    supplier_names = sorted(suppliers.index)
    supplier_idx = np.searchsorted(supplier_names, items["supplier"].to_numpy())
    sup = suppliers.loc[supplier_names]
    pack = items["pack_size"].to_numpy(dtype=float)
    unit_cost = items["unit_cost"].to_numpy(dtype=float)
    alpha = items["service_level"].fillna(service_level).to_numpy(dtype=float)
    shortage = items["shortage_cost"].fillna(pd.Series(unit_cost * shortage_cost_factor, index=items.index))
    lead_time = sup["lead_time_weeks"].to_numpy(dtype=int)[supplier_idx]
    lead_sd = sup.reindex(columns=["lead_time_sd_weeks"])["lead_time_sd_weeks"].fillna(0.0).to_numpy(float)
    lead_sd = lead_sd[supplier_idx]
    on_hand_arr = on_hand.reindex(items.index).fillna(0.0).to_numpy(dtype=float)
    open_arrivals = _open_arrivals(open_orders, list(items.index), weeks)
    min_units = min_order_units(items["moq"].to_numpy(dtype=float), pack)
    holding = holding_cost_per_week(items, holding_rate)
    line_cost = items["order_cost"].fillna(0.0).to_numpy(dtype=float)
    level, expected = alpha, None
    if service_scope is not None:
        plan = planning_levels(
            forecast.paths,
            on_hand=on_hand_arr,
            open_arrivals=open_arrivals,
            lead_time=lead_time,
            pack=pack,
            min_units=min_units,
            holding_cost=holding,
            order_cost=sup["order_cost"].to_numpy(dtype=float)[supplier_idx] + line_cost,
            target=service_level,
            floors=items["service_level"].to_numpy(dtype=float),
            scope=service_scope,
            lead_time_sd=lead_sd,
        )
        level, expected = plan.alpha, plan.expected_fill
    return PlanningData(
        skus=list(items.index),
        weeks=weeks,
        suppliers=supplier_names,
        supplier_idx=supplier_idx,
        lead_time=lead_time,
        unit_cost=unit_cost,
        unit_volume=items["unit_volume"].to_numpy(dtype=float),
        pack=pack,
        min_units=min_units,
        holding_cost=holding,
        shortage_cost=shortage.to_numpy(dtype=float),
        line_cost=line_cost,
        service_level=alpha,
        on_hand=on_hand_arr,
        order_cost=sup["order_cost"].to_numpy(dtype=float),
        min_order_value=sup["min_order_value"].fillna(0.0).to_numpy(dtype=float),
        open_arrivals=open_arrivals,
        demand_mean=forecast.mean,
        target_cum=_targets(forecast, level, lead_sd, lead_time, from_paths=service_scope is not None),
        storage_cum=forecast.cumulative_quantile(storage_quantile),
        storage_quantile=storage_quantile,
        capacity=None if capacity is None else np.asarray(capacity, dtype=float),
        budget=None if budget is None else np.asarray(budget, dtype=float),
        forecast=forecast,
        shortfall_penalty=penalty_factor * (unit_cost + shortage.to_numpy(dtype=float)),
        planning_level=level,
        expected_fill=expected,
        lead_time_sd=lead_sd,
    )


def _targets(
    forecast: Forecast, level: np.ndarray, lead_sd: np.ndarray, lead_time: np.ndarray, from_paths: bool
) -> np.ndarray:
    """``Q_{D[s,1..t]}(level_s)`` ``[S, H]`` from the stored cumulative quantiles, or from the paths
    (``from_paths``: levels the forecast does not store); with uncertain lead times always from
    the paths, on demand through week ``t + delta`` (:func:`planner.core.leadtime.lead_time_cumulative`)."""
    if not np.any(lead_sd > 0):
        return forecast.cumulative_quantile_at(level) if from_paths else forecast.cumulative_quantile(level)
    from planner.core.leadtime import lead_time_cumulative

    cum = lead_time_cumulative(forecast.paths, lead_sd, lead_time)
    return np.maximum.accumulate(quantile_per_row(cum, level), axis=1)


def _open_arrivals(open_orders: pd.DataFrame, skus: list[str], weeks: pd.DatetimeIndex) -> np.ndarray:
    """O[s,t]: open-order units arriving in week t (orders arriving after the horizon are left out)."""
    out = np.zeros((len(skus), len(weeks)))
    if open_orders.empty:
        return out
    s_idx = pd.Index(skus).get_indexer(open_orders["sku"])
    t_idx = weeks.get_indexer(open_orders["week"])
    inside = (s_idx >= 0) & (t_idx >= 0)
    np.add.at(out, (s_idx[inside], t_idx[inside]), open_orders["units"].to_numpy(dtype=float)[inside])
    return out
