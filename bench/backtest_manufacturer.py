"""Decisions on lumpy demand with long lead times: the optimiser against the textbook reorder point.

The standard measurement on the manufacturer's shared half (``../shared/data/manufacturer_weekly``,
SOURCE.md): a rolling policy backtest over the last 50 weeks (weeks 101-150), horizon 26 weeks,
service level 0.95, no storage limit, 20 s of optimiser time per origin, on the SKUs with demand
in at least 20 of weeks 1-100. Every policy's committed orders are replayed week by week against
the actual demand with lost sales (``planner backtest``). Operating cost = holding (20 %/year of
unit cost on end-of-week stock) + EUR 5 per order line; lost sales cost nothing here and show in
the fill rate and cycle service (share of SKU-weeks with demand whose demand was met in full).

Printed per forecast model (default: the default ensemble and the baseline of empirical
quantiles): the optimiser and the planner's classical policy; once: perfect foresight and the
textbook frontier (reorder point mu (L+1) + z sigma sqrt(L+1) on the rolling 52-week mean and
standard deviation, EOQ lots, a sweep of z). For each policy, the frontier's cost at the same
fill rate (linear between the sweep's points) and the policy's cost relative to it, and the share
of the textbook's excess over perfect foresight the policy closes. Targets (issue 22):

- the default pipeline's optimiser at most 0.85 x the textbook frontier at the same fill rate;
- it closes at least 40 % of the textbook's excess over perfect foresight;
- its realised service within 2 points of the target, at targets 0.90, 0.95 and 0.98
  (``--service 0.9,0.95,0.98``). The target is a fill rate (planner/core/service.py), so the realised
  fill rate is what is checked; cycle service (weeks with demand met in full) is printed beside it.

    python bench/backtest_manufacturer.py [--data ../shared/data/manufacturer_weekly]
        [--models ensemble,baseline] [--service 0.95] [--origins 50] [--time-limit 20]
        [--refit-every 4] [--min-weeks 20] [--z 0.5,...]

The held-out half is measured by pointing ``--data`` at it.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from planner.evaluation.backtest import BacktestResult, run_backtest  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "manufacturer_weekly"
FIRST_WEEKS = 100  # demand counted in weeks 1..100 to choose the SKUs
Z_SWEEP = (0.0, 0.5, 1.0, 1.282, 1.645, 2.054, 2.326, 2.576, 3.09, 3.5, 4.0)
TARGET_RATIO = 0.85
TARGET_CLOSED = 0.40
SERVICE_TOLERANCE = 0.02


def subset(source: Path, work: Path, min_weeks: int) -> list[str]:
    """Copy the dataset's SKUs with demand in at least ``min_weeks`` of its first 100 weeks to ``work``."""
    demand = pd.read_csv(source / "demand.csv")
    weeks = sorted(demand["date"].unique())[:FIRST_WEEKS]
    early = demand[demand["date"].isin(weeks)]
    counts = early[early["units"] > 0].groupby("sku").size()
    keep = sorted(counts[counts >= min_weeks].index)
    work.mkdir(parents=True, exist_ok=True)
    for name in ("demand", "items", "inventory"):
        frame = pd.read_csv(source / f"{name}.csv", dtype=str, keep_default_na=False)
        frame[frame["sku"].isin(keep)].to_csv(work / f"{name}.csv", index=False)
    (work / "suppliers.csv").write_bytes((source / "suppliers.csv").read_bytes())
    return keep


def scenario(work: Path, model: str, service: float, args: argparse.Namespace, policies: list[str]) -> Path:
    path = work / f"{model}_{service:g}.yaml"
    z = ", ".join(f"{v:g}" for v in args.z)
    path.write_text(
        f"name: manufacturer_{model}\n"
        "data: data\n"
        "horizon_weeks: 26\n"
        f"service_level: {service:g}\n"
        "shortage_cost_factor: 0\n"
        f"forecast: {{model: {model}, n_paths: 200, seed: 0}}\n"
        f"solver: {{time_limit_s: {args.time_limit:g}, threads: 2, seed: 0}}\n"
        f"backtest: {{origins: {args.origins}, refit_every: {args.refit_every}, "
        f"policies: [{', '.join(policies)}], textbook_z: [{z}]}}\n"
    )
    return path


def frontier_cost(frontier: pd.DataFrame, fill: float) -> float:
    """The textbook frontier's operating cost at fill rate ``fill`` (linear between its points;
    NaN outside the sweep)."""
    pts = frontier.sort_values("fill_rate")
    x, y = pts["fill_rate"].to_numpy(), pts["operating_cost"].to_numpy()
    if fill < x[0] or fill > x[-1]:
        return float("nan")
    return float(np.interp(fill, x, np.maximum.accumulate(y)))


def rows(result: BacktestResult, forecast: str) -> pd.DataFrame:
    frame = result.summary.copy()
    frame.insert(
        1,
        "forecast",
        np.where(
            frame["policy"].str.startswith("textbook") | (frame["policy"] == "perfect_foresight"),
            "-",
            forecast,
        ),
    )
    return frame


def report(table: pd.DataFrame, service: float) -> dict[str, float]:
    frontier = table[table["policy"].str.startswith("textbook")]
    pf = float(table.loc[table["policy"] == "perfect_foresight", "operating_cost"].iloc[0])
    table = table.copy()
    table["frontier_at_fill"] = [frontier_cost(frontier, f) for f in table["fill_rate"]]
    table["vs_frontier"] = table["operating_cost"] / table["frontier_at_fill"]
    table["closed"] = (table["frontier_at_fill"] - table["operating_cost"]) / (table["frontier_at_fill"] - pf)
    show = table[
        [
            "policy",
            "forecast",
            "operating_cost",
            "ordering_cost",
            "holding_cost",
            "fill_rate",
            "cycle_service",
            "frontier_at_fill",
            "vs_frontier",
            "closed",
        ]
    ]
    print(
        show.to_string(
            index=False,
            formatters={
                "operating_cost": "{:,.0f}".format,
                "ordering_cost": "{:,.0f}".format,
                "holding_cost": "{:,.0f}".format,
                "fill_rate": "{:.3f}".format,
                "cycle_service": "{:.3f}".format,
                "frontier_at_fill": "{:,.0f}".format,
                "vs_frontier": "{:.3f}".format,
                "closed": "{:+.0%}".format,
            },
        )
    )
    return {
        f"{r.policy}|{r.forecast}": (r.vs_frontier, r.closed, r.fill_rate - service)
        for r in table.itertuples()
        if r.policy in ("optimizer", "classical")
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--models", default="ensemble,baseline")
    parser.add_argument("--service", default="0.95", help="comma-separated service levels")
    parser.add_argument("--origins", type=int, default=50)
    parser.add_argument("--time-limit", type=float, default=20.0)
    parser.add_argument("--refit-every", type=int, default=4)
    parser.add_argument("--min-weeks", type=int, default=20)
    parser.add_argument("--z", type=lambda s: [float(v) for v in s.split(",")], default=list(Z_SWEEP))
    args = parser.parse_args()
    if not (args.data / "demand.csv").exists():
        print(f"skipped: {args.data} not found (the manufacturer's data lives in ../shared)")
        return 0
    logging.basicConfig(level=logging.WARNING)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    services = [float(v) for v in args.service.split(",")]
    failed = False
    with tempfile.TemporaryDirectory(prefix="bench-manufacturer-") as tmp:
        work = Path(tmp)
        skus = subset(args.data, work / "data", args.min_weeks)
        print(
            f"{args.data.name}: {len(skus)} SKUs with demand in >= {args.min_weeks} "
            f"of weeks 1-{FIRST_WEEKS}; "
            f"{args.origins} origins, horizon 26, {args.time_limit:g} s per origin"
        )
        for service in services:
            tables = []
            for i, model in enumerate(models):
                policies = ["optimizer", "classical"] + (["perfect_foresight", "textbook"] if i == 0 else [])
                t0 = time.perf_counter()
                result = run_backtest(scenario(work, model, service, args, policies))
                print(f"  {model} at service {service:g}: {time.perf_counter() - t0:.0f} s", flush=True)
                tables.append(rows(result, model))
            table = pd.concat(tables, ignore_index=True)
            print(f"\nservice target {service:g}:")
            scores = report(table, service)
            default = scores.get(f"optimizer|{models[0]}")
            if default is not None:
                ratio, closed, off = default
                ok = ratio <= TARGET_RATIO and closed >= TARGET_CLOSED and abs(off) <= SERVICE_TOLERANCE
                failed |= not ok
                print(
                    f"optimizer ({models[0]}): {ratio:.3f} x the textbook frontier at its fill rate "
                    f"(target <= {TARGET_RATIO}), closes {closed:.0%} of the textbook's excess over perfect "
                    f"foresight (target >= {TARGET_CLOSED:.0%}), fill rate {off:+.3f} from the target "
                    f"(target within {SERVICE_TOLERANCE}): {'met' if ok else 'NOT met'}"
                )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
