"""Tests of the deterministic sample-company generator (planner.inputs.sample)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from planner.inputs import contract
from planner.inputs.sample import SampleCompany, generate_sample, sample_truth, write_sample

SAMPLE_DIR = Path(__file__).resolve().parents[2] / "planner" / "sample_data"
FRAMES = ("demand", "items", "suppliers", "inventory", "open_orders", "calendar", "truth")
CSV_TABLES = (
    contract.DEMAND,
    contract.ITEMS,
    contract.SUPPLIERS,
    contract.INVENTORY,
    contract.OPEN_ORDERS,
    contract.CALENDAR,
)


@pytest.fixture(scope="module")
def company() -> SampleCompany:
    return generate_sample()


@pytest.fixture(scope="module")
def written(company: SampleCompany, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sample")
    write_sample(company, out)
    return out


def _level(company: SampleCompany) -> pd.Series:
    future = company.truth[company.truth["week"] >= company.plan_start]
    return future.groupby("sku")["mean"].mean()


def test_same_seed_gives_identical_frames(company: SampleCompany) -> None:
    again = generate_sample()
    for name in FRAMES:
        pd.testing.assert_frame_equal(getattr(company, name), getattr(again, name))
    assert again.plan_start == company.plan_start


def test_different_seed_gives_different_data(company: SampleCompany) -> None:
    other = generate_sample(seed=8)
    assert not company.demand["units"].equals(other.demand["units"])
    assert not company.items.equals(other.items)


def test_committed_csvs_match_a_fresh_generation(written: Path) -> None:
    for table in CSV_TABLES:
        name = f"{table.name}.csv"
        assert (SAMPLE_DIR / name).read_bytes() == (written / name).read_bytes(), name


def test_write_sample_uses_contract_columns_and_iso_dates(written: Path) -> None:
    for table in CSV_TABLES:
        frame = pd.read_csv(written / f"{table.name}.csv", dtype=str, keep_default_na=False)
        assert list(frame.columns) == table.column_names
        for col in table.columns:
            if col.kind == "date":
                assert frame[col.name].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
            if col.required:
                assert (frame[col.name] != "").all(), (table.name, col.name)
    assert not (written / "truth.csv").exists()


def test_history_shape_and_dates(company: SampleCompany) -> None:
    demand = company.demand
    assert company.plan_start == pd.Timestamp("2026-11-16")
    assert company.plan_start.weekday() == 0
    assert demand["date"].max() == pd.Timestamp("2026-11-09")
    assert (demand["date"].dt.day_of_week == 0).all()
    assert demand["sku"].nunique() >= 200
    assert demand.groupby("sku").size().max() == 156
    assert not demand.duplicated(["sku", "date"]).any()
    assert (demand["units"] >= 0).all()
    for col in ("price", "promo", "stockout"):
        assert demand[col].notna().all()


def test_intermittent_and_new_items(company: SampleCompany) -> None:
    demand = company.demand
    zero_share = demand.groupby("sku")["units"].apply(lambda u: (u == 0).mean())
    assert (zero_share > 0.5).mean() >= 0.25
    weeks = demand.groupby("sku")["date"].agg(["size", "min"])
    new = weeks[weeks["size"] < 156]
    assert 0.05 * len(weeks) <= len(new) <= 0.12 * len(weeks)
    assert new["size"].between(8, 40).all()
    assert (new["min"] >= company.plan_start - pd.Timedelta(weeks=40)).all()


def test_promos_and_stockouts(company: SampleCompany) -> None:
    demand = company.demand
    regular = demand.groupby("sku")["price"].transform("max")
    promo = demand["promo"] == 1
    assert (demand.loc[promo, "price"] < regular[promo]).all()
    assert (demand.loc[~promo, "price"] == regular[~promo]).all()
    assert 0.002 <= demand["stockout"].mean() <= 0.03


def test_suppliers_and_items(company: SampleCompany) -> None:
    items, suppliers = company.items, company.suppliers
    assert 4 <= len(suppliers) <= 8
    assert suppliers["lead_time_weeks"].min() == 1
    assert suppliers["lead_time_weeks"].max() == 12
    assert suppliers["order_cost"].between(40, 250).all()
    assert set(items["supplier"]) <= set(suppliers["supplier"])
    assert items["sku"].is_unique
    assert set(items["sku"]) == set(company.demand["sku"])
    assert 4 <= items["category"].nunique() <= 6
    assert items["unit_volume"].between(0.0005, 0.05).all()
    assert (items["pack_size"] >= 1).all()
    assert (items["moq"] % items["pack_size"] == 0).all()
    assert items["holding_rate"].isna().any() and items["holding_rate"].notna().mean() > 0.5
    assert 0 < items["holding_cost"].notna().sum() <= 0.1 * len(items)
    assert 0 < items["service_level"].notna().sum() <= 0.2 * len(items)
    moq_weeks = items.set_index("sku")["moq"] / _level(company)
    big = items.set_index("sku")["moq"] > items.set_index("sku")["pack_size"]
    assert (moq_weeks[big] <= 8).all()


def test_min_order_values_are_modest(company: SampleCompany) -> None:
    items = company.items.set_index("sku")
    weekly_value = (_level(company) * items["unit_cost"]).groupby(items["supplier"]).sum()
    mov = company.suppliers.set_index("supplier")["min_order_value"].fillna(0.0)
    assert (mov > 0).any()
    assert (mov <= 2.0 * weekly_value.reindex(mov.index)).all()


def test_inventory_and_open_orders(company: SampleCompany) -> None:
    inventory, orders = company.inventory, company.open_orders
    assert set(inventory["sku"]) == set(company.items["sku"])
    assert (inventory["on_hand"] >= 0).all() and (inventory["on_hand"] == 0).any()
    items = company.items.set_index("sku")
    lead = company.suppliers.set_index("supplier")["lead_time_weeks"]
    o = orders.join(items, on="sku")
    assert 0.2 <= orders["sku"].nunique() / len(items) <= 0.4
    assert (o["arrival_date"] >= company.plan_start).all()
    due = company.plan_start + pd.to_timedelta(7 * lead.reindex(o["supplier"]).to_numpy(), "D")
    assert (o["arrival_date"].to_numpy() < due.to_numpy()).all()
    assert (o["units"] % o["pack_size"] == 0).all()
    assert (o["units"] >= o["moq"]).all() and (o["units"] > 0).all()


def test_calendar_covers_history_and_future(company: SampleCompany) -> None:
    cal = company.calendar
    assert set(cal["event"]) == {"black_friday", "christmas", "easter", "summer_holiday"}
    assert cal["date"].min() < company.demand["date"].min() + pd.Timedelta(weeks=8)
    assert (cal["date"] >= company.plan_start).sum() >= 4
    assert pd.Timestamp("2026-11-23") in set(cal["date"])  # Black Friday 2026 week


def test_truth_covers_history_and_future(company: SampleCompany) -> None:
    truth = company.truth
    assert list(truth.columns) == ["sku", "week", "mean", "dist", "size", "p_occur", "price", "promo"]
    future = truth[truth["week"] >= company.plan_start]
    assert (future.groupby("sku").size() == 52).all()
    assert future["sku"].nunique() == len(company.items)
    hist = truth[truth["week"] < company.plan_start][["sku", "week"]]
    assert len(hist) == len(company.demand)
    assert set(truth["dist"]) == {"negbin", "intermittent"}
    assert (truth["mean"] >= 0).all() and (truth["size"] > 0).all()
    assert truth["p_occur"].between(0.0, 1.0, inclusive="right").all()
    assert (future["promo"] == 1).any()


def _truth_moments(truth: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance of each row's stated distribution."""
    mean = truth["mean"].to_numpy()
    size = truth["size"].to_numpy()
    p = truth["p_occur"].to_numpy()
    inter = truth["dist"].to_numpy() == "intermittent"
    m = np.maximum(mean / p - 1.0, 0.0)
    var_nb = mean + mean**2 / size
    second = p * (1.0 + 3.0 * m + m**2 * (1.0 + 1.0 / size))  # E[(1+Y)^2] * p
    var_int = second - (p * (1.0 + m)) ** 2
    return mean, np.where(inter, var_int, var_nb)


def test_sample_truth_matches_stated_distribution(company: SampleCompany) -> None:
    subset = company.truth.iloc[::20].reset_index(drop=True)
    n_paths = 400
    draws = sample_truth(subset, n_paths=n_paths, seed=11)
    assert draws.shape == (len(subset), n_paths)
    assert np.issubdtype(draws.dtype, np.integer) and (draws >= 0).all()
    np.testing.assert_array_equal(draws, sample_truth(subset, n_paths=n_paths, seed=11))
    mean, var = _truth_moments(subset)
    z = (draws.mean(axis=1) - mean) / np.sqrt(np.maximum(var, 1e-12) / n_paths)
    assert np.abs(z).max() < 6.0
    assert abs(draws.mean(axis=1).sum() / mean.sum() - 1.0) < 0.01
    inter = (subset["dist"] == "intermittent").to_numpy()
    zero_share = (draws[inter] == 0).mean(axis=1)
    np.testing.assert_allclose(zero_share, 1.0 - subset.loc[inter, "p_occur"], atol=0.12)
    ratio = draws.var(axis=1).sum() / var.sum()
    assert 0.9 < ratio < 1.1
