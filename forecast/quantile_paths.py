"""From weekly quantiles to a full forecast: a quantile function per SKU-week and joint sample paths.

Quantile models (LightGBM, the LSTM head, forecast files) give weekly quantiles at a few
levels. The planner also needs other levels, cumulative quantiles and paths, so:

- the quantile function of each SKU-week is piecewise linear through the given levels,
  floored at 0 below the lowest level and extended above the highest one by an
  exponential tail matched to the last segment;
- paths draw one uniform per week through a Gaussian copula with equicorrelation ``rho``
  between the weeks of a SKU (``rho = 0``: independent weeks), then map it through that
  week's quantile function. Cumulative quantiles come from these paths
  (:meth:`Forecast.from_paths`), never from summed weekly quantiles.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.special import ndtr

from forecast.base import Forecast, sku_blocks
from forecast.baselines import sku_rng

MAX_RHO = 0.95


def quantile_knots(levels: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Knots of the piecewise-linear quantile function: levels with 0 prepended.

    ``q[..., Q]`` (sorted along the last axis) -> (knots[Q+1], values[..., Q+1]); the value at
    level 0 extrapolates the first segment and is floored at 0.
    """
    levels = np.asarray(levels, dtype=float)
    q = np.sort(np.maximum(np.asarray(q, dtype=float), 0.0), axis=-1)
    if len(levels) == 1:
        return np.array([0.0, levels[0]]), np.concatenate([np.zeros_like(q), q], axis=-1)
    slope = (q[..., 1] - q[..., 0]) / (levels[1] - levels[0])
    q0 = np.maximum(0.0, q[..., 0] - slope * levels[0])
    return np.concatenate([[0.0], levels]), np.concatenate([q0[..., None], q], axis=-1)


def evaluate_quantiles(levels: np.ndarray, q: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Quantile function at probabilities ``u``.

    ``q[S, H, Q]`` at ``levels``; ``u`` is either ``[K]`` (the same levels everywhere, result
    ``[S, H, K]``) or ``[S, N, H]`` (one probability per path and week, result ``[S, N, H]``).
    Above the top level the tail is exponential: ``q_top + b * ln((1 - l_top) / (1 - u))``
    with ``b`` matched to the slope of the last segment.
    """
    knots, values = quantile_knots(levels, q)
    top = knots[-1]
    if len(knots) > 2:
        slope = (values[..., -1] - values[..., -2]) / (knots[-1] - knots[-2])
    else:
        slope = values[..., -1] / max(top, 1e-9)
    scale = slope * (1.0 - top)  # exponential tail with the same slope at the top level
    u = np.asarray(u, dtype=float)
    n_sku, horizon = values.shape[:2]
    flat = values.reshape(n_sku * horizon, -1)
    if u.ndim == 1:
        rows = np.arange(n_sku * horizon).reshape(n_sku, horizon, 1)
        uu = np.broadcast_to(u, (n_sku, horizon, len(u)))
    else:
        rows = np.arange(n_sku)[:, None, None] * horizon + np.arange(horizon)[None, None, :]
        rows = np.broadcast_to(rows, u.shape)
        uu = u
    k = np.clip(np.searchsorted(knots, uu, side="right") - 1, 0, len(knots) - 2)
    lo, hi = flat[rows, k], flat[rows, k + 1]
    w = np.clip((uu - knots[k]) / (knots[k + 1] - knots[k]), 0.0, 1.0)
    inside = lo + (hi - lo) * w
    tail_scale = scale.reshape(-1)[rows]
    with np.errstate(divide="ignore"):
        tail = flat[rows, -1] + tail_scale * np.log((1.0 - top) / np.maximum(1.0 - uu, 1e-12))
    return np.where(uu > top, tail, inside)


def copula_uniforms(skus: Sequence[str], n_paths: int, horizon: int, rho: float, seed: int) -> np.ndarray:
    """Uniforms ``[S, N, H]``: Gaussian copula, equicorrelation ``rho`` across a SKU's weeks.

    Each SKU has its own generator (``sku_rng``), so its draws do not depend on which other
    SKUs are forecast.
    """
    rho = float(np.clip(rho, 0.0, MAX_RHO))
    out = np.empty((len(skus), n_paths, horizon))
    for i, sku in enumerate(skus):
        z = sku_rng(seed, sku).standard_normal((n_paths, horizon + 1))
        out[i] = np.sqrt(rho) * z[:, :1] + np.sqrt(1.0 - rho) * z[:, 1:]
    return ndtr(out)


def forecast_from_quantiles(
    skus: Sequence[str],
    weeks: pd.DatetimeIndex,
    model_levels: Sequence[float],
    q: np.ndarray,
    levels: Sequence[float],
    *,
    n_paths: int,
    rho: float,
    seed: int,
    model: str,
) -> Forecast:
    """A :class:`Forecast` from model quantiles ``q[S, H, Q]`` at ``model_levels``.

    Weekly quantiles at the requested ``levels`` are read off the quantile function (not
    from the paths, so they carry no sampling noise); mean and cumulative quantiles come
    from ``n_paths`` copula paths.
    """
    model_levels = np.asarray(model_levels, dtype=float)
    q = np.sort(np.maximum(np.asarray(q, dtype=float), 0.0), axis=-1)
    weekly = evaluate_quantiles(model_levels, q, np.asarray(levels, dtype=float))
    paths = np.empty((len(skus), n_paths, len(weeks)), dtype=np.float32)
    for rows in sku_blocks(len(skus), n_paths * len(weeks)):  # bounds the float64 temporaries
        u = copula_uniforms(skus[rows], n_paths, len(weeks), rho, seed)
        paths[rows] = evaluate_quantiles(model_levels, q[rows], u)
    return Forecast.from_paths(skus, weeks, levels, paths, model, quantiles=weekly)


def history_rho(history: pd.DataFrame, block: int = 13, weeks: int = 104) -> float:
    """Average correlation between a SKU's weeks, from how 13-week sums vary in history.

    For demand with weekly variance ``v`` and average pairwise correlation ``r`` the sum of
    ``block`` weeks has variance ``block * v * (1 + (block - 1) r)``. Over each SKU's last
    ``weeks`` uncensored weeks, ``r`` is solved from the variance of non-overlapping block sums
    and clipped to [0, MAX_RHO]; the median over SKUs is returned (0 without enough data).
    """
    estimates = []
    for _, g in history.sort_values(["sku", "week"]).groupby("sku", sort=False):
        x = g["units"].to_numpy(dtype=float)[-weeks:]
        ok = g["stockout"].to_numpy()[-weeks:] == 0
        x = np.where(ok, x, np.nan)
        n_blocks = len(x) // block
        if n_blocks < 4:
            continue
        x = x[len(x) - n_blocks * block :]
        v = np.nanvar(x)
        if not np.isfinite(v) or v <= 0:
            continue
        blocks = np.nanmean(x.reshape(n_blocks, block), axis=1) * block
        ratio = np.nanvar(blocks) / (block * v)
        estimates.append((ratio - 1.0) / (block - 1))
    if not estimates:
        return 0.0
    return float(np.clip(np.median(estimates), 0.0, MAX_RHO))
