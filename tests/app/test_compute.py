"""Running independent tasks on a real Dask LocalCluster (2 worker processes): same outputs as in-process.

The sample data with the baseline forecaster over 6 weeks keeps each run to seconds; one scenario
uses the optimiser (a real HiGHS solve in a worker process), the other the classical policy.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from factories import seeded_company, small_sample

from forecast.tasks import map_tasks
from planner.optimizer.plan import OptimizerSettings, plan_optimizer
from planner.run.compute import ComputeError, ComputeSpec, open_compute

pytest.importorskip("distributed")

QUICK = {"horizon_weeks": 6, "forecast": {"model": "baseline", "n_paths": 40}}
SAME_FILES = ["costs.csv", "service.csv", "spend_by_supplier.csv", "weekly.csv"]


def test_compare_on_a_local_cluster_gives_the_same_files(
    sample_dataset: Path, write_scenario: Callable[..., Path], cli: Callable, tmp_path: Path
) -> None:
    """The workers read each scenario's data themselves, by path or by URL (``file://`` here)."""
    base = write_scenario(file="base.yaml", name="base", policy="optimizer", **QUICK)
    url = sample_dataset.as_uri()
    high = write_scenario(
        file="high.yaml", name="high", data=url, policy="classical", service_level=0.99, **QUICK
    )
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


# a small ensemble: LightGBM (a task per quantile level when alone) and a one-epoch LSTM
TINY_ENSEMBLE = {
    "model": "ensemble",
    "n_paths": 60,
    "params": {
        "member_params": {
            "lightgbm": {"num_rounds": 20},
            "lstm": {"epochs": 1, "units": [8], "dense": 8, "max_windows": 1500},
        }
    },
}


def test_plan_on_a_local_cluster_from_the_scenario_gives_the_same_plan(
    sample_dataset: Path, write_scenario: Callable[..., Path], cli: Callable, tmp_path: Path
) -> None:
    """Ensemble members trained as tasks, paths per group of SKUs and the optimiser's lot sizing
    per group on the workers; the plan files are byte-identical to the in-process run's."""
    small_sample(sample_dataset, 12)
    keys = {"horizon_weeks": 8, "forecast": TINY_ENSEMBLE, "solver": {"time_limit_s": 30}}
    here = write_scenario(file="here.yaml", **keys)
    there = write_scenario(file="there.yaml", compute={"workers": 2}, **keys)
    a = cli("plan", here, "--out", tmp_path / "here")
    b = cli("plan", there, "--out", tmp_path / "there")
    assert a.exit_code == 0, a.output
    assert b.exit_code == 0, b.output
    assert "Dask dashboard: http" in b.output and "Dask dashboard" not in a.output
    for name in ("purchase_plan.csv", "projection.csv"):
        assert (tmp_path / "there" / name).read_bytes() == (tmp_path / "here" / name).read_bytes(), name


def test_forecast_on_a_local_cluster_gives_the_same_forecast(
    sample_dataset: Path, write_scenario: Callable[..., Path], cli: Callable, tmp_path: Path
) -> None:
    """LightGBM's quantile levels trained as tasks and paths made per group of SKUs."""
    small_sample(sample_dataset, 12)
    scenario = write_scenario(
        horizon_weeks=8, forecast={"model": "lightgbm", "n_paths": 60, "params": {"num_rounds": 20}}
    )
    a = cli("forecast", scenario, "--out", tmp_path / "here")
    b = cli("forecast", scenario, "--out", tmp_path / "there", "--workers", "2")
    assert a.exit_code == 0, a.output
    assert b.exit_code == 0, b.output
    for name in ("forecasts.csv", "cumulative.csv"):
        assert (tmp_path / "there" / name).read_bytes() == (tmp_path / "here" / name).read_bytes(), name
    paths = [pd.read_parquet(tmp_path / side / "paths.parquet") for side in ("here", "there")]
    pd.testing.assert_frame_equal(*paths, check_exact=True)


def test_scenarios_asking_for_different_clusters_are_refused(
    sample_dataset: Path, write_scenario: Callable[..., Path], cli: Callable, tmp_path: Path
) -> None:
    a = write_scenario(file="a.yaml", policy="classical", compute={"workers": 2}, **QUICK)
    b = write_scenario(file="b.yaml", policy="classical", **QUICK)
    result = cli("compare", a, b, "--out", tmp_path / "out")
    assert result.exit_code == 1
    assert "ask to run in different places" in result.output and "a.yaml: {'workers': 2}" in result.output
    assert not (tmp_path / "out").exists()


def test_the_decomposition_on_a_local_cluster_gives_the_same_plan() -> None:
    """The per-SKU lot sizing of every phase in groups on the workers, the coordination here."""
    data = seeded_company()
    settings = OptimizerSettings(strategy="decomposition", time_limit_s=60, threads=2)
    here = plan_optimizer(data, settings)
    with open_compute(ComputeSpec(workers=2)):
        there = plan_optimizer(data, settings)
    np.testing.assert_array_equal(there.orders, here.orders)
    assert there.objective == here.objective and there.bound == here.bound
    assert here.cut == () and there.cut == ()


def _kill_first_worker(item: int, marker: Path) -> int:
    """A task that kills its worker process the first time any task runs, then squares its item.

    The marker is claimed atomically (O_EXCL): of two tasks starting at once on the two workers only
    one dies. (Checking and then writing let both die now and then; with both workers gone the
    scattered data was lost with them, a failure of the test, not of the runner.)"""
    try:
        fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return item * item
    os.write(fd, b"died")
    os.close(fd)
    os._exit(1)


def test_tasks_inside_a_command_survive_a_lost_worker(tmp_path: Path) -> None:
    """The runner forecasters and the optimiser use: shared data scattered, order kept, the task
    of a dead worker rerun elsewhere, progress reported once per task."""
    marker = tmp_path / "marker"
    seen: list[tuple[int, int]] = []
    with open_compute(ComputeSpec(workers=2)) as compute:
        assert compute.partitions == 2
        compute.progress = lambda done, total: seen.append((done, total))
        assert map_tasks(_kill_first_worker, [1, 2, 3, 4], shared=marker) == [1, 4, 9, 16]
    assert marker.read_text() == "died"
    assert seen == [(0, 4), (1, 4), (2, 4), (3, 4), (4, 4)]
    assert map_tasks(_kill_first_worker, [5], shared=marker) == [25]  # runner uninstalled


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
