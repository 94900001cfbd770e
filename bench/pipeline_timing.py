"""Time the planning pipeline (validate, forecast, classical policy, verify, write) by size.

Generates sample companies of growing size into a temporary folder, plans each with
the classical policy and prints the time per phase and the peak memory.

    python bench/pipeline_timing.py [--sizes 240,1000,5000]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from planner.app.outputs import write_plan
from planner.inputs.sample import generate_sample, write_sample
from planner.run.planning import run_plan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="240,1000,5000")
    parser.add_argument("--horizon", type=int, default=26)
    args = parser.parse_args()
    print(
        f"{'skus':>6} {'prepare':>8} {'forecast':>9} {'policy':>8} {'evaluate':>9} {'write':>7} "
        f"{'total':>7} {'lines':>7} {'peak MiB':>9}"
    )
    for n in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            write_sample(generate_sample(n_skus=n), root / "data")
            scenario = root / "s.yaml"
            scenario.write_text(f"name: bench{n}\ndata: data\nhorizon_weeks: {args.horizon}\n")
            t0 = time.perf_counter()
            run = run_plan(scenario, "classical")
            t1 = time.perf_counter()
            write_plan(run, root / "out")
            t2 = time.perf_counter()
            tm = run.timings
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(
                f"{n:>6} {tm['prepare']:>8.2f} {tm['forecast']:>9.2f} {tm['policy']:>8.2f} "
                f"{tm['evaluate']:>9.2f} {t2 - t1:>7.2f} {t2 - t0:>7.2f} {len(run.lines):>7} {peak:>9.0f}"
            )


if __name__ == "__main__":
    main()
