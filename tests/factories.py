"""Small :class:`PlanningData` instances built straight from arrays (no files).

``make_data(demand=...)`` takes demand either as ``[S, H]`` (deterministic: one
sample path) or as sample paths ``[S, N, H]``; the forecast is built with
:meth:`Forecast.from_paths`, so means, quantiles and cumulative quantiles are
the real ones. Every other input is a scalar (broadcast) or an array: per SKU
(length S), per supplier (length P) or per SKU-week (``[S, H]``).
``small_sample`` cuts a copy of the sample dataset down to its first SKUs.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from forecast.base import Forecast
from planner.core.problem import PlanningData, min_order_units

START = pd.Timestamp("2024-01-01")  # a Monday
BASE_LEVELS = (0.05, 0.5, 0.95)


def weeks(h: int) -> pd.DatetimeIndex:
    """``h`` consecutive Mondays from :data:`START`."""
    return pd.date_range(START, periods=h, freq="7D")


def week_label(t: int) -> str:
    """ISO date of week ``t`` (0-based), as the plan tables write it."""
    return str((START + pd.Timedelta(days=7 * t)).date())


def _per(value, n: int, dtype=float) -> np.ndarray:
    arr = np.asarray(value, dtype=dtype)
    return np.full(n, arr, dtype=dtype) if arr.ndim == 0 else arr.copy()


def make_data(
    demand,
    *,
    supplier_idx: Sequence[int] | int = 0,
    lead_time=0,
    pack=1,
    moq=0,
    unit_cost=1.0,
    unit_volume=1.0,
    holding_cost=0.1,
    shortage_cost=5.0,
    line_cost=0.0,
    service_level=0.95,
    on_hand=0.0,
    order_cost=0.0,
    min_order_value=0.0,
    open_arrivals=None,
    capacity=None,
    budget=None,
    storage_quantile: float = 0.2,
    penalty_factor: float = 100.0,
    n_suppliers: int | None = None,
    skus: Sequence[str] | None = None,
) -> PlanningData:
    """A :class:`PlanningData` for S SKUs, H weeks and P suppliers.

    ``lead_time`` is per SKU (as in :class:`PlanningData`); ``moq`` is in units and is
    rounded up to whole packs like :func:`build_planning_data` does. ``capacity`` and
    ``budget`` are per week (scalar broadcast) or ``None`` for unconstrained.
    """
    demand = np.asarray(demand, dtype=float)
    paths = demand[:, None, :] if demand.ndim == 2 else demand
    s_count, _, h = paths.shape
    supplier_idx = _per(supplier_idx, s_count, int)
    p_count = n_suppliers if n_suppliers is not None else int(supplier_idx.max()) + 1
    alpha = _per(service_level, s_count)
    levels = sorted({*BASE_LEVELS, storage_quantile, *alpha.tolist()})
    names = list(skus) if skus is not None else [f"S{i}" for i in range(s_count)]
    forecast = Forecast.from_paths(names, weeks(h), levels, paths, "test")
    pack_arr = _per(pack, s_count)

    def weekly(v):
        return None if v is None else _per(v, h)

    return PlanningData(
        skus=names,
        weeks=weeks(h),
        suppliers=[f"P{p}" for p in range(p_count)],
        supplier_idx=supplier_idx,
        lead_time=_per(lead_time, s_count, int),
        unit_cost=_per(unit_cost, s_count),
        unit_volume=_per(unit_volume, s_count),
        pack=pack_arr,
        min_units=min_order_units(_per(moq, s_count), pack_arr),
        holding_cost=_per(holding_cost, s_count),
        shortage_cost=_per(shortage_cost, s_count),
        line_cost=_per(line_cost, s_count),
        service_level=alpha,
        on_hand=_per(on_hand, s_count),
        order_cost=_per(order_cost, p_count),
        min_order_value=_per(min_order_value, p_count),
        open_arrivals=np.zeros((s_count, h)) if open_arrivals is None else np.asarray(open_arrivals, float),
        demand_mean=forecast.mean,
        target_cum=forecast.cumulative_quantile(alpha),
        storage_cum=forecast.cumulative_quantile(storage_quantile),
        storage_quantile=storage_quantile,
        capacity=weekly(capacity),
        budget=weekly(budget),
        forecast=forecast,
        shortfall_penalty=penalty_factor * (_per(unit_cost, s_count) + _per(shortage_cost, s_count)),
    )


def small_sample(sample_dataset: Path, n_skus: int = 12) -> None:
    """Keep the first ``n_skus`` SKUs of the sample copy (a fast multi-SKU, multi-supplier company)."""
    items = pd.read_csv(sample_dataset / "items.csv").head(n_skus)
    keep = set(items["sku"])
    items.to_csv(sample_dataset / "items.csv", index=False)
    for name in ("demand.csv", "inventory.csv", "open_orders.csv"):
        frame = pd.read_csv(sample_dataset / name)
        frame[frame["sku"].isin(keep)].to_csv(sample_dataset / name, index=False)


def seeded_company(seed: int = 3, skus: int = 40, weeks: int = 12) -> PlanningData:
    """A seeded multi-supplier instance with binding storage, MOQs, packs and minimum order values."""
    rng = np.random.default_rng(seed)
    demand = rng.poisson(rng.uniform(2, 30, size=(skus, 1)), size=(skus, weeks)).astype(float)
    return make_data(
        demand,
        supplier_idx=rng.integers(0, 3, skus),
        n_suppliers=3,
        lead_time=rng.integers(0, 3, skus),
        pack=rng.choice([1, 6, 12], skus),
        moq=rng.choice([0, 12, 24], skus),
        unit_cost=rng.uniform(1, 20, skus),
        unit_volume=rng.uniform(0.01, 0.05, skus),
        holding_cost=0.05,
        order_cost=[80.0, 120.0, 60.0],
        min_order_value=[0.0, 300.0, 150.0],
        capacity=float(0.6 * (rng.uniform(0.01, 0.05, skus) * demand.sum(axis=1)).sum() / 4),
    )
