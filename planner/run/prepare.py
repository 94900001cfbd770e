"""Preparing a planning run: the scenario and its data read and checked, what-ifs applied, warnings stated.

:func:`prepare` is the first step of every command; everything after it works on the typed
:class:`Prepared` it returns.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from planner.base.errors import Problem, ScenarioError
from planner.inputs.data import Dataset, check_open_orders, load_dataset
from planner.inputs.forecast_file import read_forecast_file
from planner.inputs.location import PathOrURL, absolute
from planner.inputs.scenario import Scenario, load_scenario
from planner.inputs.whatif import (
    apply_item_changes,
    apply_supplier_changes,
    check_references,
)
from planner.run.models import check_saved_model, model_errors

log = logging.getLogger(__name__)
Step = Callable[[str], None]

MAX_HORIZON = 156


MAX_WEEKS_AFTER_HISTORY = 52  # a plan further from its history is forecast blind


BYTES_PER_PATH_CELL = 16  # peak bytes per SKU x path x week: 13 measured by plan and simulate


@dataclass
class Prepared:
    """A scenario with its validated data, what-ifs applied, and the planning weeks."""

    scenario: Scenario
    source: Path
    dataset: Dataset
    items: pd.DataFrame
    suppliers: pd.DataFrame
    plan_start: pd.Timestamp
    weeks: pd.DatetimeIndex
    history: pd.DataFrame
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[Problem] = field(default_factory=list)
    forecast_file: tuple[pd.DataFrame, list[float]] | None = None  # model 'file': its rows, levels


def quiet(_: str) -> None:
    return None


def prepare(
    scenario_path: Path | str,
    step: Step = quiet,
    model_dir: PathOrURL | None = None,
    scenario: Scenario | None = None,
) -> Prepared:
    """Load the scenario and its dataset, check references and apply item/supplier what-ifs.

    ``model_dir`` (a folder saved by ``planner forecast``) replaces the scenario's ``forecast.load``;
    ``scenario``, when given, is the scenario already loaded from ``scenario_path`` (not read again).
    """
    t0 = time.perf_counter()
    source = Path(scenario_path).resolve()
    if scenario is None:
        step("reading scenario")
        scenario = load_scenario(source)
    if model_dir is not None:
        forecast = scenario.forecast.model_copy(update={"load": absolute(model_dir)})
        scenario = scenario.model_copy(update={"forecast": forecast})
    if scenario.forecast.load is not None:
        step("checking the saved forecast model")
        with model_errors(scenario.forecast.model):
            check_saved_model(scenario.forecast.load)
    step("validating data")
    dataset = load_dataset(scenario.data)
    check_references(scenario, dataset.items, dataset.suppliers, source)
    plan_start = _plan_start(scenario, dataset, source)
    check_open_orders(dataset, plan_start)
    weeks = pd.date_range(plan_start, periods=scenario.horizon_weeks, freq="7D")
    history = dataset.history[dataset.history["week"] < plan_start]
    items = apply_item_changes(scenario, dataset.items)
    suppliers = apply_supplier_changes(scenario, dataset.suppliers)
    check_memory(scenario, len(items), source)
    rows = read_forecast_file(scenario.forecast.path) if scenario.forecast.model == "file" else None
    return Prepared(
        scenario,
        source,
        dataset,
        items,
        suppliers,
        plan_start,
        weeks,
        history,
        timings={"prepare": time.perf_counter() - t0},
        warnings=[
            *dataset.warnings,
            *_history_gap_warnings(plan_start, dataset, source),
            *_horizon_warnings(scenario, items, suppliers, source),
        ],
        forecast_file=rows,
    )


def _horizon_warnings(
    scenario: Scenario, items: pd.DataFrame, suppliers: pd.DataFrame, source: Path
) -> list[Problem]:
    """SKUs whose supplier's lead time reaches past the horizon: no new order can arrive in time."""
    horizon = scenario.horizon_weeks
    lead = items["supplier"].map(suppliers["lead_time_weeks"]).astype(int)
    late = lead[lead >= horizon]
    if late.empty:
        return []
    longest = int(late.max())
    fix = (
        f"raise horizon_weeks to at least {longest + 1}"
        if longest < MAX_HORIZON
        else "plan these suppliers' SKUs with a shorter lead time, or order them outside this plan"
    )
    names = ", ".join(sorted(items.loc[late.index, "supplier"].unique())[:5])
    return [
        Problem(
            str(source),
            f"{len(late)} SKU(s) cannot receive a new order within the {horizon}-week horizon "
            f"(supplier {names}: lead time up to {longest} weeks); the plan orders none of them",
            fix,
            key="horizon_weeks",
            code="lead_time_beyond_horizon",
            skus=tuple(late.index),
        )
    ]


def check_memory(scenario: Scenario, n_skus: int, source: Path) -> None:
    """Refuse a run whose sample paths cannot fit in this machine's memory, saying what to lower."""
    spec = scenario.forecast
    cells = n_skus * spec.n_paths * scenario.horizon_weeks
    need, have = cells * BYTES_PER_PATH_CELL, available_memory()
    if have is None or need <= have:
        return
    fits = int(have / (BYTES_PER_PATH_CELL * n_skus * scenario.horizon_weeks))
    fits = max(1, int(float(f"{fits:.2g}")) if fits >= 100 else fits)  # two significant digits
    raise ScenarioError(
        [
            Problem(
                str(source),
                f"{spec.n_paths:,} sample paths x {scenario.horizon_weeks} weeks x {n_skus:,} SKUs need "
                f"about {need / 2**30:.1f} GiB; this machine has {have / 2**30:.1f} GiB available",
                f"lower forecast.n_paths to at most {fits:,} (or horizon_weeks)",
                key="forecast.n_paths",
            )
        ]
    )


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation (Linux ``MemAvailable``), None if unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _plan_start(scenario: Scenario, dataset: Dataset, source: Path) -> pd.Timestamp:
    default = dataset.last_week + pd.Timedelta(days=7)
    if scenario.plan_start is None:
        return default
    start = pd.Timestamp(scenario.plan_start)
    first = dataset.history["week"].min()
    if start <= first:
        raise ScenarioError(
            [
                Problem(
                    str(source),
                    f"{start.date()} leaves no history to forecast from (history starts {first.date()})",
                    f"use a Monday after {first.date()}, or remove plan_start to plan from {default.date()}",
                    key="plan_start",
                )
            ]
        )
    after = (start - dataset.last_week).days // 7 - 1
    if after > MAX_WEEKS_AFTER_HISTORY:
        raise ScenarioError(
            [
                Problem(
                    str(source),
                    f"{start.date()} is {after} weeks after the history ends ({dataset.last_week.date()}); "
                    "forecasts start from the end of the history",
                    f"bring the history up to date, or remove plan_start to plan from {default.date()}",
                    key="plan_start",
                )
            ]
        )
    return start


def _history_gap_warnings(prep_start: pd.Timestamp, dataset: Dataset, source: Path) -> list[Problem]:
    """A plan that starts weeks after the history ends: those weeks are forecast, not known."""
    after = (prep_start - dataset.last_week).days // 7 - 1
    if after <= 0:
        return []
    return [
        Problem(
            str(source),
            f"the plan starts {after} week(s) after the history ends ({dataset.last_week.date()}); "
            "demand in between is forecast, and stock is taken as on hand at the plan start",
            "bring the history up to the week before plan_start",
            key="plan_start",
            code="plan_start_after_history",
        )
    ]
