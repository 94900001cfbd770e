"""Rolling-origin backtest: refit every model at each origin, forecast, score against what happened.

For origin ``o`` (the first forecast week) a fresh model is fitted on ``history.week < o``
and forecasts the SKUs present before ``o`` over weeks ``o .. o + horizon - 1``. Two targets are
scored with :func:`forecast.metrics.evaluate` / :func:`forecast.metrics.summarise`:

- ``weekly``: the weekly quantiles, week by week;
- ``lead_time`` (when SKU lead times are given): demand summed over the SKU's lead time plus one
  week from the origin, ``D[o .. o + L_s]``, against the forecast's cumulative quantiles at that
  week: the quantity behind the optimiser's service constraints. A reference model,
  ``empirical lead time``, gives the empirical quantiles of the SKU's rolling ``L_s + 1``-week
  sums over its last 52 uncensored weeks.

Rows are tagged with model, origin, target and the SKU's demand class on the pre-origin history
(:func:`forecast.segments.classify_demand`). Each model is fitted exactly once per origin.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecast.base import Forecast, Forecaster
from forecast.metrics import evaluate, pinball, scale_pinball, summarise
from forecast.segments import classify_demand

log = logging.getLogger(__name__)

WEEK = pd.Timedelta(weeks=1)
ALL_CLASSES = "all"
TARGETS = ("weekly", "lead_time")
EMPIRICAL_LEAD_TIME = "empirical lead time"
ROLLING_WEEKS = 52  # weeks of history behind the empirical lead-time quantiles
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

    - ``points``: :func:`forecast.metrics.evaluate` rows with ``model, origin, target, class``:
      one per model, origin, SKU, week (or lead-time sum) and level (censored weeks left out);
      everything else can be recomputed from them with :func:`forecast.metrics.summarise`;
    - ``timings``: ``model, origin, n_skus, fit_s, predict_s`` per fit;
    - ``metrics``: :func:`summarise` per model and target over all SKUs (``class == "all"``, with
      the model's total ``fit_s`` and ``predict_s``) and per model, target and demand class
      (timings NaN there: a fit covers every class).
    """

    points: pd.DataFrame
    timings: pd.DataFrame
    metrics: pd.DataFrame

    def table(self, klass: str = ALL_CLASSES, target: str = "weekly") -> pd.DataFrame:
        """On-screen summary for one demand class (default all SKUs) and target: model, WQL, scaled
        pinball, cov50/80/90, MASE, MAE, RMSE, fit s, predict s."""
        rows = self.metrics[(self.metrics["class"] == klass) & (self.metrics["target"] == target)]
        return rows[list(TABLE_COLUMNS)].rename(columns=TABLE_COLUMNS).reset_index(drop=True)


def run_backtest(
    history: pd.DataFrame,
    models: Mapping[str, Callable[[], Forecaster]],
    origins: Sequence[pd.Timestamp] | pd.DatetimeIndex,
    horizon: int,
    levels: Sequence[float],
    attributes: pd.DataFrame | None = None,
    events: pd.DataFrame | None = None,
    lead_time: pd.Series | None = None,
) -> BacktestResult:
    """Fit every model (``models``: name -> factory of a fresh, unfitted model) at every origin.

    At origin ``o``: ``history.week < o`` is the training data; the SKUs in it are forecast for
    ``horizon`` weeks from ``o`` (longer when a lead time needs it) at ``levels``; actuals are
    ``history`` rows in those weeks. ``attributes`` and ``events`` are passed to ``fit``
    unchanged (events may cover forecast weeks: they are known in advance). ``lead_time``
    (weeks, index ``sku``) adds the ``lead_time`` target. Origins without earlier history are
    skipped.
    """
    if horizon < 1:
        raise ValueError(f"horizon must be >= 1, got {horizon}")
    lead = None if lead_time is None else lead_time.astype(int)
    span = horizon if lead is None or lead.empty else max(horizon, int(lead.max()) + 1)
    parts: list[pd.DataFrame] = []
    timing_rows: list[dict] = []
    origin_list = sorted(pd.Timestamp(o) for o in origins)
    for n, origin in enumerate(origin_list, start=1):
        before = history[history["week"] < origin]
        if before.empty:
            log.warning("origin %s: no history before it, skipped", origin.date())
            continue
        weeks = pd.date_range(origin, periods=span, freq="7D")
        actuals = history[(history["week"] >= origin) & (history["week"] <= weeks[-1])]
        skus = sorted(before["sku"].unique())
        classes = classify_demand(before)
        tag = {"origin": origin}
        for name, factory in models.items():
            model = factory()
            t0 = time.perf_counter()
            model.fit(before, attributes=attributes, events=events)
            t1 = time.perf_counter()
            forecast = model.predict(skus, weeks, levels)
            t2 = time.perf_counter()
            weekly = evaluate(actuals, first_weeks(forecast, horizon), before)
            parts.append(_tagged(weekly, name, "weekly", tag, classes))
            if lead is not None:
                parts.append(
                    _tagged(lead_time_rows(actuals, forecast, before, lead), name, "lead_time", tag, classes)
                )
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
        if lead is not None:
            reference = empirical_lead_time(before, skus, lead, weeks, levels)
            rows = lead_time_rows(actuals, reference, before, lead)
            parts.append(_tagged(rows, EMPIRICAL_LEAD_TIME, "lead_time", tag, classes))
    points = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    timings = pd.DataFrame(timing_rows, columns=["model", "origin", "n_skus", "fit_s", "predict_s"])
    order = [*models, EMPIRICAL_LEAD_TIME]
    return BacktestResult(points, timings, _metrics(points, timings, order))


def _tagged(rows: pd.DataFrame, model: str, target: str, tag: dict, classes: pd.Series) -> pd.DataFrame:
    rows = rows.copy()
    rows.insert(0, "origin", tag["origin"])
    rows.insert(0, "target", target)
    rows.insert(0, "model", model)
    rows["class"] = rows["sku"].map(classes).fillna("new")
    return rows


def first_weeks(forecast: Forecast, horizon: int) -> Forecast:
    """The forecast's first ``horizon`` weeks."""
    if forecast.horizon == horizon:
        return forecast
    cut = slice(0, horizon)
    return Forecast(
        forecast.skus,
        forecast.weeks[cut],
        forecast.levels,
        forecast.mean[:, cut],
        forecast.quantiles[:, cut],
        forecast.paths[:, :, cut],
        forecast.cum_quantiles[:, cut],
        forecast.model,
        forecast.classes,
    )


def lead_time_rows(
    actuals: pd.DataFrame, forecast: Forecast, history: pd.DataFrame, lead: pd.Series
) -> pd.DataFrame:
    """Loss rows of demand over each SKU's lead time plus one week from the forecast's first week:
    ``y = D[o .. o + L_s]`` against the cumulative quantiles at week ``L_s + 1`` (SKUs whose span
    holds a censored or missing week, or reaches past the forecast, are left out). Columns as
    :func:`forecast.metrics.evaluate`, ``horizon`` = ``L_s + 1``, ``week`` = the first week."""
    skus = list(forecast.skus)
    weeks = forecast.weeks
    a = actuals[actuals["stockout"] == 0] if "stockout" in actuals else actuals
    wide = a.pivot_table(index="sku", columns="week", values="units", aggfunc="sum")
    y_all = wide.reindex(index=skus, columns=weeks).to_numpy(dtype=float)  # [S, H], NaN = censored
    span = lead.reindex(skus).to_numpy(dtype=float) + 1  # weeks summed; NaN: no lead time
    ok = np.isfinite(span) & (span <= len(weeks))
    s_idx = np.flatnonzero(ok)
    h_idx = span[ok].astype(int) - 1
    reach = np.arange(len(weeks))[None, :] <= h_idx[:, None]
    y = np.where(reach, y_all[s_idx], 0.0)
    keep = ~np.isnan(y).any(axis=1)
    s_idx, h_idx, y = s_idx[keep], h_idx[keep], y[keep].sum(axis=1)
    levels = np.asarray(forecast.levels, dtype=float)
    q = forecast.cum_quantiles[s_idx, h_idx]  # [P, Q]
    scale = scale_pinball(history).reindex(skus).fillna(1.0).to_numpy()[s_idx] * (h_idx + 1)
    n_q = len(levels)
    return pd.DataFrame(
        {
            "sku": np.repeat(np.asarray(skus, dtype=object)[s_idx], n_q),
            "week": weeks[0],
            "horizon": np.repeat(h_idx + 1, n_q),
            "level": np.tile(levels, len(s_idx)),
            "y": np.repeat(y, n_q),
            "q": q.reshape(-1),
            "pinball": pinball(y[:, None], q, levels[None, :]).reshape(-1),
            "scale": np.repeat(scale, n_q),
        }
    )


def empirical_lead_time(
    history: pd.DataFrame, skus: list[str], lead: pd.Series, weeks: pd.DatetimeIndex, levels: Sequence[float]
) -> Forecast:
    """The reference for the ``lead_time`` target: per SKU, the empirical quantiles of its rolling
    ``L_s + 1``-week demand sums over its last ``ROLLING_WEEKS`` uncensored weeks, as the
    cumulative quantiles at week ``L_s + 1`` (other weeks and the weekly quantiles are zero)."""
    levels_arr = np.asarray(levels, dtype=float)
    cum = np.zeros((len(skus), len(weeks), len(levels_arr)))
    ok = history[history["stockout"] == 0] if "stockout" in history else history
    recent = ok.sort_values("week").groupby("sku").tail(ROLLING_WEEKS)
    units = recent.groupby("sku")["units"].apply(lambda u: u.to_numpy(dtype=float))
    for s, sku in enumerate(skus):
        if sku not in units.index or sku not in lead.index:
            continue
        span = int(lead[sku]) + 1
        if span > len(weeks):
            continue
        u = units[sku]
        sums = np.convolve(u, np.ones(span), mode="valid") if len(u) >= span else np.array([u.sum()])
        cum[s, span - 1] = np.quantile(sums, levels_arr)
    zeros = np.zeros((len(skus), len(weeks)))
    return Forecast(
        skus,
        weeks,
        levels_arr,
        zeros,
        np.zeros_like(cum),
        np.zeros((len(skus), 1, len(weeks)), np.float32),
        cum,
        EMPIRICAL_LEAD_TIME,
    )


def _metrics(points: pd.DataFrame, timings: pd.DataFrame, order: list[str]) -> pd.DataFrame:
    """Summary per model and target (class 'all', with timing totals) and per model, target, class."""
    if points.empty:
        return pd.DataFrame(columns=["model", "target", "class", *list(TABLE_COLUMNS)[1:]])
    overall = summarise(points, by=["model", "target"])
    overall.insert(2, "class", ALL_CLASSES)
    totals = timings.groupby("model")[["fit_s", "predict_s"]].sum()
    overall = overall.join(totals, on="model")
    overall.loc[overall["target"] != "weekly", ["fit_s", "predict_s"]] = np.nan
    by_class = summarise(points, by=["model", "target", "class"])
    by_class["fit_s"] = np.nan
    by_class["predict_s"] = np.nan
    out = pd.concat([overall, by_class], ignore_index=True)
    rank = {name: i for i, name in enumerate(order)}
    out = out.assign(
        _t=out["target"].map({t: i for i, t in enumerate(TARGETS)}),
        _m=out["model"].map(rank),
        _c=out["class"].map({ALL_CLASSES: 0}).fillna(1),
    ).sort_values(["_t", "_m", "_c", "class"], kind="stable")
    return out.drop(columns=["_t", "_m", "_c"]).reset_index(drop=True)
