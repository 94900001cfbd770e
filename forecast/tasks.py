"""Independent tasks inside one command: run here one after another, or by an installed runner.

Forecasters and the optimiser hand work that splits into independent pieces (a LightGBM model
per quantile level, the ensemble's members, sample paths per group of SKUs, the per-SKU lot
sizing of the decomposition) to :func:`map_tasks`. By default the tasks run in this process, in
order, exactly as a loop would. A command run on a Dask cluster installs a runner for its
duration (:func:`use_runner`, done by ``planner.run.compute``); the tasks then run on the workers.
Tasks are deterministic functions of their inputs, and per-SKU work gives each SKU the same
result whichever group it is in, so the outputs do not depend on where the tasks ran.

Tasks take ``(item, shared)``: ``shared`` is data every task reads (sent to each worker once,
not once per task). Task functions should be module-level functions (they are pickled).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Protocol, TypeVar

import numpy as np

T = TypeVar("T")
R = TypeVar("R")


class Runner(Protocol):
    """Runs ``[fn(item, shared) for item in items]`` somewhere, results in order."""

    partitions: int  # how many groups per-SKU work should be split into

    def __call__(self, fn: Callable[[Any, Any], Any], items: Sequence[Any], shared: Any) -> list[Any]: ...


_RUNNER: ContextVar[Runner | None] = ContextVar("forecast_task_runner", default=None)


def map_tasks(fn: Callable[[T, Any], R], items: Sequence[T], shared: Any = None) -> list[R]:
    """``[fn(item, shared) for item in items]``, on the installed runner if any (in order)."""
    runner = _RUNNER.get()
    if runner is None or len(items) <= 1:
        return [fn(item, shared) for item in items]
    return runner(fn, items, shared)


def partitions() -> int:
    """How many groups to split per-SKU work into: 1 in this process, the runner's count otherwise."""
    runner = _RUNNER.get()
    return 1 if runner is None else max(1, runner.partitions)


def split(n: int, parts: int) -> list[np.ndarray]:
    """Indices ``0..n-1`` in at most ``parts`` contiguous, non-empty groups of near-equal size."""
    return [chunk for chunk in np.array_split(np.arange(n), max(1, min(parts, n))) if len(chunk)]


@contextmanager
def use_runner(runner: Runner | None) -> Iterator[None]:
    """Run :func:`map_tasks` on ``runner`` inside the block (``None``: in this process)."""
    token = _RUNNER.set(runner)
    try:
        yield
    finally:
        _RUNNER.reset(token)
