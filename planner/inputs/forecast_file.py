"""Forecast files (``forecast: {model: file, path: ...}``): read and validated by the data layer.

Format: ``sku, week, mean`` and optional weekly quantile columns ``q0.05, q0.5, ...`` (the format
``planner forecast`` writes; its ``horizon`` and ``class`` columns are allowed and ignored). Every
problem names the file, the line and the column, like the dataset's files (:mod:`planner.inputs.data`).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from upath import UPath

from planner.base.errors import DataError, Problem
from planner.inputs.contract import Column, Table
from planner.inputs.data import parse_dates, read_table
from planner.inputs.location import found

FORECAST_FILE = Table(
    "forecast",
    (Column("sku", "str"), Column("week", "date"), Column("mean", "float")),
    key=("sku", "week"),
    doc="a forecast file: sku, week, mean and quantile columns q0.1, q0.9, ...",
)
QUANTILE_COLUMN = re.compile(r"^q(0?\.\d+)$")
MAX_LISTED = 5


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
