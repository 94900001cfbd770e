"""Peer forecasts from statsforecast, run in its own environment (.venv-peer; it needs pandas < 3).

Reads weekly history (Parquet: sku, week, units, stockout) and, for each origin, fits on the
weeks before it and writes quantile forecasts (Parquet: model, origin, sku, week, q...):
AutoETS and CrostonSBA (conformal intervals; naive where a series is too short) for every
series; the bench scores CrostonSBA on the intermittent segment. Quantiles come from the central
prediction intervals (50/80/90 %) with the point forecast as the median, floored at 0.

Usage: python statsforecast_peer.py HISTORY.parquet OUT.parquet --origins 2016-01-04,... --horizon 13
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from statsforecast import StatsForecast
from statsforecast.models import AutoETS, CrostonSBA, Naive
from statsforecast.utils import ConformalIntervals

INTERVALS = (50, 80, 90)


def quantile_columns(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    out = pd.DataFrame({"sku": frame["unique_id"], "week": frame["ds"]})
    out["q0.5"] = frame[name]
    for level in INTERVALS:
        tail = (100 - level) / 200
        out[f"q{tail:g}"] = frame[f"{name}-lo-{level}"]
        out[f"q{1 - tail:g}"] = frame[f"{name}-hi-{level}"]
    cols = sorted((c for c in out.columns if c.startswith("q")), key=lambda c: float(c[1:]))
    values = np.sort(np.maximum(out[cols].to_numpy(dtype=float), 0.0), axis=1)
    out[cols] = values
    return out[["sku", "week", *cols]]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("history")
    parser.add_argument("out")
    parser.add_argument("--origins", required=True)
    parser.add_argument("--horizon", type=int, default=13)
    args = parser.parse_args()
    hist = pd.read_parquet(args.history)
    data = hist.rename(columns={"sku": "unique_id", "week": "ds", "units": "y"})[["unique_id", "ds", "y"]]
    frames, timings = [], []
    for origin in pd.to_datetime(args.origins.split(",")):
        train = data[data["ds"] < origin]
        for name, model in (
            ("AutoETS", AutoETS(season_length=52)),
            ("CrostonSBA", CrostonSBA(prediction_intervals=ConformalIntervals(h=args.horizon, n_windows=2))),
        ):
            t0 = time.perf_counter()
            # series too short for conformal intervals (27 weeks) fall back to the naive model
            sf = StatsForecast(models=[model], freq="7D", n_jobs=1, fallback_model=Naive())
            fc = sf.forecast(df=train, h=args.horizon, level=list(INTERVALS)).reset_index()
            if "unique_id" not in fc.columns:
                fc = fc.rename(columns={"index": "unique_id"})
            seconds = time.perf_counter() - t0
            out = quantile_columns(fc, name)
            out.insert(0, "origin", origin)
            out.insert(0, "model", name)
            frames.append(out)
            timings.append({"model": name, "origin": origin, "seconds": seconds})
    pd.concat(frames, ignore_index=True).to_parquet(args.out, index=False)
    pd.DataFrame(timings).to_parquet(args.out.replace(".parquet", "_timings.parquet"), index=False)


if __name__ == "__main__":
    main()
