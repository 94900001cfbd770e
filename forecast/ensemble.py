"""The default forecaster: a mixture of members' sample paths, weighted per demand class.

``fit(history)`` with ``V = validation_weeks``:

1. every member is trained on the history up to ``V`` weeks before its end and forecasts
   those ``V`` weeks as sample paths, then, moved (``update``) to two later origins inside
   them, the rest of them (three looks at the held-out weeks: a few large orders weigh less);
2. per demand class (:mod:`forecast.segments`: smooth, erratic, intermittent, lumpy, new, dead,
   each SKU classified on the training weeks) the mixture weights ``w_m`` (a grid on the simplex,
   step ``weight_step``) are chosen to minimise, over the class's held-out uncensored weeks, the
   weighted quantile loss of the weekly quantiles **plus** that of cumulative demand from the
   origin over 4, 8, 13, 17 and 26 weeks (what lead-time decisions use) **plus** the squared
   miss of the cumulative 80 % and 90 % intervals' coverage (quantile models' copula paths can
   be far too narrow over a lead time on intermittent demand: a few large orders hide that from
   the pinball loss on one window);
3. the mixture is recalibrated per class (:mod:`forecast.calibration`): the randomised PITs of
   the held-out cumulative demand (over the same horizons) give a level map ``g``, and each
   SKU's paths are re-drawn whole by the rank of their total over the first ``RANK_WEEKS``
   weeks (the path at ``u`` replaced by the one at ``g(u)``); the weekly quantiles it reports
   come from a second, weekly level map (the PITs of held-out weekly demand under the mixture),
   so they cover weekly demand while the paths cover cumulative demand;
4. members move their origin to the end of the history (``update``; ``refit=True`` retrains).

A forecast takes, for each SKU, ``w_m N`` of the ``N`` paths from member ``m`` (largest
remainders): the mixture of the members' distributions, each path keeping its member's
dependence between weeks (a path-native model such as the bootstrap keeps its runs and gaps;
quantile models bring their copula paths). Quantiles and cumulative quantiles come from the
pooled paths; the mean is the weighted mean of the members' means. The demand class of every
SKU travels with the forecast (``Forecast.classes``).

Weights are thus measured on the very models that forecast, on weeks they did not see, and on
the quantity the optimiser plans with.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence
from typing import Annotated, Any, Literal, Self

import numpy as np
import pandas as pd
from pydantic import Field

from forecast.base import Forecast, Forecaster, path_quantiles, sku_blocks
from forecast.calibration import (
    cumulative_miscalibration,
    cumulative_pits,
    level_map,
    mapped_quantiles,
    path_pit,
    resample_paths,
)
from forecast.params import Bool, Float, Horizon, Int, Levels, NPaths, Seed
from forecast.quantile_model import DEFAULT_LEVELS
from forecast.registry import QUANTILE_MODELS, forecaster_class, model_parameters
from forecast.segments import DEMAND_CLASSES, classify_demand
from forecast.tasks import map_tasks

log = logging.getLogger(__name__)

MIN_TRAIN_WEEKS = 26
VALIDATION_ORIGINS = 3  # origins within the held-out weeks the weights are scored from
CUMULATIVE_WEEKS = (4, 8, 13, 17, 26)  # validation horizons of cumulative demand
VALIDATION_LEVELS = np.round(np.arange(0.05, 0.96, 0.05), 2)
CALIBRATION_LEVELS = np.round(np.arange(0.01, 1.0, 0.01), 2)
RANK_WEEKS = 13  # paths are re-drawn by the rank of their total over this many weeks
Member = Literal["lightgbm", "lstm", "tweedie", "bootstrap", "baseline", "croston"]


def actual_matrix(history: pd.DataFrame, skus: Sequence[str], weeks: pd.DatetimeIndex) -> np.ndarray:
    """Units ``[S, W]`` with NaN where censored or missing."""
    rows = history[history["week"].isin(weeks)]
    units = rows["units"].where(rows["stockout"] == 0)
    frame = pd.DataFrame({"sku": rows["sku"], "week": rows["week"], "units": units})
    wide = frame.pivot_table(index="sku", columns="week", values="units", aggfunc="first", dropna=False)
    return wide.reindex(index=list(skus), columns=weeks).to_numpy(dtype=float)


def simplex_grid(members: int, step: float) -> np.ndarray:
    """Weight vectors ``[K, members]`` on the simplex in multiples of ``step`` (1/step whole)."""
    parts = max(1, round(1.0 / step))
    rows = [c for c in itertools.product(range(parts + 1), repeat=members) if sum(c) == parts]
    return np.array(rows, dtype=float) / parts


def path_counts(weights: np.ndarray, n_paths: int) -> np.ndarray:
    """Paths per member (summing to ``n_paths``) for ``weights``, by largest remainders."""
    raw = np.asarray(weights, dtype=float) * n_paths
    counts = np.floor(raw).astype(int)
    order = np.argsort(-(raw - counts), kind="stable")
    counts[order[: n_paths - counts.sum()]] += 1
    return counts


def mix_paths(member_paths: Sequence[np.ndarray], weights: np.ndarray) -> np.ndarray:
    """Paths ``[S, N, H]``: the first ``w_m N`` paths of each member's ``[S, N, H]``."""
    n = member_paths[0].shape[1]
    counts = path_counts(weights, n)
    return np.concatenate([p[:, :c] for p, c in zip(member_paths, counts, strict=True) if c], axis=1)


def pinball_sum(y: np.ndarray, q: np.ndarray, levels: np.ndarray) -> float:
    """Sum of pinball losses of quantiles ``q[..., Q]`` at ``levels`` for actuals ``y[...]`` (NaN skipped)."""
    diff = y[..., None] - q
    loss = np.maximum(levels * diff, (levels - 1.0) * diff)
    return float(np.nansum(loss))


def validation_loss(paths: np.ndarray, y: np.ndarray) -> float:
    """Weekly plus cumulative weighted quantile loss of ``paths[S, N, V]`` against ``y[S, V]``.

    Each part is the pinball loss summed over levels and points over the actual units summed over
    the same points; cumulative demand is summed from the first held-out week over
    :data:`CUMULATIVE_WEEKS` (those within ``V``), over SKUs without censored weeks in that span.
    """
    levels = VALIDATION_LEVELS
    q = path_quantiles(paths, levels)  # [S, V, Q]
    ok = np.isfinite(y)
    total = np.nansum(y)
    weekly = pinball_sum(np.where(ok, y, np.nan), q, levels) / max(total, 1e-9)
    cum_loss, cum_total = 0.0, 0.0
    for h in (h for h in CUMULATIVE_WEEKS if h <= y.shape[1]):
        rows = ok[:, :h].all(axis=1)
        if not rows.any():
            continue
        actual = y[rows, :h].sum(axis=1)
        cq = np.quantile(paths[rows, :, :h].sum(axis=2), levels, axis=1).T  # [S', Q]
        cum_loss += pinball_sum(actual, cq, levels)
        cum_total += actual.sum()
    return weekly + (cum_loss / cum_total if cum_total > 0 else 0.0)


def _fit_member(member: Forecaster, shared: tuple[pd.DataFrame, dict[str, Any]]) -> Forecaster:
    """One member trained on the history (a task); ``shared`` is the history and its context."""
    history, context = shared
    return member.fit(history, **context)


class EnsembleForecaster(Forecaster):
    """Mixture of the members' paths with weights per demand class, learned on held-out weeks."""

    name = "ensemble"

    def __init__(
        self,
        quantiles: Levels = DEFAULT_LEVELS,
        max_horizon: Horizon = 26,
        members: Annotated[tuple[Member, ...], Field(min_length=1, max_length=5)] = (
            "lightgbm",
            "lstm",
            "bootstrap",
            "baseline",
        ),
        member_params: dict[Member, dict[str, Any]] | None = None,
        validation_weeks: Annotated[Int, Field(ge=4, le=104)] = 26,
        weight_step: Annotated[Float, Field(ge=0.05, le=1)] = 0.25,
        refit: Bool = False,
        n_paths: NPaths = 500,
        seed: Seed = 0,
    ):
        self.quantiles = tuple(float(q) for q in quantiles)
        self.max_horizon = max_horizon
        self.members = tuple(members)
        self.member_params = dict(member_params or {})
        self.validation_weeks = validation_weeks
        self.weight_step = weight_step
        self.refit = refit
        self.n_paths = n_paths
        self.seed = seed

    def _new_member(self, name: str) -> Forecaster:
        params: dict[str, Any] = {"n_paths": self.n_paths, "seed": self.seed}
        if name in QUANTILE_MODELS:
            params["quantiles"] = self.quantiles
        if "max_horizon" in model_parameters(name):
            params["max_horizon"] = self.max_horizon
        return forecaster_class(name)(**{**params, **self.member_params.get(name, {})})

    def fit(
        self,
        history: pd.DataFrame,
        *,
        attributes: pd.DataFrame | None = None,
        events: pd.DataFrame | None = None,
    ) -> Self:
        context = {"attributes": attributes, "events": events}
        weeks = pd.DatetimeIndex(sorted(history["week"].unique()))
        n_val = min(self.validation_weeks, self.max_horizon)
        n_val = n_val if len(weeks) - n_val >= MIN_TRAIN_WEEKS else 0
        even = np.full(len(self.members), 1.0 / len(self.members))
        self.weights_ = {c: even.copy() for c in DEMAND_CLASSES}
        self.level_maps_ = {c: CALIBRATION_LEVELS.copy() for c in DEMAND_CLASSES}
        self.weekly_maps_ = {c: CALIBRATION_LEVELS.copy() for c in DEMAND_CLASSES}
        if n_val == 0:
            log.warning(
                "ensemble: under %d weeks of history, no held-out weeks: even weights, no recalibration",
                MIN_TRAIN_WEEKS,
            )
            self.models_ = self._fit_members(history, context)
        else:
            self.models_ = self._fit_members(history[history["week"] < weeks[-n_val]], context)
            self._learn(history, weeks[-n_val:], context)
            self.models_ = (
                self._fit_members(history, context)
                if self.refit
                else [m.update(history, **context) for m in self.models_]
            )
        self.classes_ = classify_demand(history)
        self.last_week_ = weeks[-1]
        self.fitted_ = True
        return self

    def _fit_members(self, history: pd.DataFrame, context: dict[str, Any]) -> list[Forecaster]:
        """The members trained on ``history``, one task each."""
        members = [self._new_member(m) for m in self.members]
        return map_tasks(_fit_member, members, shared=(history, context))

    def _learn(self, history: pd.DataFrame, val_weeks: pd.DatetimeIndex, context: dict[str, Any]) -> None:
        """Mixture weights and the cumulative level map per demand class, from the held-out weeks seen
        from ``VALIDATION_ORIGINS`` origins (the members trained once, before the first; moved to
        each later origin with ``update``)."""
        windows = []
        for a in sorted({round(i * len(val_weeks) / VALIDATION_ORIGINS) for i in range(VALIDATION_ORIGINS)}):
            before = history[history["week"] < val_weeks[a]]
            if a > 0:
                self.models_ = [m.update(before, **context) for m in self.models_]
            skus = sorted(before["sku"].unique())
            paths = [m.predict(skus, val_weeks[a:], list(self.quantiles)).paths for m in self.models_]
            klass = classify_demand(before).reindex(skus).to_numpy()
            windows.append((skus, paths, actual_matrix(history, skus, val_weeks[a:]), klass))
        grid = simplex_grid(len(self.members), self.weight_step)
        rng = np.random.default_rng(self.seed)  # cumulative PITs' ties
        weekly_rng = np.random.default_rng([self.seed, 1])  # weekly PITs' ties, a stream of their own
        for c in DEMAND_CLASSES:
            parts = [
                ([p[k == c] for p in paths], y[k == c])
                for _, paths, y, k in windows
                if (k == c).any() and np.nansum(y[k == c]) > 0
            ]
            if not parts:
                continue
            if len(self.members) > 1:
                losses = [
                    sum(
                        validation_loss(mixed, y) + cumulative_miscalibration(mixed, y, CUMULATIVE_WEEKS)
                        for mixed, y in ((mix_paths(p, w), y) for p, y in parts)
                    )
                    for w in grid
                ]
                self.weights_[c] = grid[int(np.argmin(losses))]
            mixed = [(mix_paths(p, self.weights_[c]), y) for p, y in parts]
            pits = np.concatenate([cumulative_pits(m, y, CUMULATIVE_WEEKS, rng) for m, y in mixed])
            self.level_maps_[c] = level_map(pits[~np.isnan(pits)], CALIBRATION_LEVELS)
            weekly = np.concatenate([path_pit(m, y, weekly_rng).ravel() for m, y in mixed])
            self.weekly_maps_[c] = level_map(weekly[~np.isnan(weekly)], CALIBRATION_LEVELS)
            log.info(
                "ensemble %s: %d SKUs, weights %s, levels 0.1/0.5/0.9 -> cumulative %s, weekly %s",
                c,
                len(parts[0][1]),
                dict(zip(self.members, np.round(self.weights_[c], 2).tolist(), strict=True)),
                *(
                    np.round(np.interp([0.1, 0.5, 0.9], CALIBRATION_LEVELS, g[c]), 3).tolist()
                    for g in (self.level_maps_, self.weekly_maps_)
                ),
            )

    def update(
        self,
        history: pd.DataFrame,
        *,
        attributes: pd.DataFrame | None = None,
        events: pd.DataFrame | None = None,
    ) -> Self:
        """Move every member's origin to the end of ``history``; classes from it too."""
        self._check_fitted()
        self.models_ = [m.update(history, attributes=attributes, events=events) for m in self.models_]
        self.classes_ = classify_demand(history)
        self.last_week_ = pd.Timestamp(history["week"].max())
        return self

    def predict(self, skus: Sequence[str], weeks: pd.DatetimeIndex, levels: Sequence[float]) -> Forecast:
        """Each SKU's paths mixed from the members by its class's weights, then recalibrated: paths by
        the cumulative map, the weekly quantiles by the weekly map."""
        self._check_fitted()
        skus = list(skus)
        parts = [m.predict(skus, weeks, levels) for m in self.models_]
        klass = self.classes_.reindex(skus).fillna("new").to_numpy()
        paths = np.zeros((len(skus), self.n_paths, len(weeks)), dtype=np.float32)
        quantiles = np.zeros((len(skus), len(weeks), len(levels)))
        for c in DEMAND_CLASSES:
            rows = np.flatnonzero(klass == c)
            for block in sku_blocks(len(rows), self.n_paths * len(weeks)):
                at = rows[block]
                mixed = mix_paths([p.paths[at] for p in parts], self.weights_[c])
                quantiles[at] = mapped_quantiles(mixed, levels, CALIBRATION_LEVELS, self.weekly_maps_[c])
                paths[at] = resample_paths(mixed, CALIBRATION_LEVELS, self.level_maps_[c], RANK_WEEKS)
        forecast = Forecast.from_paths(skus, weeks, levels, paths, self.name, quantiles=quantiles)
        return forecast.with_classes(klass)

    def save_state(self, directory: Any) -> None:
        """Members save into sub-folders ``member_<k>``; the ensemble's own state beside them."""
        models = self.models_
        for k, model in enumerate(models):
            sub = directory / f"member_{k}"
            sub.mkdir(parents=True, exist_ok=True)
            model.save_state(sub)
        del self.models_
        try:
            super().save_state(directory)
        finally:
            self.models_ = models

    def load_state(self, directory: Any) -> Self:
        super().load_state(directory)
        self.models_ = []
        for k, name in enumerate(self.members):
            member = self._new_member(name).load_state(directory / f"member_{k}")
            member.fitted_ = True
            self.models_.append(member)
        return self
