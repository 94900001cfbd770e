"""Uncertain supplier lead times: late (and early) deliveries in whole weeks.

A supplier's ``lead_time_sd_weeks`` sigma_L is the standard deviation of its delivery's deviation
from the planned lead time L. Deviations are whole weeks ``delta`` with a discretised normal
distribution, ``P(delta = k)`` proportional to ``exp(-k^2 / (2 sigma_L^2))`` for
``|k| <= ceil(4 sigma_L)``, and never before the order week (``L + delta >= 0``).

- **Planning** (:func:`lead_time_cumulative`): supply planned to arrive by week t arrives by week
  ``t + delta``, so it must cover demand through ``t + delta``: the service target is read on
  cumulative demand over that random span, path by path. For normal weekly demand (mean mu,
  standard deviation sigma) this is the textbook
  ``mu (L+1) + z sqrt((L+1) sigma^2 + mu^2 sigma_L^2)`` for demand over the lead time plus a week.
- **Simulation and backtests** (:func:`draw_delays`): every order line's delivery is late or early
  by its own draw, on every demand path, from a seeded generator (the same seed, the same
  deliveries).
"""

from __future__ import annotations

import numpy as np


def delay_distribution(sd: float) -> tuple[np.ndarray, np.ndarray]:
    """Whole-week deviations ``k`` and their probabilities for a standard deviation ``sd`` (weeks)."""
    if sd <= 0:
        return np.zeros(1, dtype=int), np.ones(1)
    reach = int(np.ceil(4 * sd))
    k = np.arange(-reach, reach + 1)
    p = np.exp(-0.5 * (k / sd) ** 2)
    return k, p / p.sum()


def draw_delays(
    sd: np.ndarray, lead_time: np.ndarray, shape: tuple[int, ...], rng: np.random.Generator
) -> np.ndarray:
    """Deviations ``[S, *shape]`` in whole weeks, per SKU's supplier ``sd[S]``, so that
    ``lead_time + delay >= 0``."""
    out = np.zeros((len(sd), *shape), dtype=int)
    for s in np.flatnonzero(np.asarray(sd) > 0):
        k, p = delay_distribution(float(sd[s]))
        out[s] = np.maximum(rng.choice(k, size=shape, p=p), -int(lead_time[s]))
    return out


def lead_time_cumulative(
    paths: np.ndarray, sd: np.ndarray, lead_time: np.ndarray, seed: int = 0
) -> np.ndarray:
    """Cumulative demand ``[S, N, H]`` through week ``t + delta`` on each path (``delta`` one draw per
    SKU and path; spans are cut at the horizon's first and last week)."""
    cum = np.cumsum(paths, axis=2, dtype=np.float64)
    if not np.any(np.asarray(sd) > 0):
        return cum
    n_sku, n_paths, horizon = paths.shape
    delta = draw_delays(sd, lead_time, (n_paths,), np.random.default_rng(seed))  # [S, N]
    weeks = np.clip(np.arange(horizon)[None, None, :] + delta[:, :, None], 0, horizon - 1)
    return np.take_along_axis(cum, weeks, axis=2)


def delayed_receipts(orders: np.ndarray, lead_time: np.ndarray, delays: np.ndarray) -> np.ndarray:
    """Receipts ``[S, N, H]`` of ``orders[S, H]`` whose line (s, t) arrives in week
    ``t + L_s + delays[s, t, n]`` (``delays[S, H, N]``); arrivals after the horizon are dropped."""
    n_sku, horizon = orders.shape
    n_paths = delays.shape[2]
    out = np.zeros((n_sku, n_paths, horizon))
    s_idx, t_idx = np.nonzero(orders > 0)
    for s, t in zip(s_idx, t_idx, strict=True):
        week = t + lead_time[s] + delays[s, t]  # [N]
        inside = (week >= 0) & (week < horizon)
        out[s, np.flatnonzero(inside), week[inside]] += orders[s, t]
    return out
