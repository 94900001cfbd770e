"""Solve a Pyomo model with HiGHS (through highspy) and report a typed outcome.

Never raises on a non-optimal stop: the caller gets status, objective, bound, gap and
time, and decides. Solutions are loaded only when HiGHS has a feasible one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import highspy
import numpy as np
import pyomo.environ as pyo
from pyomo.contrib.solver.common.results import TerminationCondition
from pyomo.contrib.solver.solvers.highs import Highs

log = logging.getLogger(__name__)


class SolveStatus(StrEnum):
    """Outcome of one solver call."""

    OPTIMAL = "optimal"  # within the requested gap
    FEASIBLE = "feasible"  # a solution, stopped early (time limit) with a larger gap
    INFEASIBLE = "infeasible"
    NO_SOLUTION = "no_solution"  # stopped before finding any solution
    ERROR = "error"


@dataclass(frozen=True)
class SolveResult:
    """What a solve produced: status, objective (incumbent), lower bound, relative gap, seconds."""

    status: SolveStatus
    objective: float | None
    bound: float | None
    gap: float | None
    seconds: float
    termination: str

    @property
    def has_solution(self) -> bool:
        return self.status in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE)


def relative_gap(objective: float | None, bound: float | None) -> float | None:
    """(objective - bound) / |objective|, 0 when both are 0; None without both numbers."""
    if objective is None or bound is None:
        return None
    if abs(objective) < 1e-9:
        return 0.0 if abs(bound) < 1e-9 else float("inf")
    return max(0.0, (objective - bound) / abs(objective))


class _HighsWithStart(Highs):
    """Pyomo's HiGHS interface, handing HiGHS a MIP start before it runs.

    Pyomo's interface has no MIP start; this uses its map from variables to HiGHS columns
    (``_pyomo_var_to_solver_var_map``, Pyomo 6.8 to 6.10), checked by the optimiser tests.
    """

    mip_start: Sequence[tuple[pyo.Var, float]] = ()

    def _solve(self):  # noqa: ANN202 - Pyomo's signature
        if self.mip_start:
            columns = self._pyomo_var_to_solver_var_map
            index = np.array([columns[id(v)] for v, _ in self.mip_start], dtype=np.int32)
            value = np.array([float(x) for _, x in self.mip_start])
            self._solver_model.setSolution(len(index), index, value)
        return super()._solve()


def solve(
    model: pyo.ConcreteModel,
    *,
    mip_gap: float = 1e-4,
    time_limit_s: float = 60.0,
    threads: int = 1,
    seed: int = 0,
    options: dict[str, object] | None = None,
    start: Sequence[tuple[pyo.Var, float]] = (),
) -> SolveResult:
    """Run HiGHS on ``model``; load the solution into the model's variables when there is one.

    ``options`` are extra HiGHS options (e.g. heuristics to switch off); ``start`` (variable, value)
    pairs for some of the variables: a MIP start HiGHS completes and uses as its first incumbent.
    """
    # HiGHS keeps one thread pool per process, sized by the first solve; a later solve asking for
    # another thread count fails unless the pool is reset.
    highspy.Highs.resetGlobalScheduler(True)
    solver = _HighsWithStart()
    solver.mip_start = start
    started = time.perf_counter()
    results = solver.solve(
        model,
        load_solutions=False,
        raise_exception_on_nonoptimal_result=False,
        time_limit=time_limit_s,
        rel_gap=mip_gap,
        threads=threads,
        solver_options={"random_seed": seed, "output_flag": False, **(options or {})},
    )
    seconds = time.perf_counter() - started
    term = results.termination_condition
    feasible = results.incumbent_objective is not None
    if feasible:
        results.solution_loader.load_vars()
    if term == TerminationCondition.convergenceCriteriaSatisfied:
        status = SolveStatus.OPTIMAL
    elif term in (TerminationCondition.provenInfeasible, TerminationCondition.infeasibleOrUnbounded):
        status = SolveStatus.INFEASIBLE
    elif feasible:
        status = SolveStatus.FEASIBLE
    elif term == TerminationCondition.error:
        status = SolveStatus.ERROR
    else:
        status = SolveStatus.NO_SOLUTION
    objective = results.incumbent_objective
    bound = results.objective_bound
    log.info("HiGHS: %s (%s) objective %s bound %s in %.2f s", status, term, objective, bound, seconds)
    return SolveResult(status, objective, bound, relative_gap(objective, bound), seconds, str(term))
