"""The plan verifier (planner.core.verify) catches each kind of broken plan.

A sound plan comes from the classical policy on a fixed instance; each test breaks one
thing. When a mutation changes the ordered quantities, the projection is rebuilt from
the mutated lines so that only the intended rule is broken.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from factories import make_data, week_label

from planner.base.errors import PlanVerificationError
from planner.core.accounting import arrivals, replay_paths
from planner.core.problem import PlanningData
from planner.core.tables import projection_frame, purchase_plan
from planner.core.verify import plan_violations, verify_plan
from planner.policies.classical import plan_classical

# A: P0, pack 6, MOQ 12, cost 5, L 1 | B: P0, pack 4, cost 3, L 1 | C: P1, pack 1, MOQ 10, cost 2, L 2
# P0 minimum order value 150; capacity 300/week; budget 1000/week; 8 weeks.
DATA = make_data(
    np.array([[8.0] * 8, [5.0] * 8, [6.0] * 8]),
    skus=["A", "B", "C"],
    supplier_idx=[0, 0, 1],
    lead_time=[1, 1, 2],
    pack=[6, 4, 1],
    moq=[12, 0, 10],
    unit_cost=[5.0, 3.0, 2.0],
    unit_volume=[1.0, 0.5, 1.0],
    order_cost=[50.0, 20.0],
    min_order_value=[150.0, 0.0],
    on_hand=[10, 5, 15],
    capacity=300.0,
    budget=1000.0,
    holding_cost=0.05,
)


def projection_for(data: PlanningData, lines: pd.DataFrame) -> pd.DataFrame:
    """The projection the exporter would write for these lines (orders rebuilt here, not by the verifier)."""
    x = np.zeros((data.n_skus, data.horizon))
    for row in lines.itertuples():
        x[data.skus.index(row.sku), list(data.weeks.strftime("%Y-%m-%d")).index(row.order_week)] += row.units
    receipts = arrivals(data, x)
    return projection_frame(data, receipts, replay_paths(data, receipts))


@pytest.fixture(scope="module")
def sound() -> tuple[pd.DataFrame, pd.DataFrame]:
    lines = purchase_plan(DATA, plan_classical(DATA).orders)
    return lines, projection_for(DATA, lines)


def line(lines: pd.DataFrame, sku: str, week: int) -> int:
    """Row label of the plan line for ``sku`` ordered in week ``week``."""
    hit = lines.index[(lines["sku"] == sku) & (lines["order_week"] == week_label(week))]
    assert len(hit) == 1, f"the sound plan has no single {sku} line in week {week}:\n{lines}"
    return int(hit[0])


def violations_after(lines: pd.DataFrame, data: PlanningData = DATA) -> list[str]:
    return plan_violations(data, lines, projection_for(data, lines))


def test_sound_plan_passes(sound) -> None:
    lines, projection = sound
    # the fixture exercises what the mutations need: two P0 lines in week 0, C lines in weeks 0 and 3
    assert {(r.sku, r.order_week) for r in lines.itertuples()} >= {
        ("A", week_label(0)),
        ("B", week_label(0)),
        ("C", week_label(0)),
        ("C", week_label(3)),
    }
    assert plan_violations(DATA, lines, projection) == []
    assert verify_plan(DATA, lines, projection) is None


def test_units_not_a_multiple_of_the_pack(sound) -> None:
    lines = sound[0].copy()
    i = line(lines, "A", 0)
    lines.loc[i, "units"] -= 1  # 131 units, still 22 packs of 6
    assert violations_after(lines) == ["A: 131 units is not packs x pack size"]


def test_fractional_packs(sound) -> None:
    lines = sound[0].copy().astype({"packs": float, "units": float})
    i = line(lines, "B", 0)
    lines.loc[i, "packs"] -= 0.5  # 24.5 packs of 4 = 98 units: consistent units, fractional packs
    lines.loc[i, "units"] = lines.loc[i, "packs"] * 4
    assert violations_after(lines) == ["B: 24.5 is not a whole number of packs"]


def test_below_moq(sound) -> None:
    lines = sound[0].copy()
    i = line(lines, "C", 0)
    lines.loc[i, ["units", "packs"]] = [5, 5]  # MOQ 10
    assert violations_after(lines) == [f"C {week_label(0)}: 5 units below the minimum order 10"]


def test_wrong_arrival_week(sound) -> None:
    lines, projection = sound[0].copy(), sound[1]
    i = line(lines, "A", 0)
    lines.loc[i, "arrival_week"] = week_label(2)  # L = 1: should be week 1
    assert plan_violations(DATA, lines, projection) == ["A: arrival_week is not order_week + lead time"]


def test_arrival_beyond_horizon(sound) -> None:
    lines = sound[0].copy()
    i = line(lines, "C", 3)
    lines.loc[i, ["order_week", "arrival_week"]] = [week_label(6), week_label(8)]  # L = 2, H = 8
    assert violations_after(lines) == ["orders arriving after the horizon"]


def test_duplicate_line(sound) -> None:
    lines = sound[0]
    doubled = pd.concat([lines, lines.loc[[line(lines, "C", 3)]]], ignore_index=True)
    assert violations_after(doubled) == ["more than one line for the same SKU and week"]


def test_capacity_exceeded(sound) -> None:
    data = dataclasses.replace(DATA, budget=None)
    lines = sound[0].copy()
    assert violations_after(lines, data) == []
    i = line(lines, "C", 3)
    lines.loc[i, ["units", "packs"]] += 200  # lands in week 5, storage peaks at 217 + 200 > 300
    problems = violations_after(lines, data)
    assert problems
    assert all("above capacity 300" in p for p in problems)
    assert problems[0].startswith(f"week {week_label(5)}: storage ")


def test_budget_exceeded(sound) -> None:
    data = dataclasses.replace(DATA, capacity=None)
    lines = sound[0].copy()
    i = line(lines, "B", 0)
    lines.loc[i, ["units", "packs"]] += [4, 1]  # week-0 spend was exactly the 1000 budget; +12
    assert violations_after(lines, data) == [f"week {week_label(0)}: spend 1012.00 above budget 1000.00"]


def test_supplier_order_below_minimum_value(sound) -> None:
    lines = sound[0].copy()
    lines.loc[line(lines, "A", 0), ["units", "packs"]] = [12, 2]  # 60
    lines.loc[line(lines, "B", 0), ["units", "packs"]] = [4, 1]  # 12 -> P0 order worth 72 < 150
    assert violations_after(lines) == [
        f"week {week_label(0)}: order to P0 worth 72.00 is below its minimum order value 150.00"
    ]


def test_projection_arrivals_tampered(sound) -> None:
    lines, projection = sound[0], sound[1].copy()
    row = projection.index[(projection["sku"] == "B") & (projection["week"] == week_label(1))][0]
    projection.loc[row, "arrivals"] += 1
    assert plan_violations(DATA, lines, projection) == [
        "projection arrivals differ from open orders plus planned orders shifted by lead time"
    ]


def test_inventory_balance_tampered_end(sound) -> None:
    lines, projection = sound[0], sound[1].copy()
    row = projection.index[(projection["sku"] == "A") & (projection["week"] == week_label(2))][0]
    projection.loc[row, "on_hand_end"] += 5
    problems = plan_violations(DATA, lines, projection)
    assert "inventory balance broken: on_hand_end != max(0, on_hand_start - demand_mean)" in problems
    # week 3 now starts from a different previous end
    assert "inventory balance broken: on_hand_start != previous on_hand_end + arrivals" in problems
    assert len(problems) == 2


def test_inventory_balance_tampered_start_last_week(sound) -> None:
    lines, projection = sound[0], sound[1].copy()
    row = projection.index[(projection["sku"] == "C") & (projection["week"] == week_label(7))][0]
    projection.loc[row, ["on_hand_start", "on_hand_end"]] += 3  # end still = start - demand
    assert plan_violations(DATA, lines, projection) == [
        "inventory balance broken: on_hand_start != previous on_hand_end + arrivals"
    ]


def test_unknown_sku_and_week_outside_horizon(sound) -> None:
    lines = sound[0].copy()
    lines.loc[line(lines, "A", 0), "sku"] = "ZZ"
    assert plan_violations(DATA, lines, sound[1])[0].startswith("unknown SKUs in plan: ['ZZ']")
    lines = sound[0].copy()
    lines.loc[line(lines, "C", 3), "order_week"] = "2023-12-25"
    assert plan_violations(DATA, lines, sound[1]) == ["order weeks outside the planning horizon"]


def test_verify_plan_raises_with_every_problem_listed(sound) -> None:
    lines, projection = sound[0].copy(), sound[1].copy()
    lines.loc[line(lines, "A", 0), "arrival_week"] = week_label(3)
    projection.loc[projection.index[0], "arrivals"] += 1
    with pytest.raises(PlanVerificationError) as err:
        verify_plan(DATA, lines, projection)
    text = str(err.value)
    assert "breaks 2 hard rule(s)" in text
    assert "- A: arrival_week is not order_week + lead time" in text
    assert "- projection arrivals differ" in text


def test_wrong_supplier_on_a_line(sound) -> None:
    lines, projection = sound
    bad = lines.copy()
    bad.loc[line(bad, "C", 0), "supplier"] = "P0"
    assert plan_violations(DATA, bad, projection) == ["C: supplier P0 is not the SKU's supplier P1"]


def test_projection_rows_matched_by_key_not_position(sound) -> None:
    lines, projection = sound
    shuffled = projection.sample(frac=1.0, random_state=0)
    assert plan_violations(DATA, lines, shuffled) == []
    assert plan_violations(DATA, lines, projection.iloc[1:]) == [
        "projection does not hold exactly one row per SKU and week of the horizon"
    ]
