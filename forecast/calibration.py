"""Recalibrating quantile forecasts on held-out weeks (probability recalibration).

For each held-out actual ``y`` with forecast quantile function ``Q``, the probability
integral transform ``u = Q^{-1}(y)`` is uniform if the forecast is calibrated. Ties (``Q``
flat at ``y``, as at zero demand) are broken uniformly at random over the tied levels
(randomised PIT). The recalibrated quantile at level ``l`` is ``Q(g(l))`` with ``g`` the
empirical ``l``-quantile of the held-out PITs, shrunk towards the identity with weight
``n / (n + SHRINK)`` for ``n`` points. ``g`` is non-decreasing, so recalibrated quantiles
never cross (Kuleshov, Fenner & Ermon 2018).
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri

from forecast.quantile_paths import evaluate_quantiles

GRID = np.linspace(0.0005, 0.9995, 1000)
SHRINK = 50.0
LEVEL_BOUNDS = (0.002, 0.998)


def pit(levels: np.ndarray, q: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Randomised PIT of actuals ``y[N]`` under quantiles ``q[N, Q]`` at ``levels``."""
    if len(y) == 0:
        return np.empty(0)
    values = evaluate_quantiles(levels, q[:, None, :], GRID)[:, 0, :]  # [N, G]
    below = (values < y[:, None]).mean(axis=1)
    at_or_below = (values <= y[:, None]).mean(axis=1)
    return below + rng.random(len(y)) * (at_or_below - below)


def level_map(pits: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Recalibrated levels ``g(levels)``: the empirical PIT quantiles, shrunk towards ``levels``."""
    levels = np.asarray(levels, dtype=float)
    if len(pits) == 0:
        return levels.copy()
    weight = len(pits) / (len(pits) + SHRINK)
    g = weight * np.quantile(pits, levels) + (1.0 - weight) * levels
    return np.clip(np.maximum.accumulate(g), *LEVEL_BOUNDS)


def path_pit(paths: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Randomised PIT ``[S, H]`` of actuals ``y[S, H]`` (NaN: none) under the empirical distribution
    of ``paths[S, N, H]`` in each SKU-week."""
    below = (paths < y[:, None, :]).mean(axis=1)
    at_or_below = (paths <= y[:, None, :]).mean(axis=1)
    u = below + rng.random(y.shape) * (at_or_below - below)
    return np.where(np.isnan(y), np.nan, u)


def recalibrate_paths(paths: np.ndarray, levels: np.ndarray, mapped: np.ndarray) -> np.ndarray:
    """``paths[S, N, H]`` with each SKU-week's values re-read at the mapped levels: the value at
    plotting position ``u`` becomes the empirical quantile at ``g(u)`` (``g``: ``levels`` ->
    ``mapped``, linear between them). Ranks are kept, so the dependence between weeks stays."""
    n = paths.shape[1]
    order = np.argsort(paths, axis=1, kind="stable")
    ordered = np.take_along_axis(paths, order, axis=1)
    u = (np.arange(n) + 0.5) / n
    g = np.interp(u, np.concatenate([[0.0], levels, [1.0]]), np.concatenate([[0.0], mapped, [1.0]]))
    pos = np.clip(g * n - 0.5, 0.0, n - 1.0)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, n - 1)
    w = (pos - lo)[None, :, None]
    moved = ordered[:, lo, :] * (1.0 - w) + ordered[:, hi, :] * w
    out = np.empty_like(paths)
    np.put_along_axis(out, order, moved.astype(paths.dtype), axis=1)
    return out


def recalibrate(levels: np.ndarray, q: np.ndarray, mapped: np.ndarray) -> np.ndarray:
    """Quantiles ``q[S, H, Q]`` at ``levels`` re-read at the mapped levels: ``Q(g(l))``."""
    return evaluate_quantiles(levels, q, np.asarray(mapped, dtype=float))


def horizon_correlation(u: np.ndarray, min_weeks: int = 4) -> float:
    """Equicorrelation of forecast errors across the weeks of one origin, from PITs ``u[S, H]`` (NaN = none).

    With ``z = Phi^-1(u)`` standardised over all points, a SKU's weeks follow
    ``z_h = sqrt(rho) c + sqrt(1 - rho) e_h``, so the mean of its ``n`` values has
    ``E[mean^2] = rho + (1 - rho) / n``; ``rho`` is solved from the average over SKUs
    with at least ``min_weeks`` points and clipped to [0, 0.95].
    """
    z = ndtri(np.clip(u, 1e-4, 1 - 1e-4))
    ok = ~np.isnan(z)
    if ok.sum() < 2:
        return 0.0
    z = (z - np.nanmean(z)) / max(float(np.nanstd(z)), 1e-9)
    n = ok.sum(axis=1)
    rows = n >= min_weeks
    if not rows.any():
        return 0.0
    mean_sq = (np.nansum(z[rows], axis=1) / n[rows]) ** 2
    est = (mean_sq - 1.0 / n[rows]) / (1.0 - 1.0 / n[rows])
    return float(np.clip(est.mean(), 0.0, 0.95))


SHOCKS = (0.0, 0.1, 0.2, 0.3, 0.45, 0.6, 0.8, 1.0)  # standard deviations of log level shocks


def level_shock(paths: np.ndarray, skus: list[str], sigma: float, seed: int) -> np.ndarray:
    """``paths[S, N, H]`` with every path multiplied by its own level factor ``exp(sigma Z - sigma^2/2)``
    (mean 1; Z standard normal, drawn per SKU and path from the SKU's own generator).

    A common factor along a path moves all its weeks together: it widens cumulative demand (the
    uncertainty about the level that short histories leave) far more than single weeks."""
    if sigma <= 0:
        return paths
    from forecast.baselines import sku_rng

    z = np.stack([sku_rng(seed, f"level:{sku}").standard_normal(paths.shape[1]) for sku in skus])
    return paths * np.exp(sigma * z - 0.5 * sigma**2)[:, :, None].astype(paths.dtype)


def cumulative_miscalibration(paths: np.ndarray, y: np.ndarray, horizons: tuple[int, ...]) -> float:
    """Squared distance of the expected coverage of cumulative demand (80 % and 90 % central
    intervals, ties split) from nominal, summed over ``horizons`` (weeks from the origin, within
    ``y``'s columns); SKUs with a censored week in the span are left out."""
    from forecast.metrics import expected_coverage

    total = 0.0
    for h in (h for h in horizons if h <= y.shape[1]):
        rows = np.isfinite(y[:, :h]).all(axis=1)
        if not rows.any():
            continue
        actual = y[rows, :h].sum(axis=1)
        cum = paths[rows, :, :h].sum(axis=2)
        below = (cum < actual[:, None]).mean(axis=1)
        at = (cum <= actual[:, None]).mean(axis=1)
        for lo, hi in ((0.1, 0.9), (0.05, 0.95)):
            total += (expected_coverage(below, at, lo, hi).mean() - (hi - lo)) ** 2
    return total
