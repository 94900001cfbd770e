"""Work split into tasks (forecast.tasks) gives the result of the unsplit work.

A runner that runs tasks here but asks for 3 groups exercises the splitting and joining that a
cluster uses, without starting one (tests/test_compute.py runs the real LocalCluster).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from factories import make_data, small_sample
from hypothesis import given
from hypothesis import strategies as st

from forecast.gbm import LightGBMForecaster
from forecast.tasks import map_tasks, partitions, split, use_runner
from planner.optimizer.lotsizing import solve_in_groups, solve_lot_sizing
from planner.optimizer.model.params import model_params
from planner.optimizer.model.pricing import Prices
from planner.optimizer.schedules import lot_sizing_instance
from planner.run.forecasting import forecast_context
from planner.run.prepare import prepare


class SplittingRunner:
    """Runs tasks in this process, in reverse order (results must still come back in order)."""

    def __init__(self, partitions: int):
        self.partitions = partitions
        self.calls: list[int] = []

    def __call__(self, fn: Callable[[Any, Any], Any], items: Sequence[Any], shared: Any) -> list[Any]:
        self.calls.append(len(items))
        return [fn(item, shared) for item in reversed(items)][::-1]


@given(st.integers(0, 50), st.integers(1, 8))
def test_split_covers_every_index_once_in_order(n: int, parts: int) -> None:
    groups = split(n, parts)
    assert len(groups) == min(parts, n)
    assert np.array_equal(np.concatenate(groups) if groups else np.array([], int), np.arange(n))
    if groups:
        sizes = [len(g) for g in groups]
        assert max(sizes) - min(sizes) <= 1


def test_without_a_runner_tasks_run_here_as_one_group() -> None:
    assert partitions() == 1
    assert map_tasks(lambda x, k: x * k, [1, 2, 3], shared=10) == [10, 20, 30]
    runner = SplittingRunner(3)
    with use_runner(runner):
        assert partitions() == 3
        assert map_tasks(lambda x, k: x + k, [1, 2], shared=1) == [2, 3]
    assert runner.calls == [2]
    assert partitions() == 1


def test_lot_sizing_in_groups_equals_one_batch() -> None:
    rng = np.random.default_rng(7)
    s, h = 23, 12
    data = make_data(
        rng.gamma(2.0, 20.0, (s, h)),
        lead_time=rng.integers(0, 4, s),
        pack=rng.choice([1, 6, 12], s),
        moq=rng.choice([0, 24, 48], s),
        order_cost=150.0,
        line_cost=5.0,
        capacity=1e9,
    )
    inst = lot_sizing_instance(data, model_params(data), Prices.zero(data))
    whole = solve_lot_sizing(inst)
    runner = SplittingRunner(3)
    with use_runner(runner):
        grouped = solve_in_groups(inst)
    assert runner.calls == [3]
    assert np.array_equal(grouped[0], whole[0]) and np.array_equal(grouped[1], whole[1])
    assert whole[0].sum() > 0  # something is ordered: the comparison is not between empty plans


@pytest.fixture
def fitted(
    sample_dataset: Path, write_scenario: Callable[..., Path]
) -> tuple[LightGBMForecaster, list[str], Any]:
    small_sample(sample_dataset, 7)
    prep = prepare(write_scenario(horizon_weeks=6))
    model = LightGBMForecaster(num_rounds=10, quantiles=(0.1, 0.5, 0.9), max_horizon=8, n_paths=30)
    return model.fit(prep.history, **forecast_context(prep)), list(prep.items.index), prep.weeks


def test_lightgbm_levels_and_paths_as_tasks_equal_the_loop(
    fitted: tuple[LightGBMForecaster, list[str], Any],
    sample_dataset: Path,
    write_scenario: Callable[..., Path],
) -> None:
    model, skus, weeks = fitted
    alone = model.predict(skus, weeks, [0.05, 0.5, 0.95])
    runner = SplittingRunner(3)
    with use_runner(runner):
        prep = prepare(write_scenario(horizon_weeks=6))
        again = LightGBMForecaster(num_rounds=10, quantiles=(0.1, 0.5, 0.9), max_horizon=8, n_paths=30)
        again.fit(prep.history, **forecast_context(prep))
        split_run = again.predict(skus, weeks, [0.05, 0.5, 0.95])
    assert runner.calls == [3, 3]  # three levels trained, paths made in three groups of SKUs
    assert split_run.skus == alone.skus
    for field in ("mean", "quantiles", "paths", "cum_quantiles"):
        assert np.array_equal(getattr(split_run, field), getattr(alone, field)), field
