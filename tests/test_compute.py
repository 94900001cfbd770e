"""Running independent tasks on a real Dask LocalCluster (2 worker processes): same outputs as in-process.

The sample data with the baseline forecaster over 6 weeks keeps each run to seconds; one scenario
uses the optimiser (a real HiGHS solve in a worker process), the other the classical policy.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from factories import small_sample

from planner.compute import ComputeError, ComputeSpec, open_compute

pytest.importorskip("distributed")

QUICK = {"horizon_weeks": 6, "forecast": {"model": "baseline", "n_paths": 40}}
SAME_FILES = ["costs.csv", "service.csv", "spend_by_supplier.csv", "weekly.csv"]


def test_compare_on_a_local_cluster_gives_the_same_files(
    sample_dataset: Path, write_scenario: Callable[..., Path], cli: Callable, tmp_path: Path
) -> None:
    base = write_scenario(file="base.yaml", name="base", policy="optimizer", **QUICK)
    high = write_scenario(file="high.yaml", name="high", policy="classical", service_level=0.99, **QUICK)
    here = cli("compare", base, high, "--out", tmp_path / "here")
    there = cli("compare", base, high, "--out", tmp_path / "there", "--workers", "2")
    assert here.exit_code == 0, here.output
    assert there.exit_code == 0, there.output
    assert "Dask dashboard: http" in there.output
    for name in SAME_FILES:
        assert (tmp_path / "there" / name).read_bytes() == (tmp_path / "here" / name).read_bytes(), name


def test_frontier_on_a_local_cluster_gives_the_same_file(
    sample_dataset: Path, write_scenario: Callable[..., Path], cli: Callable, tmp_path: Path
) -> None:
    scenario = write_scenario(policy="optimizer", **QUICK)
    args = ("frontier", scenario, "--levels", "0.8,0.95")
    here = cli(*args, "--out", tmp_path / "here")
    there = cli(*args, "--out", tmp_path / "there", "--workers", "2")
    assert here.exit_code == 0, here.output
    assert there.exit_code == 0, there.output
    frontier = "frontier.csv"
    assert (tmp_path / "there" / frontier).read_bytes() == (tmp_path / "here" / frontier).read_bytes()


def test_backtest_on_a_local_cluster_gives_the_same_files(
    sample_dataset: Path, write_scenario: Callable[..., Path], cli: Callable, tmp_path: Path
) -> None:
    """One task per policy (the optimiser's HiGHS solves in a worker) on forecasts made first."""
    small_sample(sample_dataset, 8)
    scenario = write_scenario(horizon_weeks=6, storage_capacity=None, solver={"time_limit_s": 20})
    args = ("backtest", scenario, "--origins", "3", "--policies", "optimizer,classical,perfect_foresight")
    here = cli(*args, "--out", tmp_path / "here")
    there = cli(*args, "--out", tmp_path / "there", "--workers", "2")
    assert here.exit_code == 0, here.output
    assert there.exit_code == 0, there.output
    for part in ("summary", "orders", "weekly", "origins"):
        a, b = (pd.read_csv(tmp_path / side / f"backtest_{part}.csv") for side in ("here", "there"))
        timing = [c for c in ("seconds", "plan_seconds") if c in a.columns]  # wall clock differs
        pd.testing.assert_frame_equal(a.drop(columns=timing), b.drop(columns=timing), check_exact=True)


def _die_once(marker: Path, step: Callable[[str], None]) -> int:
    """Kill this worker process the first time it runs (a worker lost mid-task), then succeed."""
    if not marker.exists():
        marker.write_text("died")
        os._exit(1)
    return 42


def _double(x: int, step: Callable[[str], None]) -> int:
    return 2 * x


def test_a_task_whose_worker_dies_is_rerun_and_results_keep_their_order(tmp_path: Path) -> None:
    with open_compute(ComputeSpec(workers=2)) as compute:
        assert compute.map(_double, [3, 1, 2]) == [6, 2, 4]
        assert compute.map(_die_once, [tmp_path / "marker"]) == [42]
    assert (tmp_path / "marker").read_text() == "died"


def test_in_process_map_reports_each_task_through_its_step() -> None:
    seen: list[str] = []

    def task(x: int, step: Callable[[str], None]) -> int:
        step(f"working on {x}")
        return x + 1

    with open_compute() as compute:
        assert compute.client is None
        assert compute.map(task, [1, 2], lambda i, x: lambda msg: seen.append(f"{i}:{msg}")) == [2, 3]
    assert seen == ["0:working on 1", "1:working on 2"]


def test_an_unreachable_scheduler_is_a_clear_error_and_writes_nothing(
    sample_dataset: Path, write_scenario: Callable[..., Path], cli: Callable, tmp_path: Path
) -> None:
    scenario = write_scenario(policy="classical", **QUICK)
    out = tmp_path / "out"
    result = cli("compare", scenario, "--out", out, "--scheduler", "tcp://127.0.0.1:9")
    assert result.exit_code == 1
    assert "cannot reach a Dask scheduler" in result.output
    assert "Traceback" not in result.output
    assert not out.exists()


def test_scheduler_and_workers_together_are_refused() -> None:
    with pytest.raises(ComputeError, match="either --scheduler"):
        ComputeSpec(scheduler="tcp://127.0.0.1:8786", workers=2)
