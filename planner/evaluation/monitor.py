"""Forecast monitoring: every recorded forecast scored against what sold once its weeks are known.

For each ``forecast`` run of a scenario in the run store, its weekly quantiles are joined to the
demand now in the scenario's dataset (uncensored weeks up to the last one with data). Per run
(its *origin* is the first forecast week) and per dimension (``all``; the forecast ``week``;
``horizon`` 1, 2, ...;
the demand ``class`` of the SKU at the origin, :mod:`forecast.segments`; the ``supplier``):

- ``wql``: pinball loss summed over the forecast's levels and the known points, over the actual
  units (the weighted quantile loss);
- ``bias``: (sum of forecast means - sum of actuals) / sum of actuals;
- ``coverage80`` / ``coverage90``: share of known points inside the 10-90 % / 5-95 % interval
  (when the forecast has those levels).

**Drift** is flagged when the overall 80 % coverage lies outside ``band`` or the absolute bias
exceeds ``max_bias`` in each of the last ``weeks`` scored origins (each with at least
``min_weeks`` known weeks), so one odd week does not raise it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from forecast.segments import classify_demand
from planner.history.store import RunStore
from planner.inputs.data import load_dataset
from planner.inputs.scenario import load_scenario

DIMENSIONS = ("all", "week", "horizon", "class", "supplier")


@dataclass(frozen=True)
class DriftRule:
    """Drift: coverage80 outside ``band`` or ``|bias| > max_bias`` at each of the last ``weeks`` origins."""

    band: tuple[float, float] = (0.7, 0.9)
    max_bias: float = 0.2
    weeks: int = 3
    min_weeks: int = 4


@dataclass(frozen=True)
class Monitoring:
    """Scores of every recorded forecast of ``scenario`` (one row per run, dimension and key), the
    runs without known weeks yet, and the drift found."""

    scenario: str
    last_week: dt.date
    scores: pd.DataFrame
    pending: list[str]
    rule: DriftRule
    drift: list[str] = field(default_factory=list)

    def overall(self) -> pd.DataFrame:
        """One row per scored forecast run (dimension ``all``), oldest origin first."""
        return self.scores[self.scores["dimension"] == "all"].sort_values("origin").reset_index(drop=True)


def score_forecast(
    forecast: pd.DataFrame, history: pd.DataFrame, suppliers: pd.Series, last_week: pd.Timestamp
) -> pd.DataFrame:
    """Scores (module docstring) of one forecast (the columns of forecasts.csv) against ``history``
    (``sku, week, units, stockout``); empty when none of its weeks is known yet."""
    fc = forecast.assign(week=pd.to_datetime(forecast["week"]))
    origin = fc["week"].min()
    actual = history[
        (history["week"] >= origin) & (history["week"] <= last_week) & (history["stockout"] == 0)
    ]
    points = fc.merge(actual[["sku", "week", "units"]], on=["sku", "week"], how="inner")
    if points.empty:
        return pd.DataFrame()
    classes = classify_demand(history[history["week"] < origin])
    points["class"] = points["sku"].map(classes).fillna("new")
    points["supplier"] = points["sku"].map(suppliers).fillna("?").astype(str)
    points["all"] = "all"
    points["_week"] = points["week"]
    points["week"] = points["week"].dt.strftime("%Y-%m-%d")
    levels = sorted(float(c[1:]) for c in points.columns if c.startswith("q"))
    q = points[[f"q{lv:g}" for lv in levels]].to_numpy(dtype=float)
    y = points["units"].to_numpy(dtype=float)
    diff = y[:, None] - q
    lv = np.array(levels)
    points["_loss"] = np.maximum(lv * diff, (lv - 1.0) * diff).sum(axis=1)
    for name, lo, hi in (("_in80", 0.1, 0.9), ("_in90", 0.05, 0.95)):
        if lo in levels and hi in levels:
            points[name] = ((y >= points[f"q{lo:g}"]) & (y <= points[f"q{hi:g}"])).astype(float)
        else:
            points[name] = np.nan
    parts = []
    for dim in DIMENSIONS:
        g = points.groupby(points[dim].astype(str))
        frame = pd.DataFrame(
            {
                "points": g.size(),
                "actual": g["units"].sum(),
                "_loss": g["_loss"].sum(),
                "_mean": g["mean"].sum(),
                "coverage80": g["_in80"].mean(),
                "coverage90": g["_in90"].mean(),
                "weeks_known": g["_week"].nunique(),
            }
        )
        with np.errstate(invalid="ignore", divide="ignore"):
            frame["wql"] = np.where(frame["actual"] > 0, frame["_loss"] / frame["actual"], np.nan)
            frame["bias"] = np.where(frame["actual"] > 0, frame["_mean"] / frame["actual"] - 1.0, np.nan)
        frame = frame.drop(columns=["_loss", "_mean"]).rename_axis("key").reset_index()
        frame.insert(0, "dimension", dim)
        parts.append(frame)
    out = pd.concat(parts, ignore_index=True)
    out.insert(2, "origin", origin.date())
    return out


def monitor(scenario_path: Path | str, store: RunStore, rule: DriftRule = DriftRule()) -> Monitoring:
    """Score every recorded forecast run of the scenario, store the scores, and look for drift."""
    scenario = load_scenario(scenario_path)
    data = load_dataset(scenario.data)
    history = data.history
    last_week = data.last_week
    suppliers = data.items["supplier"] if "supplier" in data.items else pd.Series(dtype=str)
    runs = store.runs(scenario=scenario.name, command="forecast", limit=100_000)
    scored_at = dt.datetime.now(dt.UTC)
    frames, pending = [], []
    for run_id in runs["id"]:
        scores = score_forecast(store.forecast(run_id), history, suppliers, last_week)
        if scores.empty:
            pending.append(run_id)
            continue
        stored = scores.drop(columns=["weeks_known"]).assign(scored_at=scored_at)
        store.save_scores(run_id, stored)
        frames.append(scores.assign(run_id=run_id))
    scores = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["run_id", *DIMENSIONS])
    result = Monitoring(scenario.name, last_week.date(), scores, pending, rule)
    return replace(result, drift=drift(result.overall(), rule) if frames else [])


def drift(overall: pd.DataFrame, rule: DriftRule) -> list[str]:
    """The drift messages (module docstring) from the per-run overall scores, oldest origin first."""
    if overall.empty or "weeks_known" not in overall:
        return []
    mature = overall[overall["weeks_known"] >= rule.min_weeks].tail(rule.weeks)
    if len(mature) < rule.weeks:
        return []
    lo, hi = rule.band
    out = []
    cov = mature["coverage80"]
    if cov.notna().all() and ((cov < lo) | (cov > hi)).all():
        out.append(
            f"80 % interval coverage outside {lo:.0%}-{hi:.0%} at the last {rule.weeks} origins "
            f"({', '.join(f'{v:.0%}' for v in cov)})"
        )
    bias = mature["bias"]
    if bias.notna().all() and (bias.abs() > rule.max_bias).all():
        out.append(
            f"bias beyond +-{rule.max_bias:.0%} at the last {rule.weeks} origins "
            f"({', '.join(f'{v:+.0%}' for v in bias)})"
        )
    return out


def summary(result: Monitoring, names: Sequence[str] = ("wql", "bias", "coverage80", "coverage90")) -> dict:
    """JSON-ready: the scenario, the last known week, per run the overall scores, the drift."""
    overall = result.overall() if not result.scores.empty else pd.DataFrame()
    runs = [
        {"run_id": r["run_id"], "origin": str(r["origin"]), "weeks_known": int(r["weeks_known"]),
         **{k: (None if pd.isna(r[k]) else float(r[k])) for k in names}}
        for r in overall.to_dict(orient="records")
    ]  # fmt: skip
    return {
        "scenario": result.scenario,
        "last_week": str(result.last_week),
        "rule": {"band": list(result.rule.band), "max_bias": result.rule.max_bias, "weeks": result.rule.weeks,
                 "min_weeks": result.rule.min_weeks},
        "runs": runs,
        "pending": result.pending,
        "drift": result.drift,
    }  # fmt: skip
