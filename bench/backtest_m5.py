"""Rolling policy backtest on M5 (m5_tiny, imported to weeks) and on the bundled sample company.

At each of the last ``--origins`` history weeks every policy plans on the forecast made from the
weeks before it, commits that week's orders and the actual week is replayed (``planner backtest``;
see planner/evaluation/backtest.py for the accounting). M5 has no costs, lead times or MOQs: the importer's
documented assumptions (planner/assumptions/m5.yaml: one supplier per department, lead times 1 to
8 weeks, order costs, minimum order values, packs, MOQs, cost and shortage ratios of the price)
make the planning problem; the M5 scenario has no storage limit. Targets checked (issue 5):

- the optimiser's total cost at least 15 % below the classical policy's at equal or better fill rate;
- the optimiser's realised cycle service within 2 points of the 0.95 target;
- the gap to perfect foresight, reported for both.

    python bench/backtest_m5.py [--m5 ../shared/data/m5_tiny] [--origins 12] [--time-limit 20]
        [--refit-every 4] [--model ensemble] [--datasets m5,sample]
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from planner.evaluation.backtest import BacktestResult, run_backtest  # noqa: E402
from planner.inputs.m5 import find_m5_files, import_m5, load_assumptions  # noqa: E402

TARGET_SAVING = 0.15
TARGET_SERVICE = 0.95
SERVICE_TOLERANCE = 0.02


def m5_scenario(m5_dir: Path, work: Path, model: str, horizon: int) -> Path:
    """Import m5_tiny into ``work/data`` and write a scenario planning it at 95 % service."""
    sales, calendar, prices = find_m5_files(m5_dir)
    import_m5(sales, calendar, prices, work / "data", load_assumptions())
    path = work / "m5.yaml"
    path.write_text(
        "name: m5_tiny\n"
        "data: data\n"
        f"horizon_weeks: {horizon}\n"
        "service_level: 0.95\n"
        f"forecast: {{model: {model}, n_paths: 200, seed: 0}}\n"
        "solver: {mip_gap: 0.01, threads: 2, seed: 0}\n"
    )
    return path


def sample_scenario(work: Path, model: str) -> Path:
    """The default scenario (bundled sample company, storage 350 m3) with the chosen forecaster."""
    path = work / "sample.yaml"
    path.write_text(
        f"name: sample\nextends: {ROOT / 'scenarios' / 'base.yaml'}\n"
        f"forecast: {{model: {model}, n_paths: 200, seed: 0}}\n"
    )
    return path


def report(label: str, result: BacktestResult, seconds: float) -> None:
    table = result.table()
    w = result.window.weeks
    skus = len(result.window.skus)
    print(f"\n{label}: {skus} SKUs, {len(w)} origins {w[0].date()}..{w[-1].date()}, {seconds:.0f} s")
    print(
        table.to_string(
            index=False,
            formatters={
                "total cost": "{:,.0f}".format,
                "operating cost": "{:,.0f}".format,
                "ordering": "{:,.0f}".format,
                "holding": "{:,.0f}".format,
                "shortage": "{:,.0f}".format,
                "fill rate": "{:.2%}".format,
                "cycle service": "{:.2%}".format,
                "avg inventory value": "{:,.0f}".format,
                "turnover": "{:.2f}".format,
                "gap total": "{:+.1%}".format,
                "gap operating": "{:+.1%}".format,
            },
        )
    )
    s = result.summary.set_index("policy")
    if {"optimizer", "classical"} <= set(s.index):
        opt, cls = s.loc["optimizer"], s.loc["classical"]
        for cost in ("total_cost", "operating_cost"):
            saving = 1 - opt[cost] / cls[cost]
            ok = saving >= TARGET_SAVING and opt["fill_rate"] >= cls["fill_rate"]
            print(
                f"  optimizer vs classical, {cost.replace('_', ' ')}: {saving:+.1%} saving "
                f"(target >= {TARGET_SAVING:.0%}), fill {opt['fill_rate']:.2%} vs {cls['fill_rate']:.2%} "
                f"-> {'met' if ok else 'MISSED'}"
            )
        off = opt["cycle_service"] - TARGET_SERVICE
        ok = abs(off) <= SERVICE_TOLERANCE
        print(
            f"  optimizer cycle service {opt['cycle_service']:.2%} ({off * 100:+.1f} pts vs "
            f"{TARGET_SERVICE:.0%}, target within {SERVICE_TOLERANCE * 100:.0f}) -> "
            f"{'met' if ok else 'MISSED'}"
        )
    origins = result.origins
    opt_rows = origins[origins["policy"] == "optimizer"]
    if len(opt_rows):
        print(
            f"  optimizer per origin: median gap {opt_rows['gap'].median():.1%}, "
            f"median {opt_rows['seconds'].median():.1f} s, "
            f"statuses {opt_rows['status'].value_counts().to_dict()}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--m5", type=Path, default=ROOT.parent / "shared" / "data" / "m5_tiny")
    parser.add_argument("--origins", type=int, default=12)
    parser.add_argument("--time-limit", type=float, default=20.0, help="optimiser seconds per origin")
    parser.add_argument("--refit-every", type=int, default=4)
    parser.add_argument("--model", default="ensemble", help="forecast model of both scenarios")
    parser.add_argument("--horizon", type=int, default=16, help="planning weeks of the M5 scenario")
    parser.add_argument("--datasets", default="m5,sample")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    pd.set_option("display.width", 200)
    datasets = [d.strip() for d in args.datasets.split(",")]
    options = {"origins": args.origins, "refit_every": args.refit_every, "time_limit_s": args.time_limit}
    print(
        f"rolling policy backtest: {args.origins} weekly origins, forecaster '{args.model}' refitted every "
        f"{args.refit_every} origins, optimiser {args.time_limit:g} s per origin"
    )
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if "m5" in datasets:
            if args.m5.is_dir():
                t0 = time.perf_counter()
                scenario = m5_scenario(args.m5, work, args.model, args.horizon)
                report("M5 (m5_tiny, weekly)", run_backtest(scenario, **options), time.perf_counter() - t0)
            else:
                print(f"(M5 skipped: {args.m5} not found)")
        if "sample" in datasets:
            t0 = time.perf_counter()
            result = run_backtest(sample_scenario(work, args.model), **options)
            report("sample company (scenarios/base.yaml)", result, time.perf_counter() - t0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
