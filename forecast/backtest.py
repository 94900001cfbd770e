"""Rolling-origin backtest: refit every model at each origin, forecast, score against what happened.

For origin ``o`` (the first forecast week) a fresh model is fitted on ``history.week < o``
and forecasts the SKUs present before ``o`` over weeks ``o .. o + horizon - 1``; the rows of
:func:`forecast.metrics.evaluate` are tagged with model, origin and segment (smooth /
intermittent, :func:`forecast.segments.classify` on the pre-origin history) and summarised
with :func:`forecast.metrics.summarise`. Each model is fitted exactly once per origin.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecast.base import Forecaster
from forecast.metrics import evaluate, summarise
from forecast.segments import classify

log = logging.getLogger(__name__)

WEEK = pd.Timedelta(weeks=1)
ALL_SEGMENTS = "all"
TABLE_COLUMNS = {
    "model": "model",
    "wql": "WQL",
    "scaled_pinball": "scaled pinball",
    "cov50": "cov50",
    "cov80": "cov80",
    "cov90": "cov90",
    "mase": "MASE",
    "mae": "MAE",
    "rmse": "RMSE",
    "fit_s": "fit s",
    "predict_s": "predict s",
}


def origins(
    last_week: pd.Timestamp | str, n_origins: int, horizon: int, step: int | None = None
) -> pd.DatetimeIndex:
    """First forecast weeks of the last ``n_origins`` origins, ascending.

    The latest origin is ``last_week - (horizon - 1)`` weeks, so its ``horizon``-week window ends
    exactly at ``last_week``; earlier ones are ``step`` weeks apart (default ``horizon``:
    non-overlapping windows). E.g. ``last_week`` = week 100, ``horizon`` 13, 3 origins ->
    weeks 62, 75, 88 (windows 62-74, 75-87, 88-100).
    """
    step = horizon if step is None else step
    if n_origins < 1 or horizon < 1 or step < 1:
        raise ValueError(f"need n_origins, horizon and step >= 1 (got {n_origins}, {horizon}, {step})")
    last = pd.Timestamp(last_week) - (horizon - 1) * WEEK
    return pd.DatetimeIndex([last - i * step * WEEK for i in range(n_origins - 1, -1, -1)])


@dataclass
class BacktestResult:
    """Outcome of :func:`run_backtest`.

    - ``points``: :func:`forecast.metrics.evaluate` rows with ``model, origin, segment``: one per
      model, origin, SKU, week and level (censored actual weeks left out); everything else can be
      recomputed from them with :func:`forecast.metrics.summarise`;
    - ``timings``: ``model, origin, n_skus, fit_s, predict_s`` per fit;
    - ``metrics``: :func:`summarise` per model over all SKUs (``segment == "all"``, with the
      model's total ``fit_s`` and ``predict_s``) and per model and segment (timings NaN there:
      a fit covers every segment).
    """

    points: pd.DataFrame
    timings: pd.DataFrame
    metrics: pd.DataFrame

    def table(self, segment: str = ALL_SEGMENTS) -> pd.DataFrame:
        """On-screen summary for one segment (default all SKUs): model, WQL, scaled pinball,
        cov50/80/90, MASE, MAE, RMSE, fit s, predict s."""
        rows = self.metrics[self.metrics["segment"] == segment]
        return rows[list(TABLE_COLUMNS)].rename(columns=TABLE_COLUMNS).reset_index(drop=True)


def run_backtest(
    history: pd.DataFrame,
    models: Mapping[str, Callable[[], Forecaster]],
    origins: Sequence[pd.Timestamp] | pd.DatetimeIndex,
    horizon: int,
    levels: Sequence[float],
    attributes: pd.DataFrame | None = None,
    events: pd.DataFrame | None = None,
) -> BacktestResult:
    """Fit every model (``models``: name -> factory of a fresh, unfitted model) at every origin.

    At origin ``o``: ``history.week < o`` is the training data; the SKUs in it are forecast for
    ``horizon`` weeks from ``o`` at ``levels``; actuals are ``history`` rows in those weeks.
    ``attributes`` and ``events`` are passed to ``fit`` unchanged (events may cover forecast
    weeks: they are known in advance). Origins without any earlier history are skipped.
    """
    if horizon < 1:
        raise ValueError(f"horizon must be >= 1, got {horizon}")
    parts: list[pd.DataFrame] = []
    timing_rows: list[dict] = []
    origin_list = sorted(pd.Timestamp(o) for o in origins)
    for n, origin in enumerate(origin_list, start=1):
        before = history[history["week"] < origin]
        if before.empty:
            log.warning("origin %s: no history before it, skipped", origin.date())
            continue
        weeks = pd.date_range(origin, periods=horizon, freq="7D")
        actuals = history[(history["week"] >= origin) & (history["week"] <= weeks[-1])]
        skus = sorted(before["sku"].unique())
        segments = classify(before)
        for name, factory in models.items():
            model = factory()
            t0 = time.perf_counter()
            model.fit(before, attributes=attributes, events=events)
            t1 = time.perf_counter()
            forecast = model.predict(skus, weeks, levels)
            t2 = time.perf_counter()
            rows = evaluate(actuals, forecast, before)
            rows.insert(0, "origin", origin)
            rows.insert(0, "model", name)
            rows["segment"] = rows["sku"].map(segments).fillna("intermittent")
            parts.append(rows)
            timing_rows.append(
                {"model": name, "origin": origin, "n_skus": len(skus), "fit_s": t1 - t0, "predict_s": t2 - t1}
            )
            log.info(
                "origin %d/%d (%s) %s: %d SKUs, fit %.2f s, predict %.2f s",
                n,
                len(origin_list),
                origin.date(),
                name,
                len(skus),
                t1 - t0,
                t2 - t1,
            )
    points = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    timings = pd.DataFrame(timing_rows, columns=["model", "origin", "n_skus", "fit_s", "predict_s"])
    return BacktestResult(points, timings, _metrics(points, timings, list(models)))


def _metrics(points: pd.DataFrame, timings: pd.DataFrame, order: list[str]) -> pd.DataFrame:
    """Summary per model (segment 'all', with timing totals) and per model and segment."""
    if points.empty:
        return pd.DataFrame(columns=["model", "segment", *list(TABLE_COLUMNS)[1:]])
    overall = summarise(points, by=["model"])
    overall.insert(1, "segment", ALL_SEGMENTS)
    totals = timings.groupby("model")[["fit_s", "predict_s"]].sum()
    overall = overall.join(totals, on="model")
    by_segment = summarise(points, by=["model", "segment"])
    by_segment["fit_s"] = np.nan
    by_segment["predict_s"] = np.nan
    out = pd.concat([overall, by_segment], ignore_index=True)
    rank = {name: i for i, name in enumerate(order)}
    seg_rank = out["segment"].map({ALL_SEGMENTS: 0}).fillna(1)
    out = out.assign(_m=out["model"].map(rank), _s=seg_rank).sort_values(
        ["_m", "_s", "segment"], kind="stable"
    )
    return out.drop(columns=["_m", "_s"]).reset_index(drop=True)
