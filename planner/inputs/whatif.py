"""Apply a scenario's what-if changes to the data and the forecast.

Selectors name SKUs, categories or suppliers; a name that does not exist in the
dataset is an error (a silent no-op would make a what-if look like it did nothing).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from planner.base.errors import Problem, ScenarioError
from planner.inputs.scenario import Scenario, Selector


def selector_mask(sel: Selector, items: pd.DataFrame) -> np.ndarray:
    """Boolean mask over ``items`` rows (index sku) matching every given list of the selector."""
    mask = np.ones(len(items), dtype=bool)
    if sel.skus is not None:
        mask &= items.index.isin(sel.skus)
    if sel.categories is not None:
        mask &= items["category"].isin(sel.categories).to_numpy()
    if sel.suppliers is not None:
        mask &= items["supplier"].isin(sel.suppliers).to_numpy()
    return mask


def check_references(scenario: Scenario, items: pd.DataFrame, suppliers: pd.DataFrame, source: Path) -> None:
    """Every SKU, category and supplier a scenario names must exist in the dataset."""
    known = {
        "skus": set(items.index),
        "categories": set(items["category"].dropna()),
        "suppliers": set(suppliers.index),
    }
    problems = []
    for group in ("demand_scale", "items"):
        for i, sel in enumerate(getattr(scenario, group)):
            for field, names in known.items():
                unknown = sorted(set(getattr(sel, field) or ()) - names)
                if unknown:
                    problems.append(
                        Problem(
                            str(source),
                            f"not in the dataset: {', '.join(unknown[:5])}",
                            f"use {field} that exist in items.csv",
                            key=f"{group}.{i}.{field}",
                        )
                    )
    for name in scenario.suppliers:
        if name not in known["suppliers"]:
            problems.append(
                Problem(
                    str(source),
                    f"supplier '{name}' is not in suppliers.csv",
                    f"use one of: {', '.join(sorted(known['suppliers'])[:10])}",
                    key=f"suppliers.{name}",
                )
            )
    if problems:
        raise ScenarioError(problems)


def apply_item_changes(scenario: Scenario, items: pd.DataFrame) -> pd.DataFrame:
    """Items with the scenario's ``items`` overrides applied in order."""
    items = items.copy()
    for change in scenario.items:
        mask = selector_mask(change, items)
        values = change.model_dump(exclude_none=True, exclude={"skus", "categories", "suppliers"})
        factor = values.pop("unit_cost_factor", None)
        if factor is not None:
            items.loc[mask, "unit_cost"] = items.loc[mask, "unit_cost"] * factor
        for col, value in values.items():
            items.loc[mask, col] = value
    return items


def apply_supplier_changes(scenario: Scenario, suppliers: pd.DataFrame) -> pd.DataFrame:
    """Suppliers with the scenario's overrides applied (lead times floored at 0)."""
    suppliers = suppliers.copy()
    for name, change in scenario.suppliers.items():
        if change.lead_time_weeks is not None:
            suppliers.loc[name, "lead_time_weeks"] = change.lead_time_weeks
        if change.lead_time_delta_weeks is not None:
            lt = suppliers.loc[name, "lead_time_weeks"] + change.lead_time_delta_weeks
            suppliers.loc[name, "lead_time_weeks"] = max(0, lt)
        for col in ("order_cost", "min_order_value"):
            value = getattr(change, col)
            if value is not None:
                suppliers.loc[name, col] = value
    return suppliers


def demand_factors(scenario: Scenario, items: pd.DataFrame, weeks: pd.DatetimeIndex) -> np.ndarray:
    """Multipliers ``[S, H]`` on forecast demand; scales compound where they overlap."""
    factors = np.ones((len(items), len(weeks)))
    for scale in scenario.demand_scale:
        rows = selector_mask(scale, items)
        cols = np.ones(len(weeks), dtype=bool)
        if scale.start is not None:
            cols &= weeks >= pd.Timestamp(scale.start) - pd.Timedelta(
                days=pd.Timestamp(scale.start).weekday()
            )
        if scale.end is not None:
            cols &= weeks <= pd.Timestamp(scale.end)
        factors[np.ix_(rows, cols)] *= scale.factor
    return factors
