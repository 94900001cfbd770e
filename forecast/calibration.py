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
