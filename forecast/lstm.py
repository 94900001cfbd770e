"""Global probabilistic LSTM: one Keras network over all SKUs, a multi-quantile head, direct multi-horizon.

A sample is a pair (SKU ``s``, origin ``t``): the network reads weeks ``t - W + 1 .. t``
(``W = window``) and predicts quantiles of demand in weeks ``t + 1 .. t + H`` (``H =
max_horizon``) at every level in ``quantiles`` at once. Everything is in units of the SKU's
scale at the origin, ``scale[s, t] = max(mean of uncensored units in weeks t-W+1..t, MIN_SCALE)``,
so one network serves slow and fast SKUs; predictions are multiplied back by the scale.

Inputs (:data:`STEP_FEATURES` per week, left-padded with zeros for young SKUs; ``present``
marks real weeks): ``log1p(units / scale)``, the stockout flag (censored weeks carry 0 units
and the flag, never a low sale), promo, price / median price in the window, week-of-year
sin/cos, event flag. Context vector (joined after the LSTMs): log scale, intermittent flag,
category one-hot and, for each target week ``t + h``, its week-of-year sin/cos, event flag and
last year's demand in that week (``log1p(units[t+h-52] / scale)``, a week inside the input window).

Network::

    seq[B, W, F] -> LSTM(units[0], seq) -> Dropout -> LSTM(units[1]) -> Dropout   # [B, units[1]]
    concat(., ctx[B, C]) -> Dense(dense, relu) -> Dense(H * Q) -> reshape [B, H, Q]
    q[..., 0] = raw[..., 0];  q[..., k] = q[..., k-1] + softplus(raw[..., k])        # never cross

Loss: masked pinball loss ``sum_{h,k} m[h] * w * max(tau_k e, (tau_k - 1) e) / (H Q)`` with
``e = y[h] - q[h, k]``, ``m[h] = 1`` only for targets that exist and are not censored, and the
window's weight ``w = scale ** WEIGHT_POWER`` (normalised to mean 1 over the training windows).
Paths come from the Gaussian copula of :mod:`forecast.quantile_paths`.

TensorFlow is imported inside methods only: importing this module stays cheap.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Annotated, Any, Self

import numpy as np
import pandas as pd
from pydantic import Field

from forecast.features import Panel, make_panel
from forecast.params import Float, Horizon, Int, Levels, NPaths, Rate, Seed, Window
from forecast.quantile_model import DEFAULT_LEVELS, QuantileForecaster
from forecast.quantile_paths import history_rho
from forecast.segments import ADI_CUTOFF

log = logging.getLogger(__name__)
# TensorFlow's C++ log lines would drown the CLI's messages; set TF_CPP_MIN_LOG_LEVEL to see them.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

MIN_SCALE = 0.1  # units/week; SKUs selling less are scaled as if they sold this
MIN_AGE = 4  # weeks a SKU must be listed before an origin is used in training
PREDICT_ROWS = 64  # SKUs per call of the network at prediction (the last call padded to it)
# Training windows are weighted by scale ** WEIGHT_POWER (mean 1): 0 treats every SKU alike in scaled
# units, 1 is the pinball loss in units (what the weighted quantile loss measures). 0.5 did best on M5.
WEIGHT_POWER = 0.5
STEP_FEATURES = ("log_units", "stockout", "promo", "rel_price", "woy_sin", "woy_cos", "event", "present")
FUTURE_FEATURES = ("woy_sin", "woy_cos", "event", "last_year")  # per target week, flattened into the context
WEIGHTS_FILE = "lstm.weights.h5"


# ---------------------------------------------------------------------------
# data plumbing: history -> panel arrays -> network inputs (pure NumPy)
# ---------------------------------------------------------------------------


def calendar(weeks: pd.DatetimeIndex, event_weeks: pd.DatetimeIndex) -> np.ndarray:
    """``[T, 3]``: week-of-year sin, cos (from the day of year of the Monday) and the event flag."""
    angle = 2 * np.pi * (weeks.day_of_year.to_numpy(dtype=float) - 1) / 365.25
    event = weeks.isin(event_weeks).astype(float)
    return np.stack([np.sin(angle), np.cos(angle), event], axis=1)


def _window_sum(x: np.ndarray, window: int) -> np.ndarray:
    """Sum of ``x[:, t-window+1 .. t]`` for every ``t``: ``[S, T]``."""
    c = np.concatenate([np.zeros((x.shape[0], 1)), np.cumsum(x, axis=1)], axis=1)
    lo = np.maximum(np.arange(x.shape[1]) + 1 - window, 0)
    return c[:, 1:] - c[:, lo]


def origin_stats(panel: Panel, window: int) -> dict[str, np.ndarray]:
    """What is known at the end of week ``t`` about the window ending there (all ``[S, T]``).

    ``scale``: mean uncensored units, floored at ``MIN_SCALE``; ``intermittent``: 1 when the
    average interval between non-zero uncensored weeks exceeds ``ADI_CUTOFF`` (or no sale);
    ``median_price``; ``age``: weeks listed so far; ``valid``: uncensored weeks in the window.
    """
    ok = ~np.isnan(panel.units)
    total = _window_sum(np.where(ok, panel.units, 0.0), window)
    valid = _window_sum(ok.astype(float), window)
    nonzero = _window_sum((np.nan_to_num(panel.units) > 0).astype(float), window)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(valid > 0, total / valid, 0.0)
        adi = np.where(nonzero > 0, valid / nonzero, np.inf)
    median_price = pd.DataFrame(panel.price.T).rolling(window, min_periods=1).median().to_numpy().T
    return {
        "scale": np.maximum(mean, MIN_SCALE),
        "intermittent": (adi > ADI_CUTOFF).astype(float),
        "median_price": median_price,
        "age": np.cumsum(panel.listed, axis=1).astype(float),
        "valid": valid,
    }


def step_inputs(
    panel: Panel, stats: dict[str, np.ndarray], cal: np.ndarray, s: np.ndarray, t: np.ndarray, window: int
) -> np.ndarray:
    """Sequence inputs ``[N, window, F]`` for origins ``(s, t)``: weeks ``t-window+1 .. t``."""
    cols = t[:, None] + np.arange(1 - window, 1)[None, :]  # [N, W]
    inside = cols >= 0
    cc = np.maximum(cols, 0)
    ss = s[:, None]
    present = inside & panel.listed[ss, cc]  # [N, W]
    scale = stats["scale"][s, t][:, None]
    units = panel.units[ss, cc]
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = panel.price[ss, cc] / stats["median_price"][s, t][:, None]
    rel = np.where(np.isfinite(rel) & (rel > 0), rel, 1.0)
    c = cal[cc]  # [N, W, 3]
    out = np.stack(
        [
            np.log1p(np.nan_to_num(units) / scale),
            panel.stockout[ss, cc].astype(float),
            panel.promo[ss, cc],
            rel,
            c[..., 0],
            c[..., 1],
            c[..., 2],
            np.ones_like(rel),
        ],
        axis=-1,
    )  # [N, W, F]
    return np.where(present[..., None], out, 0.0).astype(np.float32)


def context_inputs(
    panel: Panel,
    stats: dict[str, np.ndarray],
    cal: np.ndarray,
    s: np.ndarray,
    t: np.ndarray,
    horizon: int,
    n_categories: int,
) -> np.ndarray:
    """Context ``[N, 2 + n_categories + 4 * horizon]``: log scale, intermittent, category one-hot, then
    for each target week ``t+h`` (h = 1..horizon) its calendar (``cal`` must reach ``T + horizon``) and
    last year's demand ``log1p(units[t+h-52] / scale)`` (0 when unknown or after ``t``)."""
    one_hot = np.zeros((len(s), n_categories))
    cat = panel.category[s]
    one_hot[np.flatnonzero(cat >= 0), cat[cat >= 0]] = 1.0
    cols = t[:, None] + np.arange(1, horizon + 1)[None, :]  # [N, H] target weeks
    future = cal[cols]  # [N, H, 3]
    ly = cols - 52
    known = (ly >= 0) & (ly <= t[:, None])
    last_year = np.where(known, panel.units[s[:, None], np.clip(ly, 0, t[:, None])], np.nan)
    last_year = np.log1p(np.nan_to_num(last_year) / stats["scale"][s, t][:, None])  # [N, H]
    future = np.concatenate([future, last_year[..., None]], axis=-1)  # [N, H, 4]
    parts = [
        np.log(stats["scale"][s, t])[:, None],
        stats["intermittent"][s, t][:, None],
        one_hot,
        future.reshape(len(s), -1),
    ]
    return np.concatenate(parts, axis=1).astype(np.float32)


def targets(
    panel: Panel, stats: dict[str, np.ndarray], s: np.ndarray, t: np.ndarray, horizon: int
) -> np.ndarray:
    """``[N, H, 2]``: units in weeks ``t+1 .. t+H`` / scale, and the mask (1 = known and uncensored)."""
    cols = t[:, None] + np.arange(1, horizon + 1)[None, :]
    inside = cols < panel.units.shape[1]
    y = np.full(cols.shape, np.nan)
    y[inside] = panel.units[np.broadcast_to(s[:, None], cols.shape)[inside], cols[inside]]
    mask = ~np.isnan(y)
    y = np.where(mask, y, 0.0) / stats["scale"][s, t][:, None]
    return np.stack([y, mask.astype(float)], axis=-1).astype(np.float32)


def pinball_loss(
    y: np.ndarray, q: np.ndarray, levels: Sequence[float], mask: np.ndarray | None = None
) -> float:
    """Reference (NumPy) masked pinball loss: ``y[..., H]``, ``q[..., H, Q]``; mean over all entries."""
    tau = np.asarray(levels, dtype=float)
    e = np.asarray(y, dtype=float)[..., None] - q
    loss = np.maximum(tau * e, (tau - 1.0) * e)
    if mask is not None:
        loss = loss * np.asarray(mask, dtype=float)[..., None]
    return float(loss.mean())


# ---------------------------------------------------------------------------
# the network (Keras imported lazily)
# ---------------------------------------------------------------------------


def build_network(
    window: int,
    n_context: int,
    horizon: int,
    levels: Sequence[float],
    units: Sequence[int],
    dropout: float,
    dense: int,
    seed: int,
) -> Any:
    """The Keras model ``[seq[B, W, F], ctx[B, C]] -> q[B, H, Q]`` (non-crossing quantiles, scaled units).

    Every random initialiser and dropout layer gets its own seed drawn from ``seed``. Left unseeded,
    Keras draws them from Python's process-wide ``random``, which other threads of the process
    also draw from (a Dask worker's event loop does), so the same fit gave other weights there.
    """
    import keras
    from keras import initializers, layers, ops

    draws = iter(np.random.default_rng(seed).integers(1, 2**31 - 1, size=4 * len(units) + 2).tolist())
    n_q = len(levels)
    seq = keras.Input((window, len(STEP_FEATURES)), name="seq")  # [B, W, F]
    ctx = keras.Input((n_context,), name="ctx")  # [B, C]
    x = seq
    for i, n in enumerate(units):
        x = layers.LSTM(  # [B, W, n] then [B, n]
            n,
            return_sequences=i < len(units) - 1,
            kernel_initializer=initializers.GlorotUniform(seed=next(draws)),
            recurrent_initializer=initializers.Orthogonal(seed=next(draws)),
            seed=next(draws),
        )(x)
        x = layers.Dropout(dropout, seed=next(draws))(x)
    x = layers.Concatenate()([x, ctx])  # [B, units[-1] + C]
    x = layers.Dense(  # [B, dense]
        dense, activation="relu", kernel_initializer=initializers.GlorotUniform(seed=next(draws))
    )(x)
    raw = layers.Dense(  # [B, H*Q]
        horizon * n_q, kernel_initializer=initializers.GlorotUniform(seed=next(draws))
    )(x)
    raw = layers.Reshape((horizon, n_q))(raw)  # [B, H, Q]

    def non_crossing(r: Any) -> Any:
        steps = ops.concatenate([r[..., :1], ops.softplus(r[..., 1:])], axis=-1)
        return ops.cumsum(steps, axis=-1)  # [B, H, Q], non-decreasing in Q

    out = layers.Lambda(non_crossing, name="quantiles")(raw)
    return keras.Model([seq, ctx], out, name="lstm_quantiles")


def make_loss(levels: Sequence[float]) -> Any:
    """Masked pinball loss: ``y_true[B, H, 2]`` (target, mask x weight), ``y_pred[B, H, Q]`` -> ``[B]``."""
    from keras import ops

    tau = np.asarray(levels, dtype=np.float32)

    def loss(y_true: Any, y_pred: Any) -> Any:
        y, m = y_true[..., :1], y_true[..., 1:]  # [B, H, 1] each
        e = y - y_pred  # [B, H, Q]
        pin = ops.maximum(tau * e, (tau - 1.0) * e) * m
        return ops.mean(pin, axis=(1, 2))

    return loss


@contextlib.contextmanager
def _silenced_stderr() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null (TensorFlow's C++ start-up lines bypass Python logging)."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _seed_everything(seed: int) -> None:
    """Import TensorFlow (quietly, the first time), seed it and make its ops deterministic."""
    if "tensorflow" not in sys.modules:
        with _silenced_stderr():
            import tensorflow  # noqa: F401
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


# ---------------------------------------------------------------------------
# the forecaster
# ---------------------------------------------------------------------------


class LSTMForecaster(QuantileForecaster):
    """Global LSTM with a multi-quantile pinball head over all SKUs (direct multi-horizon)."""

    name = "lstm"

    def __init__(
        self,
        quantiles: Levels = DEFAULT_LEVELS,
        max_horizon: Horizon = 26,
        window: Window = 52,
        epochs: Annotated[Int, Field(ge=1, le=10_000)] = 8,
        batch_size: Annotated[Int, Field(ge=1, le=1_000_000)] = 256,
        learning_rate: Rate = 1e-3,
        units: Annotated[
            tuple[Annotated[Int, Field(ge=1, le=4096)], ...], Field(min_length=1, max_length=8)
        ] = (
            128,
            64,
        ),
        dropout: Annotated[Float, Field(ge=0, lt=1)] = 0.3,
        dense: Annotated[Int, Field(ge=1, le=65_536)] = 50,
        stride: Annotated[Int, Field(ge=1, le=520)] = 3,
        n_paths: NPaths = 500,
        seed: Seed = 0,
        max_windows: Annotated[Int, Field(ge=1, le=100_000_000)] = 25_000,
    ):
        self.quantiles = tuple(float(q) for q in quantiles)
        self.max_horizon = int(max_horizon)
        self.window = int(window)
        self.epochs = int(epochs)
        self.batch_size = int(batch_size)
        self.learning_rate = float(learning_rate)
        self.units = tuple(int(u) for u in units)
        self.dropout = float(dropout)
        self.dense = int(dense)
        self.stride = int(stride)
        self.n_paths = int(n_paths)
        self.seed = int(seed)
        self.max_windows = int(max_windows)
        if list(self.quantiles) != sorted(set(self.quantiles)) or not all(0 < q < 1 for q in self.quantiles):
            raise ValueError(f"lstm: quantiles must be increasing levels in (0, 1); got {self.quantiles}")
        if (
            not self.units
            or min(self.units) < 1
            or self.max_horizon < 1
            or self.window < 1
            or self.stride < 1
        ):
            raise ValueError("lstm: units, max_horizon, window and stride must be positive")
        self._net: Any = None

    # -- fitting -------------------------------------------------------------

    def fit(
        self,
        history: pd.DataFrame,
        *,
        attributes: pd.DataFrame | None = None,
        events: pd.DataFrame | None = None,
    ) -> Self:
        panel, self.vocab_ = make_panel(history, attributes, events)
        cal = self._calendar(panel)
        stats = origin_stats(panel, self.window)
        s, t = self._training_origins(panel, stats)
        seq = step_inputs(panel, stats, cal, s, t, self.window)
        ctx = context_inputs(panel, stats, cal, s, t, self.max_horizon, len(self.vocab_["category"]))
        y = targets(panel, stats, s, t, self.max_horizon)
        w = stats["scale"][s, t] ** WEIGHT_POWER
        y[..., 1] *= (w / w.mean()).astype(np.float32)[:, None]  # mask -> mask * sample weight
        self.n_context_ = ctx.shape[1]

        _seed_everything(self.seed)
        import keras

        self._net = self._build()
        self._net.compile(
            optimizer=keras.optimizers.Adam(learning_rate=self.learning_rate),
            loss=make_loss(self.quantiles),
        )
        start = time.perf_counter()
        with _silenced_stderr():  # tf.data prints C++ graph warnings that are not ours to act on
            fit_log = self._net.fit(
                [seq, ctx], y, batch_size=self.batch_size, epochs=self.epochs, shuffle=True, verbose=0
            )
        seconds = time.perf_counter() - start
        self.train_loss_ = [float(v) for v in fit_log.history["loss"]]
        log.info(
            "lstm: %d windows x %d weeks, %d epochs in %.1f s (%.1f s/epoch), loss %s",
            len(s),
            self.window,
            self.epochs,
            seconds,
            seconds / max(self.epochs, 1),
            " ".join(f"{v:.4f}" for v in self.train_loss_),
        )

        self.fitted_ = True
        self._set_origin(history, panel, stats, cal)
        return self

    def update(
        self,
        history: pd.DataFrame,
        *,
        attributes: pd.DataFrame | None = None,
        events: pd.DataFrame | None = None,
    ) -> Self:
        """Move the forecast origin to the end of ``history`` without retraining the network."""
        self._check_fitted()
        panel, _ = make_panel(history, attributes, events, vocab=self.vocab_)
        self._set_origin(history, panel, origin_stats(panel, self.window), self._calendar(panel))
        return self

    def _calendar(self, panel: Panel) -> np.ndarray:
        """Calendar ``[T + max_horizon, 3]`` of the panel's weeks and the forecast weeks after them."""
        grid = pd.date_range(panel.weeks[0], periods=len(panel.weeks) + self.max_horizon, freq="7D")
        return calendar(grid, panel.event_weeks)

    def _set_origin(
        self, history: pd.DataFrame, panel: Panel, stats: dict[str, np.ndarray], cal: np.ndarray
    ) -> None:
        """Network inputs for forecasts from the last week of ``panel``."""
        last = np.full(len(panel.skus), len(panel.weeks) - 1)
        all_s = np.arange(len(panel.skus))
        n_cat = len(self.vocab_["category"])
        self.skus_ = [str(v) for v in panel.skus]
        self.last_week_ = panel.weeks[-1]
        self.pred_seq_ = step_inputs(panel, stats, cal, all_s, last, self.window)  # [S, W, F]
        self.pred_ctx_ = context_inputs(panel, stats, cal, all_s, last, self.max_horizon, n_cat)
        self.pred_scale_ = stats["scale"][:, -1].copy()  # [S]
        self.rho_ = history_rho(history)

    def _training_origins(self, panel: Panel, stats: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Origins ``(s, t)``: every ``stride`` weeks back from the last one with a target, the SKU listed
        at ``t`` for ``MIN_AGE`` weeks, at least one uncensored week in the window and one target;
        subsampled (seeded) to ``max_windows``."""
        n_s, n_t = panel.units.shape
        ts = np.arange(n_t - 2, -1, -self.stride)[::-1]
        s, t = np.meshgrid(np.arange(n_s), ts, indexing="ij")
        s, t = s.ravel(), t.ravel()
        keep = panel.listed[s, t] & (stats["age"][s, t] >= MIN_AGE) & (stats["valid"][s, t] > 0)
        s, t = s[keep], t[keep]
        known = targets(panel, stats, s, t, self.max_horizon)[..., 1].sum(axis=1) > 0
        s, t = s[known], t[known]
        if len(s) == 0:
            raise ValueError(
                f"lstm: no training windows (a SKU needs {MIN_AGE}+ listed weeks, then uncensored weeks)"
            )
        if len(s) > self.max_windows:
            pick = np.sort(np.random.default_rng(self.seed).choice(len(s), self.max_windows, replace=False))
            s, t = s[pick], t[pick]
        return s, t

    def _build(self) -> Any:
        return build_network(
            self.window,
            self.n_context_,
            self.max_horizon,
            self.quantiles,
            self.units,
            self.dropout,
            self.dense,
            self.seed,
        )

    # -- prediction ----------------------------------------------------------

    def predict_quantiles(self, skus: Sequence[str], horizon: int) -> np.ndarray:
        """Quantiles ``[S, horizon, Q]`` at ``self.quantiles`` in units (zeros for SKUs unseen at fit)."""
        self._check_fitted()
        from keras import ops

        def predict(known: np.ndarray) -> np.ndarray:
            calls = []
            for start in range(0, len(known), PREDICT_ROWS):
                rows = known[start : start + PREDICT_ROWS]
                calls.append(
                    ops.convert_to_numpy(self._net(_padded(self, rows), training=False))[: len(rows)]
                )
            raw = np.concatenate(calls)[:, :horizon]  # [S', horizon, Q]
            return np.maximum(raw.astype(float), 0.0) * self.pred_scale_[known, None, None]

        return self._for_fitted_skus(skus, horizon, predict)

    # -- persistence ---------------------------------------------------------

    def __getstate__(self) -> dict[str, Any]:
        """Pickled (e.g. sent back from a cluster worker) with the network's weights as arrays."""
        state = dict(self.__dict__)
        net = state.pop("_net")
        state["_weights"] = None if net is None else [np.asarray(w) for w in net.get_weights()]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        weights = state.pop("_weights")
        self.__dict__.update(state)
        self._net = None
        if weights is not None:
            self._net = self._build()
            self._net.set_weights(weights)

    def save_state(self, directory: Path) -> None:
        """Write the Keras weights (``lstm.weights.h5``) beside the other fitted attributes."""
        self._check_fitted()
        with warnings.catch_warnings():  # Keras' h5 writer trips NumPy 2's __array__(copy=) deprecation
            warnings.filterwarnings("ignore", ".*__array__ implementation", DeprecationWarning)
            self._net.save_weights(Path(directory) / WEIGHTS_FILE)
        super().save_state(directory)

    def load_state(self, directory: Path) -> Self:
        """Rebuild the network from the constructor parameters and load what :meth:`save_state` wrote."""
        super().load_state(directory)
        _seed_everything(self.seed)
        self._net = self._build()
        self._net.load_weights(Path(directory) / WEIGHTS_FILE)
        return self


def _padded(model: LSTMForecaster, rows: np.ndarray) -> list[np.ndarray]:
    """The network's inputs for ``rows`` (indexes of fitted SKUs), padded with the first row to
    :data:`PREDICT_ROWS`: every call has the same batch shape, so the kernels (and the rounding) a
    SKU's forecast goes through do not depend on how many SKUs are predicted with it."""
    rows = np.concatenate([rows, np.full(PREDICT_ROWS - len(rows), rows[0])])
    return [model.pred_seq_[rows], model.pred_ctx_[rows]]
