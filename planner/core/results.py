"""Typed outcomes of planning policies."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np


class PlanStatus(StrEnum):
    """How a plan was obtained."""

    OPTIMAL = "optimal"  # proven optimal within the requested gap
    FEASIBLE = "feasible"  # feasible, gap above target (e.g. time limit)
    HEURISTIC = "heuristic"  # a rule-based policy: feasible, no optimality claim


class Phase(StrEnum):
    """The optimiser's phases a time limit can cut short (docs/model.md has their table)."""

    SUBGRADIENT = "subgradient"
    COLUMN_GENERATION = "column generation"
    BEST_RESPONSES = "best responses"
    STORAGE_TRADES = "storage trades"
    MASTER_MIP = "master MIP"
    LINE_MERGES = "line merges"
    FULL_MIP = "full MIP"


@dataclass(frozen=True)
class PolicyResult:
    """Orders ``x[s,t]`` (units ordered in week t) and how they were found.

    ``objective``/``bound``/``gap`` are set by optimising policies; ``timings`` holds
    seconds per phase; ``cut`` names the phases the time limit cut short (empty: none did, and the
    same inputs give the same plan); ``notes`` say where rules cut or dropped orders.
    """

    policy: str
    orders: np.ndarray
    status: PlanStatus
    objective: float | None = None
    bound: float | None = None
    gap: float | None = None
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    cut: tuple[Phase, ...] = ()
