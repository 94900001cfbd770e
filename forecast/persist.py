"""Saving and loading trained forecasters with a manifest.

A model folder holds ``manifest.json`` (model name, constructor parameters, a SHA-256 of the
training history, feature names, metrics, library versions and the SHA-256 of every other file
in the folder) and the model's own state files (:meth:`Forecaster.save_state`: JSON, NPZ,
LightGBM text models, Keras weights). Nothing in a model folder can run code when it is read:
a folder holding a pickle, a link, or any file the manifest does not list with its checksum is
refused before anything is loaded. Loading rebuilds the forecaster from the (validated)
parameters and restores the state, so it predicts exactly what the saved one did.
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
FORMAT = 5  # 1: pickle; 2: weekly-recalibrated paths; 3: no weekly quantile map; 4: no launch
LIBRARIES = ("numpy", "pandas", "lightgbm", "tensorflow-cpu", "tensorflow", "keras", "scipy")
PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib", ".dill", ".pt", ".pth")


class ModelFolderError(ValueError):
    """A model folder that is refused or cannot be read; the message says what is wrong."""


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


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _files(directory: Path) -> list[Path]:
    """Every entry under ``directory`` except the manifest, relative, sorted (folders excluded)."""
    return sorted(
        p.relative_to(directory)
        for p in directory.rglob("*")
        if p.is_symlink() or not p.is_dir()
        if p.relative_to(directory) != Path(MANIFEST)
    )


def save_forecaster(
    model: Forecaster,
    directory: Path,
    *,
    data_hash: str,
    metrics: dict[str, Any] | None = None,
) -> Path:
    """Write ``model``'s state and manifest into the (empty, existing) folder ``directory``.

    Callers that replace an existing model stage the folder and rename it into place
    (``planner.base.io.StagedOutputs.directory``).
    """
    directory = Path(directory)
    model.save_state(directory)
    manifest = {
        "format": FORMAT,
        "model": model.name,
        "params": model.params(),
        "data_sha256": data_hash,
        "features": list(getattr(model, "feature_names_", []) or []),
        "metrics": metrics or {},
        "versions": library_versions(),
        "files": {p.as_posix(): _sha256(directory / p) for p in _files(directory)},
    }
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2, default=str), encoding="utf-8")
    return directory


def read_manifest(directory: Path) -> dict[str, Any]:
    """The manifest of a model folder, checked against the folder's files (see :func:`check_folder`)."""
    directory = Path(directory)
    path = directory / MANIFEST
    if not path.is_file():
        raise ModelFolderError(f"{MANIFEST} is missing (not a model folder written by 'planner forecast')")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFolderError(f"{MANIFEST} is not valid JSON ({exc})") from None
    if not isinstance(manifest, dict):
        raise ModelFolderError(f"{MANIFEST} must hold a JSON object")
    check_folder(directory, manifest)
    return manifest


def check_folder(directory: Path, manifest: dict[str, Any]) -> None:
    """Refuse pickles, links and files the manifest does not list; verify every listed checksum."""
    present = _files(directory)
    pickles = [p.as_posix() for p in present if p.suffix.lower() in PICKLE_SUFFIXES]
    if pickles:
        raise ModelFolderError(
            f"holds {', '.join(pickles)}: pickled state can run code when loaded, so it is never read. "
            "Train the model again with 'planner forecast' (model folders now hold JSON, NPZ and text files)"
        )
    links = [p.as_posix() for p in present if (directory / p).is_symlink()]
    if links:
        raise ModelFolderError(f"holds symbolic links ({', '.join(links)}); copy real files instead")
    listed = manifest.get("files")
    if manifest.get("format") != FORMAT or not isinstance(listed, dict):
        raise ModelFolderError(
            f"{MANIFEST} is not of format {FORMAT} (written by an older version, or without checksums "
            "of the files); train the model again with 'planner forecast'"
        )
    unlisted = sorted({p.as_posix() for p in present} - set(listed))
    if unlisted:
        raise ModelFolderError(f"holds files {MANIFEST} does not list: {', '.join(unlisted[:5])}")
    for name, digest in listed.items():
        path = directory / name
        if Path(name).is_absolute() or ".." in Path(name).parts or not path.is_file():
            raise ModelFolderError(f"file {name} listed in {MANIFEST} is missing")
        if _sha256(path) != digest:
            raise ModelFolderError(
                f"file {name} does not match its checksum in {MANIFEST} (changed or damaged)"
            )


def load_forecaster(directory: Path) -> Forecaster:
    """The forecaster saved in ``directory``, ready to predict; :class:`ModelFolderError` for a folder
    that is refused (pickles, links, unlisted or changed files) or cannot be read."""
    from forecast.registry import MODELS, build_forecaster
    from forecast.state import StateError

    directory = Path(directory)
    manifest = read_manifest(directory)
    name, params = manifest.get("model"), manifest.get("params")
    if name not in MODELS or not isinstance(params, dict):
        raise ModelFolderError(f"{MANIFEST} names no trained model (model '{name}')")
    try:
        model = build_forecaster(name, params)
    except ValueError as exc:
        raise ModelFolderError(f"{MANIFEST}: the model's parameters are invalid ({exc})") from None
    try:
        model.load_state(directory)
    except StateError as exc:
        raise ModelFolderError(str(exc)) from None
    except (ValueError, TypeError, KeyError, OSError) as exc:
        raise ModelFolderError(f"the saved state cannot be restored ({type(exc).__name__}: {exc})") from None
    model.fitted_ = True
    return model
