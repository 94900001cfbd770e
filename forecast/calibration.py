"""Recalibrating sample-path forecasts on held-out weeks, where the optimiser uses them: demand
summed over several weeks.

For each held-out actual ``y`` the probability integral transform ``u = F(y)`` under the
forecast's paths is uniform if the forecast is calibrated (probability recalibration, Kuleshov,
Fenner & Ermon 2018); ties (many paths at ``y``, as at zero demand) are broken uniformly at random
(randomised PIT). Here ``y`` is cumulative demand from the origin over several horizons (the
quantity behind lead-time decisions). The level map ``g`` is the empirical quantile function of
the held-out PITs, shrunk towards the identity with weight ``n / (n + SHRINK)`` for ``n`` points.
A forecast is recalibrated by re-drawing whole paths by the rank of their total: the path at
plotting position ``u`` is replaced by the one at ``g(u)``. Paths stay real paths (their zeros,
runs and gaps), quantiles never cross, and cumulative demand moves to the calibrated levels.
Re-reading each week's path values on their own (a weekly map) or a common level shock on every
path scores worse over the lead time on intermittent data (bench/forecast_manufacturer.py), so the
paths are left to the cumulative map. The weekly quantiles a forecast reports are calibrated on
their own: a second level map from the PITs of held-out weekly demand picks, for each reported
level, the level of the (un-resampled) mixture's weekly values that covers it
(:func:`mapped_quantiles`). Weekly quantiles then cover what they claim, week by week, while the
paths and cumulative quantiles (what the optimiser uses) cover cumulative demand.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from forecast.base import path_quantiles

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


def cumulative_sums(
    paths: np.ndarray, y: np.ndarray, horizons: tuple[int, ...]
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Per horizon ``h`` of ``horizons`` (within ``y``'s columns): the paths' totals ``[S', N]`` and the
    actual totals ``[S']`` of demand over the first ``h`` weeks, for the SKUs without a censored
    (NaN) week in them."""
    for h in (h for h in horizons if h <= y.shape[1]):
        rows = np.isfinite(y[:, :h]).all(axis=1)
        if rows.any():
            yield paths[rows, :, :h].sum(axis=2, dtype=np.float64), y[rows, :h].sum(axis=1)


def cumulative_pits(
    paths: np.ndarray, y: np.ndarray, horizons: tuple[int, ...], rng: np.random.Generator
) -> np.ndarray:
    """Randomised PITs of cumulative demand from the origin over each of ``horizons`` weeks
    (:func:`cumulative_sums`) under ``paths[S, N, H]``."""
    pits = [
        path_pit(totals[:, :, None], actual[:, None], rng).ravel()
        for totals, actual in cumulative_sums(paths, y, horizons)
    ]
    return np.concatenate([np.empty(0), *pits])


def resample_paths(paths: np.ndarray, levels: np.ndarray, mapped: np.ndarray, weeks: int) -> np.ndarray:
    """``paths[S, N, H]`` re-drawn whole by rank: per SKU, the paths ordered by their total over the
    first ``weeks`` weeks; the path at plotting position ``u`` is replaced by the path at ``g(u)``
    (``g``: ``levels`` -> ``mapped``, linear between them). Every path stays one of the SKU's own
    paths (its zeros, runs and gaps), so the distribution of cumulative demand moves to the mapped
    levels and the dependence between weeks stays."""
    n = paths.shape[1]
    totals = paths[:, :, : max(1, weeks)].sum(axis=2, dtype=np.float64)
    order = np.argsort(totals, axis=1, kind="stable")
    ordered = np.take_along_axis(paths, order[:, :, None], axis=1)
    u = (np.arange(n) + 0.5) / n
    g = np.interp(u, np.concatenate([[0.0], levels, [1.0]]), np.concatenate([[0.0], mapped, [1.0]]))
    drawn = np.clip(np.floor(g * n).astype(int), 0, n - 1)
    out = np.empty_like(paths)
    np.put_along_axis(out, order[:, :, None], ordered[:, drawn, :], axis=1)
    return out


def mapped_quantiles(
    paths: np.ndarray, levels: np.ndarray, map_levels: np.ndarray, mapped: np.ndarray
) -> np.ndarray:
    """Weekly quantiles ``[S, H, Q]`` of ``paths[S, N, H]`` read at the recalibrated levels
    ``g(levels)`` (``g``: ``map_levels`` -> ``mapped``, linear between them), non-decreasing in the
    level."""
    return path_quantiles(paths, np.interp(np.asarray(levels, dtype=float), map_levels, mapped))


def cumulative_miscalibration(paths: np.ndarray, y: np.ndarray, horizons: tuple[int, ...]) -> float:
    """Squared distance of the expected coverage of cumulative demand (80 % and 90 % central
    intervals, ties split) from nominal, summed over ``horizons`` (:func:`cumulative_sums`)."""
    from forecast.metrics import expected_coverage

    total = 0.0
    for cum, actual in cumulative_sums(paths, y, horizons):
        below = (cum < actual[:, None]).mean(axis=1)
        at = (cum <= actual[:, None]).mean(axis=1)
        for lo, hi in ((0.1, 0.9), (0.05, 0.95)):
            total += (expected_coverage(below, at, lo, hi).mean() - (hi - lo)) ** 2
    return total
