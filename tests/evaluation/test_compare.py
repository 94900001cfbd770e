"""Scenario comparison and the service-level frontier (planner.evaluation.compare), end to end on the
sample data.

Classical policy and the baseline forecaster over a 6-week horizon keep every run to seconds.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import planner.evaluation.compare as compare_mod
from planner.base.errors import PlannerError
from planner.evaluation.compare import (
    COST_CATEGORIES,
    SERVICE_KPIS,
    check_levels,
    parse_levels,
    service_frontier,
)
from planner.evaluation.simulate import run_simulation

COMPARE_FILES = [
    "compare.json",
    "costs.csv",
    "report.html",
    "service.csv",
    "spend_by_supplier.csv",
    "weekly.csv",
]
QUICK = {
    "horizon_weeks": 6,
    "policy": "classical",
    "forecast": {"model": "baseline", "n_paths": 40},
}


def test_compare_writes_every_file_and_matches_simulate_alone(
    sample_dataset: Path, write_scenario: Callable[..., Path], cli: Callable, tmp_path: Path
) -> None:
    base = write_scenario(file="base.yaml", name="base", description="as is", **QUICK)
    high = write_scenario(file="high.yaml", name="high", service_level=0.99, **QUICK)
    out = tmp_path / "cmp"
    result = cli("compare", base, high, "--out", out)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == COMPARE_FILES
    for label in ("expected", "p90 total", "fill rate", "cycle", "inventory", "base", "high", "wrote"):
        assert label in result.output  # the table (headers wrap on a narrow terminal)

    costs = pd.read_csv(out / "costs.csv")
    assert list(costs.columns) == ["scenario", "category", "expected", "p90"]
    assert list(costs["scenario"]) == ["base"] * 5 + ["high"] * 5
    assert list(costs["category"]) == list(COST_CATEGORIES) * 2
    by = costs.set_index(["scenario", "category"])
    for name in ("base", "high"):
        parts = by.loc[[(name, c) for c in ("purchase", "ordering", "holding", "shortage")], "expected"]
        assert parts.sum() == pytest.approx(by.loc[(name, "total"), "expected"], rel=1e-9)
        assert by.loc[(name, "total"), "p90"] >= by.loc[(name, "purchase"), "p90"]

    service = pd.read_csv(out / "service.csv")
    assert list(service.columns) == ["scenario", "kpi", "mean", "p10", "p50", "p90"]
    assert list(service["kpi"]) == list(SERVICE_KPIS) * 2
    fill = service.set_index(["scenario", "kpi"]).loc[("base", "fill_rate")]
    assert 0 < fill["p10"] <= fill["p50"] <= fill["p90"] <= 1

    weekly = pd.read_csv(out / "weekly.csv")
    assert list(weekly.columns) == [
        "scenario",
        "week",
        "spend",
        "inventory_value_mean",
        "inventory_value_p10",
        "inventory_value_p90",
        "storage_mean",
        "storage_p90",
        "capacity",
    ]
    assert len(weekly) == 12 and weekly.groupby("scenario").size().to_dict() == {"base": 6, "high": 6}

    suppliers = pd.read_csv(sample_dataset / "suppliers.csv")["supplier"]
    spend = pd.read_csv(out / "spend_by_supplier.csv")
    assert list(spend.columns) == ["scenario", "week", "supplier", "spend"]
    assert len(spend) == 2 * 6 * len(suppliers)
    assert set(spend["supplier"]) == set(suppliers)
    for name in ("base", "high"):
        total = spend.loc[spend["scenario"] == name, "spend"].sum()
        assert total == pytest.approx(by.loc[(name, "purchase"), "expected"], rel=1e-6)
        by_week = spend[spend["scenario"] == name].groupby("week")["spend"].sum()
        np.testing.assert_allclose(
            by_week.to_numpy(), weekly.loc[weekly["scenario"] == name, "spend"].to_numpy(), rtol=1e-6
        )

    info = json.loads((out / "compare.json").read_text())
    entries = info["scenarios"]
    assert [e["name"] for e in entries] == ["base", "high"]
    assert entries[0]["description"] == "as is"
    assert {e["policy"] for e in entries} == {"classical"}
    assert set(entries[0]["plan"]) == {"status", "objective", "bound", "gap"}
    assert set(entries[0]["costs"]) == set(COST_CATEGORIES)
    assert set(entries[0]["service"]) == set(SERVICE_KPIS)
    assert entries[1]["manifest"]["scenario"]["service_level"] == 0.99
    assert entries[0]["manifest"]["inputs"]["scenario"]["path"] == str(base.resolve())

    # each scenario's costs are exactly those of `planner simulate` run on it alone
    for name, path in (("base", base), ("high", high)):
        alone = run_simulation(path).result.summary.set_index("kpi")
        for cat, kpi in COST_CATEGORIES.items():
            assert by.loc[(name, cat), "expected"] == pytest.approx(alone.loc[kpi, "mean"], rel=1e-9)
            assert by.loc[(name, cat), "p90"] == pytest.approx(alone.loc[kpi, "p90"], rel=1e-9)
    assert f"{by.loc[('high', 'total'), 'expected']:,.0f}" in result.output
    # a higher target buys more stock
    assert by.loc[("high", "purchase"), "expected"] >= by.loc[("base", "purchase"), "expected"]


def test_compare_duplicate_names_exit_1_and_write_nothing(
    sample_dataset: Path, write_scenario: Callable[..., Path], cli: Callable, tmp_path: Path
) -> None:
    first = write_scenario(file="a.yaml", name="same", **QUICK)
    second = write_scenario(file="b.yaml", name="same", service_level=0.99, **QUICK)
    out = tmp_path / "cmp"
    result = cli("compare", first, second, "--out", out)
    assert result.exit_code == 1
    assert f"{second.resolve()}: key 'name': scenario name 'same' is also the name of {first.resolve()}" in (
        result.output
    )
    assert "Traceback" not in result.output
    assert not out.exists()


def test_frontier_plans_every_level_on_one_forecast(
    sample_dataset: Path,
    write_scenario: Callable[..., Path],
    cli: Callable,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a per-item override that the frontier must replace, too
    scenario = write_scenario(items=[{"skus": ["SKU0001"], "service_level": 0.6}], **QUICK)
    levels = (0.5, 0.8, 0.99)

    fits = []
    real_fit = compare_mod.fit_forecaster
    monkeypatch.setattr(compare_mod, "fit_forecaster", lambda *a, **k: fits.append(1) or real_fit(*a, **k))
    result = service_frontier(scenario, levels)
    assert len(fits) == 1
    first = result.runs[0].plan.data.forecast
    for level, run in zip(levels, result.runs, strict=True):
        assert run.plan.data.forecast is first  # the same demand for every level
        np.testing.assert_array_equal(run.plan.data.service_level, level)  # SKU0001's 0.6 included
        assert run.plan.prepared.scenario.service_level == level
        assert all(c.service_level is None for c in run.plan.prepared.scenario.items)
    demand = [run.result.summary.set_index("kpi").loc["demand_units", "mean"] for run in result.runs]
    assert demand == pytest.approx([demand[0]] * 3, rel=1e-12)

    out = tmp_path / "frontier"
    cli_result = cli("frontier", scenario, "--levels", "0.5,0.8,0.99", "--out", out)
    assert cli_result.exit_code == 0, cli_result.output
    assert sorted(p.name for p in out.iterdir()) == ["frontier.csv", "frontier.json", "report.html"]
    assert "0.99" in cli_result.output and "wrote" in cli_result.output
    table = pd.read_csv(out / "frontier.csv")
    assert list(table["level"]) == list(levels)
    for col in (
        "expected_total_cost",
        "p90_total_cost",
        "expected_cost_excluding_purchase",
        "fill_rate_mean",
        "fill_rate_p10",
        "fill_rate_p90",
        "cycle_service_mean",
        "cycle_service_p10",
        "cycle_service_p90",
        "avg_inventory_value",
    ):
        assert table[col].notna().all(), col
    pd.testing.assert_frame_equal(table, result.table().round(6), check_dtype=False)
    assert table["fill_rate_mean"].iloc[-1] >= table["fill_rate_mean"].iloc[0]
    assert table["avg_inventory_value"].iloc[-1] >= table["avg_inventory_value"].iloc[0]
    assert (table["p90_total_cost"] >= table["expected_cost_excluding_purchase"]).all()
    info = json.loads((out / "frontier.json").read_text())
    assert info["levels"] == list(levels) and info["policy"] == "classical"
    assert [p["level"] for p in info["points"]] == list(levels)
    assert info["points"][0]["costs"]["total"]["expected"] == pytest.approx(table["expected_total_cost"][0])
    assert info["manifest"]["inputs"]["scenario"]["path"] == str(scenario.resolve())


@pytest.mark.parametrize(
    ("levels", "message"),
    [
        ("0.9,0.8", "must be increasing without repeats; write 0.8,0.9"),
        ("0.8,0.8", "must be increasing without repeats; write 0.8"),
        ("0,0.5", "0 not strictly between 0 and 1"),
        ("0.5,1", "1 not strictly between 0 and 1"),
        ("0.9,high", "'high' is not a number"),
        ("", "'' is not a number"),
    ],
)
def test_frontier_bad_levels_are_a_usage_error_and_write_nothing(
    sample_dataset: Path,
    write_scenario: Callable[..., Path],
    cli: Callable,
    tmp_path: Path,
    levels: str,
    message: str,
) -> None:
    scenario = write_scenario(**QUICK)
    out = tmp_path / "frontier"
    result = cli("frontier", scenario, "--levels", levels, "--out", out)
    assert result.exit_code == 2
    assert "Invalid value for '--levels'" in result.output and message in result.output
    assert not out.exists()


def test_level_checks_in_the_library() -> None:
    assert parse_levels(" 0.8, 0.9,0.95 ") == (0.8, 0.9, 0.95)
    assert check_levels([0.5]) == (0.5,)
    for bad in ([], [1.5], [0.9, 0.5]):
        with pytest.raises(PlannerError, match="--levels"):
            check_levels(bad)


@pytest.mark.parametrize("command", ["compare", "frontier"])
def test_help_has_an_example(cli: Callable, command: str) -> None:
    result = cli(command, "--help")
    assert result.exit_code == 0 and "Example:" in result.output and "--model" in result.output
