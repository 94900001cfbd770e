"""Recalibrating sample-path forecasts on held-out weeks.

Weekly values (probability recalibration, Kuleshov, Fenner & Ermon 2018): for each held-out
actual ``y`` the probability integral transform ``u = F(y)`` under the forecast's paths is
uniform if the forecast is calibrated; ties (many paths at ``y``, as at zero demand) are broken
uniformly at random (randomised PIT). The level map ``g`` is the empirical quantile function of
the held-out PITs, shrunk towards the identity with weight ``n / (n + SHRINK)`` for ``n`` points;
each SKU-week's path values are then re-read at ``g`` of their plotting positions, which keeps
their ranks (the dependence between weeks) and never crosses quantiles.

Cumulative demand: a level shock per path (a common factor on all its weeks) widens demand over
several weeks far more than single weeks; its spread is chosen where the held-out cumulative
intervals cover what they claim.
"""

from __future__ import annotations

import numpy as np

SHRINK = 50.0
LEVEL_BOUNDS = (0.002, 0.998)


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
