"""Uncertain supplier lead times: known answers for planning, deliveries in simulation."""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import pytest
from factories import make_data

from planner.core.leadtime import delay_distribution, delayed_receipts, draw_delays, lead_time_cumulative
from planner.evaluation.simulate import simulate
from planner.policies.kpis import safety_stock


def test_delays_are_a_discretised_normal_never_before_the_order() -> None:
    k, p = delay_distribution(1.5)
    assert p.sum() == pytest.approx(1.0) and (k == -k[::-1]).all()
    assert float((p * k**2).sum()) == pytest.approx(1.5**2, rel=0.02)
    assert delay_distribution(0.0)[0].tolist() == [0]
    drawn = draw_delays(np.array([3.0, 0.0]), np.array([2, 5]), (10_000,), np.random.default_rng(0))
    assert drawn[0].min() == -2 and drawn[0].max() > 2 and (drawn[1] == 0).all()


def test_textbook_safety_stock_with_an_uncertain_lead_time() -> None:
    """z sqrt((L+1) sigma^2 + mu^2 sigma_L^2): mu 100, sigma 20, L 4, sigma_L 1 -> 1.645 sqrt(12000)."""
    z = NormalDist().inv_cdf(0.95)
    assert safety_stock(z, 20.0, 4, mu=100.0, lead_time_sd=1.0) == pytest.approx(z * np.sqrt(12_000.0))
    assert safety_stock(z, 20.0, 4) == pytest.approx(z * 20.0 * np.sqrt(5.0))


def test_demand_over_an_uncertain_lead_time_matches_the_normal_approximation() -> None:
    """Normal weekly demand (mu 100, sigma 20), lead time 4 weeks with sigma_L 1: the 0.95 quantile of
    demand over the lead time plus a week is mu (L+1) + z sqrt((L+1) sigma^2 + mu^2 var(delta))."""
    rng = np.random.default_rng(1)
    paths = rng.normal(100.0, 20.0, size=(1, 40_000, 12))
    cum = lead_time_cumulative(paths, np.array([1.0]), np.array([4]), seed=2)
    k, p = delay_distribution(1.0)
    var_delta = float((p * k**2).sum())
    z = NormalDist().inv_cdf(0.95)
    expected = 100.0 * 5 + z * np.sqrt(5 * 20.0**2 + 100.0**2 * var_delta)
    assert np.quantile(cum[0, :, 4], 0.95) == pytest.approx(expected, rel=0.01)
    certain = lead_time_cumulative(paths, np.array([0.0]), np.array([4]))
    assert np.quantile(certain[0, :, 4], 0.95) == pytest.approx(500 + z * 20 * np.sqrt(5), rel=0.01)


def test_late_deliveries_land_later_and_cost_service_in_simulation() -> None:
    orders = np.zeros((1, 6))
    orders[0, 0] = 10.0
    delays = np.array([[[0, 2]] + [[0, 0]] * 5])  # [S=1, H=6, N=2]: path 1's line is two weeks late
    receipts = delayed_receipts(orders, np.array([1]), delays)
    assert receipts[0, 0].tolist() == [0, 10, 0, 0, 0, 0] and receipts[0, 1].tolist() == [0, 0, 0, 10, 0, 0]
    data = make_data(np.array([[0.0, 5, 5, 0, 0, 0]]), lead_time=1)
    on_time = simulate(data, orders, np.array([[[0.0, 5, 5, 0, 0, 0]]]), delays=np.zeros((1, 6, 1), int))
    late = simulate(data, orders, np.array([[[0.0, 5, 5, 0, 0, 0]]]), delays=delays[:, :, 1:])
    assert on_time.paths["fill_rate"].iloc[0] == 1.0 and late.paths["fill_rate"].iloc[0] == 0.0
