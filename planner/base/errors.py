"""One exception family for everything a user can fix.

The CLI turns any :class:`PlannerError` into a message on stderr and exit code 1;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Problem:
    """One problem in the user's input, located as precisely as possible.

    ``rows`` are the line numbers users see in the file (the header is line 1,
    so the first data row of a CSV is line 2); ``more_rows`` counts further
    offending rows that are not listed. A warning carries a ``code`` and the ``skus`` it concerns.
    """

    file: str
    message: str
    fix: str = ""
    column: str | None = None
    rows: Sequence[int] = field(default_factory=tuple)
    more_rows: int = 0
    key: str | None = None
    code: str | None = None  # warnings: a stable name, counted in summary.json
    skus: Sequence[str] = field(default_factory=tuple)  # warnings: the SKUs concerned

    def as_warning(self) -> dict[str, object]:
        """The warning as ``summary.json`` lists it."""
        return {
            "code": self.code,
            "count": len(self.skus),
            "skus": list(self.skus[:50]),
            "message": str(self),
        }

    def __str__(self) -> str:
        where = [self.file]
        if self.rows:
            label = "line" if len(self.rows) == 1 else "lines"
            listed = ", ".join(str(r) for r in self.rows)
            if self.more_rows:
                listed += f" (+{self.more_rows} more)"
            where.append(f"{label} {listed}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        if self.key is not None:
            where.append(f"key '{self.key}'")
        text = f"{': '.join(where)}: {self.message}"
        if self.fix:
            text += f". Fix: {self.fix}"
        return text


class PlannerError(ValueError):
    """Base of all errors caused by user input (data, scenario, infeasibility)."""


class ProblemsError(PlannerError):
    """Several located problems found in one pass, reported together."""

    kind = "problem"

    def __init__(self, problems: Iterable[Problem]):
        self.problems = list(problems)
        super().__init__(self._text())

    def _text(self) -> str:
        n = len(self.problems)
        head = f"{n} {self.kind}{'s' if n != 1 else ''} found:"
        return "\n".join([head, *(f"- {p}" for p in self.problems)])


class DataError(ProblemsError):
    """The dataset breaks the data contract."""

    kind = "data problem"


class ScenarioError(ProblemsError):
    """The scenario YAML is malformed or refers to things that do not exist."""

    kind = "scenario problem"


class ForecastError(PlannerError):
    """A forecast could not be produced or read."""


class InfeasibleError(PlannerError):
    """No plan can satisfy the hard constraints; the message names where and why."""


class PlanVerificationError(PlannerError):
    """A plan breaks a hard rule; it is never exported."""
