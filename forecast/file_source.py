"""Forecasts supplied by the user as a file (``forecast: {model: file, path: ...}``).

Format: ``sku, week, mean`` and optional weekly quantile columns ``q0.05, q0.5, ...``
(the format ``planner forecast`` writes). With the mean only, demand is
deterministic. With quantiles, weeks are assumed **independent**: each week is
sampled from its piecewise-linear quantile function (see
:mod:`forecast.quantile_paths`: linear below the lowest level, floored at 0, and an
exponential tail above the highest), and cumulative quantiles come from those
sample paths. The mean is the file's.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from typing import Any, Self

import numpy as np
import pandas as pd
from upath import UPath

from forecast.base import Forecast, Forecaster
from forecast.params import NPaths, Seed
from forecast.quantile_paths import forecast_from_quantiles
from planner.contract import Column, Table
from planner.data import parse_dates, read_table
from planner.errors import DataError, Problem
from planner.location import as_location, found

FORECAST_FILE = Table(
    "forecast",
    (Column("sku", "str"), Column("week", "date"), Column("mean", "float")),
    key=("sku", "week"),
    doc="a forecast file: sku, week, mean and quantile columns q0.1, q0.9, ...",
)
QUANTILE_COLUMN = re.compile(r"^q(0?\.\d+)$")
MAX_LISTED = 5


class FileForecaster(Forecaster):
    """Reads a forecast file; ``fit`` ignores history."""

    name = "file"

    def __init__(self, path: Any, n_paths: NPaths = 500, seed: Seed = 0):
        self.path = as_location(path)
        self.n_paths = n_paths
        self.seed = seed

    def fit(
        self,
        history: pd.DataFrame,
        *,
        attributes: pd.DataFrame | None = None,
        events: pd.DataFrame | None = None,
    ) -> Self:
        self.table_, self.file_levels_ = read_forecast_file(self.path)
        self.fitted_ = True
        return self

    def predict(self, skus: Sequence[str], weeks: pd.DatetimeIndex, levels: Sequence[float]) -> Forecast:
        self._check_fitted()
        weeks = pd.DatetimeIndex(weeks)
        grid = pd.MultiIndex.from_product([list(skus), weeks], names=["sku", "week"])
        table = self.table_.set_index(["sku", "week"])
        missing = grid.difference(table.index)
        if len(missing):
            pairs = [f"{s} {w.date()}" for s, w in missing[:MAX_LISTED]]
            more = f" (+{len(missing) - MAX_LISTED} more)" if len(missing) > MAX_LISTED else ""
            raise DataError(
                [
                    Problem(
                        self.path.name,
                        f"no forecast for {', '.join(pairs)}{more}",
                        f"give a row for every SKU and every week from {weeks[0].date()} "
                        f"to {weeks[-1].date()}",
                    )
                ]
            )
        rows = table.loc[grid]
        s, h = len(skus), len(weeks)
        mean = rows["mean"].to_numpy(dtype=float).reshape(s, h)
        if not self.file_levels_:
            paths = mean[:, None, :].astype(np.float32)
            quantiles = np.repeat(mean[:, :, None], len(levels), axis=2)
            return Forecast.from_paths(skus, weeks, levels, paths, self.name, mean=mean, quantiles=quantiles)
        given = np.stack(
            [rows[f"q{lv:g}"].to_numpy(dtype=float).reshape(s, h) for lv in self.file_levels_], axis=2
        )
        forecast = forecast_from_quantiles(
            skus,
            weeks,
            self.file_levels_,
            given,
            levels,
            n_paths=self.n_paths,
            rho=0.0,
            seed=self.seed,
            model=self.name,
        )
        return dataclasses.replace(forecast, mean=mean)


def read_forecast_file(path: UPath) -> tuple[pd.DataFrame, list[float]]:
    """Read and validate a forecast file (a local path or a URL); return rows keyed by (sku, Monday)
    and its quantile levels."""
    label = path.name
    if not found(path, folder=False):
        raise DataError(
            [
                Problem(
                    str(path),
                    "forecast file not found",
                    "check forecast.path in the scenario (relative to the YAML file)",
                )
            ]
        )
    if path.suffix.lower() not in (".csv", ".parquet"):
        raise DataError(
            [Problem(str(path), "a forecast file must be a .csv or .parquet file", "check forecast.path")]
        )
    problems: list[Problem] = []
    table = read_table(path, FORECAST_FILE, problems)
    if table is None:
        raise DataError(problems)
    raw, line_numbers = table.frame, table.line_numbers
    raw = raw.drop(columns=[c for c in ("horizon", "class") if c in raw.columns])
    for col in ("sku", "week", "mean"):
        if col not in raw.columns:
            problems.append(Problem(label, "required column is missing", f"add a '{col}' column", column=col))
    qcols = {c: float(m.group(1)) for c in raw.columns if (m := QUANTILE_COLUMN.match(str(c)))}
    for c in raw.columns:
        if c not in ("sku", "week", "mean") and c not in qcols:
            problems.append(
                Problem(label, "unknown column", "quantile columns are named like q0.1, q0.9", column=str(c))
            )
    if problems:
        raise DataError(problems)
    frame = pd.DataFrame({"sku": raw["sku"].astype(str).str.strip().str.normalize("NFC")})
    frame["week"] = parse_dates(raw["week"].astype(str).str.strip())
    _flag(problems, label, frame["week"].isna(), line_numbers, "week", "unparsable date", "write YYYY-MM-DD")
    levels = sorted(qcols.values())
    for col in ["mean", *sorted(qcols, key=qcols.get)]:
        values = pd.to_numeric(raw[col], errors="coerce")
        bad = ~np.isfinite(values.astype(float)) | (values < 0)
        _flag(problems, label, bad, line_numbers, col, "must be a finite number >= 0", "fix the value")
        frame[col if col == "mean" else f"q{qcols[col]:g}"] = values
    if levels:
        q = frame[[f"q{lv:g}" for lv in levels]].to_numpy(dtype=float)
        crossing = pd.Series((np.diff(q, axis=1) < 0).any(axis=1))
        _flag(
            problems,
            label,
            crossing,
            line_numbers,
            None,
            "quantiles decrease with the level (crossing)",
            "make q-values non-decreasing from the lowest level to the highest",
        )
    frame["week"] = frame["week"] - pd.to_timedelta(frame["week"].dt.day_of_week, unit="D")
    dup = frame.duplicated(["sku", "week"], keep=False)
    _flag(
        problems, label, dup, line_numbers, "week", "duplicate sku and week", "keep one row per SKU and week"
    )
    if problems:
        raise DataError(problems)
    return frame, levels


def _flag(
    problems: list[Problem],
    label: str,
    mask: pd.Series,
    line_numbers: np.ndarray,
    column: str | None,
    message: str,
    fix: str,
) -> None:
    idx = np.flatnonzero(mask.to_numpy())
    if idx.size:
        lines = tuple(int(v) for v in line_numbers[idx[:MAX_LISTED]])
        problems.append(
            Problem(label, message, fix, column=column, rows=lines, more_rows=max(0, idx.size - MAX_LISTED))
        )
