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


@dataclass(frozen=True)
class PolicyResult:
    """Orders ``x[s,t]`` (units ordered in week t) and how they were found.

    ``objective``/``bound``/``gap`` are set by optimising policies; ``timings`` holds
    seconds per phase; ``notes`` say where rules cut or dropped orders.
    """

    policy: str
    orders: np.ndarray
    status: PlanStatus
    objective: float | None = None
    bound: float | None = None
    gap: float | None = None
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
