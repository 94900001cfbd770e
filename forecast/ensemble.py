"""Ensemble of quantile models: weights and calibration learned on the latest held-out weeks.

``fit(history)`` with ``V = validation_weeks``:

1. every member is trained on the history up to ``V`` weeks before its end;
2. members forecast those ``V`` weeks; per segment (smooth / intermittent, from
   :mod:`forecast.segments`) the weight ``w`` of the quantile average
   ``Q = sum_m w_m Q_m`` (averaging quantile functions, "Vincentisation") is chosen on a
   grid to minimise the pinball loss in units over the held-out uncensored weeks;
3. the combined quantiles are recalibrated per segment (:mod:`forecast.calibration`), and the
   correlation of forecast errors across the weeks of one origin (the copula's ``rho``, which
   sets the spread of cumulative demand) is estimated from the held-out weeks' PITs;
4. members move their origin to the end of the history (``update``: features up to the
   origin, no retraining; or ``refit=True`` to retrain on everything).

Weights and calibration are thus measured on the very models that forecast, on weeks they
did not see.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Annotated, Any, Literal, Self

import numpy as np
import pandas as pd
from pydantic import Field

from forecast.calibration import horizon_correlation, level_map, pit, recalibrate
from forecast.params import Bool, Horizon, Int, Levels, NPaths, Seed
from forecast.quantile_model import DEFAULT_LEVELS, QuantileForecaster
from forecast.quantile_paths import history_rho
from forecast.registry import forecaster_class
from forecast.segments import SEGMENTS, classify
from forecast.tasks import map_tasks

log = logging.getLogger(__name__)

WEIGHT_GRID = np.linspace(0.0, 1.0, 21)
MIN_TRAIN_WEEKS = 26


MEMBERS = ("lightgbm", "lstm")


def member_class(name: str) -> type[QuantileForecaster]:
    """The quantile model class for a member name."""
    if name not in MEMBERS:
        raise ValueError(f"unknown ensemble member '{name}' (use {' or '.join(MEMBERS)})")
    return forecaster_class(name)  # type: ignore[return-value]


def actual_matrix(history: pd.DataFrame, skus: Sequence[str], weeks: pd.DatetimeIndex) -> np.ndarray:
    """Units ``[S, W]`` with NaN where censored or missing."""
    rows = history[history["week"].isin(weeks)]
    units = rows["units"].where(rows["stockout"] == 0)
    frame = pd.DataFrame({"sku": rows["sku"], "week": rows["week"], "units": units})
    wide = frame.pivot_table(index="sku", columns="week", values="units", aggfunc="first", dropna=False)
    return wide.reindex(index=list(skus), columns=weeks).to_numpy(dtype=float)


def pinball_total(y: np.ndarray, q: np.ndarray, levels: np.ndarray) -> float:
    """Sum of pinball losses of ``q[N, Q]`` at ``levels`` for actuals ``y[N]``."""
    diff = y[:, None] - q
    return float(np.sum(np.maximum(levels * diff, (levels - 1.0) * diff)))


def _fit_member(
    member: QuantileForecaster, shared: tuple[pd.DataFrame, dict[str, Any]]
) -> QuantileForecaster:
    """One member trained on the history (a task); ``shared`` is the history and its context."""
    history, context = shared
    return member.fit(history, **context)


class EnsembleForecaster(QuantileForecaster):
    """Weighted quantile average of LightGBM and the LSTM, recalibrated per segment."""

    name = "ensemble"

    def __init__(
        self,
        quantiles: Levels = DEFAULT_LEVELS,
        max_horizon: Horizon = 26,
        members: Annotated[tuple[Literal["lightgbm", "lstm"], ...], Field(min_length=1)] = (
            "lightgbm",
            "lstm",
        ),
        member_params: dict[Literal["lightgbm", "lstm"], dict[str, Any]] | None = None,
        validation_weeks: Annotated[Int, Field(ge=1, le=104)] = 13,
        refit: Bool = False,
        n_paths: NPaths = 500,
        seed: Seed = 0,
    ):
        self.quantiles = tuple(float(q) for q in quantiles)
        self.max_horizon = max_horizon
        self.members = tuple(members)
        self.member_params = dict(member_params or {})
        self.validation_weeks = validation_weeks
        self.refit = refit
        self.n_paths = n_paths
        self.seed = seed
        if not 1 <= len(self.members) <= 2:
            raise ValueError("an ensemble has one or two members")

    def _new_member(self, name: str) -> QuantileForecaster:
        params = {
            "quantiles": self.quantiles,
            "max_horizon": self.max_horizon,
            "n_paths": self.n_paths,
            "seed": self.seed,
            **self.member_params.get(name, {}),
        }
        return member_class(name)(**params)

    def fit(
        self,
        history: pd.DataFrame,
        *,
        attributes: pd.DataFrame | None = None,
        events: pd.DataFrame | None = None,
    ) -> Self:
        context = {"attributes": attributes, "events": events}
        levels = np.array(self.quantiles)
        weeks = pd.DatetimeIndex(sorted(history["week"].unique()))
        n_val = min(self.validation_weeks, self.max_horizon)
        n_val = n_val if len(weeks) - n_val >= MIN_TRAIN_WEEKS else 0
        self.weights_ = {seg: self._even() for seg in SEGMENTS}
        self.level_maps_ = {seg: levels.copy() for seg in SEGMENTS}
        if n_val == 0:
            log.warning(
                "ensemble: under %d weeks of history, no held-out weeks: even weights", MIN_TRAIN_WEEKS
            )
            self.models_ = self._fit_members(history, context)
        else:
            origin = weeks[-n_val]
            train = history[history["week"] < origin]
            self.models_ = self._fit_members(train, context)
            self._learn(train, history, weeks[-n_val:], levels)
            if self.refit:
                self.models_ = self._fit_members(history, context)
            else:
                self.models_ = [m.update(history, **context) for m in self.models_]
        if n_val == 0:
            self.rho_ = history_rho(history)
        self.segments_ = classify(history)
        self.last_week_ = weeks[-1]
        self.fitted_ = True
        return self

    def _fit_members(self, history: pd.DataFrame, context: dict[str, Any]) -> list[QuantileForecaster]:
        """The members trained on ``history``, one task each."""
        members = [self._new_member(m) for m in self.members]
        return map_tasks(_fit_member, members, shared=(history, context))

    def _even(self) -> np.ndarray:
        return np.full(len(self.members), 1.0 / len(self.members))

    def _learn(
        self, train: pd.DataFrame, history: pd.DataFrame, val_weeks: pd.DatetimeIndex, levels: np.ndarray
    ) -> None:
        """Weights and level maps per segment from the held-out weeks."""
        skus = sorted(train["sku"].unique())
        member_q = [m.predict_quantiles(skus, len(val_weeks)) for m in self.models_]
        y = actual_matrix(history, skus, val_weeks)
        segment = classify(train).reindex(skus).to_numpy()
        rng = np.random.default_rng(self.seed)
        pits = np.full(y.shape, np.nan)
        for seg in SEGMENTS:
            mask = (segment == seg)[:, None] & ~np.isnan(y)
            if not mask.any():
                continue
            ys = y[mask]
            qs = [q[mask] for q in member_q]
            if len(qs) == 2:
                losses = [pinball_total(ys, w * qs[0] + (1 - w) * qs[1], levels) for w in WEIGHT_GRID]
                w = float(WEIGHT_GRID[int(np.argmin(losses))])
                self.weights_[seg] = np.array([w, 1.0 - w])
            combined = sum(wm * q for wm, q in zip(self.weights_[seg], qs, strict=True))
            self.level_maps_[seg] = level_map(pit(levels, np.sort(combined, axis=1), ys, rng), levels)
            calibrated = recalibrate(levels, np.sort(combined, axis=1)[:, None, :], self.level_maps_[seg])
            pits[mask] = pit(levels, calibrated[:, 0, :], ys, rng)
            log.info(
                "ensemble %s: %d points, weights %s, levels %s -> %s",
                seg,
                len(ys),
                np.round(self.weights_[seg], 2).tolist(),
                levels.tolist(),
                np.round(self.level_maps_[seg], 3).tolist(),
            )
        self.rho_ = horizon_correlation(pits)
        log.info("ensemble: error correlation across weeks %.3f", self.rho_)

    def update(
        self,
        history: pd.DataFrame,
        *,
        attributes: pd.DataFrame | None = None,
        events: pd.DataFrame | None = None,
    ) -> Self:
        self._check_fitted()
        self.models_ = [m.update(history, attributes=attributes, events=events) for m in self.models_]
        self.segments_ = classify(history)
        self.last_week_ = pd.Timestamp(history["week"].max())
        return self

    def predict_quantiles(self, skus: Sequence[str], horizon: int) -> np.ndarray:
        self._check_fitted()
        levels = np.array(self.quantiles)
        member_q = [m.predict_quantiles(skus, horizon) for m in self.models_]
        segment = self.segments_.reindex(list(skus)).fillna("intermittent").to_numpy()
        out = np.zeros((len(skus), horizon, len(levels)))
        for seg in SEGMENTS:
            rows = segment == seg
            if not rows.any():
                continue
            combined = sum(w * q[rows] for w, q in zip(self.weights_[seg], member_q, strict=True))
            out[rows] = recalibrate(levels, np.sort(combined, axis=2), self.level_maps_[seg])
        return np.sort(np.maximum(out, 0.0), axis=2)

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
        self.models_ = [
            self._new_member(name).load_state(directory / f"member_{k}")
            for k, name in enumerate(self.members)
        ]
        return self
