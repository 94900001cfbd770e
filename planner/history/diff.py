"""What changed between two recorded plans, and what drove it.

Lines are matched on (SKU, supplier, order week): a line only in the new plan is *added*, only in
the old one *removed*, in both with other units *changed*. Spend (order value) is compared by
supplier and by order week. The drivers are the inputs whose fingerprints differ between the two
runs: demand history (the forecast's input), stock on hand, open orders, items or suppliers, the
forecast model, and the scenario's settings (each changed key named).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
import yaml

KEY = ["sku", "supplier", "order_week"]
DRIVERS = {
    "demand": "demand history changed (new weeks of sales): the forecast moves",
    "inventory": "stock on hand changed",
    "open_orders": "open orders changed",
    "items": "item master data changed (costs, packs, MOQs, service targets)",
    "suppliers": "supplier data changed (lead times, order costs, minimums)",
    "calendar": "calendar events changed",
}


@dataclass(frozen=True)
class PlanDiff:
    """``lines``: one row per changed line (``change`` added/removed/changed, units before and after);
    ``by_supplier`` / ``by_week``: spend before, after and the difference; ``drivers``: sentences."""

    lines: pd.DataFrame
    by_supplier: pd.DataFrame
    by_week: pd.DataFrame
    drivers: list[str]

    def counts(self) -> dict[str, int]:
        return {c: int((self.lines["change"] == c).sum()) for c in ("added", "removed", "changed")}


def diff_plans(
    old: dict[str, Any], new: dict[str, Any], old_lines: pd.DataFrame, new_lines: pd.DataFrame
) -> PlanDiff:
    """The difference from run ``old`` to run ``new`` (records as :meth:`RunStore.run` gives them)."""
    a = _by_key(old_lines)
    b = _by_key(new_lines)
    both = a.add_suffix("_before").join(b.add_suffix("_after"), how="outer").fillna(0.0)
    before, after = both["units_before"], both["units_after"]
    change = pd.Series("changed", index=both.index)
    change[before == 0] = "added"
    change[after == 0] = "removed"
    moved = (before - after).abs() > 1e-9
    lines = both.assign(change=change)[moved].reset_index()
    lines = lines[[*KEY, "change", "units_before", "units_after", "value_before", "value_after"]]
    return PlanDiff(
        lines=lines.sort_values([*KEY]).reset_index(drop=True),
        by_supplier=_spend(old_lines, new_lines, "supplier"),
        by_week=_spend(old_lines, new_lines, "order_week"),
        drivers=drivers(old, new),
    )


def _by_key(lines: pd.DataFrame) -> pd.DataFrame:
    frame = lines.assign(order_week=pd.to_datetime(lines["order_week"]).dt.date)
    return frame.groupby(KEY)[["units", "order_value"]].sum().rename(columns={"order_value": "value"})


def _spend(old_lines: pd.DataFrame, new_lines: pd.DataFrame, by: str) -> pd.DataFrame:
    def total(lines: pd.DataFrame) -> pd.Series:
        frame = lines.assign(order_week=pd.to_datetime(lines["order_week"]).dt.date)
        return frame.groupby(by)["order_value"].sum()

    out = pd.concat({"before": total(old_lines), "after": total(new_lines)}, axis=1).fillna(0.0)
    out["change"] = out["after"] - out["before"]
    return out.sort_index().reset_index()


def drivers(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Why the plans differ: the inputs, forecast model and scenario settings that changed."""
    out = []
    for name, sentence in DRIVERS.items():
        if _sha(old, name) != _sha(new, name):
            out.append(sentence)
    if old.get("plan_start") != new.get("plan_start"):
        out.append(f"the plan starts on another week ({old.get('plan_start')} -> {new.get('plan_start')})")
    if old.get("policy") != new.get("policy"):
        out.append(f"policy changed ({old.get('policy')} -> {new.get('policy')})")
    if old.get("forecast_model") != new.get("forecast_model"):
        out.append(f"forecast model changed ({old.get('forecast_model')} -> {new.get('forecast_model')})")
    keys = _changed_keys(
        yaml.safe_load(old["scenario_yaml"]) or {}, yaml.safe_load(new["scenario_yaml"]) or {}
    )
    if keys:
        out.append("scenario settings changed: " + ", ".join(keys))
    if old.get("code_version") != new.get("code_version"):
        out.append(f"planner version changed ({old.get('code_version')} -> {new.get('code_version')})")
    return out or ["no input, forecast model or setting changed (same inputs give the same plan)"]


def _sha(run: dict[str, Any], name: str) -> str | None:
    entry = (run.get("inputs") or {}).get(name)
    return entry.get("sha256") if isinstance(entry, dict) else None


def _changed_keys(a: Any, b: Any, prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two parsed YAML documents (``name`` and paths skipped)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in sorted(set(a) | set(b), key=str):
            if not prefix and key in ("name", "data"):
                continue
            out += _changed_keys(a.get(key), b.get(key), f"{prefix}{key}.")
        return out
    return [] if a == b else [prefix.rstrip(".")]
