"""Scale benchmark of the optimiser against the naive monolithic MIP.

Instances come from the sample-company generator (seeded): 6 suppliers with lead times 1-12
weeks, MOQs and packs on most SKUs, service targets on the cumulative quantiles of the
default (ensemble) forecast, so a change to the forecasters changes the instance; 52 weeks.
Storage capacity is set per week between the least stock that meets every service target
and the stock of the plan that ignores storage (``cap = floor + 0.9 * (free - floor)``), so
it binds wherever that plan would overflow.
Each size and method runs in a fresh process (peak memory = that process's maximum RSS).

    python bench/optimizer_scale.py [--sizes 1000,10000] [--naive-sizes 1000] [--time-limit 60,600]
"""

from __future__ import annotations

import argparse
import dataclasses
import multiprocessing as mp
import resource
import tempfile
import time
from pathlib import Path
from queue import Empty

import numpy as np

HORIZON = 52


def make_instance(n_skus: int, seed: int = 11):
    """PlanningData for the benchmark (pure function of n_skus and seed)."""
    from planner.core.accounting import arrivals, storage_volume
    from planner.inputs.sample import generate_sample, write_sample
    from planner.optimizer.lotsizing import solve_lot_sizing
    from planner.optimizer.model.params import model_params
    from planner.optimizer.model.pricing import Prices
    from planner.optimizer.plan import _instance, _least_stock_plan, _to_order_weeks
    from planner.run.forecasting import make_forecast
    from planner.run.planning import planning_data
    from planner.run.prepare import prepare

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_sample(generate_sample(seed=seed, n_skus=n_skus), root / "data")
        (root / "s.yaml").write_text(
            f"name: bench\ndata: data\nhorizon_weeks: {HORIZON}\nforecast: {{n_paths: 200}}\n"
        )
        prep = prepare(root / "s.yaml")
        data = planning_data(prep, make_forecast(prep))
    prm = model_params(data)
    packs, _ = solve_lot_sizing(_instance(data, prm, Prices.zero(data)))
    free = storage_volume(data, arrivals(data, _to_order_weeks(data, packs)))
    least = storage_volume(data, arrivals(data, _least_stock_plan(data, prm)))
    floor = np.maximum(storage_volume(data, data.open_arrivals), least)
    capacity = floor + 0.9 * np.maximum(0.0, free - floor)
    return dataclasses.replace(data, capacity=capacity), float((free > capacity + 1e-9).mean())


def run_one(n_skus: int, method: str, time_limit: float, queue: mp.Queue) -> None:
    """Build and solve one instance with one method; put a row of figures on ``queue``."""
    from planner.core.accounting import arrivals, storage_volume
    from planner.optimizer.model import build_model, model_params, orders_from_model
    from planner.optimizer.plan import OptimizerSettings, _gaps, model_objective, plan_optimizer
    from planner.optimizer.solve import solve

    data, overflow_share = make_instance(n_skus)
    prm = model_params(data)
    row = {"skus": n_skus, "method": method, "overflow_weeks": overflow_share}
    t0 = time.perf_counter()
    if method == "naive":
        model = build_model(data)
        t1 = time.perf_counter()
        res = solve(model, mip_gap=0.01, time_limit_s=time_limit, threads=2)
        orders = orders_from_model(model, data) if res.has_solution else None
        row.update(build=t1 - t0, solve=res.seconds, status=str(res.status), bound=res.bound)
    else:
        result = plan_optimizer(data, OptimizerSettings(time_limit_s=time_limit, threads=2, mip_gap=0.01))
        orders = result.orders
        row.update(
            build=result.timings.get("lagrangian", 0.0),
            solve=sum(result.timings.values()),
            status=str(result.status),
            bound=result.bound,
        )
    row["wall"] = time.perf_counter() - t0
    if orders is not None:
        row["objective"] = model_objective(data, prm, orders)
        vol = storage_volume(data, arrivals(data, orders))
        row["binding_weeks"] = float((vol >= 0.99 * data.capacity).mean())
    else:
        row["objective"] = None
    if row["objective"] is not None and row["bound"] is not None:
        row["gap"], row["decision_gap"] = _gaps(row["objective"], row["bound"], prm.purchase_floor)
    row["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put(row)


def _result(queue: mp.Queue, proc: mp.Process, what: str) -> dict:
    """The row ``proc`` puts on ``queue``; exits with a message if the process dies first."""
    while True:
        try:
            return queue.get(timeout=5)
        except Empty:
            if not proc.is_alive():
                raise SystemExit(f"{what}: the run died (exit code {proc.exitcode})") from None


def fmt(value: object, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--naive-sizes", default="1000", help="sizes also solved by the monolithic MIP")
    parser.add_argument("--time-limit", default="60,600", help="seconds per size, in --sizes order")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    limits = [float(s) for s in args.time_limit.split(",")]
    naive = {int(s) for s in args.naive_sizes.split(",") if s}
    ctx = mp.get_context("spawn")
    print(
        f"{'skus':>6} {'method':>13} {'status':>9} {'phase1_s':>9} {'total_s':>8} {'wall_s':>7} "
        f"{'objective':>14} {'bound':>14} {'gap':>8} {'dec.gap':>8} {'bind%':>6} {'peakMiB':>8}"
    )
    for n, limit in zip(sizes, limits + [limits[-1]] * len(sizes), strict=False):
        for method in ["decomposition"] + (["naive"] if n in naive else []):
            queue = ctx.Queue()
            proc = ctx.Process(target=run_one, args=(n, method, limit, queue))
            proc.start()
            row = _result(queue, proc, f"{method} at {n} SKUs")
            proc.join()
            print(
                f"{n:>6} {method:>13} {row['status']:>9} {fmt(row['build'], '9.1f')} "
                f"{fmt(row['solve'], '8.1f')} {row['wall']:>7.1f} "
                f"{fmt(row['objective'], '14.1f')} {fmt(row['bound'], '14.1f')} "
                f"{fmt(row.get('gap'), '8.2%')} {fmt(row.get('decision_gap'), '8.2%')} "
                f"{fmt(row.get('binding_weeks'), '6.0%')} {row['peak_mib']:>8.0f}",
                flush=True,
            )
    print(
        "phase1_s: Lagrangian phase (decomposition) or Pyomo build (naive); total_s: policy time "
        "(decomposition) or HiGHS solve incl. hand-off (naive); wall_s includes both; "
        "gap = (obj - bound)/obj; dec.gap = the same above the purchase floor; "
        "bind% = weeks with storage >= 99 % of capacity"
    )


if __name__ == "__main__":
    main()
