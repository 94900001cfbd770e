"""YAML configuration files (scenarios, import assumptions): reading and error reporting.

Both kinds of file are validated by pydantic models with ``extra="forbid"``; this
module turns YAML syntax errors and pydantic errors into located
:class:`~planner.base.errors.Problem` entries (file, key, message, fix).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any, get_args

import yaml
from pydantic import BaseModel, ValidationError

from planner.base.errors import Problem, ScenarioError

Loc = tuple[str | int, ...]
NUMBER_ERRORS = {"int_type", "float_type", "int_parsing", "float_parsing"}
MAX_SHOWN = 40  # longest value quoted back in a message


def parse_yaml_mapping(text: str, label: str, quote: bool = True) -> dict[str, Any]:
    """Parse YAML text that must hold a mapping; empty text is an empty mapping.

    A key given twice in one mapping is an error (YAML would silently keep the last). With
    ``quote=False`` messages give lines only, nothing of the text.
    """
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        loc = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = (getattr(exc, "problem", None) or "syntax error") if quote else "syntax error"
        raise ScenarioError(
            [Problem(label, f"{loc}invalid YAML ({problem})", "fix the indentation, colons or quoting there")]
        ) from None
    except RecursionError:
        raise ScenarioError(
            [Problem(label, "nested too deeply to be a scenario", "check that this is the right file")]
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
    repeated = [
        Problem(
            label,
            f"line {line}: {'' if quote else 'a key is '}given twice in the same mapping "
            f"(first on line {first}); YAML would keep only the last",
            "remove one of the two",
            key=".".join(_shown(k) for k in key) if quote else None,
        )
        for key, first, line in _yaml_keys(text)[1]
    ]
    if repeated:
        raise ScenarioError(repeated)
    return raw


def key_lines(text: str) -> dict[tuple[str, ...], int]:
    """The line (1-based) of every mapping key in YAML ``text``, by its path of keys (list items
    are not descended into). Empty when the text does not compose."""
    return _yaml_keys(text)[0]


def _yaml_keys(text: str) -> tuple[dict[tuple[str, ...], int], list[tuple[tuple[str, ...], int, int]]]:
    """Lines of the keys, and keys repeated in one mapping as (path, first line, repeated line)."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except (yaml.YAMLError, RecursionError):
        return {}, []
    lines: dict[tuple[str, ...], int] = {}
    repeated: list[tuple[tuple[str, ...], int, int]] = []
    stack: list[tuple[Any, tuple[str, ...]]] = [(root, ())]
    seen: set[int] = set()
    while stack:
        node, path = stack.pop()
        if not isinstance(node, yaml.MappingNode) or id(node) in seen:
            continue
        seen.add(id(node))
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                here = (*path, str(key.value))
                line = key.start_mark.line + 1
                if here in lines and key.value != "<<":
                    repeated.append((here, lines[here], line))
                lines.setdefault(here, line)
                stack.append((value, here))
    return lines, sorted(repeated, key=lambda r: r[2])


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
    exc: ValidationError,
    root: type[BaseModel],
    file_of: Callable[[Loc], str],
    reference: str,
    hidden: Callable[[Loc], int | None] = lambda loc: None,
) -> list[Problem]:
    """One :class:`Problem` per pydantic error, naming the file that states the key.

    ``reference`` tells users where the keys are documented (used in the fix hints). ``hidden(loc)``
    is None where the key and its value may be quoted; else the line of the file that states it,
    and the problem quotes nothing of that file (names of known keys only).
    """
    problems = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        key = ".".join(_shown(p) for p in loc) or "(top level)"
        file = file_of(loc)
        line = hidden(loc)
        if line is not None:
            problems.append(_hidden_problem(err, root, file, line, reference))
        elif err["type"] == "extra_forbidden":
            known = allowed_keys(root, loc[:-1])
            close = difflib.get_close_matches(str(loc[-1]), known, n=1)
            fix = f"did you mean '{close[0]}'?" if close else f"allowed keys here: {', '.join(known)}"
            problems.append(Problem(file, "unknown key", fix, key=key))
        elif err["type"] == "missing":
            problems.append(
                Problem(file, "required key is missing", f"add '{loc[-1]}:' ({reference})", key=key)
            )
        elif isinstance(err.get("input"), bool) and err["type"] in NUMBER_ERRORS:
            problems.append(
                Problem(
                    file,
                    f"must be a number, not the yes/no value {str(err['input']).lower()}",
                    "write a number (YAML reads true/false, yes/no and on/off as yes/no values)",
                    key=key,
                )
            )
        else:
            msg = str(err["msg"]).removeprefix("Value error, ")
            got = err.get("input")
            short = isinstance(got, int | float | bool) or (isinstance(got, str) and len(got) <= MAX_SHOWN)
            shown = f" (got {got!r})" if short and "got " not in msg and "yes/no" not in msg else ""
            problems.append(Problem(file, f"{msg}{shown}", f"see {reference}", key=key))
    return problems


def _shown(part: str | int) -> str:
    """A key as quoted in a message: printable, at most ``MAX_SHOWN`` characters."""
    text = str(part) if str(part).isprintable() else repr(str(part))[1:-1]
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 1] + "…"


def _hidden_problem(err: Any, root: type[BaseModel], file: str, line: int, reference: str) -> Problem:
    """A problem in a file whose content must not be quoted: its line, what is wrong, and known key names."""
    loc = tuple(err["loc"])
    where = f"line {line}: " if line else ""
    known = allowed_keys(root, loc[:-1])
    if err["type"] == "extra_forbidden":
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        fix = f"did you mean '{close[0]}'?" if close else f"allowed keys there: {', '.join(known)}"
        return Problem(file, f"{where}unknown key", fix)
    if err["type"] == "missing":
        return Problem(file, f"{where}required key '{_shown(loc[-1])}' is missing", f"see {reference}")
    msg = str(err["msg"]).removeprefix("Value error, ") if err["type"] != "value_error" else "invalid value"
    return Problem(file, f"{where}{msg}", f"see {reference}", key=_schema_key(root, loc))


def _schema_key(root: type[BaseModel], loc: Loc) -> str | None:
    """``loc`` as a dotted key when every part is a key of the schema or a list index (so naming it
    quotes nothing of the file), else None."""
    for n, part in enumerate(loc):
        if not isinstance(part, int) and str(part) not in allowed_keys(root, loc[:n]):
            return None
    return ".".join(str(p) for p in loc)
