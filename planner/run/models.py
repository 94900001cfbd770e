"""Saved forecast models (folders written by ``planner forecast``): checked before use, then loaded.

A folder is refused before anything is read from it when it holds pickles, links or files its
manifest does not list or whose checksums differ (:mod:`forecast.persist`); every refusal and
every model that fails on the user's data is a :class:`~planner.base.errors.ForecastError`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import pandas as pd
from upath import UPath

from forecast import Forecaster
from forecast.persist import (
    ModelFolderError,
    history_hash,
    load_forecaster,
    read_manifest,
)
from planner.base.errors import ForecastError, PlannerError
from planner.inputs.location import local_copy, reaching

log = logging.getLogger(__name__)


@contextmanager
def model_errors(name: str) -> Iterator[None]:
    """A model that fails on the user's data or settings is a ForecastError (exit 1, no traceback)."""
    try:
        yield
    except (ValueError, OSError, KeyError) as exc:
        if isinstance(exc, PlannerError):
            raise
        raise ForecastError(f"forecast model '{name}' failed: {exc}") from exc


@contextmanager
def _refused(folder: UPath) -> Iterator[None]:
    try:
        yield
    except ModelFolderError as exc:
        raise ForecastError(
            f"forecast.load: the model folder {folder} is refused: {exc}. Fix: point to the model/ "
            "folder that 'planner forecast SCENARIO --out DIR' wrote (DIR/model)"
        ) from None


def check_saved_model(folder: UPath) -> None:
    """A :class:`ForecastError` unless ``folder`` is a model folder that may be loaded: a manifest,
    every file listed with its checksum, no pickles or links (nothing is unpickled or trained)."""
    with reaching(folder), local_copy(folder) as local, _refused(folder):
        read_manifest(local)


def load_saved_model(folder: UPath, history: pd.DataFrame) -> Forecaster:
    """A model saved by ``planner forecast`` (a local folder or a URL); a warning if it was trained
    on other history."""
    with reaching(folder), local_copy(folder) as local, _refused(folder):
        manifest = read_manifest(local)
        model = load_forecaster(local)
    if manifest.get("data_sha256") != history_hash(history):
        log.warning(
            "forecast.load: %s was trained on different history; forecasting from this history", folder
        )
    return model
