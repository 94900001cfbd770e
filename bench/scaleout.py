"""End to end (forecast + plan) in this process vs on a local Dask cluster, by size.

Generates the sample company at each size (storage scaled with it),
then runs the whole plan (validate, train the scenario's forecaster, forecast, optimise,
verify, write) twice: in this process and on ``LocalCluster(--workers)`` (cluster start
included). Prints per size and mode: wall time, peak memory of the client and of each worker
process, the share of the wall time spent in tasks (work that runs on workers) and in
coordination (everything else: reading data, features, the optimiser's master problems and
repair, writing), the sample paths' size, the plan's objective and gap, whether the time limit
cut the optimiser short (then the plan may differ between runs), and whether both runs wrote
the same plan.

    python bench/scaleout.py [--sizes 1000,10000] [--horizon 52] [--model ensemble]
                             [--time-limit 600] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

from forecast.tasks import use_runner
from planner.app.outputs import write_plan
from planner.inputs.sample import generate_sample, write_sample
from planner.run.compute import ComputeSpec, open_compute
from planner.run.planning import run_plan

BASE_SKUS, BASE_STORAGE = 240, 350.0  # the bundled company and its storage (m3)
STORAGE_MARGIN = 1.25  # storage per SKU against the bundled company's (at 1.0, 52 weeks overflow)


class TimedRunner:
    """Runs tasks in this process (as without a runner) and adds up the time spent in them."""

    partitions = 2  # split per-SKU work as a 2-worker cluster would (same results, see tests)

    def __init__(self) -> None:
        self.busy = 0.0

    def __call__(self, fn: Callable[[Any, Any], Any], items: Sequence[Any], shared: Any) -> list[Any]:
        start = time.perf_counter()
        try:
            return [fn(item, shared) for item in items]
        finally:
            self.busy += time.perf_counter() - start


def _union(intervals: list[tuple[float, float]]) -> float:
    """Length of the union of ``[start, stop]`` intervals."""
    total, end = 0.0, float("-inf")
    for start, stop in sorted(intervals):
        if stop > end:
            total += stop - max(start, end)
            end = stop
    return total


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_here(scenario: Path, out: Path, _: int) -> dict[str, Any]:
    runner = TimedRunner()
    start = time.perf_counter()
    with use_runner(runner):
        run = _write_run(scenario, out)
    wall = time.perf_counter() - start
    return _figures(run, wall, runner.busy, [])


def run_cluster(scenario: Path, out: Path, workers: int) -> dict[str, Any]:
    from distributed import get_task_stream

    start = time.perf_counter()
    with open_compute(ComputeSpec(workers=workers)) as compute:
        with get_task_stream(compute.client) as stream:
            run = _write_run(scenario, out)
        peaks = list(compute.client.run(_peak_mib).values())
    wall = time.perf_counter() - start
    busy = _union(
        [
            (s["start"], s["stop"])
            for task in stream.data
            for s in task["startstops"]
            if s["action"] == "compute"
        ]
    )
    return _figures(run, wall, busy, peaks)


def _write_run(scenario: Path, out: Path) -> Any:
    run = run_plan(scenario, None)
    write_plan(run, out)
    return run


def _figures(run: Any, wall: float, busy: float, worker_peaks: list[float]) -> dict[str, Any]:
    return {
        "wall": wall,
        "forecast": run.timings["forecast"],
        "policy": run.timings["policy"],
        "tasks": busy,
        "client": _peak_mib(),
        "workers": worker_peaks,
        "gap": run.summary.get("gap"),
        "objective": run.summary.get("objective"),
        "paths_mib": run.data.forecast.paths.nbytes / 2**20,
        "cut": any("time limit cut short" in note for note in run.summary.get("notes", [])),
    }


MODES = {"in-process": run_here, "cluster": run_cluster}


def _measure(mode: str, scenario: Path, out: Path, workers: int) -> dict[str, Any]:
    """One mode in a fresh process (so each peak memory is its own)."""
    cmd = [sys.executable, __file__, "--run", mode, str(scenario), str(out), "--workers", str(workers)]
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--horizon", type=int, default=52)
    parser.add_argument("--model", default="ensemble", help="forecast model of the scenario")
    parser.add_argument("--time-limit", type=float, default=600.0, help="optimiser seconds")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--run", nargs=3, metavar=("MODE", "SCENARIO", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        mode, scenario, out = args.run
        print(json.dumps(MODES[mode](Path(scenario), Path(out), args.workers)))
        return
    print(
        f"{'skus':>6} {'mode':<11} {'wall s':>8} {'fcst s':>7} {'plan s':>7} {'tasks %':>8} "
        f"{'coord %':>8} {'client MiB':>11} {'worker MiB':>12} {'paths MiB':>10} {'objective':>13} "
        f"{'gap %':>6} cut same",
        flush=True,
    )
    for n in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            write_sample(generate_sample(n_skus=n), root / "data")
            scenario = root / "s.yaml"
            keys = {
                "name": f"scale{n}",
                "data": "data",
                "horizon_weeks": args.horizon,
                "storage_capacity": round(STORAGE_MARGIN * BASE_STORAGE * n / BASE_SKUS, 1),
                "forecast": {"model": args.model, "seed": 0},
                "solver": {"time_limit_s": args.time_limit},
            }
            scenario.write_text(yaml.safe_dump(keys))
            results = {mode: _measure(mode, scenario, root / mode, args.workers) for mode in MODES}
            plans = [(root / mode / "purchase_plan.csv").read_bytes() for mode in MODES]
            for mode, r in results.items():
                label = mode if mode == "in-process" else f"cluster({args.workers})"
                workers = "/".join(f"{m:.0f}" for m in r["workers"]) or "-"
                print(
                    f"{n:>6} {label:<11} {r['wall']:>8.1f} {r['forecast']:>7.1f} {r['policy']:>7.1f} "
                    f"{r['tasks'] / r['wall']:>8.1%} {1 - r['tasks'] / r['wall']:>8.1%} {r['client']:>11.0f} "
                    f"{workers:>12} {r['paths_mib']:>10.0f} {r['objective'] or 0:>13,.0f} "
                    f"{(r['gap'] or 0) * 100:>6.2f} "
                    f"{'yes' if r['cut'] else 'no':>3} {'yes' if plans[0] == plans[1] else 'NO'}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
