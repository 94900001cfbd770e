"""Saving and loading trained forecasters with a manifest.

A model folder holds ``manifest.json`` (model name, constructor parameters, a SHA-256 of
the training history, feature names, metrics, library versions) and the model's own state
files (:meth:`Forecaster.save_state`). Loading rebuilds the forecaster from the parameters
and restores the state, so it predicts exactly what the saved one did.
"""

from __future__ import annotations

import hashlib
import json
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from forecast.base import Forecaster

MANIFEST = "manifest.json"
LIBRARIES = ("numpy", "pandas", "lightgbm", "tensorflow-cpu", "tensorflow", "keras", "scipy")


def history_hash(history: pd.DataFrame) -> str:
    """SHA-256 of the history's canonical CSV form (sorted by SKU and week)."""
    cols = ["sku", "week", "units", "price", "promo", "stockout"]
    frame = history[cols].sort_values(["sku", "week"], kind="stable")
    return hashlib.sha256(frame.to_csv(index=False).encode("utf-8")).hexdigest()


def library_versions() -> dict[str, str]:
    out = {}
    for lib in LIBRARIES:
        try:
            out[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            continue
    return out


def save_forecaster(
    model: Forecaster,
    directory: Path,
    *,
    data_hash: str,
    metrics: dict[str, Any] | None = None,
) -> Path:
    """Write ``model``'s state and manifest into the (empty, existing) folder ``directory``.

    Callers that replace an existing model stage the folder and rename it into place
    (``planner.io.StagedOutputs.directory``).
    """
    directory = Path(directory)
    model.save_state(directory)
    manifest = {
        "model": model.name,
        "params": model.params(),
        "data_sha256": data_hash,
        "features": list(getattr(model, "feature_names_", []) or []),
        "metrics": metrics or {},
        "versions": library_versions(),
    }
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2, default=str), encoding="utf-8")
    return directory


def read_manifest(directory: Path) -> dict[str, Any]:
    path = Path(directory) / MANIFEST
    return json.loads(path.read_text(encoding="utf-8"))


def load_forecaster(directory: Path) -> Forecaster:
    """The forecaster saved in ``directory``, ready to predict."""
    from forecast.registry import forecaster_class

    manifest = read_manifest(directory)
    model = forecaster_class(manifest["model"])(**manifest["params"])
    model.load_state(Path(directory))
    model.fitted_ = True
    return model
