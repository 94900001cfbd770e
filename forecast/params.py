"""Typed, bounded constructor parameters of the forecasters.

Each forecaster states its parameters once, in its ``__init__`` signature, with the types below
(bounds included). :func:`params_model` turns that signature into a pydantic model, so a
scenario's ``forecast.params`` and a saved model's manifest are checked against the same rules
before any model is built: a bool is not a number, a string is not a number, and every number
has a range.
"""

from __future__ import annotations

import functools
import inspect
from typing import Annotated, Any, get_type_hints

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict, ValidationError, create_model

Int = Annotated[int, Strict()]
"""A whole number written as one (not a bool, not a string, not 5.0)."""
Float = Annotated[float, Strict()]
"""A number (an integer is accepted; a bool or a string is not)."""
Bool = Annotated[bool, Strict()]

Seed = Annotated[int, Strict(), Field(ge=0, le=2**32 - 1)]
NPaths = Annotated[int, Strict(), Field(ge=1, le=100_000)]
Horizon = Annotated[int, Strict(), Field(ge=1, le=520)]
Window = Annotated[int, Strict(), Field(ge=4, le=520)]
Threads = Annotated[int, Strict(), Field(ge=1, le=256)]
Rate = Annotated[float, Strict(), Field(gt=0, le=1)]


def _increasing(levels: tuple[float, ...]) -> tuple[float, ...]:
    if list(levels) != sorted(set(levels)):
        raise ValueError("quantile levels must be increasing and distinct")
    return levels


Levels = Annotated[
    tuple[Annotated[float, Strict(), Field(gt=0, lt=1)], ...],
    Field(min_length=1, max_length=99),
    AfterValidator(_increasing),
]
"""Quantile levels: at least one, each strictly between 0 and 1, increasing."""


@functools.cache
def params_model(cls: type) -> type[BaseModel]:
    """A pydantic model (``extra="forbid"``) of the keyword parameters of ``cls.__init__``."""
    hints = get_type_hints(cls.__init__, include_extras=True)
    fields: dict[str, Any] = {}
    for name, param in inspect.signature(cls.__init__).parameters.items():
        if name == "self":
            continue
        default = ... if param.default is inspect.Parameter.empty else param.default
        fields[name] = (hints.get(name, Any), default)
    return create_model(f"{cls.__name__}Params", __config__=ConfigDict(extra="forbid"), **fields)


def check_params(cls: type, params: dict[str, Any], prefix: str = "params") -> dict[str, Any]:
    """``params`` validated against ``cls``'s signature (only the keys given are returned);
    ValueError with one ``prefix.key: message (got value)`` per problem."""
    model = params_model(cls)
    try:
        validated = model.model_validate(params)
    except ValidationError as exc:
        raise ValueError("; ".join(_describe(err, prefix) for err in exc.errors(include_url=False))) from None
    return {k: getattr(validated, k) for k in params}


def _describe(err: Any, prefix: str) -> str:
    key = ".".join(p for p in [prefix, *(str(p) for p in err["loc"])] if p)
    if err["type"] == "extra_forbidden":
        return f"{key}: not a parameter of this model"
    msg = str(err["msg"]).removeprefix("Value error, ")
    got = err.get("input")
    short = isinstance(got, bool | int | float) or (isinstance(got, str) and len(got) <= 40)
    shown = f" (got {got!r})" if short else ""
    return f"{key}: {msg}{shown}"
