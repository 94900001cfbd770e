"""The per-SKU dynamic program against textbook answers, brute force and the full MIP."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest
from factories import make_data
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.lotsizing import LotSizingInstance, solve_lot_sizing
from planner.model import build_model, model_params, orders_from_model
from planner.optimizer import model_objective
from planner.solve import SolveStatus, solve


def single(requirement, *, lead=0, pack=1.0, min_packs=1, holding=1.0, penalty=1e6, fixed=100.0, unit=0.0):
    """One SKU whose net cumulative requirement is ``requirement``."""
    h = len(requirement)
    fixed_arr = np.full((1, h), float(fixed))
    fixed_arr[0, :lead] = np.inf
    return LotSizingInstance(
        lead_time=np.array([lead]),
        pack=np.array([float(pack)]),
        min_packs=np.array([min_packs]),
        requirement=np.array([requirement], dtype=float),
        holding=np.array([holding]),
        penalty=np.array([penalty]),
        fixed=fixed_arr,
        unit=np.full((1, h), float(unit)),
        volume=np.zeros(1),
        cautious_base=np.zeros((1, h)),
        cap_price=np.zeros(h),
    )


def brute_force(req: np.ndarray, fixed: float, holding: float, pack: int, min_units: int, lead: int) -> float:
    """Cheapest plan over every set of arrival weeks >= lead, each order the least whole-pack quantity
    (at least the MOQ) covering the requirement until the next order: for a fixed set of weeks this
    keeps cumulative supply lowest in every week, hence cost lowest. Infeasible sets are skipped."""
    h = len(req)
    best = np.inf
    for k in range(h - lead + 1):
        for weeks in itertools.combinations(range(lead, h), k):
            cum, cost, supply = 0.0, fixed * k, np.zeros(h)
            for i, a in enumerate(weeks):
                until = weeks[i + 1] - 1 if i + 1 < k else h - 1
                need = max(req[a : until + 1].max() - cum, 0.0)
                qty = max(np.ceil(need / pack), np.ceil(min_units / pack)) * pack
                cum += qty
                supply[a:] += qty
            if (supply[lead:] >= req[lead:] - 1e-9).all():
                best = min(best, cost + holding * supply.sum())
    return best


def test_snyder_shen_example_3_9() -> None:
    """Demand 90, 120, 80, 70; K = 500; h = 2: optimum 1380, orders 210 (week 1) and 150 (week 3).

    The DP charges h on planned units to the horizon's end, 2 * (210 + 210 + 360 + 360) = 2280; holding
    on end stock subtracts the constant h * sum_t D[1..t] = 2 * 950 = 1900: 2280 - 1900 + 2 * 500 = 1380.
    """
    packs, cost = solve_lot_sizing(single([90, 210, 290, 360], holding=2.0, fixed=500.0))
    assert packs.tolist() == [[210, 0, 150, 0]]
    assert cost[0] - 1900 == pytest.approx(1380)


@pytest.mark.parametrize(
    ("demand", "fixed", "holding", "expected", "orders"),
    [
        # K = 54, h = 0.4, by hand: 10+62+12 = 84 in week 1 (holding 0.4*(62 + 2*12) = 34.4 < 54),
        # then 130 in week 4 and 154 in week 5 (holding 154 a week, 61.6, costs more than an order):
        # 3*54 + 34.4 = 196.4
        ([10, 62, 12, 130, 154], 54.0, 0.4, 196.4, [84, 0, 0, 130, 154]),
        # one order is best when holding is cheap: K = 100, h = 0.1, demand 10 x 4
        ([10, 10, 10, 10], 100.0, 0.1, 100 + 0.1 * (30 + 20 + 10), [40, 0, 0, 0]),
        # an order every week when holding is dear: K = 1, h = 10
        ([5, 5, 5], 1.0, 10.0, 3.0, [5, 5, 5]),
    ],
)
def test_textbook_wagner_whitin(demand, fixed, holding, expected, orders) -> None:
    req = np.cumsum(demand).astype(float)
    packs, cost = solve_lot_sizing(single(req.tolist(), holding=holding, fixed=fixed))
    assert packs[0].tolist() == orders
    assert cost[0] - holding * req.sum() == pytest.approx(expected)
    assert cost[0] == pytest.approx(brute_force(req, fixed, holding, 1, 1, 0))


@settings(max_examples=80, deadline=None)
@given(
    demand=st.lists(st.integers(0, 30), min_size=2, max_size=7),
    fixed=st.floats(1, 200),
    holding=st.floats(0.01, 5),
    pack=st.integers(1, 12),
    moq=st.integers(0, 40),
    lead=st.integers(0, 2),
)
def test_dp_matches_brute_force(demand, fixed, holding, pack, moq, lead) -> None:
    req = np.cumsum(demand).astype(float)
    if lead >= len(req):
        return
    min_packs = max(1, int(np.ceil(moq / pack)))
    _, cost = solve_lot_sizing(
        single(req.tolist(), lead=lead, pack=pack, min_packs=min_packs, holding=holding, fixed=fixed)
    )
    assert cost[0] == pytest.approx(brute_force(req, fixed, holding, pack, moq, lead), rel=1e-9, abs=1e-6)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    demand=st.lists(st.integers(0, 25), min_size=3, max_size=8),
    on_hand=st.integers(0, 30),
    pack=st.integers(1, 10),
    moq=st.integers(0, 30),
    lead=st.integers(0, 3),
    order_cost=st.floats(5, 300),
    holding=st.floats(0.05, 3),
    unit_cost=st.floats(0, 20),
)
def test_dp_matches_the_mip_on_one_sku(
    demand, on_hand, pack, moq, lead, order_cost, holding, unit_cost
) -> None:
    """The DP through the optimiser's instance equals the full MIP's optimum (lead time, MOQ, packs)."""
    from planner.model.pricing import Prices
    from planner.optimizer import _instance, _to_order_weeks

    data = make_data(
        np.array([demand], dtype=float),
        lead_time=lead,
        pack=pack,
        moq=moq,
        on_hand=on_hand,
        order_cost=order_cost,
        holding_cost=holding,
        unit_cost=unit_cost,
    )
    prm = model_params(data)
    prices = dataclasses.replace(Prices.zero(data), pi=np.full((1, data.horizon), order_cost))
    packs, _ = solve_lot_sizing(_instance(data, prm, prices))
    dp_cost = model_objective(data, prm, _to_order_weeks(data, packs))
    model = build_model(data)
    res = solve(model, mip_gap=1e-9, time_limit_s=30)
    assert res.status == SolveStatus.OPTIMAL
    assert model_objective(data, prm, orders_from_model(model, data)) == pytest.approx(
        res.objective, rel=1e-7
    )
    assert dp_cost == pytest.approx(res.objective, rel=1e-7, abs=1e-6)


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.floats(-100, 100), min_size=1, max_size=40),
    data=st.data(),
)
def test_range_min_matches_a_loop(values, data) -> None:
    from planner.lotsizing import _range_min

    w = np.array([values])
    width = w.shape[1]
    lo = np.array([data.draw(st.lists(st.integers(0, width - 1), min_size=width, max_size=width))])
    span = np.array([data.draw(st.lists(st.integers(0, width), min_size=width, max_size=width))])
    hi = np.minimum(lo + span, width - 1)
    got_v, got_a = _range_min(w, lo, hi)
    for j in range(width):
        seg = w[0, lo[0, j] : hi[0, j] + 1]
        assert got_v[0, j] == seg.min()
        assert got_a[0, j] == lo[0, j] + int(np.argmin(seg))  # smallest argmin


def test_hard_limits_are_respected() -> None:
    """Requirement 30 by week 1; an order may bring at most 2 packs of 10 and add at most 15 volume units."""
    inst = single([0, 30, 30, 30], pack=10.0, fixed=5.0, holding=0.1)
    h = 4
    limited = LotSizingInstance(
        **{
            **inst.__dict__,
            "max_packs": np.full((1, h), 2),
            "extra_volume_cap": np.full((1, h), np.inf),
            "volume": np.ones(1),
        }
    )
    packs, _ = solve_lot_sizing(limited)
    assert packs.max() <= 2 and packs[0, :2].sum() == 3  # 30 units by week 1 needs two orders
    tight = LotSizingInstance(
        **{**inst.__dict__, "extra_volume_cap": np.full((1, h), 15.0), "volume": np.ones(1)}
    )
    packs, cost = solve_lot_sizing(tight)
    assert packs.sum() == 1  # storage holds one pack: the rest is short, at the penalty
    assert cost[0] > 1e6
