"""Plan tables (planner.core.tables): the summary's simulated storage, worked by hand."""

from __future__ import annotations

import numpy as np
import pytest
from factories import make_data

from planner.core.accounting import arrivals, replay_paths
from planner.core.results import PlanStatus, PolicyResult
from planner.core.tables import purchase_plan, summary


def test_summary_reports_overflow_probability_and_expected_stock_per_week() -> None:
    # One SKU (v = 1), I0 = 4, capacity 5, storage quantile 0.2. Two paths, an order of 5 arriving
    # in week 1 (L = 1). Stock after receipts: path A (demand 3, 3, 4): 4, 6, 3; path B (6, 1, 2):
    # 4, 5, 4. Over capacity: week 1 on path A only -> probabilities 0, 0.5, 0 (0.5 > 0.2: a risky
    # week); expected stock 4, 5.5, 3.5 -> week 1 above capacity in expectation too.
    paths = np.array([[[3.0, 3, 4], [6, 1, 2]]])
    data = make_data(paths, on_hand=4, lead_time=1, capacity=5.0, storage_quantile=0.2)
    orders = np.array([[5.0, 0, 0]])
    receipts = arrivals(data, orders)
    outcome = replay_paths(data, receipts)
    result = PolicyResult("test", orders, PlanStatus.HEURISTIC)
    storage = summary(data, result, receipts, outcome, purchase_plan(data, orders))["storage"]
    assert [w["overflow_probability"] for w in storage["weeks"]] == [0.0, 0.5, 0.0]
    assert [w["expected_volume"] for w in storage["weeks"]] == pytest.approx([4.0, 5.5, 3.5])
    assert storage["overflow_probability_max"] == 0.5
    week1 = str(data.weeks[1].date())
    assert storage["weeks_overflow_above_quantile"] == [week1]
    assert storage["weeks_expected_over"] == [week1]


def test_summary_without_capacity_has_no_overflow() -> None:
    data = make_data(np.array([[[3.0, 3, 4], [6, 1, 2]]]), on_hand=4)
    orders = np.zeros((1, 3))
    receipts = arrivals(data, orders)
    result = PolicyResult("test", orders, PlanStatus.HEURISTIC)
    storage = summary(data, result, receipts, replay_paths(data, receipts), purchase_plan(data, orders))[
        "storage"
    ]
    assert storage["overflow_probability_max"] is None
    assert storage["weeks_overflow_above_quantile"] == [] and storage["weeks_expected_over"] == []
    assert [w["expected_volume"] for w in storage["weeks"]] == pytest.approx([4.0, 0.5, 0.0])
