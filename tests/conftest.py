"""Shared fixtures: private copies of the bundled sample dataset, scenario files, the CLI."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result
from hypothesis import settings

# CI (CI=true) runs every property test on the same examples every time: derandomised, no example
# database. Locally examples vary from run to run and failures are remembered in .hypothesis/.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile("dev", print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))

SAMPLE_DIR = Path(__file__).resolve().parents[1] / "planner" / "sample_data"


def pytest_configure(config: pytest.Config) -> None:
    """Runs the tests make are recorded in a run store of their own, never the user's."""
    os.environ.pop("PLANNER_STORE", None)
    os.environ["PLANNER_DATA_DIR"] = tempfile.mkdtemp(prefix="planner-test-store-")


@pytest.fixture(scope="session")
def sample_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One snapshot of planner/sample_data per session; copy it (``sample_dataset``), never edit it."""
    dst = tmp_path_factory.mktemp("sample_source") / "data"
    shutil.copytree(SAMPLE_DIR, dst, ignore=shutil.ignore_patterns("*.md"))
    return dst


@pytest.fixture
def sample_dataset(tmp_path: Path, sample_source: Path) -> Path:
    """A fresh, editable copy of the sample dataset at ``tmp_path / "data"``."""
    dst = tmp_path / "data"
    shutil.copytree(sample_source, dst)
    return dst


@pytest.fixture
def write_scenario(tmp_path: Path) -> Callable[..., Path]:
    """Write a scenario YAML in ``tmp_path`` (``name: t``, ``data: data``, baseline forecaster) plus keys."""

    def write(data: str = "data", file: str = "scenario.yaml", **keys: Any) -> Path:
        keys.setdefault("forecast", {"model": "baseline"})
        path = tmp_path / file
        text = yaml.safe_dump({"name": "t", "data": data, **keys}, sort_keys=False)
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def cli() -> Callable[..., Result]:
    """Run the real ``planner`` command line in-process: ``cli("validate", path)``."""
    from planner.app.cli import main

    def invoke(*args: str | Path) -> Result:
        return CliRunner().invoke(main, [str(a) for a in args])

    return invoke
