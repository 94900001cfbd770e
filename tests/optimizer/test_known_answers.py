"""Known answers through the public CLI with deterministic demand (forecast.model: file)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from planner.app.cli import main


def one_sku_company(
    tmp_path: Path,
    *,
    lead_time: int,
    pack: int,
    moq: int,
    on_hand: float,
    weekly: list[float],
    order_cost: float,
    holding_cost: float,
    unit_cost: float = 1.0,
    shortage_cost: float = 100.0,
) -> Path:
    """A one-SKU dataset plus a deterministic forecast file and scenario; returns the scenario path."""
    data = tmp_path / "data"
    data.mkdir()
    hist_weeks = pd.date_range("2026-01-05", periods=4, freq="7D")
    pd.DataFrame({"sku": "A", "date": hist_weeks.date, "units": 100}).to_csv(data / "demand.csv", index=False)
    pd.DataFrame(
        {
            "sku": ["A"],
            "supplier": ["S"],
            "unit_cost": [unit_cost],
            "unit_volume": [0.01],
            "moq": [moq],
            "pack_size": [pack],
            "holding_cost": [holding_cost],
            "shortage_cost": [shortage_cost],
        }
    ).to_csv(data / "items.csv", index=False)
    pd.DataFrame({"supplier": ["S"], "lead_time_weeks": [lead_time], "order_cost": [order_cost]}).to_csv(
        data / "suppliers.csv", index=False
    )
    pd.DataFrame({"sku": ["A"], "on_hand": [on_hand]}).to_csv(data / "inventory.csv", index=False)
    weeks = pd.date_range("2026-02-02", periods=len(weekly), freq="7D")
    pd.DataFrame({"sku": "A", "week": weeks.date, "mean": weekly}).to_csv(tmp_path / "fc.csv", index=False)
    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        f"name: known\ndata: data\nhorizon_weeks: {len(weekly)}\nforecast: {{model: file, path: fc.csv}}\n"
    )
    return scenario


def run(scenario: Path, out: Path, policy: str = "classical") -> tuple[pd.DataFrame, dict]:
    result = CliRunner().invoke(main, ["plan", str(scenario), "--out", str(out), "--policy", policy])
    assert result.exit_code == 0, result.output
    return pd.read_csv(out / "purchase_plan.csv"), json.loads((out / "summary.json").read_text())


def test_classical_eoq_cycle(tmp_path: Path) -> None:
    """100 units/week, K = 50, h = 0.1/unit-week: EOQ = sqrt(2*50*5200/5.2) = 316.2 -> 317 units.

    L = 0, no stock: order 317 in week 1 (stock ends 217, 117, 17), then again in week 4.
    Holding on end stock: 217+117+17+234+134+34 = 753 unit-weeks -> 75.3; ordering 2 x 50.
    """
    scenario = one_sku_company(
        tmp_path, lead_time=0, pack=1, moq=0, on_hand=0, weekly=[100.0] * 6, order_cost=50, holding_cost=0.1
    )
    plan, summary = run(scenario, tmp_path / "out")
    assert plan["order_week"].tolist() == ["2026-02-02", "2026-02-23"]
    assert plan["units"].tolist() == [317, 317]
    costs = summary["costs_expected"]
    assert costs["ordering"] == 100.0
    assert abs(costs["holding"] - 75.3) < 1e-6
    assert costs["shortage"] == 0.0
    assert summary["service"]["expected_fill_rate"] == 1.0


def test_classical_with_lead_time_packs_and_moq(tmp_path: Path) -> None:
    """L = 2, pack 24, MOQ 200, 50/week, 120 on hand, K = 10, h = 1 -> EOQ sqrt(2*10*2600/52) = 31.6.

    ROP = 50 * 3 = 150 (no safety stock: deterministic). Week 1: IP 120 < 150 -> order
    max(EOQ, MOQ, 150 - 120) = 200 -> 9 packs = 216 units, arriving week 3.
    """
    scenario = one_sku_company(
        tmp_path,
        lead_time=2,
        pack=24,
        moq=200,
        on_hand=120,
        weekly=[50.0] * 6,
        order_cost=10,
        holding_cost=1.0,
    )
    plan, _ = run(scenario, tmp_path / "out")
    first = plan.iloc[0]
    assert (first["order_week"], first["units"], first["packs"], first["arrival_week"]) == (
        "2026-02-02",
        216,
        9,
        "2026-02-16",
    )
    assert (plan["units"] % 24 == 0).all() and (plan["units"] >= 200).all()
    proj = pd.read_csv(tmp_path / "out" / "projection.csv")
    assert proj["on_hand_end"].min() >= 0
    assert proj.loc[proj["week"] == "2026-02-16", "arrivals"].item() == 216


def test_optimizer_snyder_shen_example_3_9(tmp_path: Path) -> None:
    """Snyder & Shen Example 3.9 through the CLI: demand 90, 120, 80, 70, K = 500, h = 2, L = 0.

    Optimal cost 1380: order 210 in week 1 and 150 in week 3 (holding 2 * (120 + 70) = 380).
    """
    scenario = one_sku_company(
        tmp_path,
        lead_time=0,
        pack=1,
        moq=0,
        on_hand=0,
        weekly=[90.0, 120.0, 80.0, 70.0],
        order_cost=500,
        holding_cost=2.0,
        unit_cost=0.0,
    )
    plan, summary = run(scenario, tmp_path / "out", policy="optimizer")
    assert plan["order_week"].tolist() == ["2026-02-02", "2026-02-16"]
    assert plan["units"].tolist() == [210, 150]
    costs = summary["costs_expected"]
    assert costs["ordering"] + costs["holding"] == pytest.approx(1380)
    assert costs["shortage"] == 0
    assert summary["status"] == "optimal"


@pytest.mark.parametrize(
    ("demand", "order_cost", "holding", "expected"),
    [
        ([10, 62, 12, 130, 154], 54.0, 0.4, 196.4),  # worked by hand in tests/test_lotsizing.py
        ([10, 10, 10, 10], 100.0, 0.1, 106.0),  # one order of 40: 100 + 0.1 * (30 + 20 + 10)
        ([5, 5, 5], 1.0, 10.0, 3.0),  # an order every week
    ],
)
def test_optimizer_textbook_wagner_whitin(tmp_path: Path, demand, order_cost, holding, expected) -> None:
    scenario = one_sku_company(
        tmp_path,
        lead_time=0,
        pack=1,
        moq=0,
        on_hand=0,
        weekly=[float(d) for d in demand],
        order_cost=order_cost,
        holding_cost=holding,
        unit_cost=0.0,
    )
    _, summary = run(scenario, tmp_path / "out", policy="optimizer")
    costs = summary["costs_expected"]
    assert costs["ordering"] + costs["holding"] == pytest.approx(expected)
