"""Does the plan's storage hold under lost sales? Simulated overflow on a family of instances.

Instances: the sample-company generator (seeds 1-5, 300 SKUs, 6 suppliers, lead times 1-12
weeks, MOQs and packs), 26 weeks, the baseline forecast (empirical quantiles, 200 paths), 95 %
service, storage quantile 0.1, storage capacity ``k`` weeks of average demand volume (``k`` = 2
and 4), raised where stock on hand and open orders alone would not fit if sales were slow (share
of weeks raised: column ``raised``). Capacity is a function of the data alone, so the yardstick
does not move with the planner's code. Every
instance is planned by the optimiser and the classical policy and replayed week by week with
lost sales on two sets of demand paths:

- the forecast's own paths (what the plan's storage basis promises: overflow probability at
  most the storage quantile in every week, expected stock never above capacity);
- 400 independent draws from the generator's true demand distribution (what happens; these
  also carry the forecast's errors: the baseline forecast has no seasonality).

Per policy, min / median / max over the instances of, on each set of paths: the worst week's
overflow probability, the number of weeks above the storage quantile and the number of weeks
whose expected stock after receipts is above capacity; on the true paths, the expected fill rate
and operating cost (ordering + holding).

    python bench/storage_overflow.py [--seeds 1,2,3,4,5] [--skus 300] [--cover 2,4] [--time-limit 20]
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

import numpy as np

HORIZON = 26
QUANTILE = 0.1


def replay(data, receipts: np.ndarray, paths: np.ndarray) -> dict[str, np.ndarray]:
    """Lost-sales replay of ``receipts[S, H]`` on ``paths[S, N, H]``: volume after receipts ``[H, N]``,
    units lost and demanded, holding cost."""
    from planner.core.accounting import replay_weeks

    volume, lost, demand, holding = [], 0.0, 0.0, 0.0
    for week in replay_weeks(data.on_hand, receipts, paths):
        volume.append(data.unit_volume @ week.available)
        lost += float(week.unmet.sum())
        demand += float(week.demand.sum())
        holding += float(data.holding_cost @ week.end_stock.mean(axis=1))
    return {"volume": np.array(volume), "fill": 1 - lost / demand if demand else 1.0, "holding": holding}


def fixed_stock(data) -> np.ndarray:
    """Stock on hand and open orders after receipts ``[S, H]`` if sales are slow (the weekly steps of
    the 0.1 quantile of cumulative demand), under lost sales: no new order."""
    steps = np.diff(data.storage_cum, axis=1, prepend=0.0)
    out = np.zeros_like(steps)
    stock = data.on_hand.astype(float)
    for t in range(data.horizon):
        out[:, t] = stock + data.open_arrivals[:, t]
        stock = np.maximum(0.0, out[:, t] - steps[:, t])
    return out


def instance(seed: int, n_skus: int, cover: float):
    """PlanningData of one instance and the true demand paths of its horizon ``[S, N, H]``."""
    from planner.inputs.sample import generate_sample, sample_truth, write_sample
    from planner.run.forecasting import make_forecast
    from planner.run.planning import planning_data
    from planner.run.prepare import prepare

    company = generate_sample(seed=seed, n_skus=n_skus)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_sample(company, root / "data")
        (root / "s.yaml").write_text(
            f"name: bench\ndata: data\nhorizon_weeks: {HORIZON}\nstorage_quantile: {QUANTILE}\n"
            "forecast: {model: baseline, n_paths: 200, seed: 0}\n"
        )
        prep = prepare(root / "s.yaml")
        data = planning_data(prep, make_forecast(prep), "optimizer")
    weekly_volume = float(data.unit_volume @ data.demand_mean.mean(axis=1))
    capacity = np.maximum(cover * weekly_volume, 1.01 * (data.unit_volume @ fixed_stock(data)))
    data = dataclasses.replace(data, capacity=capacity)
    truth = company.truth
    future = truth[truth["week"].isin(data.weeks)].sort_values(["sku", "week"])
    draws = sample_truth(future.reset_index(drop=True), 400, seed=seed)  # [S*H, N]
    order = {sku: i for i, sku in enumerate(data.skus)}
    true_paths = np.zeros((data.n_skus, 400, data.horizon))
    rows = future["sku"].map(order).to_numpy()
    cols = data.weeks.get_indexer(future["week"])
    true_paths[rows, :, cols] = draws
    return data, true_paths, float((capacity > cover * weekly_volume).mean())


def measure(data, orders: np.ndarray, true_paths: np.ndarray) -> dict[str, float]:
    from planner.core.accounting import arrivals, order_costs

    receipts = arrivals(data, orders)
    cap = data.capacity[:, None]
    own = replay(data, receipts, data.forecast.paths)
    real = replay(data, receipts, true_paths)
    p_own = (own["volume"] > cap + 1e-6).mean(axis=1)
    p_real = (real["volume"] > cap + 1e-6).mean(axis=1)
    return {
        "p_max_forecast": float(p_own.max()),
        "weeks_above_q_forecast": int((p_own > QUANTILE).sum()),
        "weeks_expected_over_forecast": int((own["volume"].mean(axis=1) > data.capacity + 1e-6).sum()),
        "p_max_true": float(p_real.max()),
        "weeks_above_q_true": int((p_real > QUANTILE).sum()),
        "weeks_expected_over_true": int((real["volume"].mean(axis=1) > data.capacity + 1e-6).sum()),
        "fill_true": real["fill"],
        "operating_cost_true": order_costs(data, orders)["ordering"] + real["holding"],
    }


def main() -> None:
    from planner.inputs.scenario import SolverSpec
    from planner.run.planning import run_policy

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="1,2,3,4,5")
    parser.add_argument("--skus", type=int, default=300)
    parser.add_argument("--cover", default="2,4", help="capacity in weeks of average demand volume")
    parser.add_argument("--time-limit", type=float, default=20.0)
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    covers = [float(c) for c in args.cover.split(",")]
    solver = SolverSpec(time_limit_s=args.time_limit, threads=2, mip_gap=0.01, seed=0)
    rows: dict[str, list[dict[str, float]]] = {"optimizer": [], "classical": []}
    head = (
        "seed",
        "cover",
        "raised",
        "    policy",
        "p max fc",
        "wk>q fc",
        "E>cap fc",
        "p max tr",
        "wk>q tr",
        "E>cap tr",
    )
    print(" ".join(f"{h:>8}" for h in head), f"{'fill tr':>7} {'op. cost':>10} {'s':>5}")
    for seed in seeds:
        for cover in covers:
            data, true_paths, raised = instance(seed, args.skus, cover)
            for policy in rows:
                t0 = time.perf_counter()
                result = run_policy(policy, data, solver)
                row = measure(data, result.orders, true_paths)
                rows[policy].append(row)
                print(
                    f"{seed:>8} {cover:>8g} {raised:>8.2f} {policy:>10} {row['p_max_forecast']:>8.3f} "
                    f"{row['weeks_above_q_forecast']:>8} {row['weeks_expected_over_forecast']:>8} "
                    f"{row['p_max_true']:>8.3f} "
                    f"{row['weeks_above_q_true']:>8} "
                    f"{row['weeks_expected_over_true']:>8} {row['fill_true']:>7.3f} "
                    f"{row['operating_cost_true']:>10,.0f} {time.perf_counter() - t0:>5.0f}",
                    flush=True,
                )
    print(f"\nmin / median / max over {len(seeds) * len(covers)} instances (storage quantile {QUANTILE}):")
    for policy, found in rows.items():
        for key in found[0]:
            values = np.array([r[key] for r in found], dtype=float)
            print(
                f"  {policy:<10} {key:<26} {values.min():>12,.3f} {np.median(values):>12,.3f} "
                f"{values.max():>12,.3f}"
            )


if __name__ == "__main__":
    main()
