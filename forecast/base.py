"""The forecaster contract shared by every model.

``fit(history)`` learns from weekly history and returns ``self``; ``predict`` returns
a :class:`Forecast` for given SKUs and weeks. The planner only sees :class:`Forecast`,
so it never branches on the model type.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import numpy as np
import pandas as pd


def quantile_column(level: float) -> str:
    """Column name of a quantile level, e.g. 0.05 -> 'q0.05' (the format of forecast files)."""
    return f"q{level:g}"


FITTED_NAME = re.compile(r"[a-z][a-z0-9_]*_")  # fitted attributes: lower-case names ending in _
BLOCK_CELLS = 4_000_000  # path cells (SKU x path x week) per block of float64 work (32 MB per array)


@dataclass(frozen=True)
class Forecast:
    """Demand forecast for S SKUs over H weeks.

    Arrays (S SKUs, H weeks, Q levels, N paths):
    - ``mean[S, H]``: expected weekly demand;
    - ``quantiles[S, H, Q]``: weekly demand quantiles at ``levels``;
    - ``paths[S, N, H]``: joint sample paths (N = 1 for deterministic demand);
    - ``cum_quantiles[S, H, Q]``: quantiles of cumulative demand over weeks 1..h;
    - ``classes[S]``: each SKU's demand class (:mod:`forecast.segments`), when known.

    Quantiles are non-decreasing in the level; cumulative ones also in h.
    """

    skus: list[str]
    weeks: pd.DatetimeIndex
    levels: np.ndarray
    mean: np.ndarray
    quantiles: np.ndarray
    paths: np.ndarray
    cum_quantiles: np.ndarray
    model: str
    classes: np.ndarray | None = None  # [S] demand class per SKU (forecast.segments), when known

    @classmethod
    def from_paths(
        cls,
        skus: Sequence[str],
        weeks: pd.DatetimeIndex,
        levels: Sequence[float],
        paths: np.ndarray,
        model: str,
        mean: np.ndarray | None = None,
        quantiles: np.ndarray | None = None,
    ) -> Forecast:
        """Build a forecast whose quantiles (unless given) and cumulative quantiles come from ``paths``."""
        levels_arr = np.asarray(levels, dtype=float)
        paths = np.asarray(paths, dtype=np.float32)
        if mean is None:
            mean = paths.mean(axis=1, dtype=np.float64)
        blocks = sku_blocks(paths.shape[0], paths.shape[1] * paths.shape[2])  # bounds the temporaries
        if quantiles is None:
            quantiles = np.concatenate([path_quantiles(paths[rows], levels_arr) for rows in blocks])
        cum = np.concatenate(
            [path_quantiles(np.cumsum(paths[rows], axis=2, dtype=np.float64), levels_arr) for rows in blocks]
        )
        cum = np.maximum.accumulate(cum, axis=1)
        return cls(
            list(skus),
            pd.DatetimeIndex(weeks),
            levels_arr,
            np.asarray(mean, dtype=float),
            np.sort(np.asarray(quantiles, dtype=float), axis=2),
            paths,
            cum,
            model,
        )

    @classmethod
    def concat(cls, parts: Sequence[Forecast]) -> Forecast:
        """The forecasts of disjoint groups of SKUs (same weeks, levels and model) as one."""
        if len(parts) == 1:
            return parts[0]
        first = parts[0]
        known = all(p.classes is not None for p in parts)
        return cls(
            [sku for part in parts for sku in part.skus],
            first.weeks,
            first.levels,
            *(
                np.concatenate([getattr(p, a) for p in parts])
                for a in ("mean", "quantiles", "paths", "cum_quantiles")
            ),
            first.model,
            np.concatenate([p.classes for p in parts]) if known else None,
        )

    def with_classes(self, classes: Sequence[str] | np.ndarray) -> Forecast:
        """The same forecast with each SKU's demand class."""
        return dataclasses.replace(self, classes=np.asarray(classes, dtype=object))

    @property
    def horizon(self) -> int:
        return len(self.weeks)

    def cumulative_quantile(self, alpha: np.ndarray | float) -> np.ndarray:
        """Cumulative-demand quantile ``[S, H]`` at a level per SKU (linear between stored levels)."""
        alpha = np.broadcast_to(np.asarray(alpha, dtype=float), (len(self.skus),))
        if len(self.levels) == 1:
            return self.cum_quantiles[:, :, 0].copy()
        k = np.clip(np.searchsorted(self.levels, alpha, side="right") - 1, 0, len(self.levels) - 2)
        lo, hi = self.levels[k], self.levels[k + 1]
        w = np.clip((alpha - lo) / (hi - lo), 0.0, 1.0)[:, None]
        rows = np.arange(len(self.skus))
        return self.cum_quantiles[rows, :, k] * (1 - w) + self.cum_quantiles[rows, :, k + 1] * w

    def cumulative_quantile_at(self, alpha: np.ndarray) -> np.ndarray:
        """Cumulative-demand quantile ``[S, H]`` at one level per SKU, from the sample paths
        (linear between order statistics, as ``numpy.quantile``), non-decreasing in the week."""
        out = np.zeros((len(self.skus), self.horizon))
        for rows in sku_blocks(len(self.skus), self.paths.shape[1] * self.horizon):
            cum = np.cumsum(self.paths[rows], axis=2, dtype=np.float64)
            out[rows] = quantile_per_row(cum, np.broadcast_to(alpha, (len(self.skus),))[rows])
        return np.maximum.accumulate(out, axis=1)

    def scaled(self, factors: np.ndarray) -> Forecast:
        """Demand multiplied by ``factors[S, H]``; cumulative quantiles recomputed from the scaled paths."""
        if np.all(factors == 1.0):
            return self
        paths = self.paths * factors[:, None, :].astype(np.float32)
        scaled = Forecast.from_paths(
            self.skus,
            self.weeks,
            self.levels,
            paths,
            self.model,
            mean=self.mean * factors,
            quantiles=self.quantiles * factors[:, :, None],
        )
        return scaled if self.classes is None else scaled.with_classes(self.classes)

    def weekly_frame(self) -> pd.DataFrame:
        """One row per SKU and week: ``sku, week, horizon, [class,] mean, q...`` (the forecast-file
        format; ``class`` when the demand classes are known)."""
        s, h = len(self.skus), self.horizon
        frame = pd.DataFrame(
            {
                "sku": np.repeat(self.skus, h),
                "week": np.tile(self.weeks.strftime("%Y-%m-%d"), s),
                "horizon": np.tile(np.arange(1, h + 1), s),
                "mean": self.mean.reshape(-1),
            }
        )
        if self.classes is not None:
            frame.insert(3, "class", np.repeat(self.classes, h))
        for k, level in enumerate(self.levels):
            frame[quantile_column(level)] = self.quantiles[:, :, k].reshape(-1)
        return frame

    def cumulative_frame(self) -> pd.DataFrame:
        """One row per SKU and week: quantiles of demand summed over weeks 1..horizon."""
        s, h = len(self.skus), self.horizon
        frame = pd.DataFrame(
            {
                "sku": np.repeat(self.skus, h),
                "week": np.tile(self.weeks.strftime("%Y-%m-%d"), s),
                "horizon": np.tile(np.arange(1, h + 1), s),
                "cum_mean": np.cumsum(self.mean, axis=1).reshape(-1),
            }
        )
        for k, level in enumerate(self.levels):
            frame[f"cum_{quantile_column(level)}"] = self.cum_quantiles[:, :, k].reshape(-1)
        return frame


def sku_blocks(n_skus: int, cells_per_sku: int, max_cells: int = BLOCK_CELLS) -> list[slice]:
    """Consecutive blocks of SKUs with at most ``max_cells`` path cells each (at least one SKU)."""
    size = max(1, max_cells // max(1, cells_per_sku))
    return [slice(start, min(start + size, n_skus)) for start in range(0, n_skus, size)]


def quantile_per_row(values: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """``values[S, N, H]``'s quantile over the path axis at one level per row ``alpha[S]`` -> ``[S, H]``
    (linear between order statistics, as ``numpy.quantile``)."""
    ordered = np.sort(values, axis=1)
    n = ordered.shape[1]
    pos = np.asarray(alpha, dtype=float) * (n - 1)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, n - 1)
    w = (pos - lo)[:, None]
    rows = np.arange(ordered.shape[0])
    return ordered[rows, lo] * (1.0 - w) + ordered[rows, hi] * w


def path_quantiles(values: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Quantiles over the path axis: ``values[S, N, H] -> [S, H, Q]``."""
    q = np.quantile(values, levels, axis=1)  # [Q, S, H]
    return np.moveaxis(q, 0, -1)


class Forecaster(ABC):
    """A model that learns from weekly history and returns a :class:`Forecast`.

    ``history`` has columns ``sku, week, units, price, promo, stockout`` (one row
    per SKU and week, as :class:`planner.inputs.data.Dataset` holds it). Optional context:
    ``attributes`` (index ``sku``; columns ``category``, ``supplier``) and ``events``
    (columns ``week``, ``event``; may extend past the history into the forecast weeks).
    """

    name: str = "forecaster"

    @abstractmethod
    def fit(
        self,
        history: pd.DataFrame,
        *,
        attributes: pd.DataFrame | None = None,
        events: pd.DataFrame | None = None,
    ) -> Self:
        """Learn from ``history`` (weeks before the forecast origin only)."""

    @abstractmethod
    def predict(self, skus: Sequence[str], weeks: pd.DatetimeIndex, levels: Sequence[float]) -> Forecast:
        """Forecast ``skus`` over ``weeks`` (consecutive Mondays after the history)."""

    def params(self) -> dict[str, Any]:
        """Constructor arguments (JSON-friendly): with :meth:`load_state` they rebuild the model."""
        names = inspect.signature(type(self).__init__).parameters
        return {k: _jsonable(getattr(self, k)) for k in names if k != "self"}

    def save_state(self, directory: Path) -> None:
        """Write the fitted state (attributes ending in ``_``) to ``directory`` (:mod:`forecast.state`:
        JSON, NPZ and LightGBM text files; nothing that runs code when read)."""
        from forecast.state import write_state

        write_state({k: v for k, v in vars(self).items() if k.endswith("_")}, Path(directory))

    def load_state(self, directory: Path) -> Self:
        """Restore what :meth:`save_state` wrote; predictions are then identical.

        Only fitted attributes (names ending in ``_``) are restored; a :class:`~forecast.state.StateError`
        names what is wrong with a folder that was not written by :meth:`save_state`.
        """
        from forecast.state import StateError, read_state

        state = read_state(Path(directory))
        bad = [k for k in state if not FITTED_NAME.fullmatch(k)]
        if bad:
            raise StateError(f"state.json sets {len(bad)} attribute(s) that are not fitted state")
        vars(self).update(state)
        return self

    def update(
        self,
        history: pd.DataFrame,
        *,
        attributes: pd.DataFrame | None = None,
        events: pd.DataFrame | None = None,
    ) -> Self:
        """Forecast from the end of ``history`` (later than the fit's). Models whose training is
        costly override this to move their origin without retraining; here it fits again."""
        return self.fit(history, attributes=attributes, events=events)

    def _check_fitted(self) -> None:
        if not getattr(self, "fitted_", False):
            raise RuntimeError(f"{type(self).__name__}.predict called before fit")


def _jsonable(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple):
        return list(value)
    return value
