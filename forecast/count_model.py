"""A count-aware global model for intermittent demand: a LightGBM Tweedie mean, paths that keep the zeros.

**Mean.** One global LightGBM booster with the Tweedie objective (log link, variance power
``variance_power``) on the rows of :mod:`forecast.features` (SKU, origin, horizon), target
``units / scale`` weighted by ``scale ** weight_power``, as the quantile model. It predicts the
expected demand ``mu[s, h]`` (units/week); a Tweedie loss fits the mean of series with many zero
weeks, where quantile regression's low quantiles collapse to zero.

**Distribution.** A week has demand with probability ``pi = min(1, m / s)`` and then one of the
SKU's past non-zero weekly demands (its last ``size_weeks`` uncensored weeks; mean ``s``), scaled
by ``m / (pi s)`` (1 unless ``m > s``) and jittered as in :mod:`forecast.intermittent`, so the week's
mean is ``m``: the model says how much, the SKU's own history how lumpy. Zero weeks and order sizes
thus come from the distribution, as lumpy demand has them.

``m = mu A``, with a level ``A ~ Gamma(1/c, c)`` drawn once per path (mean 1, variance ``c``): what
the model does not know about the level, which is what widens demand over a lead time. ``c`` per
demand class (:mod:`forecast.segments`) from the model's own errors on 13-week sums in the training
weeks: ``c = sum((Y - M)^2 - W) / sum(M^2)``, with ``Y`` and ``M`` a block's actual and predicted
sums and ``W`` the variance the weeks' own spread gives it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Annotated, Self

import lightgbm as lgb
import numpy as np
import pandas as pd
from pydantic import Field

from forecast.base import Forecast, Forecaster
from forecast.baselines import sku_rng
from forecast.features import Panel, design, make_panel, origin_features, target
from forecast.gbm import MIN_AGE, GlobalRows, booster_params
from forecast.intermittent import draw_sizes
from forecast.params import Float, Horizon, Int, NPaths, Rate, Seed, Threads
from forecast.quantile_model import horizon_offset
from forecast.segments import classify_demand

log = logging.getLogger(__name__)

BLOCK = 13  # weeks summed to measure the level's uncertainty
BLOCK_STEP = 4  # weeks between the blocks' origins
MAX_LEVEL_VAR = 4.0


def occurrence_paths(
    mu: np.ndarray,
    sizes: np.ndarray,
    level_var: float,
    whole: bool,
    n_paths: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Paths ``[n_paths, H]`` of one SKU from weekly means ``mu[H]`` and its past non-zero ``sizes``
    (module docstring; ``level_var`` is ``c``)."""
    mu = np.maximum(np.asarray(mu, dtype=float), 0.0)
    c = level_var
    level = rng.gamma(1.0 / c, c, size=(n_paths, 1)) if c > 1e-9 else np.ones((n_paths, 1))
    m = mu[None, :] * level
    pi, scale = occurrence(m, float(sizes.mean()))
    occurs = rng.random(m.shape) < pi
    return np.where(occurs, draw_sizes(sizes, scale, rng, True, whole), 0.0)


def occurrence(m: np.ndarray, mean_size: float) -> tuple[np.ndarray, np.ndarray]:
    """Probability of demand ``pi = min(1, m / s)`` and the size scale ``m / (pi s)`` for means ``m``."""
    pi = np.minimum(1.0, m / mean_size)
    return pi, np.where(pi > 0, m / np.maximum(pi * mean_size, 1e-12), 1.0)


def week_variance(m: np.ndarray, mean_size: np.ndarray, size_square: np.ndarray) -> np.ndarray:
    """Variance of a week with mean ``m`` (module docstring): ``pi k^2 E[x^2] - m^2``, ``k`` the size
    scale and ``E[x^2]`` the mean square of a jittered size (``size_square``)."""
    pi, scale = occurrence(m, mean_size)
    return np.maximum(pi * scale**2 * size_square - m**2, 0.0)


class CountForecaster(GlobalRows, Forecaster):
    """Global LightGBM Tweedie mean with occurrence-and-size paths (``model: tweedie``)."""

    name = "tweedie"

    def __init__(
        self,
        max_horizon: Horizon = 26,
        variance_power: Annotated[Float, Field(ge=1.0, le=1.99)] = 1.2,
        num_rounds: Annotated[Int, Field(ge=1, le=100_000)] = 200,
        learning_rate: Rate = 0.05,
        num_leaves: Annotated[Int, Field(ge=2, le=131_072)] = 15,
        min_data_in_leaf: Annotated[Int, Field(ge=1)] = 100,
        max_rows: Annotated[Int, Field(ge=100, le=100_000_000)] = 200_000,
        train_weeks: Annotated[Int, Field(ge=1, le=1040)] = 156,
        size_weeks: Annotated[Int, Field(ge=4, le=520)] = 52,
        n_paths: NPaths = 500,
        seed: Seed = 0,
        threads: Threads = 2,
        weight_power: Annotated[Float, Field(ge=0, le=2)] = 0.5,
    ):
        self.max_horizon = max_horizon
        self.variance_power = variance_power
        self.num_rounds = num_rounds
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_data_in_leaf = min_data_in_leaf
        self.max_rows = max_rows
        self.train_weeks = train_weeks
        self.size_weeks = size_weeks
        self.n_paths = n_paths
        self.seed = seed
        self.threads = threads
        self.weight_power = weight_power

    def fit(
        self,
        history: pd.DataFrame,
        *,
        attributes: pd.DataFrame | None = None,
        events: pd.DataFrame | None = None,
    ) -> Self:
        panel, self.vocab_ = make_panel(history, attributes, events)
        feats = origin_features(panel)
        s, t, h = self._training_rows(panel, feats)
        x = design(panel, feats, s, t, h)
        scale = feats["scale"][s, t]
        y = target(panel, s, t, h)
        data = lgb.Dataset(
            x, label=y / scale, weight=scale**self.weight_power, categorical_feature=["category", "supplier"]
        )
        self.booster_ = lgb.train(
            booster_params(self, objective="tweedie", tweedie_variance_power=self.variance_power),
            data,
            num_boost_round=self.num_rounds,
        )
        self._set_origin(history, panel, feats)
        klass = classify_demand(history).reindex(panel.skus).fillna("new").to_numpy()
        self.level_var_ = self._level_variance(panel, feats, klass)
        log.info(
            "tweedie: %d rows x %d features; level variance by class %s",
            len(x),
            x.shape[1],
            {c: round(float(self.level_var_[klass == c][0]), 3) for c in np.unique(klass)},
        )
        self.fitted_ = True
        return self

    def _set_origin(self, history: pd.DataFrame, panel: Panel, feats: dict[str, np.ndarray]) -> None:
        """The prediction rows at the last week and each SKU's past non-zero sizes."""
        super()._set_origin(history, panel, feats)
        recent = panel.units[:, -self.size_weeks :]
        self.sizes_ = {
            str(sku): row[np.isfinite(row) & (row > 0)] for sku, row in zip(panel.skus, recent, strict=True)
        }

    def _level_variance(self, panel: Panel, feats: dict[str, np.ndarray], klass: np.ndarray) -> np.ndarray:
        """Per SKU: its class's ``c`` (module docstring) from 13-week blocks starting every
        ``BLOCK_STEP`` weeks in the training weeks."""
        n_s, n_t = feats["scale"].shape
        origins = np.arange(max(0, n_t - self.train_weeks - BLOCK), n_t - BLOCK, BLOCK_STEP)
        s, t, h = (
            a.ravel() for a in np.meshgrid(np.arange(n_s), origins, np.arange(1, BLOCK + 1), indexing="ij")
        )
        keep = np.repeat((feats["age"][s[::BLOCK], t[::BLOCK]] >= MIN_AGE), BLOCK)
        s, t, h = s[keep], t[keep], h[keep]
        out = np.zeros(n_s)
        if len(s) == 0:
            return out
        mu = self.booster_.predict(design(panel, feats, s, t, h), num_threads=self.threads)
        mu = (mu * feats["scale"][s, t]).reshape(-1, BLOCK)
        y = target(panel, s, t, h).reshape(-1, BLOCK)
        sku = s[::BLOCK]
        ok = np.isfinite(y).all(axis=1)
        sizes = [_sizes_or_one(self.sizes_[str(k)]) for k in panel.skus]
        mean_size = np.array([x.mean() for x in sizes])[sku, None]
        size_square = np.array([np.mean(x**2) + x.mean() for x in sizes])[sku, None]  # jitter adds x
        within = week_variance(mu, mean_size, size_square).sum(axis=1)
        excess = (y.sum(axis=1) - mu.sum(axis=1)) ** 2 - within
        square = mu.sum(axis=1) ** 2
        for c in np.unique(klass):
            rows = ok & (klass[sku] == c)
            if square[rows].sum() > 0:
                out[klass == c] = max(0.0, excess[rows].sum() / square[rows].sum())
        return np.minimum(out, MAX_LEVEL_VAR)

    def predict(self, skus: Sequence[str], weeks: pd.DatetimeIndex, levels: Sequence[float]) -> Forecast:
        """Paths around the model's means (module docstring); quantiles and cumulative quantiles
        from the paths; the mean is the model's."""
        self._check_fitted()
        weeks = pd.DatetimeIndex(weeks)
        offset = horizon_offset(self.last_week_, weeks, self.max_horizon, self.name)
        skus = list(skus)
        pos = pd.Index(self.skus_).get_indexer(skus)
        mean = np.zeros((len(skus), len(weeks)))
        paths = np.zeros((len(skus), self.n_paths, len(weeks)), dtype=np.float32)
        known = np.flatnonzero(pos >= 0)
        if known.size:
            at = pos[known][:, None] * self.max_horizon + np.arange(offset, offset + len(weeks))
            raw = self.booster_.predict(self.pred_rows_.iloc[at.ravel()], num_threads=self.threads)
            mean[known] = raw.reshape(len(known), len(weeks)) * self.pred_scale_[pos[known], None]
        for i in known:
            sizes = _sizes_or_one(self.sizes_[skus[i]])
            whole = bool(np.all(sizes == np.round(sizes)))
            rng = sku_rng(self.seed, skus[i])
            paths[i] = occurrence_paths(mean[i], sizes, self.level_var_[pos[i]], whole, self.n_paths, rng)
        return Forecast.from_paths(skus, weeks, levels, paths, self.name, mean=mean)


def _sizes_or_one(sizes: np.ndarray) -> np.ndarray:
    """A SKU's past non-zero sizes, or one unit when it has none (its mean then sets how often)."""
    return sizes if sizes.size else np.ones(1)
