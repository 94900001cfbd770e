"""What-if scenarios in YAML: schema, inheritance (``extends``) and loading.

Paths in a scenario are relative to the YAML file that states them, also when a
child scenario inherits them; ``data``, ``forecast.path`` and ``forecast.load`` may also be
URLs (:mod:`planner.inputs.location`). Every error names the file and the key.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from forecast.params import Float, Int, NPaths, Seed
from forecast.spec import ForecastSpec, Location, is_url
from planner.base.config import key_lines, parse_yaml_mapping, validation_problems
from planner.base.errors import Problem, ScenarioError
from planner.base.textio import TextError, decode_text, local_problem

PATH_KEYS = (("data",), ("forecast", "path"), ("forecast", "load"))
MAX_AMOUNT = 1e12  # money, volumes and units: larger values are typos or wrong units
MAX_UNIT = 1e9  # per-unit costs, volumes and quantities

PerUnit = Annotated[Float, Field(ge=0, le=MAX_UNIT)]
Factor = Annotated[Float, Field(gt=0, le=1000)]
Probability = Annotated[Float, Field(gt=0, lt=1)]
Weeks = Annotated[Int, Field(ge=0, le=520)]


def _weekly_limit(value: Any) -> Any:
    """One number for every week or a list of numbers (one per week), each in [0, MAX_AMOUNT]."""
    values = value if isinstance(value, list) else [value]
    if value is None:
        return value
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise ValueError(f"must be one number or a list of numbers, one per week, not {_kind(v)}")
        if v < 0:
            raise ValueError(f"must not be negative, got {v!r}")
        if not v <= MAX_AMOUNT:
            raise ValueError(
                f"must be at most {MAX_AMOUNT:g} (a larger value is a typo or another unit), got {v!r}"
            )
    return value


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return f"the yes/no value {str(value).lower()}"
    return f"a {type(value).__name__}"


WeeklyLimit = Annotated[float | list[float] | None, BeforeValidator(_weekly_limit)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Selector(_Strict):
    """Which SKUs a change applies to: all of them when no list is given; lists combine with AND."""

    skus: list[str] | None = None
    categories: list[str] | None = None
    suppliers: list[str] | None = None


class DemandScale(Selector):
    """Multiply forecast demand of the selected SKUs by ``factor`` in weeks ``start``..``end``."""

    factor: Factor
    start: dt.date | None = None
    end: dt.date | None = None

    @model_validator(mode="after")
    def _ordered(self) -> DemandScale:
        if self.start and self.end and self.end < self.start:
            raise ValueError("end must not be before start")
        return self


class ItemChange(Selector):
    """Override item attributes of the selected SKUs (absent fields stay as in items.csv)."""

    moq: Annotated[Int, Field(ge=0, le=MAX_UNIT)] | None = None
    pack_size: Annotated[Int, Field(gt=0, le=MAX_UNIT)] | None = None
    unit_cost_factor: Factor | None = None
    unit_volume: PerUnit | None = None
    holding_rate: Annotated[Float, Field(ge=0, le=100)] | None = None
    holding_cost: PerUnit | None = None
    shortage_cost: PerUnit | None = None
    service_level: Probability | None = None
    order_cost: PerUnit | None = None


class SupplierChange(_Strict):
    """Override a supplier's terms; ``lead_time_delta_weeks`` adds to the current lead time."""

    lead_time_weeks: Weeks | None = None
    lead_time_delta_weeks: Annotated[Int, Field(ge=-520, le=520)] | None = None
    order_cost: PerUnit | None = None
    min_order_value: Annotated[Float, Field(ge=0, le=MAX_AMOUNT)] | None = None

    @model_validator(mode="after")
    def _one_lead_time(self) -> SupplierChange:
        if self.lead_time_weeks is not None and self.lead_time_delta_weeks is not None:
            raise ValueError("give lead_time_weeks or lead_time_delta_weeks, not both")
        return self


class SolverSpec(_Strict):
    """Settings handed to the optimiser (HiGHS)."""

    mip_gap: Annotated[Float, Field(ge=0, le=1)] = 0.01
    time_limit_s: Annotated[Float, Field(gt=0, le=7 * 24 * 3600)] = 60.0
    threads: Annotated[Int, Field(ge=1, le=256)] = 2
    seed: Seed = 0
    shortfall_penalty_factor: Annotated[Float, Field(gt=1, le=1e6)] = Field(
        100.0, description="cost per unit-week below the service target, x (unit + shortage cost)"
    )


class SimulationSpec(_Strict):
    """How ``planner simulate`` replays a plan against demand.

    ``unmet_demand``: ``lost_sales`` (demand not served in its week is lost, the planner's
    basis) or ``backorders`` (it waits and is served first from later receipts).
    ``n_paths``: simulate on the first ``n_paths`` of the forecast's sample paths (default:
    all of them; at most ``forecast.n_paths``). Ignored with actual demand (one path).
    """

    unmet_demand: Literal["lost_sales", "backorders"] = "lost_sales"
    n_paths: NPaths | None = Field(None, description="first n of the forecast's sample paths (default all)")


class ComputeSettings(_Strict):
    """Where the command's work runs: in this process (default), on a local Dask cluster of
    ``workers`` processes, or on the Dask ``scheduler`` at an address (``tcp://host:8786``).
    ``--scheduler`` / ``--workers`` on the command line take precedence."""

    scheduler: str | None = Field(None, min_length=1, description="address of a running Dask scheduler")
    workers: Annotated[Int, Field(ge=1, le=1024)] | None = Field(
        None, description="start a local cluster of this many processes"
    )

    @model_validator(mode="after")
    def _one_place(self) -> ComputeSettings:
        if self.scheduler and self.workers:
            raise ValueError("give either scheduler or workers, not both")
        return self


BacktestPolicy = Literal["optimizer", "classical", "base_stock", "perfect_foresight", "textbook"]


class BacktestSpec(_Strict):
    """How ``planner backtest`` replays policies over the last weeks of history.

    ``origins``: weekly origins (the last ``origins`` history weeks); ``refit_every``: weeks
    between forecaster fits (in between a fitted model forecasts from the newer history without
    retraining; 1 = refit at every origin); ``policies``: which to run side by side;
    ``time_limit_s``: the optimiser's limit per origin (default ``solver.time_limit_s``);
    ``base_stock_window``: weeks of history behind the base-stock policy's empirical quantiles and
    the textbook policy's mean and standard deviation; ``textbook_z``: the textbook reorder-point
    policy's safety factors (``textbook`` in ``policies`` runs once per factor, as a frontier).
    """

    origins: Annotated[Int, Field(ge=1, le=156)] = 12
    refit_every: Annotated[Int, Field(ge=1, le=156)] = 4
    policies: list[BacktestPolicy] = Field(
        default_factory=lambda: ["optimizer", "classical", "base_stock", "perfect_foresight"], min_length=1
    )
    time_limit_s: Annotated[Float, Field(gt=0, le=7 * 24 * 3600)] | None = None
    base_stock_window: Annotated[Int, Field(ge=2, le=520)] = 52
    textbook_z: Annotated[list[Annotated[Float, Field(ge=0, le=5)]], Field(min_length=1)] = Field(
        default_factory=lambda: [1.645], description="safety factors of the textbook policy, one run each"
    )


class Scenario(_Strict):
    """One planning run: data, horizon, targets, constraints and what-if changes."""

    name: str = Field(min_length=1)
    description: str = ""
    data: Location
    plan_start: dt.date | None = None
    horizon_weeks: Annotated[Int, Field(ge=1, le=156)] = 26
    policy: Literal["optimizer", "classical"] = "optimizer"
    service_level: Probability = 0.95
    service_scope: Literal["portfolio", "sku"] = "portfolio"
    holding_rate: Annotated[Float, Field(ge=0, le=100)] = Field(
        0.25, description="annual fraction of unit cost"
    )
    shortage_cost_factor: Annotated[Float, Field(ge=0, le=1000)] = Field(
        1.0,
        description="shortage cost per unit as a multiple of unit cost, for items without shortage_cost",
    )
    storage_capacity: WeeklyLimit = None
    storage_quantile: Probability = Field(
        0.1,
        description="cumulative-demand quantile on which "
        "planned stock is checked against storage (a low one: slow sales)",
    )
    budget_per_week: WeeklyLimit = None
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


MAX_SCENARIO_BYTES = 1 << 20  # a scenario is a page of YAML; anything larger is the wrong file
YAML_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class _Source:
    """One file of an ``extends`` chain: its keys, the line of every key, and whether its content
    may be quoted in messages (only the file the user named; files reached through ``extends``
    are referred to by line number, so a wrong ``extends`` never echoes another file)."""

    path: Path
    raw: dict[str, Any]
    lines: dict[tuple[str, ...], int]
    quotable: bool


def load_scenario(path: Path | str) -> Scenario:
    """Load ``path`` with its ``extends`` chain; raise :class:`ScenarioError` naming file and key."""
    chain = _load_chain(Path(os.path.realpath(path)), [])
    merged: dict[str, Any] = {}
    for source in chain:
        merged = _deep_merge(merged, source.raw)
    try:
        return Scenario.model_validate(merged)
    except ValidationError as exc:
        problems = validation_problems(
            exc,
            Scenario,
            lambda loc: str(_origin(loc, chain).path),
            "the scenario reference in docs/scenarios.md",
            hidden=lambda loc: _hidden_line(loc, chain),
        )
        raise ScenarioError(problems) from None


def _load_chain(path: Path, seen: list[Path]) -> list[_Source]:
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
    text = _read_text(path, seen[-1] if seen else None)
    raw = parse_yaml_mapping(text, str(path), quote=not seen)
    if seen:
        _check_scenario_like(path, raw)
    parent = raw.pop("extends", None)
    chain: list[_Source] = []
    if parent is not None:
        if not isinstance(parent, str) or not parent.lower().endswith(YAML_SUFFIXES):
            raise ScenarioError(
                [
                    Problem(
                        str(path),
                        "must be the path of another scenario file ending in .yaml or .yml",
                        "write extends: base.yaml",
                        key="extends",
                    )
                ]
            )
        chain = _load_chain(Path(os.path.realpath(path.parent / parent)), [*seen, path])
    _absolutise(raw, path.parent)
    return [*chain, _Source(path, raw, key_lines(text), quotable=not seen)]


def _read_text(path: Path, child: Path | None) -> str:
    """The scenario file's text; a located problem if it is missing, a looping link, a folder,
    too large, binary or not UTF-8."""
    what = "scenario file"
    problem = local_problem(
        path, str(path), what, MAX_SCENARIO_BYTES, f"extended by {child}" if child else ""
    )
    if problem is not None:
        raise ScenarioError([problem])
    try:
        return decode_text(path.read_bytes(), str(path))
    except TextError as exc:
        raise ScenarioError([exc.problem]) from None
    except OSError as exc:
        raise ScenarioError(
            [Problem(str(path), f"{what} cannot be read ({exc.strerror})", "check the path")]
        ) from None


def _check_scenario_like(path: Path, raw: dict[str, Any]) -> None:
    """A file reached through ``extends`` must look like a scenario: it states at least one scenario
    key. Otherwise it is refused without quoting any of it."""
    keys = set(raw) - {"extends"}
    if keys and not keys & set(Scenario.model_fields):
        raise ScenarioError(
            [
                Problem(
                    str(path),
                    f"is not a scenario file: none of its {len(keys)} top-level keys is a scenario key",
                    "'extends' must name another scenario (a YAML file with keys such as name, data, "
                    "horizon_weeks)",
                )
            ]
        )


def _absolutise(raw: dict[str, Any], base: Path) -> None:
    for keys in PATH_KEYS:
        node = raw
        for k in keys[:-1]:
            node = node.get(k) if isinstance(node, dict) else None
        if isinstance(node, dict) and isinstance(node.get(keys[-1]), str) and not is_url(node[keys[-1]]):
            node[keys[-1]] = os.path.realpath(base / node[keys[-1]])


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


def _origin(loc: tuple[str | int, ...], chain: list[_Source]) -> _Source:
    """The last file in the chain that states the key at ``loc`` (else the scenario itself)."""
    return next((src for src in reversed(chain) if _has(src.raw, loc)), chain[-1])


def _hidden_line(loc: tuple[str | int, ...], chain: list[_Source]) -> int | None:
    """None when the key at ``loc`` may be quoted; else the line of its file that states it (0 when
    unknown), for a message that quotes nothing of that file."""
    src = _origin(loc, chain)
    if src.quotable:
        return None
    keys = tuple(str(p) for p in loc)
    for n in range(len(keys), 0, -1):
        if keys[:n] in src.lines:
            return src.lines[keys[:n]]
    return 0
