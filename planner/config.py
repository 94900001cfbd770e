"""YAML configuration files (scenarios, import assumptions): reading and error reporting.

Both kinds of file are validated by pydantic models with ``extra="forbid"``; this
module turns YAML syntax errors and pydantic errors into located
:class:`~planner.errors.Problem` entries (file, key, message, fix).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any, get_args

import yaml
from pydantic import BaseModel, ValidationError

from planner.errors import Problem, ScenarioError

Loc = tuple[str | int, ...]


def parse_yaml_mapping(text: str, label: str) -> dict[str, Any]:
    """Parse YAML text that must hold a mapping; empty text is an empty mapping."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        loc = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or "syntax error"
        raise ScenarioError(
            [Problem(label, f"{loc}invalid YAML ({problem})", "fix the indentation, colons or quoting there")]
        ) from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ScenarioError(
            [
                Problem(
                    label,
                    "the file must hold a mapping of keys (key: value lines)",
                    "start each line with a key followed by a colon",
                )
            ]
        )
    return raw


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside a (possibly nested) type annotation, if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def allowed_keys(root: type[BaseModel], loc: Loc) -> list[str]:
    """Field names of the model reached by following ``loc`` (list indices and dict keys skipped)."""
    model = root
    for part in loc:
        field = model.model_fields.get(str(part))
        inner = _model_in(field.annotation) if field is not None else None
        if inner is not None:
            model = inner
    return list(model.model_fields)


def validation_problems(
    exc: ValidationError, root: type[BaseModel], file_of: Callable[[Loc], str], reference: str
) -> list[Problem]:
    """One :class:`Problem` per pydantic error, naming the file that states the key.

    ``reference`` tells users where the keys are documented (used in the fix hints).
    """
    problems = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        key = ".".join(str(p) for p in loc) or "(top level)"
        file = file_of(loc)
        if err["type"] == "extra_forbidden":
            known = allowed_keys(root, loc[:-1])
            close = difflib.get_close_matches(str(loc[-1]), known, n=1)
            fix = f"did you mean '{close[0]}'?" if close else f"allowed keys here: {', '.join(known)}"
            problems.append(Problem(file, "unknown key", fix, key=key))
        elif err["type"] == "missing":
            problems.append(
                Problem(file, "required key is missing", f"add '{loc[-1]}:' ({reference})", key=key)
            )
        else:
            msg = str(err["msg"]).removeprefix("Value error, ")
            got = err.get("input")
            shown = f" (got {got})" if isinstance(got, str | int | float | bool) else ""
            problems.append(Problem(file, f"{msg}{shown}", f"see {reference}", key=key))
    return problems
