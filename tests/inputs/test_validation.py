"""Every data-contract rule, seen the way users see it: through ``planner validate``.

Each test copies the sample dataset, breaks one thing, runs the real CLI and checks
the exit code (1, no traceback) and the exact message: file, line(s), column and a
fix hint, one line per problem.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import Result

Run = Callable[..., Result]

# ---------------------------------------------------------------------------
# helpers


def read_csv(folder: Path, table: str) -> pd.DataFrame:
    """A table as the user wrote it: every cell a string, blanks kept as ''."""
    return pd.read_csv(folder / f"{table}.csv", dtype=str, keep_default_na=False)


def write_csv(folder: Path, table: str, frame: pd.DataFrame) -> None:
    frame.to_csv(folder / f"{table}.csv", index=False, lineterminator="\n")


def edit_csv(folder: Path, table: str, change: Callable[[pd.DataFrame], pd.DataFrame]) -> None:
    write_csv(folder, table, change(read_csv(folder, table)))


def set_cell(folder: Path, table: str, row: int, column: str, value: str) -> int:
    """Overwrite one cell; return the file line users see for it (the header is line 1)."""
    frame = read_csv(folder, table)
    frame.loc[row, column] = value
    write_csv(folder, table, frame)
    return row + 2


def line_of(path: Path, line: int) -> str:
    return path.read_text(encoding="utf-8").splitlines()[line - 1]


def stderr(result: Result) -> str:
    try:
        return result.stderr
    except (AttributeError, ValueError):  # older click: stderr mixed into output
        return result.output


def problems(result: Result, count: int = 1) -> list[str]:
    """Assert a clean user error (exit 1, no traceback) and return its problem lines, '- ' stripped."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    text = stderr(result).strip().splitlines()
    head = f"error: {count} data problem{'s' if count != 1 else ''} found:"
    assert text[0] == head, result.output
    listed = text[1:]
    assert len(listed) == count, result.output  # exactly one line per problem
    assert all(line.startswith("- ") and ". Fix: " in line for line in listed), result.output
    return [line[2:] for line in listed]


def only_problem(result: Result) -> str:
    return problems(result, 1)[0]


@pytest.fixture
def validate(sample_dataset: Path, write_scenario: Callable[..., Path], cli: Run) -> Run:
    """Run ``planner validate`` on a scenario pointing at the test's dataset copy."""

    def run(**keys: object) -> Result:
        return cli("validate", write_scenario(**keys))

    return run


# ---------------------------------------------------------------------------
# the unbroken copy is valid (guards every test below against false alarms)


def test_sample_copy_is_valid(validate: Run) -> None:
    result = validate()
    assert result.exit_code == 0, result.output
    assert "ok: scenario 't', 240 SKUs, 6 suppliers" in result.stdout
    assert "plan starts 2026-11-16" in result.stdout
    assert stderr(result).strip() == ""


# ---------------------------------------------------------------------------
# files


def test_missing_required_file(sample_dataset: Path, validate: Run) -> None:
    (sample_dataset / "items.csv").unlink()
    assert only_problem(validate()) == (
        f"items.csv: required file is missing from {sample_dataset.resolve()}. "
        "Fix: add items.csv with columns sku, supplier, unit_cost, unit_volume, moq, pack_size"
    )


def test_both_csv_and_parquet(sample_dataset: Path, validate: Run) -> None:
    pd.read_csv(sample_dataset / "suppliers.csv").to_parquet(sample_dataset / "suppliers.parquet")
    assert only_problem(validate()) == (
        "suppliers.csv: both suppliers.csv and suppliers.parquet exist. Fix: keep only one of the two files"
    )


def test_empty_file(sample_dataset: Path, validate: Run) -> None:
    (sample_dataset / "inventory.csv").write_text("")
    assert only_problem(validate()) == (
        "inventory.csv: file is empty (no header row). Fix: write the header sku,on_hand and the data rows"
    )


@pytest.mark.parametrize(
    ("table", "fix"),
    [
        ("items", "add at least one item"),
        ("suppliers", "add at least one supplier"),
        ("demand", "add at least one row of sales history"),
    ],
)
def test_header_without_rows(sample_dataset: Path, validate: Run, table: str, fix: str) -> None:
    path = sample_dataset / f"{table}.csv"
    path.write_text(path.read_text().splitlines()[0] + "\n")
    assert only_problem(validate()) == f"{table}.csv: file has a header but no rows. Fix: {fix}"


def test_unreadable_csv(sample_dataset: Path, validate: Run) -> None:
    with open(sample_dataset / "suppliers.csv", "a") as fh:
        fh.write("SUP-Q,1,2,3,4,5,6\n")  # 7 fields under a 5-column header, on line 8
    message = only_problem(validate())
    assert message.startswith("suppliers.csv: cannot be read: ")
    assert "line 8" in message
    assert message.endswith(". Fix: save it as UTF-8 CSV with one header row and comma separators")


def test_dataset_folder_does_not_exist(validate: Run, tmp_path: Path) -> None:
    assert only_problem(validate(data="nowhere")) == (
        f"{(tmp_path / 'nowhere').resolve()}: dataset folder does not exist. "
        "Fix: point the scenario's 'data' key at a folder holding demand.csv, items.csv, ..."
    )


# ---------------------------------------------------------------------------
# columns


def test_missing_required_column(sample_dataset: Path, validate: Run) -> None:
    edit_csv(sample_dataset, "items", lambda f: f.drop(columns="unit_cost"))
    assert only_problem(validate()) == (
        "items.csv: column 'unit_cost': required column is missing. "
        "Fix: add a 'unit_cost' column (purchase cost per unit)"
    )


@pytest.mark.parametrize(("written", "meant"), [("shortage_cots", "shortage_cost"), ("Category", "category")])
def test_unknown_column_did_you_mean(sample_dataset: Path, validate: Run, written: str, meant: str) -> None:
    edit_csv(sample_dataset, "items", lambda f: f.rename(columns={meant: written}))
    assert only_problem(validate()) == (
        f"items.csv: column '{written}': unknown column. Fix: did you mean '{meant}'?"
    )


def test_misspelt_required_column_reports_missing_and_unknown(sample_dataset: Path, validate: Run) -> None:
    edit_csv(sample_dataset, "items", lambda f: f.rename(columns={"pack_size": "packsize"}))
    assert problems(validate(), 2) == [
        "items.csv: column 'pack_size': required column is missing. "
        "Fix: add a 'pack_size' column (units per pack (> 0))",
        "items.csv: column 'packsize': unknown column. Fix: did you mean 'pack_size'?",
    ]


# ---------------------------------------------------------------------------
# cells: one rule each (table, row, column, value written, message, fix)

CELL_RULES = [
    pytest.param(
        "items", 3, "unit_cost", "", "missing value", "fill in 'unit_cost' on every row", id="missing-value"
    ),
    pytest.param(
        "demand",
        5,
        "units",
        "abc",
        "not a number: 'abc'",
        "write numbers with '.' as the decimal point and no thousands separator",
        id="not-a-number",
    ),
    pytest.param(
        "items",
        4,
        "unit_volume",
        "inf",
        "non-finite value 'inf'",
        "use a finite number (leave the cell empty only where the column is optional)",
        id="non-finite-inf",
    ),
    pytest.param(
        "inventory",
        4,
        "on_hand",
        "nan",
        "non-finite value 'nan'",
        "use a finite number (leave the cell empty only where the column is optional)",
        id="non-finite-nan",
    ),
    pytest.param(
        "demand",
        2,
        "units",
        "-3",
        "must be >= 0, got '-3'",
        "'units' cannot be negative: units sold (>= 0)",
        id="negative-units",
    ),
    pytest.param(
        "items",
        2,
        "unit_cost",
        "-1.5",
        "must be >= 0, got '-1.5'",
        "'unit_cost' cannot be negative: purchase cost per unit",
        id="negative-unit-cost",
    ),
    pytest.param(
        "inventory",
        2,
        "on_hand",
        "-4",
        "must be >= 0, got '-4'",
        "'on_hand' cannot be negative: units on hand at plan start",
        id="negative-on-hand",
    ),
    pytest.param(
        "items",
        2,
        "pack_size",
        "0",
        "must be > 0, got '0'",
        "set the number of units per pack (1 if sold singly)",
        id="pack-size-not-positive",
    ),
    pytest.param(
        "items",
        2,
        "pack_size",
        "2.5",
        "must be a whole number, got '2.5'",
        "round 'pack_size' to a whole number",
        id="pack-size-fractional",
    ),
    pytest.param(
        "items",
        3,
        "moq",
        "1.5",
        "must be a whole number, got '1.5'",
        "round 'moq' to a whole number",
        id="moq-fractional",
    ),
    pytest.param(
        "suppliers",
        1,
        "lead_time_weeks",
        "-1",
        "must be >= 0, got '-1'",
        "give the lead time in whole weeks (0 = arrives the week it is ordered)",
        id="lead-time-negative",
    ),
    pytest.param(
        "suppliers",
        1,
        "lead_time_weeks",
        "1.5",
        "must be a whole number, got '1.5'",
        "round 'lead_time_weeks' to a whole number",
        id="lead-time-fractional",
    ),
    pytest.param(
        "items",
        1,
        "service_level",
        "1.2",
        "must be <= 0.9999, got '1.2'",
        "give a probability such as 0.95, or leave it empty to use the scenario's",
        id="service-level-above-range",
    ),
    pytest.param(
        "items",
        1,
        "service_level",
        "0",
        "must be > 0, got '0'",
        "give a probability such as 0.95, or leave it empty to use the scenario's",
        id="service-level-below-range",
    ),
    pytest.param(
        "demand",
        1,
        "promo",
        "2",
        "must be 0 or 1, got '2'",
        "use 1 for yes and 0 for no",
        id="promo-not-flag",
    ),
    pytest.param(
        "demand",
        1,
        "stockout",
        "yes",
        "must be 0 or 1, got 'yes'",
        "use 1 for yes and 0 for no",
        id="stockout-not-flag",
    ),
    pytest.param(
        "demand",
        1,
        "date",
        "31/12/2024",
        "unparsable date '31/12/2024'",
        "write dates as YYYY-MM-DD",
        id="demand-date-unparsable",
    ),
    pytest.param(
        "open_orders",
        1,
        "arrival_date",
        "soon",
        "unparsable date 'soon'",
        "write dates as YYYY-MM-DD",
        id="arrival-date-unparsable",
    ),
    pytest.param(
        "demand",
        1,
        "sku",
        "SKU9999",
        "'SKU9999' not in items.csv",
        "add them to items.csv or remove these rows",
        id="demand-sku-not-in-items",
    ),
    pytest.param(
        "inventory",
        1,
        "sku",
        "SKU9999",
        "'SKU9999' not in items.csv",
        "add them to items.csv or remove these rows",
        id="inventory-sku-not-in-items",
    ),
    pytest.param(
        "open_orders",
        1,
        "sku",
        "SKU9999",
        "'SKU9999' not in items.csv",
        "add them to items.csv or remove these rows",
        id="open-order-sku-not-in-items",
    ),
    pytest.param(
        "items",
        1,
        "supplier",
        "SUP-Z",
        "'SUP-Z' not in suppliers.csv",
        "add them to suppliers.csv or remove these rows",
        id="item-supplier-unknown",
    ),
]


@pytest.mark.parametrize(("table", "row", "column", "value", "message", "fix"), CELL_RULES)
def test_cell_rule(
    sample_dataset: Path, validate: Run, table: str, row: int, column: str, value: str, message: str, fix: str
) -> None:
    line = set_cell(sample_dataset, table, row, column, value)
    assert only_problem(validate()) == f"{table}.csv: line {line}: column '{column}': {message}. Fix: {fix}"
    header = line_of(sample_dataset / f"{table}.csv", 1).split(",")
    assert line_of(sample_dataset / f"{table}.csv", line).split(",")[header.index(column)] == value


def test_many_offending_rows_are_counted(sample_dataset: Path, validate: Run) -> None:
    edit_csv(sample_dataset, "demand", lambda f: f.assign(units=f["units"].where(f.index >= 7, "-1")))
    assert only_problem(validate()) == (
        "demand.csv: lines 2, 3, 4, 5, 6 (+2 more): column 'units': must be >= 0, got '-1'. "
        "Fix: 'units' cannot be negative: units sold (>= 0)"
    )


# ---------------------------------------------------------------------------
# keys


def _duplicate_row(folder: Path, table: str, row: int) -> tuple[int, int]:
    """Append a copy of ``row``; return the lines of the original and of the copy."""
    frame = read_csv(folder, table)
    write_csv(folder, table, pd.concat([frame, frame.iloc[[row]]], ignore_index=True))
    return row + 2, len(frame) + 2


@pytest.mark.parametrize(
    ("table", "row", "key", "shown"),
    [
        ("items", 0, "'sku'", "'SKU0001'"),
        ("suppliers", 2, "'supplier'", "'SUP-C'"),
        ("inventory", 4, "'sku'", "'SKU0005'"),
        ("demand", 1, "'sku' and 'date'", "'SKU0001 2023-11-27'"),
    ],
)
def test_duplicate_key(
    sample_dataset: Path, validate: Run, table: str, row: int, key: str, shown: str
) -> None:
    first, copy = _duplicate_row(sample_dataset, table, row)
    column = key.split(" and ")[0].strip("'")
    assert only_problem(validate()) == (
        f"{table}.csv: lines {first}, {copy}: column '{column}': duplicate {key}: {shown}. "
        f"Fix: keep one row per {key}"
    )


def test_same_day_written_two_ways_is_a_duplicate(sample_dataset: Path, validate: Run) -> None:
    set_cell(sample_dataset, "demand", 2, "date", "2023-11-27T00:00:00")  # row 1 holds 2023-11-27
    assert only_problem(validate()) == (
        "demand.csv: lines 3, 4: column 'sku': duplicate 'sku' and 'date': 'SKU0001 2023-11-27'. "
        "Fix: keep one row per 'sku' and 'date'"
    )


# ---------------------------------------------------------------------------
# open orders against the plan start (needs the scenario)

PAST_FIX = "add received units to inventory.csv on_hand and remove these rows, or correct the date"


def test_open_order_before_default_plan_start(sample_dataset: Path, validate: Run) -> None:
    # default plan start: the week after the last demand week (2026-11-09) -> 2026-11-16;
    # a Sunday arrival falls in the week before
    line = set_cell(sample_dataset, "open_orders", 2, "arrival_date", "2026-11-15")
    assert only_problem(validate()) == (
        f"open_orders.csv: line {line}: column 'arrival_date': arrival_date before the plan start week "
        f"2026-11-16: '2026-11-15'. Fix: {PAST_FIX}"
    )


def test_open_order_before_scenario_plan_start(sample_dataset: Path, validate: Run) -> None:
    orders = read_csv(sample_dataset, "open_orders")
    early = orders.index[pd.to_datetime(orders["arrival_date"]) < "2026-11-23"]
    message = only_problem(validate(plan_start="2026-11-23"))
    listed = ", ".join(str(i + 2) for i in early[:5])
    assert message.startswith(
        f"open_orders.csv: lines {listed} (+{len(early) - 5} more): "
        "column 'arrival_date': arrival_date before the plan start week 2026-11-23: "
    )
    assert message.endswith(f". Fix: {PAST_FIX}")


# ---------------------------------------------------------------------------
# Parquet


def _to_parquet(folder: Path, table: str, change: Callable[[pd.DataFrame], None] | None = None) -> Path:
    """Replace ``table``.csv by ``table``.parquet written with pyarrow (after ``change``, if given)."""
    frame = pd.read_csv(folder / f"{table}.csv")
    if change is not None:
        change(frame)
    (folder / f"{table}.csv").unlink()
    path = folder / f"{table}.parquet"
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
    return path


def test_valid_parquet_loads(sample_dataset: Path, validate: Run) -> None:
    _to_parquet(sample_dataset, "items")
    result = validate()
    assert result.exit_code == 0, result.output
    assert "ok: scenario 't', 240 SKUs, 6 suppliers" in result.stdout


def test_broken_parquet_value_names_its_row(sample_dataset: Path, validate: Run) -> None:
    def breaks(frame: pd.DataFrame) -> None:
        frame.loc[3, "pack_size"] = 0

    _to_parquet(sample_dataset, "items", breaks)
    assert only_problem(validate()) == (
        "items.parquet: line 4: column 'pack_size': must be > 0, got '0'. "
        "Fix: set the number of units per pack (1 if sold singly)"
    )


def test_corrupt_parquet(sample_dataset: Path, validate: Run) -> None:
    _to_parquet(sample_dataset, "items").write_bytes(b"not a parquet file")
    message = only_problem(validate())
    assert message.startswith("items.parquet: cannot be read: ")
    assert message.endswith(". Fix: write it again as a Parquet file, or replace it by a CSV file")


# ---------------------------------------------------------------------------
# dates with a time zone, partial weeks


def test_dates_with_time_zone_are_read_as_local_days(sample_dataset: Path, validate: Run) -> None:
    set_cell(sample_dataset, "demand", 1, "date", "2023-11-27T00:00:00Z")
    set_cell(sample_dataset, "open_orders", 1, "arrival_date", "2026-11-26T10:00+05:00")
    result = validate()
    assert result.exit_code == 0, result.output
    assert "156 weeks of history" in result.stdout


def test_demand_without_a_complete_week(sample_dataset: Path, validate: Run) -> None:
    (sample_dataset / "demand.csv").write_text("sku,date,units\nSKU0001,2026-11-09,1\nSKU0001,2026-11-10,2\n")
    assert only_problem(validate()) == (
        "demand.csv: no complete week of history (data end on 2026-11-10, within the week of 2026-11-09). "
        "Fix: supply at least one whole week (Monday to Sunday)"
    )


# ---------------------------------------------------------------------------
# all problems in one run


def test_reports_all_problems_at_once(sample_dataset: Path, validate: Run) -> None:
    set_cell(sample_dataset, "items", 2, "unit_cost", "-1")
    set_cell(sample_dataset, "items", 5, "pack_size", "0")
    set_cell(sample_dataset, "suppliers", 1, "lead_time_weeks", "1.5")
    set_cell(sample_dataset, "demand", 8, "date", "yesterday")
    edit_csv(sample_dataset, "inventory", lambda f: f.rename(columns={"on_hand": "onhand"}))
    assert sorted(problems(validate(), 6)) == sorted(
        [
            "demand.csv: line 10: column 'date': unparsable date 'yesterday'. Fix: write dates as YYYY-MM-DD",
            "items.csv: line 4: column 'unit_cost': must be >= 0, got '-1'. "
            "Fix: 'unit_cost' cannot be negative: purchase cost per unit",
            "items.csv: line 7: column 'pack_size': must be > 0, got '0'. "
            "Fix: set the number of units per pack (1 if sold singly)",
            "suppliers.csv: line 3: column 'lead_time_weeks': must be a whole number, got '1.5'. "
            "Fix: round 'lead_time_weeks' to a whole number",
            "inventory.csv: column 'on_hand': required column is missing. "
            "Fix: add a 'on_hand' column (units on hand at plan start)",
            "inventory.csv: column 'onhand': unknown column. Fix: did you mean 'on_hand'?",
        ]
    )


def test_plan_on_broken_data_writes_nothing(
    sample_dataset: Path, write_scenario: Callable[..., Path], cli: Run, tmp_path: Path
) -> None:
    set_cell(sample_dataset, "items", 2, "pack_size", "0")
    out = tmp_path / "out"
    result = cli("plan", write_scenario(), "--out", out)
    assert only_problem(result).startswith("items.csv: line 4: column 'pack_size': must be > 0")
    assert not out.exists() or not any(out.iterdir())
    assert not list(tmp_path.rglob("*.tmp"))


# ---------------------------------------------------------------------------
# warnings: reported, but the data is usable


def test_item_without_history_is_a_warning(sample_dataset: Path, validate: Run) -> None:
    edit_csv(sample_dataset, "demand", lambda f: f[f["sku"] != "SKU0005"])
    result = validate()
    assert result.exit_code == 0, result.output
    assert stderr(result).strip() == (
        "warning: demand.csv: 1 item(s) have no sales history: 'SKU0005'; they are planned from other "
        "information only (zero demand for the baseline forecast). "
        "Fix: add their history or supply a forecast file"
    )
    assert "ok: scenario 't', 240 SKUs" in result.stdout


def test_item_missing_from_inventory_is_a_warning(sample_dataset: Path, validate: Run) -> None:
    edit_csv(sample_dataset, "inventory", lambda f: f[f["sku"] != "SKU0005"])
    result = validate()
    assert result.exit_code == 0, result.output
    assert stderr(result).strip() == (
        "warning: inventory.csv: 1 item(s) have no row, taken as 0 on hand: 'SKU0005'. "
        "Fix: add a row with on_hand for each item"
    )
    assert "ok: scenario 't', 240 SKUs" in result.stdout


def test_implausible_year(sample_dataset: Path, validate: Run) -> None:
    line = set_cell(sample_dataset, "demand", 1, "date", "0224-01-01")
    assert only_problem(validate()) == (
        f"demand.csv: line {line}: column 'date': implausible date '0224-01-01'. "
        "Fix: check the year (accepted: 1900 to 2200)"
    )


def test_parquet_style_boolean_flags_are_accepted(sample_dataset: Path, validate: Run) -> None:
    edit_csv(sample_dataset, "demand", lambda f: f.assign(promo=f["promo"].map({"0": "False", "1": "True"})))
    assert validate().exit_code == 0


def test_rich_markup_in_values_is_printed_verbatim(sample_dataset: Path, validate: Run) -> None:
    line = set_cell(sample_dataset, "items", 1, "supplier", "[/bold]:smile:")
    assert only_problem(validate()) == (
        f"items.csv: line {line}: column 'supplier': '[/bold]:smile:' not in suppliers.csv. "
        "Fix: add them to suppliers.csv or remove these rows"
    )
