"""Fitted model state on disk in formats that cannot run code when read.

A forecaster's fitted attributes are written as three kinds of file:

- ``state.json``: the structure (numbers, strings, lists, mappings, timestamps) with references
  to arrays and boosters;
- ``arrays.npz``: every NumPy array (read with ``allow_pickle=False``; object arrays are refused);
- ``booster_<k>.txt``: LightGBM boosters as LightGBM's own text model.

Pandas objects are stored as their arrays (values, index, column names). Anything else is a
programming error (:class:`TypeError`), never silently pickled. Reading refuses files that do
not follow this layout with :class:`StateError`.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

STATE_JSON = "state.json"
ARRAYS = "arrays.npz"
BOOSTER = "booster_{}.txt"
TAG = "__type__"


class StateError(ValueError):
    """A state folder that cannot be read back (missing, malformed or unsafe files)."""


class _Writer:
    def __init__(self, directory: Path):
        self.directory = directory
        self.arrays: dict[str, np.ndarray] = {}
        self.boosters = 0

    def array(self, value: np.ndarray) -> dict[str, Any]:
        if value.dtype == object:
            if not all(isinstance(v, str) for v in value.ravel()):
                raise TypeError("object arrays are stored only when they hold strings")
            value = value.astype(str)
        key = f"a{len(self.arrays)}"
        self.arrays[key] = np.ascontiguousarray(value)
        return {TAG: "ndarray", "key": key}

    def encode(self, value: Any) -> Any:
        if value is None or isinstance(value, bool | str):
            return value
        if isinstance(value, int | np.integer) and not isinstance(value, np.bool_):
            return int(value)
        if isinstance(value, float | np.floating):
            number = float(value)
            return number if np.isfinite(number) else {TAG: "float", "repr": repr(number)}
        if isinstance(value, np.bool_):
            return bool(value)
        if isinstance(value, np.ndarray):
            return self.array(value)
        if isinstance(value, pd.Timestamp):
            return {TAG: "timestamp", "iso": value.isoformat()}
        if isinstance(value, pd.Index):
            return {TAG: "index", "values": self.array(np.asarray(value)), "name": self.encode(value.name)}
        if isinstance(value, pd.Series):
            return {
                TAG: "series",
                "values": self.array(value.to_numpy()),
                "index": self.encode(value.index),
                "name": self.encode(value.name),
            }
        if isinstance(value, pd.DataFrame):
            return {
                TAG: "frame",
                "columns": [self.encode(c) for c in value.columns],
                "values": [self.array(value[c].to_numpy()) for c in value.columns],
                "index": self.encode(value.index),
            }
        if isinstance(value, list | tuple):
            return {TAG: type(value).__name__, "items": [self.encode(v) for v in value]}
        if isinstance(value, dict):
            return {TAG: "dict", "items": [[self.encode(k), self.encode(v)] for k, v in value.items()]}
        if type(value).__name__ == "Booster" and type(value).__module__.startswith("lightgbm"):
            name = BOOSTER.format(self.boosters)
            self.boosters += 1
            value.save_model(str(self.directory / name))
            return {TAG: "booster", "file": name}
        raise TypeError(f"cannot store a {type(value).__name__} in a model folder")


def write_state(state: dict[str, Any], directory: Path) -> None:
    """Write ``state`` (attribute name -> value) into ``directory`` as JSON, NPZ and booster files."""
    directory = Path(directory)
    writer = _Writer(directory)
    encoded = writer.encode(dict(state))
    (directory / STATE_JSON).write_text(json.dumps(encoded), encoding="utf-8")
    np.savez(directory / ARRAYS, **writer.arrays)


class _Reader:
    def __init__(self, directory: Path, arrays: dict[str, np.ndarray]):
        self.directory = directory
        self.arrays = arrays

    def array(self, node: Any) -> np.ndarray:
        if not isinstance(node, dict) or node.get(TAG) != "ndarray" or node.get("key") not in self.arrays:
            raise StateError(f"{STATE_JSON} refers to an array that {ARRAYS} does not hold")
        return self.arrays[node["key"]]

    def decode(self, node: Any) -> Any:
        if node is None or isinstance(node, bool | int | float | str):
            return node
        if isinstance(node, list):
            raise StateError(f"{STATE_JSON}: unexpected bare list")
        if not isinstance(node, dict) or not isinstance(node.get(TAG), str):
            raise StateError(f"{STATE_JSON}: unexpected value of type {type(node).__name__}")
        kind = node[TAG]
        try:
            return self._decode(kind, node)
        except StateError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise StateError(f"{STATE_JSON}: malformed '{kind}' entry ({exc})") from None

    def _decode(self, kind: str, node: dict[str, Any]) -> Any:
        if kind == "ndarray":
            return self.array(node)
        if kind == "float":
            return float(node["repr"])
        if kind == "timestamp":
            return pd.Timestamp(node["iso"])
        if kind == "index":
            return pd.Index(self.array(node["values"]), name=self.decode(node["name"]))
        if kind == "series":
            return pd.Series(
                self.array(node["values"]), index=self.decode(node["index"]), name=self.decode(node["name"])
            )
        if kind == "frame":
            columns = [self.decode(c) for c in node["columns"]]
            values = [self.array(v) for v in node["values"]]
            frame = pd.DataFrame(dict(zip(range(len(columns)), values, strict=True)))
            frame.columns = columns
            frame.index = self.decode(node["index"])
            return frame
        if kind in ("list", "tuple"):
            items = [self.decode(v) for v in node["items"]]
            return items if kind == "list" else tuple(items)
        if kind == "dict":
            return {_hashable(self.decode(k)): self.decode(v) for k, v in node["items"]}
        if kind == "booster":
            return self._booster(node["file"])
        raise StateError(f"{STATE_JSON}: unknown entry type '{kind}'")

    def _booster(self, name: str) -> Any:
        import lightgbm as lgb

        path = self.directory / name
        if Path(name).name != name or not path.is_file():
            raise StateError(f"booster file '{name}' named in {STATE_JSON} is missing")
        try:
            return lgb.Booster(model_str=path.read_text(encoding="utf-8"))
        except (lgb.basic.LightGBMError, UnicodeDecodeError) as exc:
            raise StateError(f"{name} is not a LightGBM text model ({exc})") from None


def _hashable(key: Any) -> Any:
    if isinstance(key, list):
        raise StateError(f"{STATE_JSON}: a mapping key must be a number or a string")
    return key


def read_state(directory: Path) -> dict[str, Any]:
    """The state :func:`write_state` wrote; :class:`StateError` for anything else."""
    directory = Path(directory)
    try:
        encoded = json.loads((directory / STATE_JSON).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StateError(f"{STATE_JSON} is missing") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StateError(f"{STATE_JSON} is not valid JSON ({exc})") from None
    try:
        with np.load(directory / ARRAYS, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except FileNotFoundError:
        raise StateError(f"{ARRAYS} is missing") from None
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
        raise StateError(f"{ARRAYS} cannot be read as plain arrays ({exc})") from None
    state = _Reader(directory, arrays).decode(encoded)
    if not isinstance(state, dict) or not all(isinstance(k, str) for k in state):
        raise StateError(f"{STATE_JSON} must hold a mapping of attribute names")
    return state
