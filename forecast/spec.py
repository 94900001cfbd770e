"""What a scenario asks of the forecast (its ``forecast`` block), and where inputs live.

:class:`ForecastSpec` is validated where the scenario is read; its ``params`` are checked against
the model's own constructor (:func:`forecast.registry.check_model_params`), so ``validate`` catches
what training would trip over. Locations are local paths or URLs of any fsspec file system
(``s3://``, ``gs://``, ``abfs://``, ...), kept as :class:`upath.UPath`.
"""

from __future__ import annotations

import difflib
import os
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from upath import UPath

from forecast.params import Int, Levels, NPaths, Seed
from forecast.quantile_model import DEFAULT_LEVELS
from forecast.registry import ModelName

PathOrURL = str | os.PathLike[str]


def is_url(text: PathOrURL) -> bool:
    """Whether ``text`` names a location by URL (``protocol://...``) rather than a local path."""
    return isinstance(text, str | UPath) and "://" in str(text)


def as_location(where: PathOrURL) -> UPath:
    """``where`` as a :class:`UPath`: a URL as given, a local path as it is (not resolved)."""
    return where if isinstance(where, UPath) else UPath(where)


def parse_location(value: Any) -> UPath:
    """``value`` as a :class:`UPath`; ValueError saying what to write when it is neither a path nor a
    URL of a known protocol."""
    if not isinstance(value, str | os.PathLike) or not str(value).strip():
        raise ValueError("must be a path or a URL (e.g. data/ or s3://bucket/data)")
    try:
        return as_location(value)
    except ValueError:
        protocol = str(value).split("://", 1)[0]
        raise ValueError(
            f"'{protocol}://' is not a storage protocol fsspec knows: give a local path or a URL "
            "such as s3://bucket/data, gs://bucket/data or abfs://container/data"
        ) from None


Location = Annotated[
    UPath,
    PlainValidator(parse_location),
    PlainSerializer(str, return_type=str),
    WithJsonSchema({"type": "string", "description": "a local path or an fsspec URL"}),
]
"""A pydantic field type: a path or URL, kept as a :class:`UPath`, written back as its string."""


class ForecastSpec(BaseModel):
    """Which forecaster feeds the plan and what it must deliver (a scenario's ``forecast`` block)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: ModelName = "ensemble"
    path: Location | None = None
    params: dict[str, Any] = Field(default_factory=dict, description="constructor arguments of the model")
    load: Location | None = Field(
        None, description="a model folder saved by 'planner forecast' to use unfitted"
    )
    quantiles: Levels = DEFAULT_LEVELS
    history_weeks: Annotated[Int, Field(ge=4, le=520)] = Field(
        52, description="recent weeks the baseline draws from"
    )
    n_paths: NPaths = Field(500, description="sample paths per SKU")
    seed: Seed = 0

    @field_validator("params")
    @classmethod
    def _known_params(cls, params: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        """Every key a parameter of the model, of its type and within its bounds (checked here, so
        ``validate`` catches what training would trip over)."""
        from forecast.registry import check_model_params, model_parameters

        model = info.data.get("model")
        if model is None:  # the model name itself is wrong: reported on its own key
            return params
        allowed = model_parameters(model)
        reserved = {"quantiles", "n_paths", "seed", "path", "max_horizon"}
        for key in params:
            if key in reserved:
                raise ValueError(f"{key}: set it as forecast.{key} (max_horizon follows horizon_weeks)")
            if key not in allowed:
                hint = difflib.get_close_matches(str(key), allowed, n=1)
                raise ValueError(
                    f"{key} is not a parameter of model '{model}'"
                    + (f" (did you mean '{hint[0]}'?)" if hint else "")
                    + f"; allowed: {', '.join(a for a in allowed if a not in reserved)}"
                )
        check_model_params(model, params, prefix="")
        return params

    @model_validator(mode="after")
    def _path_for_file(self) -> ForecastSpec:
        if self.model == "file" and self.path is None:
            raise ValueError("model 'file' needs 'path' (a CSV with sku, week, mean, q...)")
        if self.model != "file" and self.path is not None:
            raise ValueError(f"'path' is only used with model 'file', not '{self.model}'")
        return self
