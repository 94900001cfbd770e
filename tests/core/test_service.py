"""Planning levels: the fill-rate target met on the forecast's paths, bought where it is cheapest."""

from __future__ import annotations

import numpy as np
import pytest

from planner.core.service import LEVELS, planning_levels, simulate_levels


def _lumpy(n_sku: int, n_paths: int = 300, weeks: int = 20, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    sizes = rng.integers(5, 40, size=(n_sku, n_paths, weeks))
    return (sizes * (rng.random((n_sku, n_paths, weeks)) < 0.4)).astype(float)


def _levels(paths: np.ndarray, target: float, holding: np.ndarray, scope: str = "portfolio", floors=None):
    n_sku, _, weeks = paths.shape
    return planning_levels(
        paths,
        on_hand=np.zeros(n_sku),
        open_arrivals=np.zeros((n_sku, weeks)),
        lead_time=np.full(n_sku, 2),
        pack=np.ones(n_sku),
        min_units=np.ones(n_sku),
        holding_cost=holding,
        order_cost=np.full(n_sku, 5.0),
        target=target,
        floors=np.full(n_sku, np.nan) if floors is None else floors,
        scope=scope,
    )


def test_order_up_to_on_known_demand_serves_everything_from_the_lead_time_on() -> None:
    """Demand 10 a week, lead time 2, nothing on hand, 8 weeks. Up to 30 (three weeks of demand):
    30 lands in week 2, then 10 a week; nothing is lost from week 2 on, 20 + 10 units are held at
    the ends of weeks 2 and 3, and lines go out in weeks 0, 3, 4 and 5 (later ones land too late).
    Up to 20 (two weeks of demand) 20 units are lost."""
    paths = np.full((1, 1, 8), 10.0)
    sim = simulate_levels(
        paths, np.zeros(1), np.zeros((1, 8)), np.array([2]), np.ones(1), np.ones(1), np.array([[30.0, 20.0]])
    )
    assert sim.demand[0] == pytest.approx(60.0)  # weeks 2..7
    assert sim.lost[0].tolist() == pytest.approx([0.0, 20.0])
    assert sim.held[0, 0] == pytest.approx(30.0) and sim.lines[0, 0] == pytest.approx(4.0)


@pytest.mark.parametrize("target", [0.8, 0.9, 0.97])
def test_the_portfolio_meets_its_target_on_the_paths(target: float) -> None:
    paths = _lumpy(6)
    plan = _levels(paths, target, np.linspace(0.05, 0.5, 6))
    assert plan.expected_fill >= target - 1e-9
    assert set(plan.alpha) <= set(LEVELS)


def test_service_is_bought_where_it_is_cheap() -> None:
    """Two SKUs with the same demand: the one ten times cheaper to hold gets the higher level."""
    paths = np.repeat(_lumpy(1), 2, axis=0)
    alpha = _levels(paths, 0.9, np.array([0.02, 0.2])).alpha
    assert alpha[0] > alpha[1]


def test_each_sku_meets_its_own_target_or_floor() -> None:
    paths = _lumpy(4, seed=3)
    holding = np.array([0.05, 0.5, 0.5, 0.5])
    own = _levels(paths, 0.9, holding, scope="sku")
    assert (own.sku_fill >= 0.9 - 1e-9).all()
    floors = np.array([np.nan, 0.97, np.nan, np.nan])
    floored = _levels(paths, 0.85, holding, floors=floors)
    assert floored.sku_fill[1] >= 0.97 - 1e-9 and floored.expected_fill >= 0.85 - 1e-9
