"""The rolling policy backtest (planner.evaluation.backtest) and the base-stock policy it compares."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from factories import make_data, small_sample

from planner.evaluation.backtest import run_backtest
from planner.policies.basestock import empirical_order_up_to, plan_base_stock

WINDOW = [90.0, 120.0, 80.0, 70.0]  # Snyder & Shen Example 3.9: optimum 1380 with K = 500, h = 2


def wagner_whitin_company(tmp_path: Path, window: list[float] = WINDOW, horizon: int = 4) -> Path:
    """One SKU (L = 0, pack 1, no MOQ, K = 500, h = 2, c = 1, b = 100, no stock) whose last four
    history weeks are Example 3.9's demand, and a forecast file that knows that demand exactly
    (0 after the history). Returns the scenario path."""
    data = tmp_path / "data"
    data.mkdir()
    hist = pd.date_range("2026-01-05", periods=8 + len(window), freq="7D")
    units = [100.0] * 8 + window
    pd.DataFrame({"sku": "A", "date": hist.date, "units": units}).to_csv(data / "demand.csv", index=False)
    pd.DataFrame(
        {
            "sku": ["A"],
            "supplier": ["S"],
            "unit_cost": [1.0],
            "unit_volume": [0.01],
            "moq": [0],
            "pack_size": [1],
            "holding_cost": [2.0],
            "shortage_cost": [100.0],
        }
    ).to_csv(data / "items.csv", index=False)
    pd.DataFrame({"supplier": ["S"], "lead_time_weeks": [0], "order_cost": [500.0]}).to_csv(
        data / "suppliers.csv", index=False
    )
    pd.DataFrame({"sku": ["A"], "on_hand": [0.0]}).to_csv(data / "inventory.csv", index=False)
    fc_weeks = pd.date_range(hist[8], periods=len(window) + horizon, freq="7D")
    mean = window + [0.0] * horizon
    pd.DataFrame({"sku": "A", "week": fc_weeks.date, "mean": mean}).to_csv(tmp_path / "fc.csv", index=False)
    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        f"name: ww\ndata: data\nhorizon_weeks: {horizon}\nforecast: {{model: file, path: fc.csv}}\n"
        f"backtest: {{origins: {len(window)}}}\n"
    )
    return scenario


def test_rolling_optimizer_on_a_perfect_forecast_reproduces_the_deterministic_optimum(tmp_path: Path) -> None:
    """Receding horizon + exact forecast: order 210 in week 1 and 150 in week 3, operating cost 1380
    (2 x 500 ordering + 2 x (120 + 70) holding), equal to perfect foresight; the classical policy
    (EOQ lots on the same forecast) cannot do better."""
    result = run_backtest(wagner_whitin_company(tmp_path))
    s = result.summary.set_index("policy")
    assert s.loc["perfect_foresight", "operating_cost"] == pytest.approx(1380.0)
    assert s.loc["optimizer", "operating_cost"] == pytest.approx(1380.0)
    assert s.loc["optimizer", "gap_operating"] == pytest.approx(0.0, abs=1e-9)
    opt = result.orders[result.orders["policy"] == "optimizer"]
    assert opt["order_week"].tolist() == ["2026-03-02", "2026-03-16"]
    assert opt["units"].tolist() == [210.0, 150.0]
    assert s.loc["classical", "operating_cost"] >= 1380.0 - 1e-6
    assert (s.loc[["optimizer", "classical", "perfect_foresight"], "fill_rate"] == 1.0).all()
    # stock-adjusted total = cost of the goods sold (360 units at 1) + operating cost
    assert s.loc["optimizer", "total_cost"] == pytest.approx(360.0 + 1380.0)


def test_a_policy_commits_before_it_sees_the_week(tmp_path: Path) -> None:
    """A demand spike in the last window week changes what happens in it, never what was ordered:
    at every origin the forecaster and the policies see only the weeks before it."""
    runs = {}
    for label, last in (("normal", 70.0), ("spike", 700.0)):
        folder = tmp_path / label
        folder.mkdir()
        scenario = wagner_whitin_company(folder, [90.0, 120.0, 80.0, last])
        text = scenario.read_text().replace("{model: file, path: fc.csv}", "{model: baseline}")
        scenario.write_text(text)
        runs[label] = run_backtest(scenario, policies=["optimizer", "classical", "base_stock"])
    pd.testing.assert_frame_equal(runs["normal"].orders, runs["spike"].orders)
    normal = runs["normal"].summary.set_index("policy")
    spike = runs["spike"].summary.set_index("policy")
    assert (spike["shortage_cost"] > normal["shortage_cost"]).all()


def test_stock_balances_and_orders_arrive_after_their_lead_time(
    sample_dataset: Path, write_scenario: Callable[..., Path]
) -> None:
    """For every policy: closing stock value = opening + purchases - cost of goods sold (the
    simulator's own count of units shipped), and every committed line arrives L weeks later."""
    small_sample(sample_dataset)
    scenario = write_scenario(horizon_weeks=8, storage_capacity=None, solver={"time_limit_s": 5})
    result = run_backtest(scenario, origins=6)
    suppliers = pd.read_csv(sample_dataset / "suppliers.csv").set_index("supplier")
    for policy, sim in result.simulations.items():
        row = result.summary.set_index("policy").loc[policy]
        kpi = sim.paths.iloc[0]
        balance = row["opening_stock_value"] + kpi["purchase_cost"] - kpi["cogs"]
        assert row["closing_stock_value"] == pytest.approx(balance), policy
    lines = result.orders
    lead = lines["supplier"].map(suppliers["lead_time_weeks"])
    gap = (pd.to_datetime(lines["arrival_week"]) - pd.to_datetime(lines["order_week"])).dt.days // 7
    assert (gap == lead).all()
    assert set(lines["policy"]) <= {"optimizer", "classical", "base_stock", "perfect_foresight"}
    sizes = result.origins.groupby("policy").size().to_dict()
    assert sizes == {"optimizer": 6, "classical": 6, "base_stock": 6, "perfect_foresight": 1}


def test_backtest_cli_writes_everything_and_is_deterministic(
    sample_dataset: Path, write_scenario: Callable[..., Path], cli: Callable, tmp_path: Path
) -> None:
    small_sample(sample_dataset, 8)
    scenario = write_scenario(horizon_weeks=6, storage_capacity=None)
    outs = []
    for name in ("a", "b"):
        out = tmp_path / name
        result = cli(
            "backtest",
            scenario,
            "--out",
            out,
            "--origins",
            4,
            "--policies",
            "classical,base_stock,perfect_foresight",
        )
        assert result.exit_code == 0, result.output
        assert "perfect foresight" in result.output and "gap operating" in result.output
        outs.append(out)
    names = ["backtest_summary.csv", "backtest_weekly.csv", "backtest_origins.csv", "backtest_orders.csv"]
    for name in names:
        a, b = (pd.read_csv(o / name) for o in outs)
        timing = [c for c in ("seconds", "plan_seconds") if c in a.columns]
        a, b = a.drop(columns=timing), b.drop(columns=timing)
        pd.testing.assert_frame_equal(a, b)
    info = json.loads((outs[0] / "backtest.json").read_text())
    assert info["window"]["origins"] == 4
    assert set(info["summary"]) == {"classical", "base_stock", "perfect_foresight"}
    origins = pd.read_csv(outs[0] / "backtest_origins.csv")
    assert origins.groupby("policy").size().to_dict() == {
        "base_stock": 4,
        "classical": 4,
        "perfect_foresight": 1,
    }


@pytest.mark.parametrize(
    ("keys", "args", "expected"),
    [
        ({}, ["--origins", "150"], "backtest.origins"),
        ({"storage_capacity": [300.0] * 4, "horizon_weeks": 4}, [], "storage_capacity"),
        ({"simulation": {"unmet_demand": "backorders"}}, [], "simulation.unmet_demand"),
        ({"backtest": {"refit_every": 0}}, [], "backtest.refit_every"),
    ],
)
def test_backtest_errors_name_the_key_and_write_nothing(
    sample_dataset: Path,
    write_scenario: Callable[..., Path],
    cli: Callable,
    tmp_path: Path,
    keys: dict,
    args: list[str],
    expected: str,
) -> None:
    scenario = write_scenario(**keys)
    out = tmp_path / "out"
    result = cli("backtest", scenario, "--out", out, *args)
    assert result.exit_code == 1, result.output
    assert expected in result.output
    assert "Traceback" not in result.output
    assert not out.exists()


def test_unknown_policy_is_a_usage_error(
    sample_dataset: Path, write_scenario: Callable[..., Path], cli
) -> None:
    result = cli("backtest", write_scenario(), "--out", "x", "--policies", "classical,magic")
    assert result.exit_code == 2
    assert "magic" in result.output


def test_empirical_order_up_to_levels() -> None:
    """Demand 1..10, L = 1: two-week sums 3, 5, ..., 19; median 11, 90 % quantile 17.4 (linear).
    A SKU with one week of history uses its mean x (L + 1); one without history gets 0."""
    weeks = pd.date_range("2026-01-05", periods=10, freq="7D")
    history = pd.concat(
        [
            pd.DataFrame({"sku": "A", "week": weeks, "units": np.arange(1.0, 11.0)}),
            pd.DataFrame({"sku": "B", "week": weeks[-1:], "units": [4.0]}),
        ]
    )
    levels = empirical_order_up_to(history, ["A", "B", "C"], np.array([1, 2, 0]), np.array([0.5, 0.9, 0.9]))
    assert levels[0] == pytest.approx(11.0)
    assert levels[1] == pytest.approx(12.0)
    assert levels[2] == 0.0
    a90 = empirical_order_up_to(history, ["A"], np.array([1]), np.array([0.9]))
    assert a90[0] == pytest.approx(17.4)
    window = empirical_order_up_to(history, ["A"], np.array([0]), np.array([0.5]), window=4)
    assert window[0] == pytest.approx(8.5)  # median of 7, 8, 9, 10


def test_base_stock_orders_up_to_the_level_in_whole_packs() -> None:
    """S = 50, no stock, L = 0, pack 6, demand 10/week: week 0 orders ceil(50/6) = 9 packs = 54 units,
    then each week tops the position back up (54 - 10 = 44 -> 6 units = 1 pack)."""
    data = make_data(np.full((1, 4), 10.0), lead_time=0, on_hand=0, pack=6)
    orders = plan_base_stock(data, np.array([50.0])).orders[0]
    assert orders[0] == 54.0
    assert orders[1] == 6.0
    assert np.all(orders % 6 == 0)
