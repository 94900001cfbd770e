"""Recording a command's run in the run store (:mod:`planner.history.store`), from its published outputs.

Each command publishes its outputs with a manifest (resolved scenario, input hashes, versions,
timings, warnings) as one set; the record is built from that manifest, the output files' checksums
and the command's headline figures, and written in one transaction after the outputs are in place.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from planner.base.io import file_sha256
from planner.history.store import RunRecord, RunStore, StoreError, store_url


def fingerprint(inputs: dict[str, Any]) -> str:
    """SHA-256 over the input files' names and hashes (the scenario file left out)."""
    pairs = sorted(
        (name, entry.get("sha256", ""))
        for name, entry in inputs.items()
        if name != "scenario" and isinstance(entry, dict)
    )
    return hashlib.sha256(json.dumps(pairs).encode()).hexdigest()


def forecast_id(manifest: dict[str, Any]) -> str | None:
    """``model@hash``: the forecast model, its settings and the demand history it learnt from."""
    spec = (manifest.get("scenario") or {}).get("forecast") or {}
    if not spec:
        return None
    demand = ((manifest.get("inputs") or {}).get("demand") or {}).get("sha256")
    key = json.dumps({"spec": spec, "demand": demand}, sort_keys=True, default=str)
    return f"{spec.get('model')}@{hashlib.sha256(key.encode()).hexdigest()[:12]}"


def build_record(
    command: str,
    manifest: dict[str, Any],
    out_dir: Path,
    written: Sequence[Path],
    *,
    kpis: dict[str, Any] | None = None,
    lines: pd.DataFrame | None = None,
    scenario_name: str | None = None,
    scenario_yaml: str | None = None,
    run_key: str | None = None,
    forecast: pd.DataFrame | None = None,
) -> RunRecord:
    """The record of one run from its manifest (:func:`planner.run.record.manifest`) and outputs."""
    from importlib.metadata import version

    inputs = manifest.get("inputs") or {}
    solver = manifest.get("solver") or {}
    scenario = manifest.get("scenario") or {}
    source = inputs.get("scenario") or {}
    start = manifest.get("plan_start")
    return RunRecord(
        command=command,
        scenario_name=scenario_name or str(scenario.get("name", "")),
        scenario_path=str(source.get("path", "")),
        scenario_sha256=str(source.get("sha256", "")),
        scenario_yaml=scenario_yaml or yaml.safe_dump(scenario, sort_keys=False),
        data_sha256=fingerprint(inputs),
        inputs=inputs,
        code_version=version("purchase-planner"),
        versions=manifest.get("versions") or {},
        out_dir=str(Path(out_dir).resolve()),
        outputs=[_output(Path(p), Path(out_dir)) for p in written],
        created_at=dt.datetime.now(dt.UTC),
        forecast_model=forecast_id(manifest),
        plan_start=dt.date.fromisoformat(start) if start else None,
        policy=manifest.get("policy"),
        solver_status=solver.get("status"),
        objective=solver.get("objective"),
        bound=solver.get("bound"),
        gap=solver.get("gap"),
        kpis=_jsonable(kpis or {}),
        timings=manifest.get("timings_s") or {},
        warnings=list(manifest.get("warnings") or []),
        lines=lines,
        run_key=run_key,
        forecast=forecast,
    )


def record(option: str | None, rec: RunRecord) -> tuple[str, str] | None:
    """Write ``rec`` to the store (``option``: the ``--store`` value); ``(run id, store)`` or None when
    recording is off. A store that fails says the outputs are written and how to turn recording off."""
    url = store_url(option)
    if url is None:
        return None
    try:
        store = RunStore(url)
        try:
            return store.record(rec), store.url
        finally:
            store.close()
    except StoreError as exc:
        raise StoreError(
            f"{exc}. The outputs in {rec.out_dir} are complete; only the run history misses this run. "
            "Fix: check the store, or run with --store off"
        ) from None


def plan_kpis(summary: dict) -> dict:
    """The plan's headline figures: expected costs, service, counts and storage risk."""
    return {
        "costs_expected": summary["costs_expected"],
        "service": {k: v for k, v in summary["service"].items() if not isinstance(v, list | dict)},
        "counts": summary["counts"],
        "storage_overflow_probability_max": summary["storage"]["overflow_probability_max"],
    }


def _output(path: Path, out_dir: Path) -> dict[str, Any]:
    name = str(path.relative_to(out_dir)) if path.is_relative_to(out_dir) else path.name
    if path.is_file():
        return {
            "name": name,
            "path": str(path.resolve()),
            "sha256": file_sha256(path),
            "bytes": path.stat().st_size,
        }
    return {"name": name, "path": str(path.resolve()), "sha256": None, "bytes": None}


def _jsonable(value: Any) -> Any:
    """Plain JSON types: numpy scalars as Python ones, NaN and infinities as None."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, bool | int | str):
        return value
    return str(value)
