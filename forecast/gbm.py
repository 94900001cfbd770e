"""Global LightGBM quantile models: one model per quantile level, direct over horizons 1..H.

Rows are (SKU, origin, horizon) triples from :mod:`forecast.features`; the target is the
demand in week ``origin + horizon`` divided by the SKU's level at the origin, and each row
is weighted by that level so the training loss is the pinball loss in units (what the
weighted quantile loss measures). The horizon is a feature, so one model per level serves
every horizon. Predicted quantiles are sorted across levels (monotone rearrangement), so
they never cross; paths come from the Gaussian copula in :mod:`forecast.quantile_paths`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Annotated, Self

import lightgbm as lgb
import numpy as np
import pandas as pd
from pydantic import Field

from forecast.features import Panel, design, make_panel, origin_features, target
from forecast.params import Float, Horizon, Int, Levels, NPaths, Rate, Seed, Threads
from forecast.quantile_model import DEFAULT_LEVELS, QuantileForecaster
from forecast.quantile_paths import history_rho
from forecast.tasks import map_tasks

log = logging.getLogger(__name__)

MIN_AGE = 4  # weeks of history an origin needs to be used in training


def _train_level(
    params: dict[str, object], shared: tuple[pd.DataFrame, np.ndarray, np.ndarray, int]
) -> lgb.Booster:
    """One level's booster (a task): ``shared`` is the design matrix, targets, weights and rounds."""
    x, y, weight, rounds = shared
    data = lgb.Dataset(x, label=y, weight=weight, categorical_feature=["category", "supplier"])
    return lgb.train(params, data, num_boost_round=rounds)


def booster_params(model: object, **objective: object) -> dict[str, object]:
    """LightGBM settings shared by the global models: ``objective`` plus ``model``'s learning rate,
    leaves, minimum leaf size, threads and seed; bagging, L2 and deterministic, row-wise training."""
    return {
        **objective,
        "learning_rate": model.learning_rate,
        "num_leaves": model.num_leaves,
        "min_data_in_leaf": model.min_data_in_leaf,
        "feature_fraction": 0.8,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "lambda_l2": 1.0,
        "num_threads": model.threads,
        "seed": model.seed,
        "deterministic": True,
        "force_row_wise": True,
        "verbosity": -1,
    }


class GlobalRows:
    """Rows of a global direct model (:mod:`forecast.features`): training triples (SKU, origin,
    horizon) and the prediction rows at the last origin; ``update`` moves that origin.

    Users set ``max_horizon``, ``train_weeks``, ``max_rows`` and ``seed`` and, at fit, ``vocab_``.
    """

    max_horizon: int
    train_weeks: int
    max_rows: int
    seed: int
    name: str

    def update(
        self,
        history: pd.DataFrame,
        *,
        attributes: pd.DataFrame | None = None,
        events: pd.DataFrame | None = None,
    ) -> Self:
        """Move the forecast origin to the end of ``history`` without retraining the boosters."""
        self._check_fitted()
        panel, _ = make_panel(history, attributes, events, vocab=self.vocab_)
        self._set_origin(history, panel, origin_features(panel))
        return self

    def _set_origin(self, history: pd.DataFrame, panel: Panel, feats: dict[str, np.ndarray]) -> None:
        """Model inputs for forecasts from the last week of ``panel``."""
        last = np.full(len(panel.skus), len(panel.weeks) - 1)
        self.skus_ = list(panel.skus)
        self.last_week_ = panel.last_week
        self.pred_rows_ = self._prediction_rows(panel, feats, last)
        self.pred_scale_ = feats["scale"][:, -1]
        self.rho_ = history_rho(history)

    def _training_rows(
        self, panel: Panel, feats: dict[str, np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(s, t, h) with a known target, the origin listed and ``MIN_AGE`` weeks old, sampled."""
        n_s, n_t = feats["scale"].shape
        first = max(0, n_t - self.train_weeks - self.max_horizon)
        s, t, h = np.meshgrid(
            np.arange(n_s), np.arange(first, n_t - 1), np.arange(1, self.max_horizon + 1), indexing="ij"
        )
        s, t, h = s.ravel(), t.ravel(), h.ravel()
        keep = (t + h < n_t) & (feats["age"][s, t] >= MIN_AGE)
        s, t, h = s[keep], t[keep], h[keep]
        y = target(panel, s, t, h)
        ok = ~np.isnan(y)
        s, t, h = s[ok], t[ok], h[ok]
        if len(s) > self.max_rows:
            pick = np.sort(np.random.default_rng(self.seed).choice(len(s), self.max_rows, replace=False))
            s, t, h = s[pick], t[pick], h[pick]
        if len(s) == 0:
            raise ValueError(
                f"{self.name}: no training rows (need at least a few weeks of uncensored history)"
            )
        return s, t, h

    def _prediction_rows(self, panel: Panel, feats: dict[str, np.ndarray], t: np.ndarray) -> pd.DataFrame:
        n_s = len(t)
        s = np.repeat(np.arange(n_s), self.max_horizon)
        h = np.tile(np.arange(1, self.max_horizon + 1), n_s)
        return design(panel, feats, s, np.repeat(t, self.max_horizon), h)


class LightGBMForecaster(GlobalRows, QuantileForecaster):
    """One global LightGBM quantile regression per level (``objective="quantile"``)."""

    name = "lightgbm"

    def __init__(
        self,
        quantiles: Levels = DEFAULT_LEVELS,
        max_horizon: Horizon = 26,
        num_rounds: Annotated[Int, Field(ge=1, le=100_000)] = 150,
        learning_rate: Rate = 0.1,
        num_leaves: Annotated[Int, Field(ge=2, le=131_072)] = 15,
        min_data_in_leaf: Annotated[Int, Field(ge=1)] = 100,
        max_rows: Annotated[Int, Field(ge=100, le=100_000_000)] = 100_000,
        train_weeks: Annotated[Int, Field(ge=1, le=1040)] = 156,
        n_paths: NPaths = 500,
        seed: Seed = 0,
        threads: Threads = 2,
        weight_power: Annotated[Float, Field(ge=0, le=2)] = 0.5,
    ):
        self.quantiles = tuple(float(q) for q in quantiles)
        self.max_horizon = max_horizon
        self.num_rounds = num_rounds
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_data_in_leaf = min_data_in_leaf
        self.max_rows = max_rows
        self.train_weeks = train_weeks
        self.n_paths = n_paths
        self.seed = seed
        self.threads = threads
        self.weight_power = weight_power

    def _booster_params(self, level: float) -> dict[str, object]:
        return booster_params(self, objective="quantile", alpha=level)

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
        y = target(panel, s, t, h) / scale
        self.feature_names_ = list(x.columns)
        params = [self._booster_params(level) for level in self.quantiles]
        self.boosters_ = map_tasks(
            _train_level, params, shared=(x, y, scale**self.weight_power, self.num_rounds)
        )
        log.info("lightgbm: %d rows x %d features, %d levels", len(x), x.shape[1], len(self.quantiles))
        self.fitted_ = True
        self._set_origin(history, panel, feats)
        return self

    def predict_quantiles(self, skus: Sequence[str], horizon: int) -> np.ndarray:
        """Quantiles ``[S, horizon, Q]`` at ``self.quantiles`` in units (zeros for unknown SKUs)."""
        self._check_fitted()

        def predict(known: np.ndarray) -> np.ndarray:
            at = known[:, None] * self.max_horizon + np.arange(self.max_horizon)
            rows = self.pred_rows_.iloc[at.ravel()]
            raw = np.stack([b.predict(rows, num_threads=self.threads) for b in self.boosters_], axis=1)
            raw = raw.reshape(len(known), self.max_horizon, len(self.quantiles))[:, :horizon]
            return np.sort(np.maximum(raw, 0.0), axis=2) * self.pred_scale_[known, None, None]

        return self._for_fitted_skus(skus, horizon, predict)
