"""The outputs of every command, published as one set (:class:`planner.base.io.StagedOutputs`).

Each ``write_*`` takes a run's typed result and an output folder; the manifest (resolved
scenario, input and output checksums, versions, seeds, timings, warnings) is written last.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from forecast import Forecast
from forecast.backtest import BacktestResult as ForecastBacktest
from forecast.persist import (
    history_hash,
    save_forecaster,
)
from planner.base.io import StagedOutputs, file_sha256
from planner.evaluation.backtest import ASSUMPTIONS as BACKTEST_ASSUMPTIONS
from planner.evaluation.backtest import BacktestResult
from planner.evaluation.compare import Comparison, Frontier
from planner.evaluation.monitor import Monitoring
from planner.evaluation.simulate import SimulationRun
from planner.inputs.location import absolute
from planner.reporting.report import frontier_comparison, render_report
from planner.run.forecasting import ForecastRun
from planner.run.planning import PlanRun
from planner.run.prepare import Prepared
from planner.run.record import manifest

log = logging.getLogger(__name__)


def write_plan(run: PlanRun, out_dir: Path) -> list[Path]:
    """Publish purchase_plan.csv, projection.csv, summary.json and manifest.json together."""
    res = run.result
    extra = {
        "policy": res.policy,
        "solver": {
            "status": str(res.status),
            "objective": res.objective,
            "bound": res.bound,
            "gap": res.gap,
            "time_limit_cut": list(res.cut),
            "timings_s": res.timings,
        },
    }
    with StagedOutputs(out_dir) as staged:
        staged.csv("purchase_plan.csv", run.lines)
        staged.csv("projection.csv", run.projection.round(4))
        staged.json("summary.json", run.summary)
        staged.manifest("manifest.json", manifest(run.prepared, run.timings, extra))
        return staged.commit()


def write_kpis(prep: Prepared, kpis: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Publish kpis.csv and its manifest together."""
    with StagedOutputs(out_dir) as staged:
        staged.csv("kpis.csv", kpis.replace([np.inf, -np.inf], np.nan).round(6))
        staged.manifest("kpis_manifest.json", manifest(prep, prep.timings))
        return staged.commit()


def write_simulation(run: SimulationRun, out_dir: Path) -> list[Path]:
    """Publish simulation_{summary,paths,weekly,sku}.csv and simulation.json together."""
    res = run.result
    extra = {}
    if run.actuals is not None:
        path = absolute(run.actuals)
        extra["actuals"] = {"path": str(path), "sha256": file_sha256(path)}
    info = {
        "policy": run.plan.result.policy,
        "plan_status": str(run.plan.result.status),
        "demand": "actuals" if run.actuals is not None else "forecast_paths",
        "unmet_demand": res.unmet_demand,
        "n_paths": res.n_paths,
        "summary": res.summary_dict(),
        "manifest": manifest(run.plan.prepared, run.plan.timings, extra),
    }
    with StagedOutputs(out_dir) as staged:
        staged.csv("simulation_summary.csv", res.summary.round(6))
        staged.csv("simulation_paths.csv", res.paths.round(6))
        staged.csv("simulation_weekly.csv", res.weekly.round(4))
        staged.csv("simulation_sku.csv", res.per_sku.round(6))
        staged.manifest("simulation.json", info)
        return staged.commit()


def paths_frame(forecast: Forecast) -> pd.DataFrame:
    """Sample paths, one row per SKU and path, one column per week (ISO date)."""
    s, n, h = forecast.paths.shape
    frame = pd.DataFrame(forecast.paths.reshape(s * n, h), columns=forecast.weeks.strftime("%Y-%m-%d"))
    frame.insert(0, "path", np.tile(np.arange(n), s))
    frame.insert(0, "sku", np.repeat(forecast.skus, n))
    return frame


def write_forecast(run: ForecastRun, out_dir: Path) -> list[Path]:
    """Publish forecasts.csv, cumulative.csv, paths.parquet, the model folder and a manifest together."""
    prep, fc = run.prepared, run.forecast
    data_hash = history_hash(prep.history)
    extra = {"forecast": {"model": run.model.name, "params": run.model.params(), "history_sha256": data_hash}}
    with StagedOutputs(out_dir) as staged:
        staged.csv("forecasts.csv", fc.weekly_frame().round(4))
        staged.csv("cumulative.csv", fc.cumulative_frame().round(4))
        staged.parquet("paths.parquet", paths_frame(fc))
        if spec_saves(prep):
            staged.directory("model", lambda d: save_forecaster(run.model, d, data_hash=data_hash))
        staged.manifest("forecast_manifest.json", manifest(prep, prep.timings, extra))
        return staged.commit()


def spec_saves(prep: Prepared) -> bool:
    """A trained model is saved unless it was loaded or reads a file."""
    spec = prep.scenario.forecast
    return spec.load is None and spec.model != "file"


def write_comparison(comparison: Comparison, out_dir: Path) -> list[Path]:
    """Publish costs.csv, service.csv, weekly.csv, spend_by_supplier.csv, compare.json and
    report.html (:func:`planner.reporting.report.render_report`) together."""
    report = render_report(comparison)
    with StagedOutputs(out_dir) as staged:
        staged.csv("costs.csv", comparison.costs().round(6))
        staged.csv("service.csv", comparison.service().round(6))
        staged.csv("weekly.csv", comparison.weekly().round(4))
        staged.csv("spend_by_supplier.csv", comparison.spend_by_supplier().round(4))
        staged.manifest("compare.json", comparison.to_dict())
        staged.text("report.html", report)
        return staged.commit()


def write_frontier(frontier: Frontier, out_dir: Path) -> list[Path]:
    """Publish frontier.csv, frontier.json and report.html (every level as a scenario, plus the
    frontier chart and table) together."""
    report = render_report(frontier_comparison(frontier), frontier)
    with StagedOutputs(out_dir) as staged:
        staged.csv("frontier.csv", frontier.table().round(6))
        staged.manifest("frontier.json", frontier.to_dict())
        staged.text("report.html", report)
        return staged.commit()


def write_policy_backtest(result: BacktestResult, out_dir: Path) -> list[Path]:
    """Publish backtest_summary.csv, backtest_weekly.csv, backtest_origins.csv, backtest_orders.csv
    and backtest.json together."""
    w = result.window
    info = {
        "window": {"first": str(w.weeks[0].date()), "last": str(w.weeks[-1].date()), "origins": w.horizon},
        "settings": result.spec.model_dump(mode="json"),
        "assumptions": list(BACKTEST_ASSUMPTIONS),
        "summary": result.summary.set_index("policy").to_dict(orient="index"),
        "manifest": manifest(result.prepared, result.timings),
    }
    with StagedOutputs(out_dir) as staged:
        staged.csv("backtest_summary.csv", result.summary.round(6))
        staged.csv("backtest_weekly.csv", result.weekly.round(4))
        staged.csv("backtest_origins.csv", result.origins.round(6))
        staged.csv("backtest_orders.csv", result.orders.round(4))
        staged.manifest("backtest.json", info)
        return staged.commit()


def write_monitor(result: Monitoring, out_dir: Path) -> list[Path]:
    """Publish monitor.csv (every score), monitor.json (per run, drift) and monitor.html together."""
    from planner.evaluation.monitor import summary
    from planner.reporting.monitor import render_monitor

    scores = result.scores.copy()
    if "origin" in scores:
        scores["origin"] = scores["origin"].astype(str)
    with StagedOutputs(out_dir) as staged:
        staged.csv("monitor.csv", scores.round(6))
        staged.json("monitor.json", summary(result))
        staged.text("monitor.html", render_monitor(result))
        return staged.commit()


def write_forecast_backtest(prep: Prepared, result: ForecastBacktest, out_dir: Path) -> list[Path]:
    """Publish backtest_metrics.csv, backtest_timings.csv, backtest_points.parquet and a manifest."""
    with StagedOutputs(out_dir) as staged:
        staged.csv("backtest_metrics.csv", result.metrics.round(6))
        staged.csv("backtest_timings.csv", result.timings.round({"fit_s": 4, "predict_s": 4}))
        staged.parquet("backtest_points.parquet", result.points)
        staged.manifest("backtest_manifest.json", manifest(prep, prep.timings))
        return staged.commit()
