"""Forecast accuracy and speed: rolling-origin backtest on M5 (280 weekly series) and the sample.

Every model is refitted at every origin on the weeks before it (4 origins x 13 weeks by
default); the peer library statsforecast (AutoETS; CrostonSBA on intermittent series) runs
in its own environment (.venv-peer, made by ``make bench``) on the same origins. Prints one
table per dataset (WQL, scaled pinball, coverage 80/90, MASE, fit and predict seconds) and
checks the targets of the forecasting issue:

- ensemble WQL at least 8 % below the best of seasonal naive, empirical quantiles, AutoETS;
- 80 % interval coverage in [77, 83] %, 90 % in [87, 93] %;
- LightGBM fit + predict under 30 s and the LSTM under 180 s (totals per origin).

On the sample company the true demand distribution is known: "true cov80/90" is the
probability, under the truth, that demand falls inside the forecast interval (averaged over
SKU-weeks), free of the noise of one realisation.

    python bench/forecast_m5.py [--m5 ../shared/data/m5_tiny] [--origins 4] [--horizon 13]
"""

from __future__ import annotations

import argparse
import logging
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from forecast.backtest import first_weeks, lead_time_rows, origins, run_backtest  # noqa: E402
from forecast.metrics import evaluate, summarise  # noqa: E402
from forecast.quantile_paths import forecast_from_quantiles  # noqa: E402
from forecast.segments import DEMAND_CLASSES, classify_demand  # noqa: E402
from planner.evaluation.forecasts import DEFAULT_MODELS, EVAL_LEVELS, model_factories  # noqa: E402
from planner.inputs.data import load_dataset  # noqa: E402
from planner.inputs.scenario import ForecastSpec  # noqa: E402

PEER_PYTHON = ROOT / ".venv-peer" / "bin" / "python"
PEER_SCRIPT = ROOT / "bench" / "peer" / "statsforecast_peer.py"
BASELINES = ("seasonal_naive", "baseline", "AutoETS")
COLUMNS = ["model", "wql", "scaled_pinball", "cov80", "cov90", "mase", "fit_s", "predict_s"]


def factories(names: list[str], horizon: int, n_paths: int) -> dict:
    spec = ForecastSpec(model="baseline", n_paths=n_paths, seed=0)
    return model_factories(spec, names, horizon)


def peer_points(
    history: pd.DataFrame,
    starts: pd.DatetimeIndex,
    horizon: int,
    work: Path,
    lead_time: pd.Series | None = None,
) -> pd.DataFrame:
    """statsforecast forecasts scored like our models (weekly; over the lead time too when
    ``lead_time`` is given, with independent weeks); empty if the peer environment is missing."""
    if not PEER_PYTHON.exists():
        print(f"(statsforecast skipped: {PEER_PYTHON} missing; 'make bench' creates it)")
        return pd.DataFrame()
    hist_file, out_file = work / "history.parquet", work / "peer.parquet"
    history[["sku", "week", "units", "stockout"]].to_parquet(hist_file, index=False)
    cmd = [str(PEER_PYTHON), str(PEER_SCRIPT), str(hist_file), str(out_file)]
    span = horizon if lead_time is None else max(horizon, int(lead_time.max()) + 1)
    cmd += ["--origins", ",".join(str(o.date()) for o in starts), "--horizon", str(span)]
    subprocess.run(cmd, check=True)
    peer = pd.read_parquet(out_file)
    timings = pd.read_parquet(str(out_file).replace(".parquet", "_timings.parquet"))
    levels = sorted(float(c[1:]) for c in peer.columns if c.startswith("q"))
    parts = []
    for (name, origin), frame in peer.groupby(["model", "origin"], sort=False):
        before = history[history["week"] < origin]
        skus = sorted(before["sku"].unique())
        weeks = pd.date_range(origin, periods=span, freq="7D")
        wide = frame.assign(week=pd.to_datetime(frame["week"])).set_index(["sku", "week"])
        q = np.stack(
            [wide[f"q{lv:g}"].unstack("week").reindex(index=skus, columns=weeks) for lv in levels], -1
        )
        n_paths = 20 if lead_time is None else 500
        fc = forecast_from_quantiles(
            skus, weeks, levels, np.nan_to_num(q), EVAL_LEVELS, n_paths=n_paths, rho=0.0, seed=0, model=name
        )
        actuals = history[(history["week"] >= origin) & (history["week"] <= weeks[-1])]
        classes = classify_demand(before)
        rows = evaluate(actuals, first_weeks(fc, horizon), before).assign(target="weekly")
        if lead_time is not None:
            rows = pd.concat(
                [rows, lead_time_rows(actuals, fc, before, lead_time).assign(target="lead_time")]
            )
        rows.insert(0, "origin", origin)
        rows.insert(0, "model", name)
        rows["class"] = rows["sku"].map(classes).fillna("new")
        parts.append(rows)
    points = pd.concat(parts, ignore_index=True)
    smooth = points["class"].isin(["smooth", "erratic"])
    combo = pd.concat(
        [
            points[(points["model"] == "AutoETS") & smooth],
            points[(points["model"] == "CrostonSBA") & ~smooth],
        ]
    ).assign(model="ETS+SBA")
    points = pd.concat([points, combo], ignore_index=True)
    points.attrs["timings"] = timings.groupby("model")["seconds"].sum().to_dict()
    return points


def table(points: pd.DataFrame, timings: pd.DataFrame, peer_times: dict) -> pd.DataFrame:
    out = summarise(points, by=["model"])
    times = timings.groupby("model")[["fit_s", "predict_s"]].sum()
    out = out.join(times, on="model")
    for name, seconds in peer_times.items():
        out.loc[out["model"] == name, "fit_s"] = seconds
    return out


def verdict(ok: bool) -> str:
    return "MET" if ok else "MISSED"


def check_targets(tab: pd.DataFrame, n_origins: int) -> list[str]:
    by = tab.set_index("model")
    lines = []
    if "ensemble" in by.index:
        present = [b for b in BASELINES if b in by.index]
        best = by.loc[present, "wql"].idxmin()
        ens, ref = by.loc["ensemble", "wql"], by.loc[best, "wql"]
        gain = 1 - ens / ref
        lines.append(
            f"ensemble WQL {ens:.4f} vs best baseline {best} {ref:.4f}: "
            f"{gain:+.1%} lower (target >= 8 %) {verdict(gain >= 0.08)}"
        )
        c80, c90 = by.loc["ensemble", "cov80"], by.loc["ensemble", "cov90"]
        lines.append(
            f"ensemble coverage: 80 % interval {c80:.1%} (77-83 %) {verdict(0.77 <= c80 <= 0.83)}, "
            f"90 % interval {c90:.1%} (87-93 %) {verdict(0.87 <= c90 <= 0.93)}"
        )
    for name, limit in (("lightgbm", 30.0), ("lstm", 180.0)):
        if name in by.index:
            per = (by.loc[name, "fit_s"] + by.loc[name, "predict_s"]) / n_origins
            lines.append(
                f"{name} fit + predict {per:.1f} s per origin (< {limit:.0f} s) {verdict(per < limit)}"
            )
    return lines


def true_coverage(points: pd.DataFrame, truth: pd.DataFrame, draws: np.ndarray) -> pd.DataFrame:
    """Probability under the true distribution that demand lies in each model's 80/90 % interval."""
    keys = pd.MultiIndex.from_frame(truth[["sku", "week"]])
    rows = []
    for model, frame in points.groupby("model", sort=False):
        wide = frame.pivot_table(index=["sku", "week", "origin"], columns="level", values="q").reset_index()
        pos = keys.get_indexer(pd.MultiIndex.from_frame(wide[["sku", "week"]]))
        ok = pos >= 0
        d = draws[pos[ok]]
        out = {"model": model}
        for lo, hi, name in ((0.1, 0.9, "true_cov80"), (0.05, 0.95, "true_cov90")):
            if lo in wide.columns and hi in wide.columns:
                low, high = wide.loc[ok, lo].to_numpy()[:, None], wide.loc[ok, hi].to_numpy()[:, None]
                out[name] = float(((d >= low) & (d <= high)).mean())
        rows.append(out)
    return pd.DataFrame(rows)


def run(name: str, history: pd.DataFrame, attrs: pd.DataFrame, events: pd.DataFrame, args, work: Path):
    starts = origins(history["week"].max(), args.origins, args.horizon)
    print(f"\n{name}: {history['sku'].nunique()} series, origins {', '.join(str(o.date()) for o in starts)}")
    t0 = time.perf_counter()
    result = run_backtest(
        history,
        factories(args.models.split(","), args.horizon, args.n_paths),
        starts,
        args.horizon,
        EVAL_LEVELS,
        attrs,
        events,
    )
    peer = peer_points(history, starts, args.horizon, work)
    points = pd.concat([result.points, peer], ignore_index=True) if len(peer) else result.points
    tab = table(points, result.timings, peer.attrs.get("timings", {}) if len(peer) else {})
    print(tab[COLUMNS].to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    for klass in (c for c in DEMAND_CLASSES if c in set(points["class"])):
        seg = summarise(points[points["class"] == klass], by=["model"])
        print(
            f"  {klass}: " + ", ".join(f"{m} {w:.3f}" for m, w in zip(seg["model"], seg["wql"], strict=True))
        )
    for line in check_targets(tab, args.origins):
        print("  " + line)
    print(f"  ({time.perf_counter() - t0:.0f} s)")
    return points


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--m5", type=Path, default=ROOT.parent / "shared" / "data" / "m5_tiny")
    parser.add_argument("--origins", type=int, default=4)
    parser.add_argument("--horizon", type=int, default=13)
    parser.add_argument("--n-paths", type=int, default=200)
    parser.add_argument("--models", default=",".join(DEFAULT_MODELS))
    parser.add_argument("--no-sample", action="store_true", help="skip the sample company")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if args.m5.exists():
            from planner.inputs.m5 import find_m5_files, import_m5, load_assumptions

            import_m5(*find_m5_files(args.m5), work / "m5", load_assumptions(None))
            ds = load_dataset(work / "m5")
            run(
                "M5 (m5_tiny, weekly)",
                ds.history,
                ds.items[["category", "supplier"]],
                ds.calendar,
                args,
                work,
            )
        else:
            print(f"M5 data not found at {args.m5}: skipped")
        if not args.no_sample:
            from planner.inputs.sample import generate_sample, sample_truth

            ds = load_dataset(ROOT / "planner" / "sample_data")
            points = run(
                "sample company", ds.history, ds.items[["category", "supplier"]], ds.calendar, args, work
            )
            truth = generate_sample().truth
            truth = truth[truth["week"].isin(points["week"].unique())].reset_index(drop=True)
            cov = true_coverage(points, truth, sample_truth(truth, 400, seed=1))
            print("  calibration against the known true distribution:")
            print(cov.to_string(index=False, float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    main()
