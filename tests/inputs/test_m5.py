"""Tests for the M5 importer: real m5_tiny data plus a small hand-made M5 folder."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from planner.base.errors import DataError, ScenarioError
from planner.inputs.contract import TABLES, Table
from planner.inputs.m5 import (
    M5Assumptions,
    OpenOrdersAssumptions,
    find_m5_files,
    import_m5,
    load_assumptions,
)

M5_TINY = Path(__file__).resolve().parents[3] / "shared" / "data" / "m5_tiny"
SALES_NAME = "sales_train_validation_tiny.csv"
OUTPUTS = ("demand", "items", "suppliers", "inventory", "open_orders", "calendar")


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def m5_dir() -> Path:
    if not (M5_TINY / SALES_NAME).is_file():
        pytest.skip(f"m5_tiny data not found at {M5_TINY}")
    return M5_TINY


@pytest.fixture(scope="module")
def assumptions() -> M5Assumptions:
    return load_assumptions(None)


@pytest.fixture(scope="module")
def tiny(
    m5_dir: Path, assumptions: M5Assumptions, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("m5_out")
    summary = import_m5(*find_m5_files(m5_dir), out, assumptions)
    return {
        "out": out,
        "summary": summary,
        "demand": pd.read_csv(out / "demand.csv"),
        "items": pd.read_csv(out / "items.csv"),
    }


@pytest.fixture(scope="module")
def raw(m5_dir: Path) -> dict[str, pd.DataFrame]:
    """The m5_tiny inputs, read independently of planner.inputs.m5 (the oracle)."""
    cal = pd.read_csv(m5_dir / "calendar.csv", parse_dates=["date"])
    return {
        "sales": pd.read_csv(m5_dir / SALES_NAME),
        "calendar": cal,
        "prices": pd.read_csv(m5_dir / "sell_prices.csv"),
    }


def _first_priced_monday(raw: dict[str, pd.DataFrame]) -> pd.Series:
    """Per SKU: the Monday of the first full ISO week with a priced day."""
    cal = raw["calendar"]
    first_full_monday = cal.loc[cal["date"].dt.day_of_week == 0, "date"].min()
    week_start = cal.groupby("wm_yr_wk")["date"].min()
    prices = raw["prices"]
    first_week = prices.groupby(["item_id", "store_id"])["wm_yr_wk"].min()
    first_day = week_start.reindex(first_week.to_numpy()).clip(lower=first_full_monday)
    mondays = first_day - pd.to_timedelta(first_day.dt.day_of_week, unit="D")
    index = [f"{i}_{s}" for i, s in first_week.index]
    return pd.Series(mondays.to_numpy(), index=index)


# --------------------------------------------------------------------------- contract checks


def _check_contract(table: Table, frame: pd.DataFrame) -> None:
    required = {c.name for c in table.columns if c.required}
    assert required <= set(frame.columns), f"{table.name}: missing {required - set(frame.columns)}"
    assert set(frame.columns) <= set(table.column_names), f"{table.name}: extra columns"
    if table.key:
        assert not frame.duplicated(list(table.key)).any(), f"{table.name}: duplicate keys"
    for name in frame.columns:
        _check_column(table, table.column(name), frame[name].dropna())


def _check_column(table: Table, col: Any, values: pd.Series) -> None:
    where = f"{table.name}.{col.name}"
    if col.kind == "date":
        parsed = pd.to_datetime(values, format="%Y-%m-%d", errors="coerce")
        assert parsed.notna().all(), where
        return
    if col.kind == "str":
        assert values.astype(str).str.len().gt(0).all(), where
        return
    numbers = pd.to_numeric(values)
    if col.kind in ("int", "flag"):
        assert (numbers == np.round(numbers)).all(), f"{where} not whole"
    if col.kind == "flag":
        assert numbers.isin([0, 1]).all(), where
    if col.min is not None:
        ok = numbers > col.min if col.min_exclusive else numbers >= col.min
        assert ok.all(), f"{where} below {col.min}"
    if col.max is not None:
        assert (numbers <= col.max).all(), f"{where} above {col.max}"


# --------------------------------------------------------------------------- real data


def test_import_writes_contract_files(tiny: dict[str, Any]) -> None:
    out = tiny["out"]
    assert sorted(Path(p).name for p in tiny["summary"]["files"]) == sorted(f"{n}.csv" for n in OUTPUTS)
    for table in TABLES:
        _check_contract(table, pd.read_csv(out / f"{table.name}.csv"))
    items = tiny["items"]
    suppliers = pd.read_csv(out / "suppliers.csv")
    assert set(items["supplier"]) <= set(suppliers["supplier"])
    assert (items["moq"] % items["pack_size"] == 0).all()
    assert suppliers["lead_time_weeks"].between(1, 12).all()
    assert set(pd.read_csv(out / "inventory.csv")["sku"]) == set(items["sku"])
    assert pd.api.types.is_integer_dtype(tiny["demand"]["units"])


def test_tiny_shape(tiny: dict[str, Any]) -> None:
    summary, demand = tiny["summary"], tiny["demand"]
    assert summary["skus"] == 280 and tiny["items"]["sku"].nunique() == 280
    assert summary["weeks"] == 273
    assert summary["date_range"] == ("2011-01-31", "2016-04-24")
    assert set(demand["sku"]) == set(tiny["items"]["sku"])
    assert set(tiny["items"]["category"]) == {"FOODS", "HOBBIES", "HOUSEHOLD"}


def test_weekly_units_match_daily_oracle(tiny: dict[str, Any], raw: dict[str, Any]) -> None:
    starts = _first_priced_monday(raw)
    sales = raw["sales"]
    skus = sales["item_id"] + "_" + sales["store_id"]
    early, late = starts.idxmin(), starts.idxmax()
    dates = raw["calendar"].set_index("d")["date"]
    last_sunday = raw["calendar"].loc[raw["calendar"]["date"].dt.day_of_week == 6, "date"].max()
    for sku in (early, late):
        row = sales.loc[skus == sku].iloc[0]
        days = [c for c in sales.columns if c.startswith("d_") and starts[sku] <= dates[c] <= last_sunday]
        expected = int(row[days].sum())
        got = tiny["demand"].loc[tiny["demand"]["sku"] == sku, "units"]
        assert got.sum() == expected, sku
        assert len(got) * 7 == len(days), sku


def test_skus_start_at_first_priced_week(tiny: dict[str, Any], raw: dict[str, Any]) -> None:
    starts = _first_priced_monday(raw).dt.strftime("%Y-%m-%d")
    first_rows = tiny["demand"].groupby("sku")["date"].min()
    pd.testing.assert_series_equal(first_rows.sort_index(), starts.sort_index(), check_names=False)
    assert (starts > "2011-01-31").sum() >= 90  # the late-listed series


def test_weeks_labelled_by_consecutive_mondays(tiny: dict[str, Any]) -> None:
    demand = tiny["demand"].assign(date=lambda f: pd.to_datetime(f["date"]))
    assert (demand["date"].dt.day_of_week == 0).all()
    steps = demand.groupby("sku")["date"].diff().dropna()
    assert (steps == pd.Timedelta(weeks=1)).all()
    assert demand.groupby("sku")["date"].max().eq(pd.Timestamp("2016-04-18")).all()


def test_promo_only_below_regular_price(tiny: dict[str, Any], assumptions: M5Assumptions) -> None:
    demand = tiny["demand"]
    regular = demand.groupby("sku", group_keys=False)["price"].apply(
        lambda p: _oracle_regular(p, assumptions)
    )
    cut = regular * (1 - assumptions.promo_discount) + 1e-9
    expected = (demand["price"] <= cut).astype(int)
    assert (demand["promo"] == expected).all()
    flagged = demand["promo"] == 1
    assert flagged.any()
    assert (demand.loc[flagged, "price"] < regular[flagged]).all()
    assert demand.loc[demand["price"].isna(), "promo"].eq(0).all()


def _oracle_regular(price: pd.Series, a: M5Assumptions) -> pd.Series:
    """Regular price recomputed row by row from the written prices."""
    values = price.to_numpy(dtype=float)
    first = np.nanmedian(values[: a.regular_price_weeks])
    out = []
    for i in range(len(values)):
        window = values[max(0, i - a.regular_price_weeks) : i]
        window = window[np.isfinite(window)]
        out.append(np.median(window) if len(window) >= a.regular_price_min_weeks else first)
    return pd.Series(out, index=price.index)


def test_max_series_keeps_first_series(m5_dir: Path, assumptions: M5Assumptions, tmp_path: Path) -> None:
    summary = import_m5(*find_m5_files(m5_dir), tmp_path, assumptions, max_series=5)
    items = pd.read_csv(tmp_path / "items.csv")
    first5 = pd.read_csv(m5_dir / SALES_NAME, nrows=5)
    assert summary["skus"] == 5
    assert list(items["sku"]) == list(first5["item_id"] + "_" + first5["store_id"])
    suppliers = pd.read_csv(tmp_path / "suppliers.csv")
    assert set(suppliers["supplier"]) == set(items["supplier"])


# --------------------------------------------------------------------------- input errors


def test_find_m5_files_names_missing_files(m5_dir: Path, tmp_path: Path) -> None:
    shutil.copy(m5_dir / "calendar.csv", tmp_path / "calendar.csv")
    with pytest.raises(DataError) as err:
        find_m5_files(tmp_path)
    text = str(err.value)
    assert "sell_prices.csv" in text and "sales_train_*.csv" in text
    assert "calendar.csv" not in text.replace(str(tmp_path), "")


def test_import_names_missing_file(m5_dir: Path, assumptions: M5Assumptions, tmp_path: Path) -> None:
    sales, calendar, _ = find_m5_files(m5_dir)
    missing = tmp_path / "sell_prices.csv"
    with pytest.raises(DataError) as err:
        import_m5(sales, calendar, missing, tmp_path / "out", assumptions)
    assert str(missing) in str(err.value) and "file not found" in str(err.value)
    assert not (tmp_path / "out").exists()


def test_missing_columns_listed_together(m5_dir: Path, assumptions: M5Assumptions, tmp_path: Path) -> None:
    sales = pd.read_csv(m5_dir / SALES_NAME, nrows=3).drop(columns="dept_id")
    calendar = pd.read_csv(m5_dir / "calendar.csv").drop(columns="wm_yr_wk")
    sales.to_csv(tmp_path / SALES_NAME, index=False)
    calendar.to_csv(tmp_path / "calendar.csv", index=False)
    shutil.copy(m5_dir / "sell_prices.csv", tmp_path / "sell_prices.csv")
    with pytest.raises(DataError) as err:
        import_m5(*find_m5_files(tmp_path), tmp_path / "out", assumptions)
    problems = {(Path(p.file).name, p.column) for p in err.value.problems}
    assert problems == {(SALES_NAME, "dept_id"), ("calendar.csv", "wm_yr_wk")}
    text = str(err.value)
    assert "column 'dept_id'" in text and "column 'wm_yr_wk'" in text and "Fix:" in text


# --------------------------------------------------------------------------- assumptions


def _bundled_text() -> str:
    return (resources.files("planner") / "assumptions" / "m5.yaml").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("old", "new", "key", "hint"),
    [
        ("\npromo_discount:", "\npromo_discont:", "promo_discont", "did you mean 'promo_discount'"),
        (
            "    lead_time_weeks: 2\n",
            "    lead_time_week: 2\n",
            "suppliers.FOODS_1.lead_time_week",
            "did you mean 'lead_time_weeks'",
        ),
        (
            "    lead_time_weeks: 2\n",
            "    lead_time_weeks: 20\n",
            "suppliers.FOODS_1.lead_time_weeks",
            "less than or equal to 12",
        ),
    ],
)
def test_bad_assumptions_name_the_key(tmp_path: Path, old: str, new: str, key: str, hint: str) -> None:
    text = _bundled_text()
    assert old in text
    path = tmp_path / "m5.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ScenarioError) as err:
        load_assumptions(path)
    keys = {p.key for p in err.value.problems}
    assert key in keys and all(p.file == str(path) for p in err.value.problems)
    message = str(err.value)
    assert hint in message and "pydantic" not in message


def test_bundled_assumptions_cover_all_m5_departments() -> None:
    a = load_assumptions(None)
    assert set(a.suppliers) == {
        "FOODS_1",
        "FOODS_2",
        "FOODS_3",
        "HOBBIES_1",
        "HOBBIES_2",
        "HOUSEHOLD_1",
        "HOUSEHOLD_2",
    }
    assert {"FOODS", "HOBBIES", "HOUSEHOLD"} <= set(a.categories)


# --------------------------------------------------------------------------- hand-made data


def _write_m5(
    folder: Path, sales: dict[str, list[int]], prices: dict[str, dict[int, float]], n_days: int = 30
) -> tuple[Path, Path, Path]:
    """A tiny M5 folder starting Saturday 2011-01-29 (Walmart weeks run Sat-Fri)."""
    dates = pd.date_range("2011-01-29", periods=n_days, freq="D")
    calendar = pd.DataFrame(
        {
            "date": dates.strftime("%Y-%m-%d"),
            "wm_yr_wk": [11101 + i // 7 for i in range(n_days)],
            "d": [f"d_{i + 1}" for i in range(n_days)],
            "event_name_1": None,
            "event_name_2": None,
        }
    )
    calendar.loc[8, ["event_name_1", "event_name_2"]] = ["SuperBowl", "Extra"]
    rows = [
        {
            "id": f"{item}_CA_1_validation",
            "item_id": item,
            "dept_id": "FOODS_1",
            "cat_id": "FOODS",
            "store_id": "CA_1",
            "state_id": "CA",
            **{f"d_{i + 1}": v for i, v in enumerate(days)},
        }
        for item, days in sales.items()
    ]
    price_rows = [
        {"store_id": "CA_1", "item_id": item, "wm_yr_wk": wk, "sell_price": p}
        for item, weeks in prices.items()
        for wk, p in weeks.items()
    ]
    paths = (folder / "sales_train_validation.csv", folder / "calendar.csv", folder / "sell_prices.csv")
    for frame, path in zip((pd.DataFrame(rows), calendar, pd.DataFrame(price_rows)), paths, strict=True):
        frame.to_csv(path, index=False)
    return paths


@pytest.fixture
def handmade(tmp_path: Path) -> tuple[Path, Path, Path]:
    # ISO weeks: W1 = days 2-8, W2 = 9-15, W3 = 16-22, W4 = 23-29 (day 0 = Sat 2011-01-29).
    sales = {
        "FOODS_1_001": [1] * 9 + [2] * 7 + [0] * 12 + [3, 3],  # W: 7, 14, 0, 6
        "FOODS_1_002": [0] * 14 + [1] * 16,  # listed from day 14
        "FOODS_1_003": [0] * 30,  # never priced
    }
    prices = {
        "FOODS_1_001": {11101: 2.0, 11102: 1.0, 11105: 2.0},  # off sale 11103-11104
        "FOODS_1_002": {11103: 3.0, 11104: 3.0, 11105: 3.0},
    }
    return _write_m5(tmp_path, sales, prices)


def test_handmade_weeks_prices_and_flags(
    handmade: tuple[Path, Path, Path], assumptions: M5Assumptions, tmp_path: Path
) -> None:
    summary = import_m5(*handmade, tmp_path / "out", assumptions)
    demand = pd.read_csv(tmp_path / "out" / "demand.csv")
    a = demand[demand["sku"] == "FOODS_1_001_CA_1"]
    assert list(a["date"]) == ["2011-01-31", "2011-02-07", "2011-02-14", "2011-02-21"]
    assert list(a["units"]) == [7, 14, 0, 6]
    assert a["price"].tolist()[:2] == [1.71, 1.0] and np.isnan(a["price"].iloc[2])
    assert list(a["stockout"]) == [0, 0, 1, 0]
    assert list(a["promo"]) == [0, 1, 0, 0]  # 1.00 <= 0.95 * median(1.71, 1.00, 2.00)
    b = demand[demand["sku"] == "FOODS_1_002_CA_1"]
    assert list(b["date"]) == ["2011-02-07", "2011-02-14", "2011-02-21"]
    assert list(b["units"]) == [2, 7, 7] and list(b["stockout"]) == [0, 0, 0]
    assert summary["dropped_series"] == ["FOODS_1_003_CA_1"]
    assert summary["skus"] == 2 and summary["weeks"] == 4
    inventory = pd.read_csv(tmp_path / "out" / "inventory.csv").set_index("sku")["on_hand"]
    assert inventory.to_dict() == {"FOODS_1_001_CA_1": 20, "FOODS_1_002_CA_1": 16}  # 3 wk cover
    events = pd.read_csv(tmp_path / "out" / "calendar.csv")
    assert events.values.tolist() == [["2011-02-06", "Extra"], ["2011-02-06", "SuperBowl"]]


def test_handmade_open_orders(
    handmade: tuple[Path, Path, Path], assumptions: M5Assumptions, tmp_path: Path
) -> None:
    rules = OpenOrdersAssumptions(every_nth_sku=1, arrival_in_weeks=1, weeks_of_demand=2.0)
    import_m5(*handmade, tmp_path / "out", assumptions.model_copy(update={"open_orders": rules}))
    orders = pd.read_csv(tmp_path / "out" / "open_orders.csv")
    assert orders.values.tolist() == [
        ["FOODS_1_001_CA_1", "2011-02-28", 14],
        ["FOODS_1_002_CA_1", "2011-02-28", 11],
    ]


def test_bad_sales_values_name_the_line(tmp_path: Path, assumptions: M5Assumptions) -> None:
    sales, calendar, prices = _write_m5(
        tmp_path,
        {"FOODS_1_001": [1] * 30, "FOODS_1_002": [1] * 29 + [-2]},
        {"FOODS_1_001": {11101: 1.0}, "FOODS_1_002": {11101: 1.0}},
    )
    with pytest.raises(DataError) as err:
        import_m5(sales, calendar, prices, tmp_path / "out", assumptions)
    (problem,) = err.value.problems
    assert problem.column == "d_30" and list(problem.rows) == [3]
    assert "sales_train_validation.csv" in str(err.value)


def test_unknown_department_names_assumption_key(tmp_path: Path, assumptions: M5Assumptions) -> None:
    paths = _write_m5(tmp_path, {"FOODS_1_001": [1] * 30}, {"FOODS_1_001": {11101: 1.0}})
    trimmed = {k: v for k, v in assumptions.suppliers.items() if k != "FOODS_1"}
    with pytest.raises(ScenarioError) as err:
        import_m5(*paths, tmp_path / "out", assumptions.model_copy(update={"suppliers": trimmed}))
    assert [p.key for p in err.value.problems] == ["suppliers.FOODS_1"]
