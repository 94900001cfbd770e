"""What-if scenarios in YAML: schema, inheritance (``extends``) and loading.

Paths in a scenario are relative to the YAML file that states them, also when a
child scenario inherits them; ``data``, ``forecast.path`` and ``forecast.load`` may also be
URLs (:mod:`planner.location`). Every error names the file and the key.
"""

from __future__ import annotations

import datetime as dt
import difflib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from forecast.quantile_model import DEFAULT_LEVELS
from planner.config import parse_yaml_mapping, validation_problems
from planner.errors import Problem, ScenarioError
from planner.location import Location, is_url

PATH_KEYS = (("data",), ("forecast", "path"), ("forecast", "load"))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Selector(_Strict):
    """Which SKUs a change applies to: all of them when no list is given; lists combine with AND."""

    skus: list[str] | None = None
    categories: list[str] | None = None
    suppliers: list[str] | None = None


class DemandScale(Selector):
    """Multiply forecast demand of the selected SKUs by ``factor`` in weeks ``start``..``end``."""

    factor: float = Field(gt=0)
    start: dt.date | None = None
    end: dt.date | None = None

    @model_validator(mode="after")
    def _ordered(self) -> DemandScale:
        if self.start and self.end and self.end < self.start:
            raise ValueError("end must not be before start")
        return self


class ItemChange(Selector):
    """Override item attributes of the selected SKUs (absent fields stay as in items.csv)."""

    moq: int | None = Field(None, ge=0)
    pack_size: int | None = Field(None, gt=0)
    unit_cost_factor: float | None = Field(None, gt=0)
    unit_volume: float | None = Field(None, ge=0)
    holding_rate: float | None = Field(None, ge=0)
    holding_cost: float | None = Field(None, ge=0)
    shortage_cost: float | None = Field(None, ge=0)
    service_level: float | None = Field(None, gt=0, lt=1)
    order_cost: float | None = Field(None, ge=0)


class SupplierChange(_Strict):
    """Override a supplier's terms; ``lead_time_delta_weeks`` adds to the current lead time."""

    lead_time_weeks: int | None = Field(None, ge=0)
    lead_time_delta_weeks: int | None = None
    order_cost: float | None = Field(None, ge=0)
    min_order_value: float | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _one_lead_time(self) -> SupplierChange:
        if self.lead_time_weeks is not None and self.lead_time_delta_weeks is not None:
            raise ValueError("give lead_time_weeks or lead_time_delta_weeks, not both")
        return self


class ForecastSpec(_Strict):
    """Which forecaster feeds the plan and what it must deliver."""

    model: Literal["baseline", "seasonal_naive", "croston", "lightgbm", "lstm", "ensemble", "file"] = (
        "ensemble"
    )
    path: Location | None = None
    params: dict[str, Any] = Field(default_factory=dict, description="constructor arguments of the model")
    load: Location | None = Field(
        None, description="a model folder saved by 'planner forecast' to use unfitted"
    )
    quantiles: tuple[float, ...] = DEFAULT_LEVELS
    history_weeks: int = Field(52, ge=4, description="recent weeks the baseline draws from")
    n_paths: int = Field(500, ge=1, le=100_000, description="sample paths per SKU")
    seed: int = 0

    @field_validator("quantiles")
    @classmethod
    def _levels(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        if not v:
            raise ValueError("give at least one quantile level")
        if any(not 0 < q < 1 for q in v):
            raise ValueError("quantile levels must lie strictly between 0 and 1")
        if list(v) != sorted(set(v)):
            raise ValueError("quantile levels must be increasing and distinct")
        return v

    @model_validator(mode="after")
    def _path_for_file(self) -> ForecastSpec:
        if self.model == "file" and self.path is None:
            raise ValueError("model 'file' needs 'path' (a CSV with sku, week, mean, q...)")
        if self.model != "file" and self.path is not None:
            raise ValueError(f"'path' is only used with model 'file', not '{self.model}'")
        from forecast.registry import model_parameters

        allowed = model_parameters(self.model)
        reserved = {"quantiles", "n_paths", "seed", "path", "max_horizon"}
        for key in self.params:
            if key in reserved:
                raise ValueError(
                    f"params.{key}: set it as forecast.{key} (max_horizon follows horizon_weeks)"
                )
            if key not in allowed:
                hint = difflib.get_close_matches(key, allowed, n=1)
                raise ValueError(
                    f"params.{key} is not a parameter of model '{self.model}'"
                    + (f" (did you mean '{hint[0]}'?)" if hint else "")
                    + f"; allowed: {', '.join(a for a in allowed if a not in reserved)}"
                )
        return self


class SolverSpec(_Strict):
    """Settings handed to the optimiser (HiGHS)."""

    mip_gap: float = Field(0.01, ge=0, le=1)
    time_limit_s: float = Field(60.0, gt=0)
    threads: int = Field(2, ge=1)
    seed: int = 0
    shortfall_penalty_factor: float = Field(
        100.0, gt=1, description="cost per unit-week below the service target, x (unit + shortage cost)"
    )


class SimulationSpec(_Strict):
    """How ``planner simulate`` replays a plan against demand.

    ``unmet_demand``: ``lost_sales`` (demand not served in its week is lost, the planner's
    basis) or ``backorders`` (it waits and is served first from later receipts).
    ``n_paths``: simulate on the first ``n_paths`` of the forecast's sample paths (default:
    all of them; at most ``forecast.n_paths``). Ignored with actual demand (one path).
    """

    unmet_demand: Literal["lost_sales", "backorders"] = "lost_sales"
    n_paths: int | None = Field(
        None, ge=1, description="first n of the forecast's sample paths (default all)"
    )


class ComputeSettings(_Strict):
    """Where the command's work runs: in this process (default), on a local Dask cluster of
    ``workers`` processes, or on the Dask ``scheduler`` at an address (``tcp://host:8786``).
    ``--scheduler`` / ``--workers`` on the command line take precedence."""

    scheduler: str | None = Field(None, min_length=1, description="address of a running Dask scheduler")
    workers: int | None = Field(None, ge=1, description="start a local cluster of this many processes")

    @model_validator(mode="after")
    def _one_place(self) -> ComputeSettings:
        if self.scheduler and self.workers:
            raise ValueError("give either scheduler or workers, not both")
        return self


BacktestPolicy = Literal["optimizer", "classical", "base_stock", "perfect_foresight"]


class BacktestSpec(_Strict):
    """How ``planner backtest`` replays policies over the last weeks of history.

    ``origins``: weekly origins (the last ``origins`` history weeks); ``refit_every``: weeks
    between forecaster fits (in between a fitted model forecasts from the newer history without
    retraining; 1 = refit at every origin); ``policies``: which to run side by side;
    ``time_limit_s``: the optimiser's limit per origin (default ``solver.time_limit_s``);
    ``base_stock_window``: weeks of history behind the base-stock policy's empirical quantiles.
    """

    origins: int = Field(12, ge=1, le=156)
    refit_every: int = Field(4, ge=1)
    policies: list[BacktestPolicy] = Field(
        default_factory=lambda: ["optimizer", "classical", "base_stock", "perfect_foresight"], min_length=1
    )
    time_limit_s: float | None = Field(None, gt=0)
    base_stock_window: int = Field(52, ge=2)


class Scenario(_Strict):
    """One planning run: data, horizon, targets, constraints and what-if changes."""

    name: str = Field(min_length=1)
    description: str = ""
    data: Location
    plan_start: dt.date | None = None
    horizon_weeks: int = Field(26, ge=1, le=156)
    policy: Literal["optimizer", "classical"] = "optimizer"
    service_level: float = Field(0.95, gt=0, lt=1)
    holding_rate: float = Field(0.25, ge=0, description="annual fraction of unit cost")
    shortage_cost_factor: float = Field(
        1.0,
        ge=0,
        description="shortage cost per unit as a multiple of unit cost, for items without shortage_cost",
    )
    storage_capacity: float | list[float] | None = None
    storage_quantile: float = Field(
        0.1,
        gt=0,
        lt=1,
        description="cumulative-demand quantile on which "
        "planned stock is checked against storage (a low one: slow sales)",
    )
    budget_per_week: float | list[float] | None = None
    forecast: ForecastSpec = ForecastSpec()
    solver: SolverSpec = SolverSpec()
    simulation: SimulationSpec = SimulationSpec()
    backtest: BacktestSpec = BacktestSpec()
    compute: ComputeSettings = ComputeSettings()
    demand_scale: list[DemandScale] = []
    items: list[ItemChange] = []
    suppliers: dict[str, SupplierChange] = {}

    @field_validator("plan_start")
    @classmethod
    def _monday(cls, v: dt.date | None) -> dt.date | None:
        if v is not None and v.weekday() != 0:
            monday = v - dt.timedelta(days=v.weekday())
            raise ValueError(f"is a {v.strftime('%A')}; weeks start on Monday (use {monday})")
        return v

    @field_validator("storage_capacity", "budget_per_week")
    @classmethod
    def _non_negative(cls, v: float | list[float] | None) -> float | list[float] | None:
        values = v if isinstance(v, list) else [] if v is None else [v]
        if any(x < 0 for x in values):
            raise ValueError("must not be negative")
        return v

    @model_validator(mode="after")
    def _weekly_lengths(self) -> Scenario:
        for key in ("storage_capacity", "budget_per_week"):
            v = getattr(self, key)
            if isinstance(v, list) and len(v) != self.horizon_weeks:
                raise ValueError(
                    f"{key} lists {len(v)} weeks but horizon_weeks is {self.horizon_weeks}; "
                    "give one number or one per week"
                )
        n_sim = self.simulation.n_paths
        if n_sim is not None and n_sim > self.forecast.n_paths:
            raise ValueError(
                f"simulation.n_paths ({n_sim}) exceeds forecast.n_paths ({self.forecast.n_paths}); "
                "lower it or raise forecast.n_paths"
            )
        return self

    def weekly(self, key: Literal["storage_capacity", "budget_per_week"]) -> list[float] | None:
        """A per-week list for ``key`` (None when unconstrained)."""
        v = getattr(self, key)
        if v is None:
            return None
        return list(v) if isinstance(v, list) else [float(v)] * self.horizon_weeks


# ---------------------------------------------------------------------------
# loading


def load_scenario(path: Path | str) -> Scenario:
    """Load ``path`` with its ``extends`` chain; raise :class:`ScenarioError` naming file and key."""
    path = Path(path).resolve()
    chain = _load_chain(path, [])
    merged: dict[str, Any] = {}
    for _, raw in chain:
        merged = _deep_merge(merged, raw)
    try:
        return Scenario.model_validate(merged)
    except ValidationError as exc:
        problems = validation_problems(
            exc, Scenario, lambda loc: str(_origin(loc, chain)), "the scenario reference in README.md"
        )
        raise ScenarioError(problems) from None


def _load_chain(path: Path, seen: list[Path]) -> list[tuple[Path, dict[str, Any]]]:
    """The files from the root ancestor down to ``path``, each with its paths made absolute."""
    if path in seen:
        cycle = " -> ".join(p.name for p in [*seen, path])
        raise ScenarioError(
            [
                Problem(
                    str(path), f"'extends' forms a cycle: {cycle}", "remove one of the links", key="extends"
                )
            ]
        )
    raw = _read_yaml(path, seen[-1] if seen else None)
    parent = raw.pop("extends", None)
    chain: list[tuple[Path, dict[str, Any]]] = []
    if parent is not None:
        if not isinstance(parent, str):
            raise ScenarioError(
                [
                    Problem(
                        str(path),
                        "must be the path of another scenario file",
                        "write extends: base.yaml",
                        key="extends",
                    )
                ]
            )
        chain = _load_chain((path.parent / parent).resolve(), [*seen, path])
    _absolutise(raw, path.parent)
    return [*chain, (path, raw)]


def _read_yaml(path: Path, child: Path | None) -> dict[str, Any]:
    if not path.is_file():
        where = f" (extended by {child})" if child else ""
        raise ScenarioError(
            [
                Problem(
                    str(path),
                    f"scenario file not found{where}",
                    "check the file name and that it is relative to the file naming it",
                )
            ]
        )
    return parse_yaml_mapping(path.read_text(encoding="utf-8"), str(path))


def _absolutise(raw: dict[str, Any], base: Path) -> None:
    for keys in PATH_KEYS:
        node = raw
        for k in keys[:-1]:
            node = node.get(k) if isinstance(node, dict) else None
        if isinstance(node, dict) and isinstance(node.get(keys[-1]), str) and not is_url(node[keys[-1]]):
            node[keys[-1]] = str((base / node[keys[-1]]).resolve())


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Mappings merge key by key; anything else (lists included) is replaced by the override."""
    out = dict(base)
    for k, v in override.items():
        out[k] = _deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _has(raw: dict[str, Any], loc: tuple[str | int, ...]) -> bool:
    """Whether ``raw`` states the key at ``loc`` (through nested mappings and lists)."""
    node: Any = raw
    for part in loc:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            return False
    return True


def _origin(loc: tuple[str | int, ...], chain: list[tuple[Path, dict[str, Any]]]) -> Path:
    """The last file in the chain that states the key at ``loc`` (else the scenario itself)."""
    return next((path for path, raw in reversed(chain) if _has(raw, loc)), chain[-1][0])
