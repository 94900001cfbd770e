"""What a run records about itself: the resolved scenario, the SHA-256 of its inputs, package versions,
seeds, timings and warnings (the manifest every command writes last)."""

from __future__ import annotations

import importlib.metadata
import platform

from planner.base.io import file_sha256
from planner.run.prepare import Prepared

PACKAGES = ("purchase-planner", "pyomo", "highspy", "lightgbm", "pandas", "numpy", "pydantic", "click")


def manifest(run_prep: Prepared, timings: dict[str, float], extra: dict | None = None) -> dict:
    """Resolved scenario, input hashes, versions, seeds and timings."""
    sc = run_prep.scenario
    inputs = {
        name: {"path": str(path), "sha256": file_sha256(path)}
        for name, path in sorted(run_prep.dataset.files.items())
    }
    if sc.forecast.path is not None:
        inputs["forecast"] = {"path": str(sc.forecast.path), "sha256": file_sha256(sc.forecast.path)}
    inputs["scenario"] = {"path": str(run_prep.source), "sha256": file_sha256(run_prep.source)}
    return {
        "scenario": sc.model_dump(mode="json"),
        "plan_start": str(run_prep.plan_start.date()),
        "inputs": inputs,
        "versions": {"python": platform.python_version(), **_versions()},
        "seeds": {"forecast": sc.forecast.seed, "solver": sc.solver.seed},
        "timings_s": {k: round(v, 4) for k, v in timings.items()},
        "warnings": [str(w) for w in run_prep.warnings],
        **(extra or {}),
    }


def _versions() -> dict[str, str]:
    out = {}
    for pkg in PACKAGES:
        try:
            out[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out
