"""Convert M5-format files (Walmart daily unit sales) into the data contract.

Inputs are the Kaggle M5 files: a wide sales table ``sales_train_*.csv``
(``id,item_id,dept_id,cat_id,store_id[,state_id],d_1..d_N``), ``calendar.csv``
(``date,wm_yr_wk,d,event_name_1,event_name_2,...``) and ``sell_prices.csv``
(``store_id,item_id,wm_yr_wk,sell_price``; a missing row = not on sale that week).

Conversion rules
----------------
* SKU = ``<item_id>_<store_id>``; ``category`` = ``cat_id`` (or ``dept_id`` when
  the assumptions say ``category_column: dept_id``).
* Daily sales are summed into ISO weeks (Monday-Sunday) labelled by their Monday.
  Partial weeks at either end of the sales range are dropped (M5 starts on a
  Saturday). Each day's price is its Walmart week's ``sell_price``.
* A SKU's history starts at the first week with a price on at least one day:
  earlier days are "not yet listed in that store", not zero demand. A SKU that is
  never priced in the kept weeks is left out (logged and listed in the summary).
* ``price`` = mean daily price over the days of the week that had a price,
  rounded to 2 decimals; empty when no day of the week had a price.
* ``stockout`` = 1 when the item had no price on any day of the week, or sold 0
  units while missing a price on some day (not on sale, so demand is censored).
* ``promo`` = 1 when ``price <= regular * (1 - promo_discount)``. ``regular`` is the
  median of the SKU's (rounded) weekly prices over the previous
  ``regular_price_weeks`` weeks, weeks without a price skipped. When fewer than
  ``regular_price_min_weeks`` of them had a price (a SKU's first weeks), it is
  the median of the SKU's first ``regular_price_weeks`` weeks
  (``regular_price_fallback: first_weeks_median``) or of its whole history
  (``overall_median``; prices drift up over M5's five years, so this flags many
  of the first weeks as promotions).
* ``calendar.csv`` gets one ``date,event`` row per ``event_name_1``/``event_name_2``
  of every calendar day; SNAP flags are not exported.
* Items, suppliers, costs and stock come from the assumptions file (see
  ``planner/assumptions/m5.yaml``): one supplier per ``dept_id``; per category
  ``unit_cost = cost_ratio * median price``,
  ``shortage_cost = shortage_ratio * median price`` (median of the SKU's weekly
  prices), ``unit_volume``, ``pack_size`` and ``moq = moq_packs * pack_size``
  (the assumption is in packs, the output in units); ``holding_rate`` is annual.
* ``on_hand = round(weeks_of_cover * mean weekly units over the last
  history_weeks weeks)`` with ``weeks_of_cover = lead_time_weeks + extra`` unless
  fixed. Open orders are written only when ``open_orders.every_nth_sku > 0``.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from planner.base.config import parse_yaml_mapping, validation_problems
from planner.base.errors import DataError, Problem, ScenarioError
from planner.base.io import write_csv
from planner.base.textio import TextError, decode_text, local_problem

MAX_ASSUMPTIONS_BYTES = 1 << 20
log = logging.getLogger(__name__)

BUNDLED_ASSUMPTIONS = "planner/assumptions/m5.yaml"
SALES_COLUMNS = ("id", "item_id", "dept_id", "cat_id", "store_id")
CALENDAR_COLUMNS = ("date", "wm_yr_wk", "d", "event_name_1", "event_name_2")
EVENT_COLUMNS = ("event_name_1", "event_name_2")
PRICE_COLUMNS = ("store_id", "item_id", "wm_yr_wk", "sell_price")
DAY_PREFIX = "d_"
SALES_PATTERNS = ("sales_train_evaluation*.csv", "sales_train_validation*.csv", "sales_train_*.csv")
MAX_LISTED_ROWS = 5
CHUNK_SERIES = 4096
DATE_FORMAT = "%Y-%m-%d"


# --------------------------------------------------------------------------- assumptions


class SupplierAssumptions(BaseModel):
    """Terms of the supplier serving one M5 department."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    lead_time_weeks: int = Field(ge=1, le=12)
    order_cost: float = Field(ge=0)
    min_order_value: float | None = Field(default=None, ge=0)
    lead_time_sd_weeks: float | None = Field(default=None, ge=0)


class CategoryAssumptions(BaseModel):
    """Item parameters shared by one category (or department)."""

    model_config = ConfigDict(extra="forbid")

    cost_ratio: float = Field(gt=0, le=1)
    shortage_ratio: float = Field(ge=0)
    unit_volume: float = Field(gt=0)
    pack_size: int = Field(ge=1)
    moq_packs: int = Field(ge=0)
    holding_rate: float | None = Field(default=None, ge=0)
    service_level: float | None = Field(default=None, gt=0, lt=1)
    order_cost: float | None = Field(default=None, ge=0)


class InventoryAssumptions(BaseModel):
    """How stock on hand at plan start is invented."""

    model_config = ConfigDict(extra="forbid")

    history_weeks: int = Field(ge=1)
    cover_weeks_beyond_lead_time: float = Field(ge=0)
    weeks_of_cover: float | None = Field(default=None, ge=0)


class OpenOrdersAssumptions(BaseModel):
    """How (and whether) open purchase orders are invented."""

    model_config = ConfigDict(extra="forbid")

    every_nth_sku: int = Field(ge=0)
    arrival_in_weeks: int = Field(ge=1)
    weeks_of_demand: float = Field(ge=0)


class M5Assumptions(BaseModel):
    """Everything M5 lacks and the importer must assume (see ``assumptions/m5.yaml``)."""

    model_config = ConfigDict(extra="forbid")

    category_column: Literal["cat_id", "dept_id"]
    promo_discount: float = Field(gt=0, lt=1)
    regular_price_weeks: int = Field(ge=1)
    regular_price_min_weeks: int = Field(ge=1)
    regular_price_fallback: Literal["first_weeks_median", "overall_median"]
    holding_rate: float = Field(ge=0)
    suppliers: dict[str, SupplierAssumptions]
    categories: dict[str, CategoryAssumptions]
    inventory: InventoryAssumptions
    open_orders: OpenOrdersAssumptions

    _source: str = PrivateAttr(default=BUNDLED_ASSUMPTIONS)

    @property
    def source(self) -> str:
        """The file the assumptions were read from (for error messages)."""
        return self._source

    @field_validator("suppliers")
    @classmethod
    def _shared_suppliers_agree(cls, value: dict[str, SupplierAssumptions]) -> dict[str, SupplierAssumptions]:
        seen: dict[str, SupplierAssumptions] = {}
        for dept, terms in value.items():
            other = seen.setdefault(terms.name, terms)
            if other != terms:
                raise ValueError(
                    f"supplier '{terms.name}' appears twice with different terms "
                    f"(second time under '{dept}'); give it one set of terms or rename one"
                )
        return value

    @field_validator("categories")
    @classmethod
    def _service_level_all_or_none(
        cls, value: dict[str, CategoryAssumptions]
    ) -> dict[str, CategoryAssumptions]:
        unset = [k for k, c in value.items() if c.service_level is None]
        if unset and len(unset) < len(value):
            raise ValueError(
                f"service_level is set for some categories but not for {', '.join(unset)}; "
                "set it for every category or for none"
            )
        return value

    @model_validator(mode="after")
    def _min_weeks_within_window(self) -> M5Assumptions:
        if self.regular_price_min_weeks > self.regular_price_weeks:
            raise ValueError("regular_price_min_weeks must not exceed regular_price_weeks")
        return self

    def category_for(self, dept_id: str, cat_id: str) -> CategoryAssumptions | None:
        """The entry for a department, else for its category, else None."""
        return self.categories.get(dept_id) or self.categories.get(cat_id)


def load_assumptions(path: Path | None = None) -> M5Assumptions:
    """Read and validate an assumptions YAML (None = the bundled defaults)."""
    label = BUNDLED_ASSUMPTIONS if path is None else str(path)
    text = _read_assumptions_text(path, label)
    data = parse_yaml_mapping(text, label)
    try:
        model = M5Assumptions.model_validate(data)
    except ValidationError as exc:
        problems = validation_problems(
            exc, M5Assumptions, lambda loc: label, f"the comments in {BUNDLED_ASSUMPTIONS}"
        )
        raise ScenarioError(problems) from None
    model._source = label
    return model


def _read_assumptions_text(path: Path | None, label: str) -> str:
    if path is None:
        return (resources.files("planner") / "assumptions" / "m5.yaml").read_text(encoding="utf-8")
    problem = local_problem(Path(path), label, "assumptions file", MAX_ASSUMPTIONS_BYTES)
    if problem is not None:
        raise ScenarioError([problem])
    try:
        return decode_text(Path(path).read_bytes(), label)
    except TextError as exc:
        raise ScenarioError([exc.problem]) from None
    except OSError as exc:
        raise ScenarioError(
            [
                Problem(
                    file=label,
                    message=f"cannot be read ({exc.__class__.__name__})",
                    fix="check the path, or omit it to use the bundled defaults",
                )
            ]
        ) from None


# --------------------------------------------------------------------------- locating files


def find_m5_files(folder: Path) -> tuple[Path, Path, Path]:
    """Locate ``(sales, calendar, sell_prices)`` in an M5 folder.

    Prefers ``sales_train_evaluation*.csv`` (the longer history), then
    ``sales_train_validation*.csv``, then any single ``sales_train_*.csv``.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(
            [
                Problem(
                    file=str(folder),
                    message="folder not found",
                    fix="pass the folder holding sales_train_*.csv, calendar.csv and sell_prices.csv",
                )
            ]
        )
    problems: list[Problem] = []
    sales = _find_sales(folder, problems)
    found = {}
    for name in ("calendar.csv", "sell_prices.csv"):
        found[name] = folder / name
        if not found[name].is_file():
            problems.append(_missing_file_problem(found[name]))
    if problems:
        raise DataError(problems)
    assert sales is not None
    log.info("M5 files in %s: %s, calendar.csv, sell_prices.csv", folder, sales.name)
    return sales, found["calendar.csv"], found["sell_prices.csv"]


def _find_sales(folder: Path, problems: list[Problem]) -> Path | None:
    for pattern in SALES_PATTERNS:
        matches = sorted(p for p in folder.glob(pattern) if p.is_file())
        if len(matches) == 1:
            return matches[0]
        if matches:
            problems.append(
                Problem(
                    file=str(folder),
                    message=f"several sales files match {pattern}: {', '.join(p.name for p in matches)}",
                    fix="keep one, or pass the sales file explicitly",
                )
            )
            return None
    problems.append(_missing_file_problem(folder / "sales_train_*.csv"))
    return None


def _missing_file_problem(path: Path) -> Problem:
    return Problem(
        file=str(path),
        message="file not found",
        fix="add the M5 file (from the Kaggle 'M5 Forecasting' data) or correct the path",
    )


# --------------------------------------------------------------------------- reading and validation


def _read_inputs(
    sales: Path, calendar: Path, prices: Path, max_series: int | None
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Read the three files; raise one DataError for all missing files/columns."""
    missing = [_missing_file_problem(Path(p)) for p in (sales, calendar, prices) if not Path(p).is_file()]
    if missing:
        raise DataError(missing)
    wide = _read_csv(sales, nrows=max_series, dtype=dict.fromkeys(SALES_COLUMNS, str))
    cal = _read_csv(calendar, dtype=dict.fromkeys(("d", "date", *EVENT_COLUMNS), str))
    price = _read_csv(prices, dtype={"store_id": str, "item_id": str})
    problems = [
        *_missing_columns(wide, SALES_COLUMNS, sales),
        *_missing_columns(cal, CALENDAR_COLUMNS, calendar),
        *_missing_columns(price, PRICE_COLUMNS, prices),
    ]
    if not _day_columns(wide):
        problems.append(
            Problem(
                file=str(sales),
                column="d_*",
                message="no daily sales columns d_1, d_2, ...",
                fix="use the wide M5 sales layout with one d_<n> column per day",
            )
        )
    if problems:
        raise DataError(problems)
    return wide, cal, price


def _read_csv(path: Path, **kwargs: Any) -> pd.DataFrame:
    try:
        return pd.read_csv(path, **kwargs)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as exc:
        raise DataError(
            [
                Problem(
                    file=str(path),
                    message=f"cannot be read as CSV ({str(exc).splitlines()[0]})",
                    fix="save it as comma-separated UTF-8 text with a header row",
                )
            ]
        ) from None


def _missing_columns(frame: pd.DataFrame, required: tuple[str, ...], path: Path) -> list[Problem]:
    return [
        Problem(
            file=str(path),
            column=col,
            message="required column is missing",
            fix=f"add the '{col}' column (M5 layout: {', '.join(required)})",
        )
        for col in required
        if col not in frame.columns
    ]


def _day_columns(wide: pd.DataFrame) -> list[str]:
    return [c for c in wide.columns if c.startswith(DAY_PREFIX) and c[2:].isdigit()]


def _lines(mask: pd.Series | np.ndarray) -> tuple[tuple[int, ...], int]:
    """CSV line numbers (header = line 1) of the true rows, capped, and how many more."""
    positions = np.flatnonzero(np.asarray(mask))
    listed = tuple(int(p) + 2 for p in positions[:MAX_LISTED_ROWS])
    return listed, max(0, len(positions) - MAX_LISTED_ROWS)


def _bad_rows(mask: pd.Series | np.ndarray, path: Path, column: str, message: str, fix: str) -> list[Problem]:
    if not np.asarray(mask).any():
        return []
    rows, more = _lines(mask)
    return [Problem(file=str(path), column=column, rows=rows, more_rows=more, message=message, fix=fix)]


def _blank(series: pd.Series) -> pd.Series:
    return series.isna() | series.astype(str).str.strip().eq("")


def _validate_sales(wide: pd.DataFrame, path: Path) -> list[Problem]:
    problems: list[Problem] = []
    for col in SALES_COLUMNS[1:]:
        problems += _bad_rows(
            _blank(wide[col]), path, col, "empty value", f"fill in the {col} of every series"
        )
    dup = wide.duplicated(["item_id", "store_id"], keep=False) & ~_blank(wide["item_id"])
    problems += _bad_rows(
        dup, path, "item_id", "the same item_id and store_id appear twice", "keep one row per item and store"
    )
    days = _day_columns(wide)
    block = wide[days]
    if not all(pd.api.types.is_numeric_dtype(t) for t in block.dtypes):
        block = block.apply(pd.to_numeric, errors="coerce")
    values = block.to_numpy(dtype=float)
    bad = ~np.isfinite(values) | (values < 0) | (values != np.round(values))
    if bad.any():
        first_col = days[int(np.flatnonzero(bad.any(axis=0))[0])]
        problems += _bad_rows(
            bad.any(axis=1),
            path,
            first_col,
            f"{int(bad.sum())} daily sales are missing, negative or not whole numbers",
            "daily sales must be whole numbers >= 0 (write 0 for no sales)",
        )
    return problems


def _validate_calendar(cal: pd.DataFrame, path: Path) -> list[Problem]:
    dates = pd.to_datetime(cal["date"], format=DATE_FORMAT, errors="coerce")
    weeks = pd.to_numeric(cal["wm_yr_wk"], errors="coerce")
    return [
        *_bad_rows(dates.isna(), path, "date", "not a date", "write dates as YYYY-MM-DD"),
        *_bad_rows(
            weeks.isna(),
            path,
            "wm_yr_wk",
            "not a Walmart week number",
            "use the M5 wm_yr_wk numbers, e.g. 11101",
        ),
        *_bad_rows(_blank(cal["d"]), path, "d", "empty day id", "fill in d_<n> for every day"),
        *_bad_rows(
            cal["d"].duplicated(keep=False) & ~_blank(cal["d"]),
            path,
            "d",
            "day id appears twice",
            "keep one row per day",
        ),
        *_bad_rows(
            dates.duplicated(keep=False) & dates.notna(),
            path,
            "date",
            "date appears twice",
            "keep one row per day",
        ),
    ]


def _validate_prices(price: pd.DataFrame, path: Path) -> list[Problem]:
    values = pd.to_numeric(price["sell_price"], errors="coerce")
    weeks = pd.to_numeric(price["wm_yr_wk"], errors="coerce")
    dup = price.duplicated(["store_id", "item_id", "wm_yr_wk"], keep=False)
    return [
        *_bad_rows(
            values.isna() | (values < 0),
            path,
            "sell_price",
            "missing, non-numeric or negative price",
            "give a price >= 0, or drop the row if the item was not on sale",
        ),
        *_bad_rows(
            weeks.isna(),
            path,
            "wm_yr_wk",
            "not a Walmart week number",
            "use the wm_yr_wk numbers of calendar.csv",
        ),
        *_bad_rows(
            dup,
            path,
            "wm_yr_wk",
            "two prices for the same store, item and week",
            "keep one row per store_id, item_id and wm_yr_wk",
        ),
    ]


# --------------------------------------------------------------------------- time axis


@dataclass(frozen=True)
class DayAxis:
    """The kept full ISO weeks: day columns in date order and week labels."""

    day_columns: list[str]
    wm_weeks: np.ndarray
    mondays: pd.DatetimeIndex

    @property
    def n_weeks(self) -> int:
        return len(self.mondays)


def _day_axis(wide: pd.DataFrame, cal: pd.DataFrame, sales: Path, calendar: Path) -> DayAxis:
    """Map the sales day columns onto dates and keep whole Monday-Sunday weeks."""
    days = pd.DataFrame({"d": _day_columns(wide)})
    lookup = cal.assign(
        date=pd.to_datetime(cal["date"], format=DATE_FORMAT),
        wm_yr_wk=pd.to_numeric(cal["wm_yr_wk"]).astype("int64"),
    )
    days = days.merge(lookup[["d", "date", "wm_yr_wk"]], on="d", how="left")
    unknown = days.loc[days["date"].isna(), "d"].tolist()
    if unknown:
        raise DataError(
            [
                Problem(
                    file=str(sales),
                    column=unknown[0],
                    message=f"{len(unknown)} day columns have no row in {calendar.name} "
                    f"({', '.join(unknown[:3])}{', ...' if len(unknown) > 3 else ''})",
                    fix=f"use the {calendar.name} that belongs to this sales file",
                )
            ]
        )
    days = days.sort_values("date", ignore_index=True)
    gaps = days["date"].diff().dt.days.fillna(1).ne(1)
    if gaps.any():
        raise DataError(
            [
                Problem(
                    file=str(sales),
                    column=str(days.loc[gaps.idxmax(), "d"]),
                    message="the sales days are not consecutive dates",
                    fix="keep every day between the first and last d_ column",
                )
            ]
        )
    start = (7 - days["date"].iloc[0].weekday()) % 7
    n_weeks = (len(days) - start) // 7
    if n_weeks < 1:
        raise DataError(
            [
                Problem(
                    file=str(sales),
                    column="d_*",
                    message="less than one full Monday-Sunday week",
                    fix="provide at least 7 consecutive days starting on a Monday",
                )
            ]
        )
    kept = days.iloc[start : start + 7 * n_weeks]
    return DayAxis(
        day_columns=kept["d"].tolist(),
        wm_weeks=kept["wm_yr_wk"].to_numpy(),
        mondays=pd.DatetimeIndex(kept["date"].iloc[::7]),
    )


# --------------------------------------------------------------------------- weekly arrays


@dataclass(frozen=True)
class Weekly:
    """Per series (rows) and week (columns): units, mean price, days with a price."""

    units: np.ndarray
    price: np.ndarray
    priced_days: np.ndarray


def _weekly(wide: pd.DataFrame, price: pd.DataFrame, axis: DayAxis) -> Weekly:
    """Aggregate daily sales and prices into the axis' weeks, in chunks of series."""
    table = _price_table(wide, price, axis)
    parts = [_weekly_chunk(wide, table, axis, start) for start in range(0, len(wide), CHUNK_SERIES)]
    return Weekly(*(np.concatenate([p[i] for p in parts]) for i in range(3)))


def _price_table(wide: pd.DataFrame, price: pd.DataFrame, axis: DayAxis) -> np.ndarray:
    """Matrix series x Walmart week (of the axis) of sell prices, NaN = not on sale."""
    weeks = np.unique(axis.wm_weeks)
    keys = pd.MultiIndex.from_arrays([wide["item_id"], wide["store_id"]])
    rows = keys.get_indexer(pd.MultiIndex.from_arrays([price["item_id"], price["store_id"]]))
    cols = pd.Index(weeks).get_indexer(pd.to_numeric(price["wm_yr_wk"]).astype("int64"))
    keep = (rows >= 0) & (cols >= 0)
    table = np.full((len(wide), len(weeks)), np.nan)
    table[rows[keep], cols[keep]] = pd.to_numeric(price["sell_price"]).to_numpy()[keep]
    return table


def _weekly_chunk(
    wide: pd.DataFrame, table: np.ndarray, axis: DayAxis, start: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    stop = min(start + CHUNK_SERIES, len(wide))
    n, k = stop - start, axis.n_weeks
    sales = wide[axis.day_columns].iloc[start:stop].to_numpy(dtype=np.int64)
    units = sales.reshape(n, k, 7).sum(axis=2)
    day_week = np.searchsorted(np.unique(axis.wm_weeks), axis.wm_weeks)
    daily = table[start:stop][:, day_week].reshape(n, k, 7)
    priced = np.isfinite(daily)
    counts = priced.sum(axis=2)
    totals = np.where(priced, daily, 0.0).sum(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(counts > 0, totals / counts, np.nan)
    return units, np.round(mean, 2), counts


# --------------------------------------------------------------------------- output tables


def _series_info(wide: pd.DataFrame, assumptions: M5Assumptions) -> pd.DataFrame:
    info = wide[["item_id", "store_id", "dept_id", "cat_id"]].astype(str).reset_index(drop=True)
    info["sku"] = info["item_id"] + "_" + info["store_id"]
    info["category"] = info[assumptions.category_column]
    return info


def _check_coverage(info: pd.DataFrame, assumptions: M5Assumptions) -> None:
    """Every department needs a supplier and a category entry in the assumptions."""
    problems = []
    for dept in sorted(set(info["dept_id"]) - set(assumptions.suppliers)):
        problems.append(
            Problem(
                file=assumptions.source,
                key=f"suppliers.{dept}",
                message=f"no supplier for department {dept}, which is in the sales file",
                fix=f"add a 'suppliers: {dept}:' entry",
            )
        )
    pairs = info[["dept_id", "cat_id"]].drop_duplicates().itertuples(index=False)
    for dept, cat in sorted(pairs):
        if assumptions.category_for(dept, cat) is None:
            problems.append(
                Problem(
                    file=assumptions.source,
                    key=f"categories.{cat}",
                    message=f"no item parameters for category {cat} (department {dept})",
                    fix=f"add a 'categories: {cat}:' entry (or one for {dept})",
                )
            )
    if problems:
        raise ScenarioError(problems)


def _regular_price(price: np.ndarray, assumptions: M5Assumptions) -> np.ndarray:
    """Rolling median of the previous weeks' prices, else the fallback median."""
    window = assumptions.regular_price_weeks
    rolling = (
        pd.DataFrame(price.T)
        .rolling(window, min_periods=assumptions.regular_price_min_weeks)
        .median()
        .shift(1)
        .to_numpy()
        .T
    )
    if assumptions.regular_price_fallback == "first_weeks_median":
        first = np.argmax(np.isfinite(price), axis=1)
        since_first = np.arange(price.shape[1])[None, :] - first[:, None]
        fallback = _row_median(np.where(since_first < window, price, np.nan))
    else:
        fallback = _row_median(price)
    return np.where(np.isnan(rolling), fallback[:, None], rolling)


def _row_median(values: np.ndarray) -> np.ndarray:
    """Median of each row ignoring NaN (NaN for an all-NaN row, without warnings)."""
    ok = np.isfinite(values).any(axis=1)
    out = np.full(len(values), np.nan)
    if ok.any():
        out[ok] = np.nanmedian(values[ok], axis=1)
    return out


def _history_mask(weekly: Weekly) -> tuple[np.ndarray, np.ndarray]:
    """Which (series, week) cells are history, and which series have any."""
    first = np.argmax(weekly.priced_days > 0, axis=1)
    has_price = (weekly.priced_days > 0).any(axis=1)
    weeks = np.arange(weekly.units.shape[1])
    return (weeks[None, :] >= first[:, None]) & has_price[:, None], has_price


def _demand(
    info: pd.DataFrame, weekly: Weekly, mask: np.ndarray, axis: DayAxis, assumptions: M5Assumptions
) -> pd.DataFrame:
    regular = _regular_price(np.where(mask, weekly.price, np.nan), assumptions)
    with np.errstate(invalid="ignore"):
        promo = weekly.price <= regular * (1 - assumptions.promo_discount) + 1e-9
    stockout = (weekly.priced_days == 0) | ((weekly.units == 0) & (weekly.priced_days < 7))
    rows, cols = np.nonzero(mask)
    return pd.DataFrame(
        {
            "sku": info["sku"].to_numpy()[rows],
            "date": axis.mondays.strftime(DATE_FORMAT).to_numpy()[cols],
            "units": weekly.units[rows, cols],
            "price": weekly.price[rows, cols],
            "promo": promo[rows, cols].astype(int),
            "stockout": stockout[rows, cols].astype(int),
        }
    )


def _recent_mean(weekly: Weekly, mask: np.ndarray, weeks: int) -> np.ndarray:
    """Mean weekly units over each series' last ``weeks`` history weeks."""
    units = np.where(mask, weekly.units, 0)[:, -weeks:]
    counts = mask[:, -weeks:].sum(axis=1)
    return units.sum(axis=1) / np.maximum(counts, 1)


def _items(info: pd.DataFrame, median_price: np.ndarray, assumptions: M5Assumptions) -> pd.DataFrame:
    params = [assumptions.category_for(d, c) for d, c in zip(info["dept_id"], info["cat_id"], strict=True)]
    pack = np.array([p.pack_size for p in params])
    items = pd.DataFrame(
        {
            "sku": info["sku"],
            "supplier": [assumptions.suppliers[d].name for d in info["dept_id"]],
            "unit_cost": np.round([p.cost_ratio for p in params] * median_price, 2),
            "unit_volume": [p.unit_volume for p in params],
            "moq": np.array([p.moq_packs for p in params]) * pack,
            "pack_size": pack,
            "holding_rate": [
                p.holding_rate if p.holding_rate is not None else assumptions.holding_rate for p in params
            ],
            "shortage_cost": np.round([p.shortage_ratio for p in params] * median_price, 2),
        }
    )
    if any(p.service_level is not None for p in params):
        items["service_level"] = [p.service_level for p in params]
    if any(p.order_cost is not None for p in params):
        items["order_cost"] = [p.order_cost or 0.0 for p in params]
    items["category"] = info["category"]
    return items


def _suppliers(info: pd.DataFrame, assumptions: M5Assumptions) -> pd.DataFrame:
    terms = [assumptions.suppliers[d] for d in sorted(set(info["dept_id"]))]
    frame = pd.DataFrame(
        {
            "supplier": [t.name for t in terms],
            "lead_time_weeks": [t.lead_time_weeks for t in terms],
            "order_cost": [t.order_cost for t in terms],
        }
    )
    if any(t.min_order_value is not None for t in terms):
        frame["min_order_value"] = [t.min_order_value or 0.0 for t in terms]
    if any(t.lead_time_sd_weeks is not None for t in terms):
        frame["lead_time_sd_weeks"] = [t.lead_time_sd_weeks or 0.0 for t in terms]
    return frame.drop_duplicates("supplier", ignore_index=True)


def _inventory(info: pd.DataFrame, recent: np.ndarray, assumptions: M5Assumptions) -> pd.DataFrame:
    inv = assumptions.inventory
    lead = np.array([assumptions.suppliers[d].lead_time_weeks for d in info["dept_id"]])
    cover = (
        np.full(len(info), inv.weeks_of_cover)
        if inv.weeks_of_cover is not None
        else lead + inv.cover_weeks_beyond_lead_time
    )
    return pd.DataFrame({"sku": info["sku"], "on_hand": np.round(cover * recent).astype(int)})


def _open_orders(
    info: pd.DataFrame, recent: np.ndarray, last_monday: pd.Timestamp, assumptions: M5Assumptions
) -> pd.DataFrame:
    rules = assumptions.open_orders
    columns = ["sku", "arrival_date", "units"]
    if rules.every_nth_sku == 0:
        return pd.DataFrame(columns=columns)
    chosen = np.arange(0, len(info), rules.every_nth_sku)
    units = np.round(rules.weeks_of_demand * recent[chosen]).astype(int)
    arrival = last_monday + pd.Timedelta(weeks=rules.arrival_in_weeks)
    orders = pd.DataFrame(
        {
            "sku": info["sku"].to_numpy()[chosen],
            "arrival_date": arrival.strftime(DATE_FORMAT),
            "units": units,
        }
    )
    return orders.loc[orders["units"] > 0, columns].reset_index(drop=True)


def _events(cal: pd.DataFrame) -> pd.DataFrame:
    dates = pd.to_datetime(cal["date"], format=DATE_FORMAT).dt.strftime(DATE_FORMAT)
    parts = [pd.DataFrame({"date": dates, "event": cal[col].str.strip()}) for col in EVENT_COLUMNS]
    events = pd.concat(parts, ignore_index=True)
    events = events[events["event"].notna() & events["event"].ne("")]
    return events.drop_duplicates().sort_values(["date", "event"], ignore_index=True)


# --------------------------------------------------------------------------- entry point


def import_m5(
    sales: Path,
    calendar: Path,
    prices: Path,
    out_dir: Path,
    assumptions: M5Assumptions,
    max_series: int | None = None,
) -> dict[str, Any]:
    """Convert M5 files into the contract files in ``out_dir``; return a summary.

    ``max_series`` keeps only the first N series of the sales file.
    """
    if max_series is not None and max_series < 1:
        raise ValueError("max_series must be at least 1")
    started = time.perf_counter()
    sales, calendar, prices, out_dir = Path(sales), Path(calendar), Path(prices), Path(out_dir)
    wide, cal, price = _read_inputs(sales, calendar, prices, max_series)
    problems = [
        *_validate_sales(wide, sales),
        *_validate_calendar(cal, calendar),
        *_validate_prices(price, prices),
    ]
    if problems:
        raise DataError(problems)
    info = _series_info(wide, assumptions)
    _check_coverage(info, assumptions)
    axis = _day_axis(wide, cal, sales, calendar)
    weekly = _weekly(wide, price, axis)
    mask, has_price = _history_mask(weekly)
    dropped = info.loc[~has_price, "sku"].tolist()
    if dropped:
        log.warning(
            "%d series never on sale in the kept weeks, left out: %s", len(dropped), ", ".join(dropped[:10])
        )
    tables = _build_tables(info, weekly, mask, has_price, axis, cal, assumptions)
    written = [str(write_csv(frame, out_dir / f"{name}.csv")) for name, frame in tables.items()]
    summary = _summary(tables["demand"], axis, len(info), dropped, written, started)
    log.info("M5 import: %(skus)d SKUs, %(weeks)d weeks, %(first_week)s..%(last_week)s", summary)
    return summary


def _build_tables(
    info: pd.DataFrame,
    weekly: Weekly,
    mask: np.ndarray,
    has_price: np.ndarray,
    axis: DayAxis,
    cal: pd.DataFrame,
    assumptions: M5Assumptions,
) -> dict[str, pd.DataFrame]:
    demand = _demand(info, weekly, mask, axis, assumptions)
    median_price = _row_median(np.where(mask, weekly.price, np.nan))[has_price]
    recent = _recent_mean(weekly, mask, assumptions.inventory.history_weeks)[has_price]
    kept = info.loc[has_price].reset_index(drop=True)
    return {
        "demand": demand,
        "items": _items(kept, median_price, assumptions),
        "suppliers": _suppliers(kept, assumptions),
        "inventory": _inventory(kept, recent, assumptions),
        "open_orders": _open_orders(kept, recent, axis.mondays[-1], assumptions),
        "calendar": _events(cal),
    }


def _summary(
    demand: pd.DataFrame, axis: DayAxis, n_series: int, dropped: list[str], written: list[str], started: float
) -> dict[str, Any]:
    last_sunday = axis.mondays[-1] + pd.Timedelta(days=6)
    return {
        "series": n_series,
        "skus": int(demand["sku"].nunique()),
        "weeks": axis.n_weeks,
        "first_week": axis.mondays[0].strftime(DATE_FORMAT),
        "last_week": axis.mondays[-1].strftime(DATE_FORMAT),
        "date_range": (axis.mondays[0].strftime(DATE_FORMAT), last_sunday.strftime(DATE_FORMAT)),
        "demand_rows": len(demand),
        "stockout_share": _share(demand["stockout"]),
        "promo_share": _share(demand["promo"]),
        "dropped_series": dropped,
        "files": written,
        "seconds": round(time.perf_counter() - started, 2),
    }


def _share(flags: pd.Series) -> float:
    return round(float(flags.mean()), 4) if len(flags) else math.nan
