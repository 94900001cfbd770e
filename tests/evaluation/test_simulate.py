"""The simulator (planner.evaluation.simulate) on hand-worked weeks, against the planner's accounting,
and end to end."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from factories import make_data, weeks

from planner.base.errors import DataError, ScenarioError
from planner.core.accounting import arrivals, cost_breakdown, replay_paths
from planner.evaluation.simulate import KPIS, simulate
from planner.inputs.data import load_actuals
from planner.inputs.scenario import load_scenario

# One SKU, H = 5, lead time 2, I0 = 3, an open order of 4 units arriving in week 1.
# Orders: 6 units in week 0 (arrive week 2) and 5 in week 3 (would arrive week 5: past the horizon).
# Demand 5, 3, 4, 6, 1. c = 2, h = 0.5, b = 3, k = 1 per line, K = 10 per purchase order,
# v = 1.5 per unit, capacity 7.
HAND = {
    "demand": np.array([[5.0, 3, 4, 6, 1]]),
    "orders": np.array([[6.0, 0, 0, 5, 0]]),
    "kwargs": {
        "lead_time": 2,
        "on_hand": 3,
        "open_arrivals": [[0.0, 4, 0, 0, 0]],
        "unit_cost": 2.0,
        "holding_cost": 0.5,
        "shortage_cost": 3.0,
        "line_cost": 1.0,
        "order_cost": 10.0,
        "unit_volume": 1.5,
        "capacity": 7.0,
    },
}


def hand_data():
    return make_data(HAND["demand"], **HAND["kwargs"])


def test_lost_sales_by_hand() -> None:
    # week:            0    1    2    3    4
    # receipts         0    4    6    0    0    (open order w1; order w0 + L 2 -> w2; order w3 -> w5 dropped)
    # available        3    4    7    3    0
    # served           3    3    4    3    0    = 13 of 19
    # lost             2    0    0    3    1    = 6, stockouts in weeks 0, 3, 4
    # end stock        0    1    3    0    0    = 4
    # volume (1.5x)  4.5    6 10.5  4.5    0    capacity 7: week 2 over by 3.5
    res = simulate(hand_data(), HAND["orders"], unmet_demand="lost_sales")
    row = res.paths.iloc[0]
    assert res.n_paths == 1 and len(res.paths) == 1
    assert row["purchase_cost"] == pytest.approx(2 * 11)  # both orders are paid, also the late one
    assert row["ordering_cost"] == pytest.approx(2 * 10 + 2 * 1)
    assert row["holding_cost"] == pytest.approx(0.5 * 4)
    assert row["shortage_cost"] == pytest.approx(3 * 6)
    assert row["total_cost"] == pytest.approx(22 + 22 + 2 + 18)
    assert row["demand_units"] == pytest.approx(19)
    assert row["served_units"] == pytest.approx(13)
    assert row["unmet_units"] == pytest.approx(6)
    assert row["fill_rate"] == pytest.approx(13 / 19)
    assert row["stockout_weeks"] == 3
    assert row["cycle_service"] == pytest.approx(1 - 3 / 5)
    assert row["avg_inventory_value"] == pytest.approx(2 * 4 / 5)
    assert row["cogs"] == pytest.approx(2 * 13)
    assert row["inventory_turnover"] == pytest.approx(26 * 52 / 5 / 1.6)
    assert row["peak_storage"] == pytest.approx(10.5)
    assert row["mean_storage"] == pytest.approx(25.5 / 5)
    assert row["overflow_weeks"] == 1
    assert row["overflow_volume"] == pytest.approx(3.5)
    assert row["backlog_end_units"] == 0
    w = res.weekly
    np.testing.assert_allclose(w["spend"], [12, 0, 0, 10, 0])
    np.testing.assert_allclose(w["receipts_value"], [0, 8, 12, 0, 0])
    np.testing.assert_allclose(w["served"], [3, 3, 4, 3, 0])
    np.testing.assert_allclose(w["unmet"], [2, 0, 0, 3, 1])
    np.testing.assert_allclose(w["inventory_value_mean"], [0, 2, 6, 0, 0])
    np.testing.assert_allclose(w["storage_p50"], [4.5, 6, 10.5, 4.5, 0])
    np.testing.assert_allclose(w["overflow_share"], [0, 0, 1, 0, 0])
    assert list(w["week"]) == list(weeks(5).strftime("%Y-%m-%d"))
    sku = res.per_sku.iloc[0]
    assert sku["fill_rate"] == pytest.approx(13 / 19)
    assert sku["expected_stock"] == pytest.approx(4 / 5)
    assert sku["stockout_weeks"] == pytest.approx(3)


def test_backorders_by_hand() -> None:
    # week:            0    1    2    3    4
    # available        3    4    6    1    0    (the backlog takes stock that lost sales would keep)
    # backlog before   0    2    1    0    5
    # served now       3    2    4    1    0    = 10 of 19 (week 1: 4 on hand, the 2 owed go first)
    # shipped          3    4    5    1    0    = 13
    # new backorders   2    1    0    5    1    stockouts in weeks 0, 1, 3, 4
    # backlog after    2    1    0    5    6    b per unit-week: 3 * 14
    # end stock        0    0    1    0    0
    # volume (1.5x)  4.5    6    9  1.5    0    capacity 7: week 2 over by 2
    res = simulate(hand_data(), HAND["orders"], unmet_demand="backorders")
    row = res.paths.iloc[0]
    assert res.unmet_demand == "backorders"
    assert row["holding_cost"] == pytest.approx(0.5 * 1)
    assert row["shortage_cost"] == pytest.approx(3 * 14)
    assert row["total_cost"] == pytest.approx(22 + 22 + 0.5 + 42)
    assert row["served_units"] == pytest.approx(10)
    assert row["unmet_units"] == pytest.approx(9)
    assert row["fill_rate"] == pytest.approx(10 / 19)
    assert row["stockout_weeks"] == 4
    assert row["cycle_service"] == pytest.approx(1 - 4 / 5)
    assert row["backlog_end_units"] == pytest.approx(6)
    assert row["avg_inventory_value"] == pytest.approx(2 * 1 / 5)
    assert row["cogs"] == pytest.approx(2 * 13)
    assert row["inventory_turnover"] == pytest.approx(26 * 52 / 5 / 0.4)
    assert row["peak_storage"] == pytest.approx(9)
    assert row["mean_storage"] == pytest.approx(21 / 5)
    assert row["overflow_weeks"] == 1
    assert row["overflow_volume"] == pytest.approx(2)
    np.testing.assert_allclose(res.weekly["served"], [3, 2, 4, 1, 0])
    np.testing.assert_allclose(res.weekly["unmet"], [2, 1, 0, 5, 1])
    np.testing.assert_allclose(res.weekly["backlog"], [2, 1, 0, 5, 6])
    np.testing.assert_allclose(res.weekly["inventory_value_mean"], [0, 0, 2, 0, 0])
    np.testing.assert_allclose(res.weekly["storage_mean"], [4.5, 6, 9, 1.5, 0])
    assert res.per_sku.iloc[0]["backlog_end"] == pytest.approx(6)


def test_no_capacity_means_no_overflow() -> None:
    data = make_data(HAND["demand"], **{**HAND["kwargs"], "capacity": None})
    res = simulate(data, HAND["orders"])
    assert res.paths.iloc[0]["overflow_weeks"] == 0
    assert res.weekly["capacity"].isna().all()


def _random_instance(seed: int, deterministic: bool = False):
    """3 SKUs from 2 suppliers, 6 weeks, 7 paths (or 1), lead times 0-2, open orders, sparse orders."""
    rng = np.random.default_rng(seed)
    shape = (3, 6) if deterministic else (3, 7, 6)
    demand = rng.integers(0, 12, size=shape).astype(float)
    data = make_data(
        demand,
        supplier_idx=[0, 0, 1],
        lead_time=[0, 1, 2],
        on_hand=[4.0, 10.0, 0.0],
        open_arrivals=rng.integers(0, 2, size=(3, 6)) * 5.0,
        unit_cost=[2.0, 5.0, 1.5],
        holding_cost=[0.1, 0.3, 0.05],
        shortage_cost=[4.0, 9.0, 2.0],
        line_cost=[1.0, 2.0, 0.5],
        order_cost=[20.0, 8.0],
    )
    orders = rng.integers(0, 3, size=(3, 6)) * 6.0
    return data, orders


@pytest.mark.parametrize("deterministic", [True, False])
def test_lost_sales_costs_equal_the_planners_accounting(deterministic: bool) -> None:
    data, orders = _random_instance(3, deterministic)
    outcome = replay_paths(data, arrivals(data, orders))
    expected = cost_breakdown(data, orders, outcome)
    summary = simulate(data, orders).summary.set_index("kpi")["mean"]
    assert summary["holding_cost"] == pytest.approx(expected["holding"], rel=1e-12)
    assert summary["shortage_cost"] == pytest.approx(expected["shortage"], rel=1e-12)
    assert summary["purchase_cost"] == pytest.approx(expected["purchase"], rel=1e-12)
    assert summary["ordering_cost"] == pytest.approx(expected["ordering"], rel=1e-12)
    assert summary["total_cost"] == pytest.approx(expected["total"], rel=1e-12)
    # the plan summary's service figures (planner.core.tables.summary) are the simulator's on one path
    if deterministic:
        demand_weeks = (data.forecast.paths > 0).sum()
        assert summary["cycle_service"] == pytest.approx(1 - outcome.stockout_prob.sum() / demand_weeks)
        assert summary["fill_rate"] == pytest.approx(1 - outcome.short.sum() / outcome.demand.sum())
    assert expected["shortage"] > 0 and expected["holding"] > 0  # the instance exercises both


def test_chunking_and_actual_demand_give_the_same_answer() -> None:
    data, orders = _random_instance(5)
    whole = simulate(data, orders, unmet_demand="backorders")
    chunked = simulate(data, orders, unmet_demand="backorders", max_chunk_cells=7)  # one SKU at a time
    pd.testing.assert_frame_equal(whole.paths, chunked.paths, rtol=1e-12)
    pd.testing.assert_frame_equal(whole.per_sku, chunked.per_sku, rtol=1e-12)
    # one path given as actual demand [S, H] == that path alone
    actual = data.forecast.paths[:, 2, :]
    one = simulate(data, orders, actual, unmet_demand="backorders")
    assert one.n_paths == 1
    pd.testing.assert_series_equal(
        one.paths.drop(columns="path").iloc[0],
        whole.paths.drop(columns="path").iloc[2],
        check_names=False,
        rtol=1e-12,
    )


def test_summary_is_mean_and_percentiles_of_the_paths() -> None:
    data, orders = _random_instance(11)
    res = simulate(data, orders)
    assert list(res.summary["kpi"]) == list(KPIS)
    assert list(res.summary.columns) == ["kpi", "mean", "p10", "p50", "p90"]
    table = res.summary.set_index("kpi")
    for kpi in ("total_cost", "fill_rate", "stockout_weeks", "avg_inventory_value", "peak_storage"):
        values = res.paths[kpi].to_numpy()
        assert table.loc[kpi, "mean"] == pytest.approx(values.mean())
        np.testing.assert_allclose(table.loc[kpi, ["p10", "p50", "p90"]], np.percentile(values, [10, 50, 90]))
    assert res.paths["total_cost"].nunique() > 1  # paths really differ
    # weekly and per-SKU views add up to the path KPIs
    assert res.per_sku["holding_cost"].sum() == pytest.approx(table.loc["holding_cost", "mean"])
    assert res.per_sku["unmet"].sum() == pytest.approx(table.loc["unmet_units", "mean"])
    assert res.weekly["inventory_value_mean"].mean() == pytest.approx(
        table.loc["avg_inventory_value", "mean"]
    )
    assert res.per_sku["stockout_weeks"].sum() == pytest.approx(table.loc["stockout_weeks", "mean"])


def test_turnover_without_stock_is_left_out_of_the_summary() -> None:
    # I0 = 5, nothing ordered. Path A demand 10/week: stock 0 at every week's end -> turnover undefined.
    # Path B demand 1/week: end 4, 3, 2 -> avg value 3 (c = 1), cogs 3 -> 3 * 52 / 3 / 3 = 17.33
    data = make_data(np.array([[[10.0, 10, 10], [1, 1, 1]]]), on_hand=5, unit_cost=1.0)
    res = simulate(data, np.zeros((1, 3)))
    assert np.isnan(res.paths["inventory_turnover"].iloc[0])
    assert res.paths["inventory_turnover"].iloc[1] == pytest.approx(52 / 3)
    row = res.summary.set_index("kpi").loc["inventory_turnover"]
    assert row["mean"] == pytest.approx(52 / 3) and row["p90"] == pytest.approx(52 / 3)
    assert res.summary_dict()["inventory_turnover"]["p10"] == pytest.approx(52 / 3)


# ---------------------------------------------------------------------------
# actual demand files


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_load_actuals_maps_dates_to_weeks_and_ignores_other_weeks(tmp_path: Path) -> None:
    # weeks 2024-01-01 and 2024-01-08; a Wednesday counts in its week; 2023-12-25 is before the plan
    path = _write(
        tmp_path / "actuals.csv",
        "sku,week,demand\nA,2024-01-01,3\nA,2024-01-10,4\nB,2024-01-01,0\nB,2024-01-08,7.5\nB,2023-12-25,99\n",
    )
    np.testing.assert_array_equal(load_actuals(path, ["A", "B"], weeks(2)), [[3, 4], [0, 7.5]])


def test_load_actuals_names_unknown_skus_and_missing_weeks(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "actuals.csv",
        "sku,week,demand\nA,2024-01-01,3\nZZZ,2024-01-01,1\nB,2024-01-01,2\nB,2024-01-08,-1\n",
    )
    with pytest.raises(DataError) as exc:
        load_actuals(path, ["A", "B"], weeks(2))
    text = str(exc.value)
    assert "actuals.csv: line 3: column 'sku': 'ZZZ' not a SKU of the scenario" in text
    assert "actuals.csv: column 'week': no actual demand for A 2024-01-08" in text
    assert "actuals.csv: line 5: column 'demand': must be >= 0, got '-1'" in text


def test_load_actuals_rejects_duplicate_weeks_and_missing_columns(tmp_path: Path) -> None:
    dup = _write(tmp_path / "dup.csv", "sku,week,demand\nA,2024-01-01,3\nA,2024-01-03,4\n")
    with pytest.raises(DataError, match=r"dup.csv: lines 2, 3: column 'sku': duplicate 'sku' and 'week'"):
        load_actuals(dup, ["A"], weeks(1))
    cols = _write(tmp_path / "cols.csv", "sku,date,units\nA,2024-01-01,3\n")
    with pytest.raises(DataError, match=r"cols.csv: column 'week': required column is missing"):
        load_actuals(cols, ["A"], weeks(1))


# ---------------------------------------------------------------------------
# scenario block


def test_simulation_block_defaults_and_validation(tmp_path: Path) -> None:
    base = "name: t\ndata: d\nforecast: {model: baseline, n_paths: 50}\n"
    assert load_scenario(_write(tmp_path / "a.yaml", base)).simulation.unmet_demand == "lost_sales"
    sc = load_scenario(
        _write(tmp_path / "b.yaml", base + "simulation: {unmet_demand: backorders, n_paths: 20}\n")
    )
    assert sc.simulation.unmet_demand == "backorders" and sc.simulation.n_paths == 20
    with pytest.raises(ScenarioError, match=r"key 'simulation.unmet_demand'"):
        load_scenario(_write(tmp_path / "c.yaml", base + "simulation: {unmet_demand: lost}\n"))
    with pytest.raises(ScenarioError, match=r"simulation.n_paths \(80\) exceeds forecast.n_paths \(50\)"):
        load_scenario(_write(tmp_path / "d.yaml", base + "simulation: {n_paths: 80}\n"))
    with pytest.raises(ScenarioError, match=r"key 'simulation.seed': unknown key"):
        load_scenario(_write(tmp_path / "e.yaml", base + "simulation: {seed: 1}\n"))


# ---------------------------------------------------------------------------
# command line

SIM_FILES = [
    "simulation.json",
    "simulation_paths.csv",
    "simulation_sku.csv",
    "simulation_summary.csv",
    "simulation_weekly.csv",
]


def test_cli_simulate_writes_every_output(
    sample_dataset: Path, write_scenario: Callable[..., Path], cli: Callable, tmp_path: Path
) -> None:
    scenario = write_scenario(
        horizon_weeks=6,
        forecast={"model": "baseline", "n_paths": 40},
        simulation={"unmet_demand": "backorders", "n_paths": 30},
    )
    out = tmp_path / "sim"
    result = cli("simulate", scenario, "--out", out, "--policy", "classical")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == SIM_FILES
    info = json.loads((out / "simulation.json").read_text())
    assert (info["policy"], info["unmet_demand"], info["n_paths"]) == ("classical", "backorders", 30)
    assert info["demand"] == "forecast_paths"
    assert set(info["summary"]) == set(KPIS)
    paths = pd.read_csv(out / "simulation_paths.csv")
    assert len(paths) == 30 and list(paths.columns) == ["path", *KPIS]
    summary = pd.read_csv(out / "simulation_summary.csv").set_index("kpi")
    assert summary.loc["fill_rate", "mean"] == pytest.approx(info["summary"]["fill_rate"]["mean"])
    assert 0 < summary.loc["fill_rate", "mean"] <= 1
    weekly = pd.read_csv(out / "simulation_weekly.csv")
    assert len(weekly) == 6 and weekly["spend"].sum() == pytest.approx(summary.loc["purchase_cost", "mean"])
    assert len(pd.read_csv(out / "simulation_sku.csv")) == 240
    for label in ("total cost", "fill rate", "cycle service", "turnover", "overflow weeks", "wrote"):
        assert label in result.output

    # the same plan against actual demand: zero everywhere except SKU0001, which wants a million a week
    grid = pd.MultiIndex.from_product([pd.read_csv(sample_dataset / "items.csv")["sku"], weekly["week"]])
    actuals = grid.to_frame(index=False, name=["sku", "week"])
    actuals["demand"] = np.where(actuals["sku"] == "SKU0001", 1e6, 0.0)
    actuals.to_csv(tmp_path / "actuals.csv", index=False)
    out2 = tmp_path / "sim_actual"
    result = cli(
        "simulate", scenario, "--out", out2, "--policy", "classical", "--actuals", tmp_path / "actuals.csv"
    )
    assert result.exit_code == 0, result.output
    info = json.loads((out2 / "simulation.json").read_text())
    assert info["demand"] == "actuals" and info["n_paths"] == 1
    assert info["manifest"]["actuals"]["sha256"]
    sku = pd.read_csv(out2 / "simulation_sku.csv").set_index("sku")
    assert sku.loc["SKU0001", "fill_rate"] < 0.01
    assert (sku.drop(index="SKU0001")["fill_rate"] == 1.0).all()
    assert info["summary"]["demand_units"]["mean"] == pytest.approx(6e6)


def test_cli_simulate_bad_actuals_exit_1_and_write_nothing(
    sample_dataset: Path, write_scenario: Callable[..., Path], cli: Callable, tmp_path: Path
) -> None:
    scenario = write_scenario(horizon_weeks=4, forecast={"model": "baseline", "n_paths": 20})
    bad = _write(
        tmp_path / "bad_actuals.csv", "sku,week,demand\nSKU0001,2026-11-16,3\nSKU9999,2026-11-16,1\n"
    )
    out = tmp_path / "sim"
    result = cli("simulate", scenario, "--out", out, "--actuals", bad)
    assert result.exit_code == 1
    assert "bad_actuals.csv: line 3: column 'sku': 'SKU9999' not a SKU of the scenario" in result.output
    assert "Traceback" not in result.output
    assert not out.exists()


def test_simulate_help_has_an_example(cli: Callable) -> None:
    result = cli("simulate", "--help")
    assert result.exit_code == 0 and "Example:" in result.output and "--actuals" in result.output
