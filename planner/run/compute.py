"""Where independent tasks run: in this process (the default) or on a Dask distributed cluster.

Commands that fan out independent work (``compare`` over scenarios, ``frontier`` over service
levels, ``backtest`` over policies) hand it to :meth:`Compute.map`, which returns results in task
order whichever way they ran. Inside a command, forecasters and the optimiser split their own work
into tasks through :mod:`forecast.tasks`; on a cluster :func:`open_compute` installs the
:class:`Compute` as their runner (data every task reads is scattered to each worker once).
Tasks are deterministic functions of their inputs (fixed seeds, work sized from the instance),
so the outputs are the same in-process and on a cluster. Scenario tasks get their scenario as
read here and read its data and model themselves, from the path or URL it names
(:mod:`planner.inputs.location`): every worker must reach it. Outputs are written by the client only,
after every task succeeded.
A task whose worker dies is rerun on another worker by the scheduler (Dask's
``distributed.scheduler.allowed-failures``, 3 by default); a task that raises is not rerun.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from forecast.tasks import use_runner
from planner.base.errors import PlannerError
from planner.run.prepare import Step, quiet

log = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")
CONNECT_TIMEOUT_S = 10


class ComputeError(PlannerError):
    """The cluster could not be reached or could not run the work."""


@dataclass(frozen=True)
class ComputeSpec:
    """In-process (both None), an existing scheduler's address, or a local cluster of N processes."""

    scheduler: str | None = None
    workers: int | None = None

    def __post_init__(self) -> None:
        if self.scheduler and self.workers:
            raise ComputeError("give either --scheduler ADDRESS or --workers N, not both")
        if self.workers is not None and self.workers < 1:
            raise ComputeError(f"--workers {self.workers}: give at least 1 worker process")

    @property
    def distributed(self) -> bool:
        return bool(self.scheduler or self.workers)


def scenario_compute(scenarios: Sequence[Path]) -> ComputeSpec:
    """The ``compute:`` settings the scenarios ask for (all of them must agree)."""
    from planner.inputs.scenario import load_scenario

    asked = {path: load_scenario(path).compute for path in scenarios}
    places = {(c.scheduler, c.workers) for c in asked.values()}
    if len(places) > 1:
        listed = "; ".join(
            f"{path.name}: {c.model_dump(exclude_none=True) or 'in process'}" for path, c in asked.items()
        )
        raise ComputeError(
            f"the scenarios ask to run in different places (compute: {listed}); give the same "
            "'compute' in each, or choose on the command line with --scheduler or --workers"
        )
    scheduler, workers = places.pop() if places else (None, None)
    return ComputeSpec(scheduler, workers)


class Compute:
    """Runs tasks; see :func:`open_compute`."""

    def __init__(self, client: Any = None):
        self.client = client
        # told ``(tasks done, tasks)`` as the tasks of a step inside a command finish on the cluster
        self.progress: Callable[[int, int], None] = lambda done, total: None
        # worker threads when the work starts: how many groups per-SKU work is split into
        workers = client.scheduler_info()["workers"].values() if client is not None else []
        self.partitions = max(1, sum(w["nthreads"] for w in workers))

    @property
    def dashboard(self) -> str | None:
        """The Dask dashboard's address, when running on a cluster that serves one."""
        return getattr(self.client, "dashboard_link", None) if self.client is not None else None

    def map(
        self,
        fn: Callable[[T, Step], R],
        items: Sequence[T],
        say: Callable[[int, T], Step] = lambda i, item: quiet,
    ) -> list[R]:
        """``[fn(item, step) for item in items]`` in order. In this process ``step = say(i, item)``
        reports each task's progress; on a cluster tasks run quietly and ``say(i, item)("done")``
        is called as each finishes."""
        if self.client is None:
            return [fn(item, say(i, item)) for i, item in enumerate(items)]
        futures = [self.client.submit(fn, item, quiet, pure=False) for item in items]
        return self._gather(futures, lambda i: say(i, items[i])("done"))

    def __call__(self, fn: Callable[[T, Any], R], items: Sequence[T], shared: Any) -> list[R]:
        """The :class:`forecast.tasks.Runner` of this cluster: ``shared`` goes to each worker once.
        :attr:`progress` hears ``(0, n)`` at the start, then ``(k, n)`` as the k-th task finishes."""
        if shared is not None:
            shared = self.client.scatter(shared, broadcast=True, hash=False)
        futures = [self.client.submit(fn, item, shared, pure=False) for item in items]
        total, finished = len(futures), itertools.count(1)
        self.progress(0, total)
        return self._gather(futures, lambda i: self.progress(next(finished), total))

    def _gather(self, futures: list[Any], done: Callable[[int], None]) -> list[Any]:
        """Results of ``futures`` in order; ``done(i)`` as each finishes; cluster failures made clear."""
        from distributed import as_completed

        index = {f.key: i for i, f in enumerate(futures)}
        try:
            for future in as_completed(futures):
                if future.status == "error":
                    future.result()  # re-raises the task's own exception (a PlannerError stays one)
                done(index[future.key])
            return self.client.gather(futures)
        except PlannerError:
            raise
        except Exception as exc:
            if type(exc).__module__.startswith("distributed"):
                raise ComputeError(
                    f"the cluster failed to run the work ({type(exc).__name__}: {exc}); nothing was "
                    "written. Check the workers (the dashboard shows their logs) and run again"
                ) from None
            raise
        finally:
            for future in futures:
                future.cancel()


@contextmanager
def open_compute(spec: ComputeSpec | None = None) -> Iterator[Compute]:
    """A :class:`Compute` for ``spec``: connects to (or starts) the cluster and closes it after."""
    spec = spec or ComputeSpec()
    if not spec.distributed:
        yield Compute()
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ComputeError(
            "running on a Dask cluster needs the 'distributed' package: "
            "pip install 'purchase-planner[cluster]'"
        ) from None
    # distributed logs at INFO through its own handlers: follow the command's verbosity instead
    level = logging.getLogger().getEffectiveLevel()
    logging.getLogger("distributed").setLevel(level)
    if spec.workers:
        # one thread per worker process: HiGHS, LightGBM and TensorFlow bring their own threads
        cluster = LocalCluster(
            n_workers=spec.workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=level,
        )
        client = Client(cluster)
    else:
        cluster = None
        try:
            client = Client(spec.scheduler, timeout=f"{CONNECT_TIMEOUT_S}s")
        except (OSError, TimeoutError) as exc:
            raise ComputeError(
                f"--scheduler {spec.scheduler}: cannot reach a Dask scheduler there within "
                f"{CONNECT_TIMEOUT_S} s ({exc}). Check the address (e.g. tcp://host:8786) and that the "
                "scheduler is running, or drop --scheduler to run in this process"
            ) from None
    log.info("Dask cluster: %s, dashboard %s", client.scheduler.address, client.dashboard_link)
    compute = Compute(client)
    try:
        with use_runner(compute):
            yield compute
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
