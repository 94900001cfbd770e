"""Classical KPI formulas (planner.policies.kpis) against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from factories import make_data

from planner.policies.kpis import (
    annual_holding_cost,
    demand_moments,
    eoq,
    inventory_turnover,
    order_quantity,
    reorder_point,
    safety_stock,
    sku_kpis,
)

Z95 = 1.6448536269514722  # Phi^-1(0.95)


def test_eoq_textbook_value() -> None:
    # sqrt(2 * K * D / H) = sqrt(2 * 50 * 1000 / 2) = sqrt(50000) = 223.6068
    assert eoq(1000.0, 50.0, 2.0) == pytest.approx(223.6068, abs=1e-4)


def test_eoq_is_vectorised_per_sku() -> None:
    # sqrt(2*50*1000/2) = 223.607; sqrt(2*8*200/1) = sqrt(3200) = 56.569; sqrt(2*0*500/4) = 0
    out = eoq(np.array([1000.0, 200.0, 500.0]), np.array([50.0, 8.0, 0.0]), np.array([2.0, 1.0, 4.0]))
    np.testing.assert_allclose(out, [223.6068, 56.5685, 0.0], atol=1e-4)


def test_eoq_with_free_holding_orders_a_year_of_demand() -> None:
    # H = 0: holding is free, EOQ = D (no division-by-zero inf/nan leaks out)
    out = eoq(np.array([1000.0, 300.0]), np.array([50.0, 10.0]), np.array([0.0, 3.0]))
    # second SKU: sqrt(2*10*300/3) = sqrt(2000) = 44.721
    np.testing.assert_allclose(out, [1000.0, 44.7214], atol=1e-4)


def test_safety_stock_over_lead_time_plus_review() -> None:
    # z * sigma * sqrt(L + 1): 1.644854 * 10 * sqrt(3 + 1) = 32.89707
    assert safety_stock(Z95, 10.0, 3) == pytest.approx(32.89707, abs=1e-4)
    # L = 0 still protects the one-week review period: 1.644854 * 4 * 1 = 6.579414
    assert safety_stock(Z95, 4.0, 0) == pytest.approx(6.579414, abs=1e-5)


def test_reorder_point_covers_lead_time_plus_review() -> None:
    # mu * (L + 1) + SS = 20 * (3 + 1) + 32.89707 = 112.89707
    assert reorder_point(20.0, 3, 32.89707) == pytest.approx(112.89707)
    np.testing.assert_allclose(
        reorder_point(np.array([5.0, 0.0]), np.array([0, 2]), np.array([1.0, 3.0])), [5.0 * 1 + 1.0, 3.0]
    )


def test_inventory_turnover_and_annual_holding() -> None:
    # average inventory Q/2 + SS = 200/2 + 50 = 150; turns D / 150 = 1000 / 150 = 6.6667
    avg = 200.0 / 2 + 50.0
    assert inventory_turnover(1000.0, avg) == pytest.approx(6.666667, abs=1e-6)
    # H * (Q/2 + SS) = 2 * 150 = 300 per year
    assert annual_holding_cost(2.0, avg) == pytest.approx(300.0)
    # no stock on average: turnover undefined (nan), not inf
    assert np.isnan(inventory_turnover(np.array([1000.0]), np.array([0.0]))[0])


@pytest.mark.parametrize(
    ("q", "min_units", "pack", "expected"),
    [
        (223.607, 12.0, 10.0, 230.0),  # ceil(22.36) packs of 10
        (5.0, 20.0, 10.0, 20.0),  # below the MOQ: raised to the MOQ (2 packs)
        (40.0, 20.0, 10.0, 40.0),  # already whole packs: unchanged, not one pack more
        (0.0, 6.0, 6.0, 6.0),  # nothing wanted: still at least one pack/MOQ
        (13.0, 12.0, 12.0, 24.0),  # one unit over a pack rounds up to two packs
        (5.0, 15.0, 10.0, 20.0),  # a raw MOQ of 15 is itself rounded up to whole packs
    ],
)
def test_order_quantity_rounds_to_packs_and_moq(
    q: float, min_units: float, pack: float, expected: float
) -> None:
    assert order_quantity(np.array([q]), np.array([min_units]), np.array([pack]))[0] == expected


def test_sku_kpis_deterministic_demand() -> None:
    # S0: 10/week, L = 2, K = 30 (supplier) + 5 (line) = 35, h = 0.05/week -> H = 2.6/year,
    #     pack 12, MOQ 50 -> 60 units (5 packs), on hand 45.
    # S1: no demand. S2: 8/week (for the supplier's second SKU), pack 1, MOQ 0.
    demand = np.array([[10.0] * 6, [0.0] * 6, [8.0] * 6])
    data = make_data(
        demand,
        supplier_idx=[0, 0, 1],
        lead_time=[2, 2, 0],
        pack=[12, 1, 1],
        moq=[50, 0, 0],
        holding_cost=[0.05, 0.05, 0.1],
        line_cost=[5.0, 5.0, 0.0],
        order_cost=[30.0, 20.0],
        on_hand=[45.0, 7.0, 0.0],
        service_level=0.95,
    )
    k = sku_kpis(data).set_index("sku")
    s0 = k.loc["S0"]
    assert s0["supplier"] == "P0"
    assert s0["mean_weekly_demand"] == pytest.approx(10.0)
    assert s0["sd_weekly_demand"] == 0.0  # one path: sigma = 0
    assert s0["z"] == pytest.approx(Z95)
    assert s0["annual_demand"] == pytest.approx(520.0)  # 10 * 52
    assert s0["order_cost"] == pytest.approx(35.0)
    assert s0["holding_cost_per_unit_year"] == pytest.approx(2.6)  # 0.05 * 52
    assert s0["eoq"] == pytest.approx(math.sqrt(14000.0))  # sqrt(2*35*520/2.6) = 118.3216
    assert s0["order_quantity"] == 120.0  # ceil(118.32 / 12) = 10 packs; above the 60-unit MOQ
    assert s0["safety_stock"] == 0.0  # sigma = 0 -> SS = 0
    assert s0["reorder_point"] == pytest.approx(30.0)  # 10 * (2 + 1) + 0
    assert s0["average_inventory"] == pytest.approx(60.0)  # 120/2 + 0
    assert s0["inventory_turnover"] == pytest.approx(520.0 / 60.0)  # 8.6667
    assert s0["annual_holding_cost"] == pytest.approx(156.0)  # 2.6 * 60
    assert s0["annual_ordering_cost"] == pytest.approx(35.0 * 520.0 / 120.0)  # 151.667
    assert s0["weeks_of_cover"] == pytest.approx(4.5)  # 45 / 10

    s1 = k.loc["S1"]  # no demand: no lot, no turnover, infinite cover
    assert s1["order_quantity"] == 0.0
    assert s1["annual_ordering_cost"] == 0.0
    assert np.isnan(s1["inventory_turnover"])
    assert s1["weeks_of_cover"] == np.inf

    s2 = k.loc["S2"]  # K = 20 (supplier P1), H = 5.2: sqrt(2*20*416/5.2) = sqrt(3200) = 56.569 -> 57
    assert s2["order_cost"] == pytest.approx(20.0)
    assert s2["eoq"] == pytest.approx(math.sqrt(3200.0))
    assert s2["order_quantity"] == 57.0
    assert s2["reorder_point"] == pytest.approx(8.0)  # L = 0: one review week of demand


def test_sku_kpis_uses_path_spread_for_safety_stock() -> None:
    # two flat paths, 10/week and 14/week: each week the paths differ by 4 -> population variance
    # 4 -> sigma 2 (the spread across paths, not over time: each path alone is constant); mean 12.
    # SS = 1.644854 * 2 * sqrt(1 + 1) = 4.652349; ROP = 12 * 2 + 4.652349 = 28.652349.
    paths = np.array([[[10.0, 10.0, 10.0, 10.0], [14.0, 14.0, 14.0, 14.0]]])
    data = make_data(paths, lead_time=1, service_level=0.95)
    mu, sigma = demand_moments(data)
    assert mu[0] == pytest.approx(12.0)
    assert sigma[0] == pytest.approx(2.0)
    row = sku_kpis(data).iloc[0]
    assert row["safety_stock"] == pytest.approx(4.652349, abs=1e-6)
    assert row["reorder_point"] == pytest.approx(28.652349, abs=1e-6)
