"""Forecast accuracy: pinball loss, scaled and weighted quantile losses, coverage, point errors.

Symbols: ``y`` actual weekly units, ``q_l`` the forecast quantile at level ``l``, ``L`` the set
of evaluated levels (``|L|`` of them), ``m`` the median forecast ``q_0.5``, ``scale_s`` the
in-sample scale of SKU ``s`` (:func:`scale_pinball`).

:func:`evaluate` turns one :class:`~forecast.base.Forecast` and the actuals into tidy rows (one
per SKU, week and level, censored actual weeks dropped); :func:`summarise` aggregates any set of
such rows (one origin or a whole backtest, per model and segment).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from forecast.base import Forecast, quantile_column

FALLBACK_SCALE = 1.0  # units/week: the scale of a SKU whose in-sample scale is zero or undefined
INTERVALS = {"cov50": (0.25, 0.75), "cov80": (0.1, 0.9), "cov90": (0.05, 0.95)}
LEVEL_DECIMALS = 6  # levels are stored rounded, so 0.1 from different sources compare equal
ROW_COLUMNS = ["sku", "week", "horizon", "level", "y", "q", "pinball", "scale"]


def pinball(y: np.ndarray, q: np.ndarray, level: np.ndarray | float) -> np.ndarray:
    """Pinball (quantile) loss, elementwise with broadcasting.

    ``rho_l(y, q) = max(l (y - q), (l - 1)(y - q))``: ``l (y - q)`` when the actual is above the
    quantile, ``(1 - l)(q - y)`` when below.
    """
    diff = np.asarray(y, dtype=float) - np.asarray(q, dtype=float)
    level = np.asarray(level, dtype=float)
    return np.maximum(level * diff, (level - 1.0) * diff)


def _naive_mae(history: pd.DataFrame) -> pd.Series:
    """Per SKU ``mean_t |y_t - y_{t-1}|`` over uncensored pairs after the first sale (NaN if none)."""
    h = history.sort_values(["sku", "week"], kind="stable")
    ok = h["stockout"].to_numpy() == 0 if "stockout" in h else np.ones(len(h), dtype=bool)
    y = pd.Series(np.where(ok, h["units"].to_numpy(dtype=float), np.nan), index=h.index)
    sku = h["sku"]
    started = (y > 0).astype(int).groupby(sku).cummax()  # 1 from the first uncensored sale on
    prev_started = started.groupby(sku).shift(1, fill_value=0)
    gap = h["week"].groupby(sku).diff()
    diff = y.groupby(sku).diff().abs()
    valid = (prev_started == 1) & (gap == pd.Timedelta(weeks=1)) & diff.notna()
    mae = diff[valid].groupby(sku[valid]).mean()
    return mae.reindex(pd.Index(sorted(h["sku"].unique()), name="sku"))


def scale_pinball(history: pd.DataFrame) -> pd.Series:
    """Scale of the scaled pinball loss per SKU (index ``sku``), M5 style.

    ``scale_s = 1/|P| sum_{t in P} |y_t - y_{t-1}|`` over the in-sample (pre-origin) pairs ``P``
    of consecutive weeks that are both uncensored and start at or after the SKU's first
    non-zero sale (leading zeros before the launch do not count). A scale that is zero or
    undefined (no sale yet, a constant series, no such pair) is replaced by
    ``FALLBACK_SCALE = 1`` unit, so that SKU's scaled losses read as plain units.
    """
    mae = _naive_mae(history)
    return mae.where(mae > 0, FALLBACK_SCALE).rename("scale")


def scale_mase(history: pd.DataFrame) -> pd.Series:
    """Scale of MASE per SKU: the in-sample MAE of the naive one-step forecast ``y_hat_t = y_{t-1}``.

    It is the same number as :func:`scale_pinball` (same pairs, same ``FALLBACK_SCALE``), so
    ``MASE_s = mean_t |y_t - m_t| / scale_s``.
    """
    return scale_pinball(history)


def evaluate(
    actuals: pd.DataFrame,
    forecast: Forecast,
    history: pd.DataFrame,
    levels: Sequence[float] | None = None,
) -> pd.DataFrame:
    """Tidy loss rows: one per SKU, forecast week and level with an uncensored actual.

    ``actuals`` has columns ``sku, week, units`` and optionally ``stockout``; weeks with
    ``stockout == 1`` or without an actual are left out (censored sales say nothing about the
    quantiles). ``history`` is the pre-origin history the scales come from. ``levels`` (default:
    all of the forecast's) must be levels of the forecast.

    Columns: ``sku, week, horizon`` (1 = first forecast week), ``level``, ``y`` (actual),
    ``q`` (forecast quantile), ``pinball = rho_level(y, q)``, ``scale`` (:func:`scale_pinball`).
    """
    f_levels = np.round(np.asarray(forecast.levels, dtype=float), LEVEL_DECIMALS)
    want = f_levels if levels is None else np.round(np.asarray(levels, dtype=float), LEVEL_DECIMALS)
    k = np.array([np.flatnonzero(f_levels == lv)[0] if lv in f_levels else -1 for lv in want], dtype=int)
    if (k < 0).any():
        missing = ", ".join(f"{lv:g}" for lv in want[k < 0])
        raise ValueError(f"levels {missing} are not in forecast '{forecast.model}' ({list(f_levels)})")

    skus = list(forecast.skus)
    weeks = pd.DatetimeIndex(forecast.weeks)
    a = actuals
    if "stockout" in a:
        a = a[a["stockout"] == 0]
    a = a.drop_duplicates(["sku", "week"], keep="last").set_index(["sku", "week"])["units"]
    grid = pd.MultiIndex.from_product([skus, weeks], names=["sku", "week"])
    y = a.astype(float).reindex(grid).to_numpy().reshape(len(skus), len(weeks))  # [S, H], NaN = excluded
    si, hi = np.nonzero(np.isfinite(y))  # observed points
    if si.size == 0:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in ROW_COLUMNS})

    n_q = len(k)
    q = forecast.quantiles[si, hi][:, k]  # [P, Q']
    y_obs = y[si, hi]  # [P]
    loss = pinball(y_obs[:, None], q, want[None, :])  # [P, Q']
    scale = scale_pinball(history).reindex(skus).fillna(FALLBACK_SCALE).to_numpy()  # [S]
    sku_arr = np.asarray(skus, dtype=object)
    return pd.DataFrame(
        {
            "sku": np.repeat(sku_arr[si], n_q),
            "week": np.repeat(weeks[hi], n_q),
            "horizon": np.repeat(hi + 1, n_q),
            "level": np.tile(want, si.size),
            "y": np.repeat(y_obs, n_q),
            "q": q.reshape(-1),
            "pinball": loss.reshape(-1),
            "scale": np.repeat(scale[si], n_q),
        }
    )


def cdf_at(q: np.ndarray, levels: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(F(y-), F(y))`` of the forecasts' CDFs at actuals ``y[P]``: each CDF is the piecewise-linear
    quantile function through ``q[P, Q]`` at ``levels`` (value 0 at level 0; a jump to 1 just above
    the top level). A flat stretch of the quantile function (many levels at 0, say) is an atom."""
    knots = np.concatenate([[0.0], levels, [1.0]])
    lowest = np.zeros((q.shape[0], 1))
    values = np.concatenate([lowest, np.maximum(q, 0.0), q[:, -1:] + 1e-9], axis=1)
    values = np.maximum.accumulate(values, axis=1)
    y = np.asarray(y, dtype=float)[:, None]
    a, b = values[:, :-1], values[:, 1:]
    rising = b > a
    t = np.clip(np.where(rising, (y - a) / np.where(rising, b - a, 1.0), 0.0), 0.0, 1.0)
    inside = knots[:-1] + t * np.diff(knots)
    at = np.where(b <= y, knots[1:], np.where((a <= y) & rising, inside, 0.0)).max(axis=1)
    below = np.where(b < y, knots[1:], np.where((a < y) & rising, inside, 0.0)).max(axis=1)
    return below, np.maximum(at, below)


def expected_coverage(below: np.ndarray, at: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Probability that the central interval ``[lo, hi]`` covers the actual, with ties broken at
    random: the randomised PIT is uniform on ``[F(y-), F(y)]``. For discrete demand (a week of
    zero demand under a forecast with an atom at zero) this is the honest coverage: a calibrated
    forecast covers 80 % on average, where counting ``q_0.1 <= y <= q_0.9`` would give more."""
    width = at - below
    overlap = np.clip(np.minimum(at, hi) - np.maximum(below, lo), 0.0, None)
    point = ((at >= lo - 1e-12) & (at <= hi + 1e-12)).astype(float)
    return np.where(width > 1e-12, overlap / np.where(width > 1e-12, width, 1.0), point)


def _find_level(columns: pd.Index, level: float) -> float | None:
    hits = [c for c in columns if np.isclose(c, level)]
    return hits[0] if hits else None


def summarise(rows: pd.DataFrame, by: Sequence[str] = ("model",)) -> pd.DataFrame:
    """Accuracy per group of ``by`` from :func:`evaluate` rows (any extra id columns kept apart).

    A *point* is one SKU-week (per ``model`` and ``origin`` when those columns exist); a
    *series* is one SKU (per ``model`` and ``origin``), so a backtest averages over SKU-origin
    pairs. Per group:

    - ``wql = sum_{points, l in L} rho_l(y, q_l) / (|L| * sum_{points} y)``: the weighted
      quantile loss, pinball summed over levels and points over the number of levels times the
      summed actuals (no factor 2, unlike GluonTS's ``mean_wQuantileLoss``; NaN if no demand);
    - ``scaled_pinball = mean_series( mean_{weeks, l} rho_l(y, q_l) / scale_s )``;
    - ``pinball_q<l>``: mean pinball at level ``l``;
    - ``cov50, cov80, cov90``: expected share of points inside the central intervals (0.25, 0.75),
      (0.1, 0.9), (0.05, 0.95), ties at the actual broken at random (:func:`expected_coverage`;
      without ties, the share with ``q_lo <= y <= q_hi``); NaN when those levels are missing;
    - ``mase = mean_series( mean_weeks |y - m| / scale_s )`` with ``m = q_0.5``;
    - ``mae = mean |y - m|``, ``mse = mean (y - m)^2``, ``rmse = sqrt(mse)`` over points
      (NaN without a 0.5 level);
    - ``n_series``, ``n_points``.
    """
    by = list(by)
    if not by:  # one overall row
        return summarise(rows.assign(_all=0), by=["_all"]).drop(columns="_all")
    ids = [c for c in ("model", "origin") if c in rows.columns and c not in by]
    point_keys = list(dict.fromkeys([*by, *ids, "sku", "week"]))
    series_keys = list(dict.fromkeys([*by, *ids, "sku"]))
    level_values = sorted(rows["level"].unique()) if len(rows) else []
    level_cols = [f"pinball_{quantile_column(lv)}" for lv in level_values]
    columns = [*by, "n_series", "n_points", "wql", "scaled_pinball", *INTERVALS, "mase", "mae", "rmse", "mse"]
    if rows.empty:
        return pd.DataFrame(columns=[*columns, *level_cols])

    # one row per point: actual, scale and the quantile at every level
    wide = rows.set_index([*point_keys, "level"])["q"].unstack("level")  # [points, levels]
    first = rows.groupby(point_keys, sort=True, dropna=False)[["y", "scale"]].first()
    points = first.join(wide).reset_index()

    groups = rows.groupby(by, sort=False, dropna=False)
    out = pd.DataFrame({"pin_sum": groups["pinball"].sum(), "n_levels": groups["level"].nunique()})
    pgroups = points.groupby(by, sort=False, dropna=False)
    out["n_points"] = pgroups.size()
    denominator = out["n_levels"] * pgroups["y"].sum()
    out["wql"] = out["pin_sum"] / denominator.where(denominator > 0)

    series = rows.groupby(series_keys, sort=False, dropna=False).agg(
        pin=("pinball", "mean"), scale=("scale", "first")
    )
    series["scaled"] = series["pin"] / series["scale"]
    out["n_series"] = series.groupby(by, sort=False, dropna=False).size()
    out["scaled_pinball"] = series.groupby(by, sort=False, dropna=False)["scaled"].mean()

    knots = sorted(wide.columns)
    below, at = cdf_at(points[knots].to_numpy(dtype=float), np.asarray(knots), points["y"].to_numpy())
    for name, (lo, hi) in INTERVALS.items():
        if _find_level(wide.columns, lo) is None or _find_level(wide.columns, hi) is None:
            out[name] = np.nan
            continue
        inside = pd.Series(expected_coverage(below, at, lo, hi), index=points.index)
        out[name] = inside.groupby([points[c] for c in by], sort=False, dropna=False).mean()

    c_med = _find_level(wide.columns, 0.5)
    if c_med is None:
        for name in ("mase", "mae", "rmse", "mse"):
            out[name] = np.nan
    else:
        err = points["y"] - points[c_med]
        keys = [points[c] for c in by]
        out["mae"] = err.abs().groupby(keys, sort=False, dropna=False).mean()
        out["mse"] = (err**2).groupby(keys, sort=False, dropna=False).mean()
        out["rmse"] = np.sqrt(out["mse"])
        per_series = err.abs().groupby([points[c] for c in series_keys], sort=False, dropna=False).mean()
        scales = points.groupby(series_keys, sort=False, dropna=False)["scale"].first()
        out["mase"] = (
            (per_series / scales).groupby(level=list(range(len(by))), sort=False, dropna=False).mean()
        )

    per_level = rows.groupby([*by, "level"], sort=False, dropna=False)["pinball"].mean().unstack("level")
    per_level.columns = [f"pinball_{quantile_column(lv)}" for lv in per_level.columns]
    out = out.join(per_level)
    return out.reset_index()[[*columns, *level_cols]]
