"""The CLI end to end on the bundled sample: exit codes, files, columns, atomic outputs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

import planner.app.outputs
from planner.app.cli import main
from planner.base.errors import InfeasibleError
from planner.core.tables import PLAN_COLUMNS

REPO = Path(__file__).resolve().parents[2]
BASE_YAML = REPO / "scenarios" / "base.yaml"
HORIZON = 13


@pytest.fixture(scope="module")
def base_yaml(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled base scenario over 13 weeks with the quick baseline forecaster (the models have
    their own tests): the solve finishes well inside its time limit, so the plan is reproducible."""
    path = tmp_path_factory.mktemp("base") / "base.yaml"
    path.write_text(
        f"extends: {BASE_YAML}\nname: base\nhorizon_weeks: {HORIZON}\n"
        "forecast: {model: baseline, n_paths: 200}\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory, base_yaml: Path) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("plan")
    result = CliRunner().invoke(main, ["plan", str(base_yaml), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out, result.output


def test_plan_writes_every_output_with_its_columns(planned: tuple[Path, str]) -> None:
    out, text = planned
    assert sorted(p.name for p in out.iterdir()) == [
        "manifest.json",
        "projection.csv",
        "purchase_plan.csv",
        "summary.json",
    ]
    plan = pd.read_csv(out / "purchase_plan.csv")
    assert list(plan.columns) == PLAN_COLUMNS
    assert len(plan) > 50
    assert (pd.to_datetime(plan["order_week"]).dt.day_of_week == 0).all()
    proj = pd.read_csv(out / "projection.csv")
    for col in (
        "sku",
        "week",
        "arrivals",
        "demand_mean",
        "demand_q0.5",
        "on_hand_start",
        "on_hand_end",
        "volume",
    ):
        assert col in proj.columns
    assert len(proj) == 240 * HORIZON
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["costs_expected"]) >= {"purchase", "ordering", "holding", "shortage", "total"}
    assert summary["counts"]["order_lines"] == len(plan)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["scenario"]["name"] == "base"
    assert len(manifest["inputs"]["items"]["sha256"]) == 64
    assert manifest["policy"] == "optimizer"
    assert manifest["solver"]["status"] in ("optimal", "feasible")
    storage = summary["storage"]
    probs = [w["overflow_probability"] for w in storage["weeks"]]
    assert all(0 <= p <= 1 for p in probs) and storage["overflow_probability_max"] == max(probs)
    risky = [w["week"] for w in storage["weeks"] if w["overflow_probability"] > storage["basis_quantile"]]
    assert storage["weeks_overflow_above_quantile"] == risky
    codes = {w["code"] for w in summary["warnings"]}
    assert ("storage_overflow_risk" in codes) == bool(risky)
    assert "storage: simulated overflow probability at most" in text
    assert summary["bound"] <= summary["objective"]
    assert 0 <= summary["gap"] < 1
    assert "order lines" in text and "wrote" in text
    assert f"gap {summary['gap']:.2%}" in text


def test_same_inputs_give_the_same_plan(planned: tuple[Path, str], tmp_path: Path, base_yaml: Path) -> None:
    out, _ = planned
    assert CliRunner().invoke(main, ["plan", str(base_yaml), "--out", str(tmp_path)]).exit_code == 0
    for name in ("purchase_plan.csv", "projection.csv", "summary.json"):
        assert (tmp_path / name).read_bytes() == (out / name).read_bytes(), name


def test_validate_and_kpis(tmp_path: Path, base_yaml: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(main, ["validate", str(base_yaml)])
    assert ok.exit_code == 0 and "ok: scenario 'base', 240 SKUs" in ok.output
    k = runner.invoke(main, ["kpis", str(base_yaml), "--out", str(tmp_path)])
    assert k.exit_code == 0, k.output
    table = pd.read_csv(tmp_path / "kpis.csv")
    assert {"eoq", "safety_stock", "reorder_point", "inventory_turnover", "annual_holding_cost"} <= set(table)
    assert len(table) == 240


def test_usage_errors_exit_2(tmp_path: Path, base_yaml: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["plan", str(base_yaml)]).exit_code == 2  # --out missing
    assert runner.invoke(main, ["plan", str(tmp_path / "nope.yaml"), "--out", "x"]).exit_code == 2
    assert runner.invoke(main, ["frobnicate"]).exit_code == 2


def test_help_has_examples() -> None:
    for cmd in ("validate", "plan", "kpis", "import-m5", "sample"):
        result = CliRunner().invoke(main, [cmd, "--help"])
        assert result.exit_code == 0 and "Example:" in result.output, cmd


def _copy_sample(tmp_path: Path, capacity: float | None = None) -> Path:
    shutil.copytree(REPO / "planner" / "sample_data", tmp_path / "data")
    text = "name: t\ndata: data\nhorizon_weeks: 8\nforecast: {model: baseline, n_paths: 50}\n"
    if capacity is not None:
        text += f"storage_capacity: {capacity}\n"
    path = tmp_path / "s.yaml"
    path.write_text(text)
    return path


def test_failure_midway_keeps_earlier_outputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scenario = _copy_sample(tmp_path)
    out = tmp_path / "out"
    run = [
        "plan",
        str(scenario),
        "--out",
        str(out),
        "--policy",
        "classical",
    ]  # the outputs matter, not the policy
    assert CliRunner().invoke(main, run).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def broken_manifest(*args: object, **kwargs: object) -> dict:
        raise InfeasibleError("simulated failure while writing the manifest")

    monkeypatch.setattr(planner.app.outputs, "manifest", broken_manifest)
    (tmp_path / "data" / "inventory.csv").write_text(
        (tmp_path / "data" / "inventory.csv").read_text().replace("SKU0001,", "SKU0001,1", 1)
    )
    result = CliRunner().invoke(main, run)
    assert result.exit_code == 1
    assert "simulated failure" in result.output
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # nothing replaced, no temp files


def test_infeasible_capacity_is_diagnosed(tmp_path: Path) -> None:
    scenario = _copy_sample(tmp_path, capacity=10)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["plan", str(scenario), "--out", str(out)])
    assert result.exit_code == 1
    assert "storage capacity is exceeded before any new order" in result.output
    assert "Worst week 2026-" in result.output and "SKU" in result.output
    assert "Traceback" not in result.output
    assert not out.exists() or not any(out.iterdir())


def test_binding_constraints_are_reported(tmp_path: Path) -> None:
    """A tight weekly budget binds; summary.json says in which weeks, and the plan respects it."""
    scenario = tmp_path / "tight.yaml"
    scenario.write_text(
        f"extends: {REPO / 'scenarios' / 'budget_cap.yaml'}\nname: tight\nhorizon_weeks: 6\n"
        "budget_per_week: 15000\nforecast: {model: baseline, n_paths: 100}\n"
    )
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["plan", str(scenario), "--out", str(out)])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["budget_binding_weeks"]
    plan = pd.read_csv(out / "purchase_plan.csv")
    assert plan.groupby("order_week")["order_value"].sum().max() <= 15000 + 1e-6
