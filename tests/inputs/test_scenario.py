"""Scenario loading: inheritance, relative paths, typo rejection and what-ifs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from planner.base.errors import ScenarioError
from planner.inputs.scenario import load_scenario
from planner.inputs.whatif import apply_supplier_changes, demand_factors

REPO = Path(__file__).resolve().parents[2]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_extends_overrides_and_keeps_parent_paths(tmp_path: Path) -> None:
    write(
        tmp_path / "base" / "base.yaml",
        "name: b\ndata: ../data\nhorizon_weeks: 10\nforecast: {model: baseline, n_paths: 50}\n",
    )
    child = write(
        tmp_path / "what_if" / "child.yaml", "extends: ../base/base.yaml\nname: c\nforecast: {seed: 3}\n"
    )
    sc = load_scenario(child)
    assert sc.name == "c"
    assert sc.horizon_weeks == 10
    assert sc.data == (tmp_path / "data").resolve()  # relative to the parent that stated it
    assert sc.forecast.n_paths == 50 and sc.forecast.seed == 3  # mappings merge key by key


def test_child_path_is_relative_to_child(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", "name: a\ndata: d1\n")
    child = write(tmp_path / "sub" / "b.yaml", "extends: ../a.yaml\nname: b\ndata: d2\n")
    assert load_scenario(child).data == (tmp_path / "sub" / "d2").resolve()


def test_typo_names_file_and_key_with_suggestion(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", "name: a\ndata: d\n")
    child = write(
        tmp_path / "b.yaml", "extends: a.yaml\nname: b\nservice_levle: 0.9\nsolver: {time_limt_s: 5}\n"
    )
    with pytest.raises(ScenarioError) as exc:
        load_scenario(child)
    text = str(exc.value)
    assert "b.yaml: key 'service_levle': unknown key. Fix: did you mean 'service_level'?" in text
    assert "key 'solver.time_limt_s': unknown key. Fix: did you mean 'time_limit_s'?" in text


def test_typo_in_parent_is_attributed_to_parent(tmp_path: Path) -> None:
    parent = write(tmp_path / "a.yaml", "name: a\ndata: d\nhorizon_wekes: 3\n")
    child = write(tmp_path / "b.yaml", "extends: a.yaml\nname: b\n")
    with pytest.raises(ScenarioError) as exc:
        load_scenario(child)
    # a file reached through 'extends' is referred to by line, never quoted
    assert f"{parent}: line 3: unknown key. Fix: did you mean 'horizon_weeks'?" in str(exc.value)
    assert "horizon_wekes" not in str(exc.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: a\ndata: d\nservice_level: 1.5\n", "key 'service_level': Input should be less than 1"),
        ("name: a\n", "key 'data': required key is missing"),
        (
            "name: a\ndata: d\nplan_start: 2026-11-18\n",
            "is a Wednesday; weeks start on Monday (use 2026-11-16)",
        ),
        (
            "name: a\ndata: d\nhorizon_weeks: 3\nstorage_capacity: [1, 2]\n",
            "storage_capacity lists 2 weeks but horizon_weeks is 3",
        ),
        ("name: a\ndata: d\nforecast: {model: file}\n", "model 'file' needs 'path'"),
        ("name: a\ndata: d\nforecast: {quantiles: [0.9, 0.1]}\n", "increasing and distinct"),
        ("name: a\ndata: d\nbudget_per_week: -5\n", "must not be negative"),
        (
            "name: a\ndata: d\nsuppliers: {S: {lead_time_weeks: 2, lead_time_delta_weeks: 1}}\n",
            "give lead_time_weeks or lead_time_delta_weeks, not both",
        ),
        ("name: a\ndata: d\n  bad indent: [\n", "invalid YAML"),
        ("- just\n- a list\n", "must hold a mapping"),
    ],
)
def test_bad_scenarios(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ScenarioError) as exc:
        load_scenario(write(tmp_path / "s.yaml", text))
    assert expected in str(exc.value)


def test_extends_cycle_and_missing_parent(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", "extends: b.yaml\nname: a\ndata: d\n")
    write(tmp_path / "b.yaml", "extends: a.yaml\nname: b\n")
    with pytest.raises(ScenarioError, match="'extends' forms a cycle: a.yaml -> b.yaml -> a.yaml"):
        load_scenario(tmp_path / "a.yaml")
    write(tmp_path / "c.yaml", "extends: nowhere.yaml\nname: c\n")
    with pytest.raises(ScenarioError, match="scenario file not found"):
        load_scenario(tmp_path / "c.yaml")


def test_bundled_scenarios_load() -> None:
    names = {p.stem for p in (REPO / "scenarios").glob("*.yaml")}
    assert {"base", "high_service", "supplier_delay", "demand_surge", "tight_storage", "budget_cap"} <= names
    for path in (REPO / "scenarios").glob("*.yaml"):
        sc = load_scenario(path)
        assert sc.data == (REPO / "planner" / "sample_data").resolve()


def test_demand_scale_by_category_and_weeks() -> None:
    sc = load_scenario(REPO / "scenarios" / "demand_surge.yaml")
    items = pd.DataFrame(
        {"category": ["toys", "grocery", "garden"], "supplier": ["A", "A", "B"]},
        index=pd.Index(["t", "g", "x"], name="sku"),
    )
    weeks = pd.date_range("2026-11-16", periods=8, freq="7D")
    f = demand_factors(sc, items, weeks)
    np.testing.assert_allclose(f[0], [1, 1.4, 1.4, 1.4, 1.4, 1.4, 1.4, 1])  # 11-23 .. 12-28 inclusive
    np.testing.assert_allclose(f[1], 1.1)
    np.testing.assert_allclose(f[2], 1.0)


def test_supplier_delay_changes_lead_time() -> None:
    sc = load_scenario(REPO / "scenarios" / "supplier_delay.yaml")
    suppliers = pd.DataFrame(
        {"lead_time_weeks": [8], "order_cost": [10.0], "min_order_value": [0.0]},
        index=pd.Index(["SUP-E"], name="supplier"),
    )
    out = apply_supplier_changes(sc, suppliers)
    assert out.loc["SUP-E", "lead_time_weeks"] == 12
    assert out.loc["SUP-E", "order_cost"] == 250
