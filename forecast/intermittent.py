"""A bootstrap forecaster for intermittent demand (Willemain, Smart & Schwarz 2004).

Each SKU's demand is two processes, both read from its last ``window`` uncensored weeks from its
first sale:

- **occurrence**: whether a week has demand follows a two-state Markov chain with transition
  probabilities ``p01 = P(demand | none last week)`` and ``p11 = P(demand | demand last week)``;
- **size**: a week with demand draws a size from the SKU's past non-zero sizes, jittered as
  ``x + Z sqrt(x)`` (Z standard normal; kept where positive), so that sizes not seen yet occur.

Parameter uncertainty (Prak & Teunter 2019) enters every path: each path draws its own ``p01``
and ``p11`` from their Beta posteriors (Jeffreys prior) and scales its sizes by a factor drawn
for the mean size (log-normal with the standard error of the mean of the sizes). A SKU with a
short or sparse history thus gets wide forecasts, not confidently wrong ones.

Paths are sequences, so demand over several weeks (a lead time) comes from sums along paths,
with the runs and gaps the Markov chain carries, not from independent weeks.

**SKUs that have never sold** have no occurrences or sizes of their own. They follow the pooled
launch of the SKUs that did start selling: each week a first sale occurs with the pooled
first-sale hazard ``h`` (first sales over the weeks SKUs had been listed without one, in the
last ``HAZARD_WEEKS`` weeks), after which the Markov chain and the sizes of all SKUs' first
``LAUNCH_WEEKS`` weeks from their first sale take over. Each path draws its own ``h``, ``p01`` and
``p11`` from their Beta posteriors, as above.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Self

import numpy as np
import pandas as pd
from pydantic import Field

from forecast.base import Forecast, Forecaster
from forecast.baselines import _sku_blocks, sku_rng
from forecast.params import Bool, Int, NPaths, Seed

PRIOR = 0.5  # Jeffreys Beta(1/2, 1/2) on each transition probability
HAZARD_WEEKS = 52  # recent weeks the first-sale hazard of never-sold SKUs is counted over
LAUNCH_WEEKS = 26  # weeks from a first sale that make the pooled launch behaviour


def _transitions(occurred: np.ndarray) -> tuple[int, int, int, int]:
    """Counts (n00, n01, n10, n11) of consecutive-week transitions of a 0/1 sequence."""
    prev, nxt = occurred[:-1], occurred[1:]
    return (
        int(np.sum(~prev & ~nxt)),
        int(np.sum(~prev & nxt)),
        int(np.sum(prev & ~nxt)),
        int(np.sum(prev & nxt)),
    )


def draw_sizes(
    sizes: np.ndarray, scale: np.ndarray, rng: np.random.Generator, jitter: bool, whole: bool
) -> np.ndarray:
    """One demand size per cell of ``scale`` (its shape): a past non-zero size drawn from ``sizes``
    times ``scale``, jittered as ``x + Z sqrt(x)`` where that stays positive (whole units: rounded,
    at least 1)."""
    x = sizes[rng.integers(0, sizes.size, size=scale.shape)] * scale
    if jitter:
        moved = x + rng.standard_normal(scale.shape) * np.sqrt(x)
        x = np.where(moved > 0, np.maximum(np.round(moved), 1.0) if whole else moved, x)
    return x


def bootstrap_paths(
    units: np.ndarray, horizon: int, n_paths: int, rng: np.random.Generator, jitter: bool = True
) -> np.ndarray:
    """Sample paths ``[n_paths, horizon]`` of one SKU's future weekly demand from its past weekly
    ``units`` (uncensored, oldest first; see the module docstring)."""
    units = np.asarray(units, dtype=float)
    occurred = units > 0
    if not occurred.any():
        return np.zeros((n_paths, horizon))
    n00, n01, n10, n11 = _transitions(occurred)
    p01 = rng.beta(n01 + PRIOR, n00 + PRIOR, size=n_paths)
    p11 = rng.beta(n11 + PRIOR, n10 + PRIOR, size=n_paths)
    sizes = units[occurred]
    whole = bool(np.all(sizes == np.round(sizes)))
    spread = sizes.std() / sizes.mean() / np.sqrt(sizes.size) if sizes.size > 1 else 1.0
    level = np.exp(rng.normal(-0.5 * spread**2, spread, size=n_paths))  # mean 1
    state = np.full(n_paths, occurred[-1])
    paths = np.zeros((n_paths, horizon))
    for t in range(horizon):
        state = rng.random(n_paths) < np.where(state, p11, p01)
        paths[:, t] = np.where(state, draw_sizes(sizes, level, rng, jitter, whole), 0.0)
    return paths


def launch_paths(
    launch: dict[str, np.ndarray], horizon: int, n_paths: int, rng: np.random.Generator, jitter: bool = True
) -> np.ndarray:
    """Sample paths ``[n_paths, horizon]`` of a SKU that has never sold, from the pooled ``launch``
    (:func:`pooled_launch`; module docstring)."""
    (first, at_risk), (n00, n01, n10, n11), sizes = launch["hazard"], launch["transitions"], launch["sizes"]
    paths = np.zeros((n_paths, horizon))
    if sizes.size == 0:
        return paths
    hazard = rng.beta(first + PRIOR, at_risk - first + PRIOR, size=n_paths)
    p01 = rng.beta(n01 + PRIOR, n00 + PRIOR, size=n_paths)
    p11 = rng.beta(n11 + PRIOR, n10 + PRIOR, size=n_paths)
    whole = bool(np.all(sizes == np.round(sizes)))
    launched = np.zeros(n_paths, dtype=bool)
    state = np.zeros(n_paths, dtype=bool)
    for t in range(horizon):
        chance = np.where(launched, np.where(state, p11, p01), hazard)
        state = rng.random(n_paths) < chance
        launched |= state
        paths[:, t] = np.where(state, draw_sizes(sizes, np.ones(n_paths), rng, jitter, whole), 0.0)
    return paths


def pooled_launch(weeks: np.ndarray, units: np.ndarray, bounds: np.ndarray) -> dict[str, np.ndarray]:
    """The pooled launch of SKUs' uncensored weekly ``units`` (and their ``weeks``), SKU ``i`` in rows
    ``bounds[i]:bounds[i+1]`` oldest first: ``hazard`` = (first sales, weeks at risk of one) over the
    last ``HAZARD_WEEKS`` weeks, ``transitions`` = summed (n00, n01, n10, n11) and ``sizes`` = the
    non-zero sizes of every SKU's first ``LAUNCH_WEEKS`` weeks from its first sale."""
    recent = weeks >= weeks.max() - np.timedelta64(7 * (HAZARD_WEEKS - 1), "D") if weeks.size else weeks
    first = at_risk = 0
    counts = np.zeros(4, dtype=np.int64)
    sizes = []
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        sold = np.flatnonzero(units[a:b] > 0)
        until = b if sold.size == 0 else a + sold[0] + 1  # weeks without a first sale, and its week
        at_risk += int(recent[a:until].sum())
        if sold.size == 0:
            continue
        first += int(recent[a + sold[0]])
        early = units[a + sold[0] : min(b, a + sold[0] + LAUNCH_WEEKS)]
        counts += np.array(_transitions(early > 0))
        sizes.append(early[early > 0])
    return {
        "hazard": np.array([first, at_risk], dtype=float),
        "transitions": counts.astype(float),
        "sizes": np.concatenate(sizes) if sizes else np.zeros(0),
    }


class BootstrapForecaster(Forecaster):
    """Markov-chain occurrence and resampled, jittered sizes with parameter uncertainty."""

    name = "bootstrap"

    def __init__(
        self,
        window: Annotated[Int, Field(ge=8, le=520)] = 104,
        jitter: Bool = True,
        n_paths: NPaths = 500,
        seed: Seed = 0,
    ):
        self.window = window
        self.jitter = jitter
        self.n_paths = n_paths
        self.seed = seed

    def fit(
        self,
        history: pd.DataFrame,
        *,
        attributes: pd.DataFrame | None = None,
        events: pd.DataFrame | None = None,
    ) -> Self:
        """Keep each SKU's last ``window`` uncensored weeks from its first sale (none: never sold) and
        the pooled launch of all SKUs (:func:`pooled_launch`)."""
        self.units_: dict[str, np.ndarray] = {}
        history, skus, bounds = _sku_blocks(history)
        ok = history["stockout"].to_numpy() == 0
        units = history["units"].to_numpy(dtype=float)[ok]
        bounds = np.r_[0, np.cumsum(np.add.reduceat(ok.astype(int), bounds[:-1]))] if len(skus) else bounds
        for sku, a, b in zip(skus, bounds[:-1], bounds[1:], strict=True):
            seen = units[a:b]
            sold = np.flatnonzero(seen > 0)
            start = max(sold[0] if sold.size else len(seen), len(seen) - self.window)
            self.units_[str(sku)] = seen[start:]
        self.launch_ = pooled_launch(history["week"].to_numpy()[ok], units, bounds)
        self.last_week_ = pd.Timestamp(history["week"].max())
        self.fitted_ = True
        return self

    def predict(self, skus: Sequence[str], weeks: pd.DatetimeIndex, levels: Sequence[float]) -> Forecast:
        """Paths from the end of the history; weeks after a gap are forecast through the gap."""
        self._check_fitted()
        weeks = pd.DatetimeIndex(weeks)
        gap = max(0, (weeks[0] - self.last_week_).days // 7 - 1)
        paths = np.zeros((len(skus), self.n_paths, len(weeks)), dtype=np.float32)
        for i, sku in enumerate(skus):
            past = self.units_.get(sku)
            if past is None:
                continue
            rng = sku_rng(self.seed, sku)
            if past.size:
                draws = bootstrap_paths(past, gap + len(weeks), self.n_paths, rng, self.jitter)
            else:
                draws = launch_paths(self.launch_, gap + len(weeks), self.n_paths, rng, self.jitter)
            paths[i] = draws[:, gap:]
        return Forecast.from_paths(skus, weeks, levels, paths, self.name)
