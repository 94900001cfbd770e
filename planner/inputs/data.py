"""Read a dataset folder, check it against the data contract, and shape it weekly.

Every rule reports *all* offending rows at once as :class:`~planner.base.errors.Problem`
entries (file, lines, column, how to fix); nothing downstream runs on data that
failed a rule. Rules that only deserve attention (SKUs with no history, items
without an inventory row) are returned as warnings.
"""

from __future__ import annotations

import csv
import difflib
import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from upath import UPath

from planner.base.errors import DataError, Problem
from planner.base.textio import TextError, decode_text
from planner.inputs.contract import (
    ACTUALS,
    TABLES,
    Column,
    Table,
)
from planner.inputs.location import as_location, found

log = logging.getLogger(__name__)

MAX_LISTED_ROWS = 5
ISOLATION_WEEKS = 52  # a gap in the history longer than this, with few rows beyond it, is a typo
ISOLATED_SHARE = 0.05
MAX_FILE_BYTES = 4 << 30  # a larger table does not fit a planning run on one machine
MIN_YEAR, MAX_YEAR = 1900, 2200
WEEK = pd.Timedelta(days=7)
NEEDS_ROWS = {"items": "item", "suppliers": "supplier", "demand": "row of sales history"}
# a UTC offset after a time of day ("T10:00Z", " 10:00:00+02:00"): dropped, the local date is what counts
ZONE_SUFFIX = r"(?<=\d\d:\d\d)((?::\d\d(?:\.\d+)?)?)(?:Z|[+-]\d\d(?::?\d\d)?)$"


@dataclass(frozen=True)
class RawTable:
    """A table as read: string cells, the file it came from, and the line of every row."""

    table: Table
    path: UPath
    frame: pd.DataFrame
    line_numbers: np.ndarray  # file line where each row starts (CSV) or row number (Parquet)

    @property
    def label(self) -> str:
        return self.path.name

    def lines(self, mask: pd.Series | np.ndarray) -> list[int]:
        return self.line_numbers[np.flatnonzero(np.asarray(mask))].tolist()


@dataclass(frozen=True)
class Dataset:
    """A validated dataset, shaped for planning.

    ``history`` has one row per SKU and ISO week (Monday) from the SKU's first
    observation to ``last_week``; weeks without rows are zero sales.
    """

    folder: UPath  # a local path or a URL
    history: pd.DataFrame  # sku, week, units, price, promo, stockout
    items: pd.DataFrame  # index sku; contract columns (NaN where optional and absent)
    suppliers: pd.DataFrame  # index supplier
    on_hand: pd.Series  # units by sku (0 for items without an inventory row)
    open_orders: pd.DataFrame  # sku, week, units, line
    calendar: pd.DataFrame  # date, event, week
    files: dict[str, UPath]
    last_week: pd.Timestamp
    warnings: list[Problem] = field(default_factory=list)

    @property
    def skus(self) -> list[str]:
        return list(self.items.index)


def monday(dates: pd.Series) -> pd.Series:
    """The Monday of each date's ISO week (dates normalised to midnight)."""
    d = pd.to_datetime(dates).dt.normalize()
    return d - pd.to_timedelta(d.dt.day_of_week, unit="D")


# ---------------------------------------------------------------------------
# reading


def _locate(folder: UPath, table: Table, problems: list[Problem]) -> UPath | None:
    csv, parquet = folder / f"{table.name}.csv", folder / f"{table.name}.parquet"
    for path in (csv, parquet):
        if not found(path, folder=False) and path.exists():
            problems.append(Problem(path.name, "is a folder, not a file", "put the table's file here"))
            return None
    if csv.exists() and parquet.exists():
        problems.append(
            Problem(
                f"{table.name}.csv",
                f"both {csv.name} and {parquet.name} exist",
                "keep only one of the two files",
            )
        )
        return None
    if csv.exists():
        return csv
    if parquet.exists():
        return parquet
    if table.required:
        problems.append(
            Problem(
                f"{table.name}.csv",
                f"required file is missing from {folder}",
                f"add {table.name}.csv with columns {', '.join(_required(table))}",
            )
        )
    return None


def _required(table: Table) -> list[str]:
    return [c.name for c in table.columns if c.required]


def read_table(path: UPath, table: Table, problems: list[Problem]) -> RawTable | None:
    """The file's cells as strings with the line of every row; problems that stop it being read
    (encoding, separators, duplicate headers, ragged rows) are recorded and None returned."""
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        problems.append(Problem(path.name, f"cannot be read: {exc.strerror or exc}", "check the file"))
        return None
    if len(data) > MAX_FILE_BYTES:
        problems.append(
            Problem(
                path.name,
                f"is larger than {MAX_FILE_BYTES / 2**30:g} GiB",
                "split the history (e.g. weekly instead of daily rows) or use Parquet",
            )
        )
        return None
    if path.suffix == ".parquet":
        return _read_parquet(path, table, data, problems)
    try:
        text = decode_text(data, path.name)
    except TextError as exc:
        problems.append(exc.problem)
        return None
    cells = read_csv_cells(text, path.name, problems, _required(table))
    if cells is None:
        return None
    header, rows, lines = cells
    frame = pd.DataFrame(rows, columns=header, dtype=object) if rows else pd.DataFrame(columns=header)
    return RawTable(table, path, frame.astype(str) if rows else frame, np.asarray(lines, dtype=np.int64))


def _read_parquet(path: UPath, table: Table, data: bytes, problems: list[Problem]) -> RawTable | None:
    try:
        frame = pd.read_parquet(io.BytesIO(data))
    except (OSError, ValueError, TypeError) as exc:
        reason = str(exc).strip().splitlines()[0].rstrip(".") if str(exc).strip() else type(exc).__name__
        problems.append(
            Problem(
                path.name,
                f"cannot be read: {reason}",
                "write it again as a Parquet file, or replace it by a CSV file",
            )
        )
        return None
    frame = frame.astype(object).where(frame.notna(), "")
    frame.columns = [str(c).strip() for c in frame.columns]
    if _duplicate_header(list(frame.columns), path.name, problems):
        return None
    return RawTable(table, path, frame.reset_index(drop=True), np.arange(1, len(frame) + 1))


def read_csv_cells(
    text: str, label: str, problems: list[Problem], expected: Sequence[str] = ()
) -> tuple[list[str], list[list[str]], list[int]] | None:
    """Header, rows (each padded to the header's width) and the file line where each row starts.

    Blank lines are skipped and counted; a quoted cell may span lines (the row keeps its first
    line). Duplicate header names, rows with more fields than the header and a header that looks
    separated by ``;`` (``expected`` names columns that should be there) are recorded as problems
    (None returned).
    """
    reader = csv.reader(io.StringIO(text, newline=""), skipinitialspace=True)
    header: list[str] | None = None
    rows: list[list[str]] = []
    lines: list[int] = []
    ragged: list[tuple[int, int]] = []
    end = 0  # last physical line read so far
    try:
        for record in reader:
            start, end = end + 1, reader.line_num
            if not record or all(not cell.strip() for cell in record):
                continue
            if header is None:
                header = [cell.strip() for cell in record]
                continue
            if len(record) > len(header):
                ragged.append((start, len(record)))
            rows.append(record + [""] * (len(header) - len(record)))
            lines.append(start)
    except csv.Error as exc:
        problems.append(
            Problem(
                label,
                f"cannot be read: line {reader.line_num}: {exc}",
                "save it as UTF-8 CSV with one header row and comma separators",
            )
        )
        return None
    if header is None:
        problems.append(
            Problem(
                label,
                "file is empty (no header row)",
                f"write the header {','.join(expected)} and the data rows",
            )
        )
        return None
    if _semicolons(header, expected):
        problems.append(
            Problem(
                label,
                "cannot be read: the header is separated by ';', not ','",
                "save it as CSV with comma separators and '.' as the decimal point "
                "(a European Excel export uses ';' and ',': choose 'CSV UTF-8 (comma delimited)')",
            )
        )
        return None
    if _duplicate_header(header, label, problems):
        return None
    if ragged:
        listed = ", ".join(f"line {line}: {n} fields" for line, n in ragged[:MAX_LISTED_ROWS])
        more = f" (+{len(ragged) - MAX_LISTED_ROWS} more)" if len(ragged) > MAX_LISTED_ROWS else ""
        problems.append(
            Problem(
                label,
                f"cannot be read: {listed}{more} where the header has {len(header)}",
                "save it as UTF-8 CSV with one header row and comma separators",
            )
        )
        return None
    return header, rows, lines


def _semicolons(header: list[str], expected: Sequence[str]) -> bool:
    """Whether a one-column header holds the expected names separated by ';'."""
    if len(header) != 1 or ";" not in header[0]:
        return False
    names = {name.strip() for name in header[0].split(";")}
    return not expected or bool(names & set(expected))


def _duplicate_header(header: list[str], label: str, problems: list[Problem]) -> bool:
    seen: dict[str, list[int]] = {}
    for i, name in enumerate(header, start=1):
        seen.setdefault(name, []).append(i)
    repeated = {name: at for name, at in seen.items() if len(at) > 1}
    for name, at in repeated.items():
        problems.append(
            Problem(
                label,
                f"the header names this column {len(at)} times (columns {', '.join(map(str, at))})",
                "keep one column of each name",
                column=name,
            )
        )
    return bool(repeated)


def _check_columns(raw: RawTable, problems: list[Problem]) -> bool:
    known = raw.table.column_names
    ok = True
    for col in _required(raw.table):
        if col not in raw.frame.columns:
            ok = False
            problems.append(
                Problem(
                    raw.label,
                    "required column is missing",
                    column=col,
                    fix=f"add a '{col}' column ({raw.table.column(col).doc or col})",
                )
            )
    for col in raw.frame.columns:
        if col not in known:
            hint = difflib.get_close_matches(col.lower(), known, n=1)
            fix = f"did you mean '{hint[0]}'?" if hint else f"remove it; known columns: {', '.join(known)}"
            problems.append(Problem(raw.label, "unknown column", column=col, fix=fix))
            ok = False
    if ok and raw.frame.empty and raw.table.name in NEEDS_ROWS:
        problems.append(
            Problem(
                raw.label, "file has a header but no rows", f"add at least one {NEEDS_ROWS[raw.table.name]}"
            )
        )
        ok = False
    return ok


def _located(raw: RawTable, mask: pd.Series, message: str, fix: str, column: str | None) -> Problem:
    lines = raw.lines(mask)
    return Problem(
        raw.label,
        message,
        fix,
        column=column,
        rows=tuple(lines[:MAX_LISTED_ROWS]),
        more_rows=max(0, len(lines) - MAX_LISTED_ROWS),
    )


def _examples(values: pd.Series, n: int = 3) -> str:
    uniq = list(dict.fromkeys(str(v) for v in values))
    shown = ", ".join(repr(v) for v in uniq[:n])
    return shown + (f" (+{len(uniq) - n} more)" if len(uniq) > n else "")


# ---------------------------------------------------------------------------
# cell-level rules


def parse_dates(text: pd.Series) -> pd.Series:
    """ISO 8601 dates (optionally with a time and UTC offset, which keep their local day); NaT if not."""
    local = text.str.replace(ZONE_SUFFIX, r"\1", regex=True)
    return pd.to_datetime(local, errors="coerce", format="ISO8601", utc=True).dt.tz_localize(None)


def _parse_column(raw: RawTable, col: Column, problems: list[Problem]) -> pd.Series:
    """Parse one column by its kind; record every rule it breaks. Returns parsed values."""
    text = raw.frame[col.name].astype(str).str.strip()
    blank = text.eq("")
    if col.required and blank.any():
        problems.append(_located(raw, blank, "missing value", f"fill in '{col.name}' on every row", col.name))
    if col.kind == "str":  # ids compare in Unicode NFC: 'é' typed two ways is one id
        return text.str.normalize("NFC").where(~blank, None)
    if col.kind == "date":
        parsed = parse_dates(text.where(~blank))
        bad = parsed.isna() & ~blank
        if bad.any():
            problems.append(
                _located(
                    raw, bad, f"unparsable date {_examples(text[bad])}", "write dates as YYYY-MM-DD", col.name
                )
            )
        implausible = parsed.notna() & ((parsed.dt.year < MIN_YEAR) | (parsed.dt.year > MAX_YEAR))
        if implausible.any():
            problems.append(
                _located(
                    raw,
                    implausible,
                    f"implausible date {_examples(text[implausible])}",
                    f"check the year (accepted: {MIN_YEAR} to {MAX_YEAR})",
                    col.name,
                )
            )
        return parsed.where(~implausible)
    if col.kind == "flag":
        text = text.str.lower().replace({"true": "1", "false": "0"})  # Parquet booleans
    values = pd.to_numeric(text.where(~blank), errors="coerce").astype(float)
    spelled_non_finite = text.str.lower().isin(["nan", "inf", "-inf", "+inf", "infinity", "-infinity"])
    if col.kind == "flag":
        bad = ~blank & ~values.isin([0, 1])
        if bad.any():
            problems.append(
                _located(
                    raw,
                    bad,
                    f"must be 0 or 1, got {_examples(text[bad])}",
                    "use 1 for yes and 0 for no",
                    col.name,
                )
            )
        return values.where(~bad)
    not_number = values.isna() & ~blank & ~spelled_non_finite
    if not_number.any():
        comma = text[not_number].str.fullmatch(r"[+-]?\d+,\d+").any()
        problems.append(
            _located(
                raw,
                not_number,
                f"not a number: {_examples(text[not_number])}",
                "write numbers with '.' as the decimal point and no thousands separator"
                + (" (a decimal comma comes from a European spreadsheet export)" if comma else ""),
                col.name,
            )
        )
    non_finite = ~blank & (spelled_non_finite | np.isinf(values))
    if non_finite.any():
        problems.append(
            _located(
                raw,
                non_finite,
                f"non-finite value {_examples(text[non_finite])}",
                "use a finite number (leave the cell empty only where the column is optional)",
                col.name,
            )
        )
    valid = values.where(np.isfinite(values))
    _check_bounds(raw, col, valid, text, problems)
    return valid


def _check_bounds(
    raw: RawTable, col: Column, values: pd.Series, text: pd.Series, problems: list[Problem]
) -> None:
    """Range and whole-number rules; offending values are quoted as written in the file."""
    present = values.notna()
    if col.min is not None:
        bad = present & ((values <= col.min) if col.min_exclusive else (values < col.min))
        if bad.any():
            op = ">" if col.min_exclusive else ">="
            problems.append(
                _located(
                    raw,
                    bad,
                    f"must be {op} {col.min:g}, got {_examples(text[bad])}",
                    _bound_fix(col),
                    col.name,
                )
            )
    if col.max is not None:
        bad = present & (values > col.max)
        if bad.any():
            problems.append(
                _located(
                    raw,
                    bad,
                    f"must be <= {col.max:g}, got {_examples(text[bad])}",
                    _bound_fix(col) if col.max < 1 else "check the value, its unit and decimal point",
                    col.name,
                )
            )
    if col.kind == "int":
        bad = present & (values != np.floor(values))
        if bad.any():
            problems.append(
                _located(
                    raw,
                    bad,
                    f"must be a whole number, got {_examples(text[bad])}",
                    f"round '{col.name}' to a whole number",
                    col.name,
                )
            )


def _bound_fix(col: Column) -> str:
    fixes = {
        "pack_size": "set the number of units per pack (1 if sold singly)",
        "service_level": "give a probability such as 0.95, or leave it empty to use the scenario's",
        "lead_time_weeks": "give the lead time in whole weeks (0 = arrives the week it is ordered)",
    }
    return fixes.get(col.name, f"'{col.name}' cannot be negative: {col.doc or 'correct the value'}")


def _parse_table(raw: RawTable, problems: list[Problem]) -> pd.DataFrame:
    out = pd.DataFrame(index=raw.frame.index)
    for col in raw.table.columns:
        if col.name in raw.frame.columns:
            out[col.name] = _parse_column(raw, col, problems)
        else:
            out[col.name] = np.nan if col.kind != "str" else None
    out["_line"] = raw.lines(np.ones(len(out), dtype=bool))
    return out


def _check_duplicates(raw: RawTable, frame: pd.DataFrame, problems: list[Problem]) -> None:
    key = list(raw.table.key)
    if not key:
        return
    dup = frame.duplicated(key, keep=False) & frame[key].notna().all(axis=1)
    if dup.any():
        what = " and ".join(f"'{k}'" for k in key)
        shown = frame.loc[dup, key].astype(str).agg(" ".join, axis=1)
        ids = [k for k in key if raw.table.column(k).kind == "str"]
        written = raw.frame.loc[dup, ids].astype(str).apply(lambda c: c.str.strip())
        forms = bool((written != written.apply(lambda c: c.str.normalize("NFC"))).any(axis=None))
        note = " (the same id written in two Unicode forms; ids are compared in NFC)" if forms else ""
        problems.append(
            _located(
                raw, dup, f"duplicate {what}: {_examples(shown)}{note}", f"keep one row per {what}", key[0]
            )
        )


def _check_reference(
    raw: RawTable, frame: pd.DataFrame, column: str, known: pd.Index, target: str, problems: list[Problem]
) -> None:
    present = frame[column].notna()
    unknown = present & ~frame[column].isin(known)
    if unknown.any():
        problems.append(
            _located(
                raw,
                unknown,
                f"{_examples(frame.loc[unknown, column])} not in {target}",
                f"add them to {target} or remove these rows",
                column,
            )
        )


# ---------------------------------------------------------------------------
# assembling


def load_dataset(folder: UPath | Path | str) -> Dataset:
    """Read and validate every table in ``folder`` (a local path or a URL); raise
    :class:`DataError` listing all problems."""
    folder = as_location(folder)
    problems: list[Problem] = []
    if not found(folder, folder=True):
        is_file = found(folder, folder=False)
        raise DataError(
            [
                Problem(
                    str(folder),
                    "is a file, not the dataset folder" if is_file else "dataset folder does not exist",
                    "point the scenario's 'data' key at a folder holding demand.csv, items.csv, ...",
                )
            ]
        )
    raws: dict[str, RawTable] = {}
    for table in TABLES:
        path = _locate(folder, table, problems)
        if path is None:
            continue
        raw = read_table(path, table, problems)
        if raw is not None and _check_columns(raw, problems):
            raws[table.name] = raw
    parsed = {name: _parse_table(raw, problems) for name, raw in raws.items()}
    for name, raw in raws.items():
        _check_duplicates(raw, parsed[name], problems)
    _check_references(raws, parsed, problems)
    if problems:
        raise DataError(problems)
    return _assemble(folder, raws, parsed)


def _check_references(
    raws: dict[str, RawTable], parsed: dict[str, pd.DataFrame], problems: list[Problem]
) -> None:
    if "items" not in parsed:
        return
    skus = pd.Index(parsed["items"]["sku"].dropna())
    if "suppliers" in parsed:
        _check_reference(
            raws["items"],
            parsed["items"],
            "supplier",
            pd.Index(parsed["suppliers"]["supplier"].dropna()),
            raws["suppliers"].label,
            problems,
        )
    for name in ("demand", "inventory", "open_orders"):
        if name in parsed:
            _check_reference(raws[name], parsed[name], "sku", skus, raws["items"].label, problems)


def _assemble(folder: UPath, raws: dict[str, RawTable], parsed: dict[str, pd.DataFrame]) -> Dataset:
    warnings: list[Problem] = []
    items = parsed["items"].drop(columns="_line").set_index("sku")
    suppliers = parsed["suppliers"].drop(columns="_line").set_index("supplier")
    history, last_week, hist_warnings = _weekly_history(raws["demand"], parsed["demand"], items.index)
    warnings += hist_warnings
    inventory = parsed["inventory"].set_index("sku")["on_hand"]
    missing_inv = items.index.difference(inventory.index)
    if len(missing_inv):
        warnings.append(
            Problem(
                raws["inventory"].label,
                f"{len(missing_inv)} item(s) have no row, taken as 0 on hand: "
                f"{_examples(pd.Series(missing_inv))}",
                "add a row with on_hand for each item",
                code="no_inventory_row",
                skus=tuple(missing_inv),
            )
        )
    on_hand = inventory.reindex(items.index).fillna(0.0).astype(float)
    open_orders = _open_orders(parsed.get("open_orders"))
    calendar = _calendar(parsed.get("calendar"))
    return Dataset(
        folder=folder,
        history=history,
        items=items,
        suppliers=suppliers,
        on_hand=on_hand,
        open_orders=open_orders,
        calendar=calendar,
        files={name: raw.path for name, raw in raws.items()},
        last_week=last_week,
        warnings=warnings,
    )


def _weekly_history(
    raw: RawTable, demand: pd.DataFrame, skus: pd.Index
) -> tuple[pd.DataFrame, pd.Timestamp, list[Problem]]:
    """Sum rows into ISO weeks and complete each SKU's weeks up to the last week with zeros."""
    warnings: list[Problem] = []
    d = demand.drop(columns="_line").copy()
    d["week"] = monday(d["date"])
    isolated = _isolated_dates(raw, d["week"])
    if isolated is not None:
        raise DataError([isolated])
    daily = d.duplicated(["sku", "week"]).any()
    last_date = d["date"].max()
    if daily and last_date.weekday() != 6:
        partial = monday(pd.Series([last_date])).iloc[0]
        warnings.append(
            Problem(
                raw.label,
                f"the last week ({partial.date()}) is incomplete (data end on "
                f"{last_date.date()}) and is left out of the history",
                "supply whole weeks (through Sunday)",
            )
        )
        d = d[d["week"] < partial]
        if d.empty:
            raise DataError(
                [
                    Problem(
                        raw.label,
                        f"no complete week of history (data end on "
                        f"{last_date.date()}, within the week of {partial.date()})",
                        "supply at least one whole week (Monday to Sunday)",
                    )
                ]
            )
    weekly = (
        d.groupby(["sku", "week"], sort=True)
        .agg(
            units=("units", "sum"),
            price=("price", "mean"),
            promo=("promo", "max"),
            stockout=("stockout", "max"),
        )
        .reset_index()
    )
    last_week = weekly["week"].max()
    first = weekly.groupby("sku")["week"].min()
    n_weeks = ((last_week - first) // WEEK).to_numpy(dtype=np.int64) + 1
    offsets = np.arange(n_weeks.sum()) - np.repeat(np.cumsum(n_weeks) - n_weeks, n_weeks)
    grid = pd.DataFrame(
        {
            "sku": np.repeat(first.index.to_numpy(), n_weeks),
            "week": np.repeat(first.to_numpy(), n_weeks) + offsets * WEEK,
        }
    )
    hist = grid.merge(weekly, on=["sku", "week"], how="left")
    hist["units"] = hist["units"].fillna(0.0)
    hist["promo"] = hist["promo"].fillna(0).astype(int)
    hist["stockout"] = hist["stockout"].fillna(0).astype(int)
    hist["price"] = hist.groupby("sku")["price"].ffill()
    no_history = skus.difference(first.index)
    if len(no_history):
        warnings.append(
            Problem(
                raw.label,
                f"{len(no_history)} item(s) have no sales history: "
                f"{_examples(pd.Series(no_history))}; they are planned from other "
                "information only (zero demand for the baseline forecast)",
                "add their history or supply a forecast file",
                code="no_history",
                skus=tuple(no_history),
            )
        )
    censored = hist.groupby("sku")["stockout"].min()
    censored = censored.index[censored.to_numpy() == 1]
    if len(censored):
        warnings.append(
            Problem(
                raw.label,
                f"{len(censored)} item(s) have no uncensored week (stockout = 1 in every week): "
                f"{_examples(pd.Series(censored))}; their demand is unknown, so forecasts treat it "
                "as zero and the plan will not order them",
                "clear stockout on weeks whose sales show the demand, or supply a forecast file",
                code="no_uncensored_history",
                skus=tuple(censored),
            )
        )
    return hist.sort_values(["sku", "week"]).reset_index(drop=True), last_week, warnings


def _isolated_dates(raw: RawTable, weeks: pd.Series) -> Problem | None:
    """Rows whose weeks lie more than ``ISOLATION_WEEKS`` from the main body of the history (the
    largest run of weeks without such a gap) and are few (a typo such as 2062 for 2026): the
    history would otherwise stretch to them, with zero sales in between."""
    distinct = np.sort(weeks.unique())
    if len(distinct) < 2:
        return None
    gaps = np.diff(distinct) // np.timedelta64(7, "D")
    bounds = np.concatenate([[0], np.flatnonzero(gaps > ISOLATION_WEEKS) + 1, [len(distinct)]])
    if len(bounds) == 2:
        return None
    counts = weeks.value_counts()
    rows = [int(counts.loc[distinct[a:b]].sum()) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    main = int(np.argmax(rows))
    lo, hi = distinct[bounds[main]], distinct[bounds[main + 1] - 1]
    outside = (weeks < lo) | (weeks > hi)
    if outside.sum() > ISOLATED_SHARE * len(weeks):
        return None
    later = weeks > hi
    side, far = ("after", later) if later.any() else ("before", outside)
    distance = int(abs((weeks[far] - (hi if side == "after" else lo)) // pd.Timedelta(days=7)).max())
    return _located(
        raw,
        outside,
        f"dates up to {distance:,} weeks {side} the rest of the history (which runs "
        f"{pd.Timestamp(lo).date()} to {pd.Timestamp(hi).date()}): "
        f"{_examples(raw.frame.loc[outside.to_numpy(), 'date'])}",
        "correct the year, or remove these rows",
        "date",
    )


def _open_orders(frame: pd.DataFrame | None) -> pd.DataFrame:
    if frame is None or frame.empty:
        return pd.DataFrame(
            {
                "sku": pd.Series(dtype=object),
                "week": pd.Series(dtype="datetime64[ns]"),
                "units": pd.Series(dtype=float),
                "line": pd.Series(dtype=int),
            }
        )
    out = frame.rename(columns={"_line": "line"}).copy()
    out["week"] = monday(out["arrival_date"])
    return out[["sku", "week", "units", "line", "arrival_date"]].reset_index(drop=True)


def _calendar(frame: pd.DataFrame | None) -> pd.DataFrame:
    if frame is None or frame.empty:
        return pd.DataFrame(
            {
                "date": pd.Series(dtype="datetime64[ns]"),
                "event": pd.Series(dtype=object),
                "week": pd.Series(dtype="datetime64[ns]"),
            }
        )
    out = frame.drop(columns="_line").copy()
    out["week"] = monday(out["date"])
    return out.reset_index(drop=True)


def check_open_orders(dataset: Dataset, plan_start: pd.Timestamp) -> None:
    """Open orders must arrive on or after the plan start (earlier ones belong in on_hand)."""
    oo = dataset.open_orders
    past = oo["week"] < plan_start
    if past.any():
        label = dataset.files["open_orders"].name
        lines = oo.loc[past, "line"].tolist()
        raise DataError(
            [
                Problem(
                    label,
                    f"arrival_date before the plan start week {plan_start.date()}: "
                    f"{_examples(oo.loc[past, 'arrival_date'].dt.date)}",
                    "add received units to inventory.csv on_hand and remove these rows, or correct the date",
                    column="arrival_date",
                    rows=tuple(lines[:MAX_LISTED_ROWS]),
                    more_rows=max(0, len(lines) - MAX_LISTED_ROWS),
                )
            ]
        )


def load_actuals(path: UPath | Path | str, skus: list[str], weeks: pd.DatetimeIndex) -> np.ndarray:
    """Actual weekly demand ``[S, H]`` for ``skus`` over ``weeks`` from a ``sku, week, demand`` file.

    Dates count in their ISO week (Monday). Every (SKU, week) of the plan needs exactly one
    row; SKUs not in ``skus``, missing or duplicate weeks and bad cells are a :class:`DataError`
    naming the file, lines and column. Rows for weeks outside the plan are ignored (logged).
    """
    path = as_location(path)
    if not found(path, folder=False):
        raise DataError(
            [Problem(str(path), "actual demand file not found", "check the path given to --actuals")]
        )
    problems: list[Problem] = []
    raw = read_table(path, ACTUALS, problems)
    if raw is None or not _check_columns(raw, problems):
        raise DataError(problems)
    frame = _parse_table(raw, problems)
    frame["week"] = monday(frame["week"])
    _check_duplicates(raw, frame, problems)
    present = frame["sku"].notna()
    unknown = present & ~frame["sku"].isin(skus)
    if unknown.any():
        problems.append(
            _located(
                raw,
                unknown,
                f"{_examples(frame.loc[unknown, 'sku'])} not a SKU of the scenario (items.csv)",
                "correct the SKU or remove these rows",
                "sku",
            )
        )
    keyed = frame[present & ~unknown & frame["week"].notna()].drop_duplicates(["sku", "week"])
    table = keyed.set_index(["sku", "week"])["demand"]
    grid = pd.MultiIndex.from_product([list(skus), pd.DatetimeIndex(weeks)], names=["sku", "week"])
    missing = grid.difference(table.index)
    if len(missing):
        pairs = ", ".join(f"{s} {w.date()}" for s, w in missing[:MAX_LISTED_ROWS])
        more = f" (+{len(missing) - MAX_LISTED_ROWS} more)" if len(missing) > MAX_LISTED_ROWS else ""
        problems.append(
            Problem(
                raw.label,
                f"no actual demand for {pairs}{more}",
                f"give a row for every SKU and every week from {weeks[0].date()} to {weeks[-1].date()}",
                column="week",
            )
        )
    if problems:
        raise DataError(problems)
    outside = len(table) - len(table.index.intersection(grid))
    if outside:
        log.info("%s: %d rows outside the planned weeks ignored", raw.label, outside)
    return table.reindex(grid).to_numpy(dtype=float).reshape(len(skus), len(weeks))
