"""The per-SKU dynamic program against textbook answers, brute force and the full MIP."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest
from factories import make_data
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.optimizer.lotsizing import LotSizingInstance, max_states, solve_lot_sizing
from planner.optimizer.model import build_model, model_params, orders_from_model
from planner.optimizer.plan import model_objective
from planner.optimizer.solve import SolveStatus, solve


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
    from planner.optimizer.model.pricing import Prices
    from planner.optimizer.schedules import lot_sizing_instance, order_weeks

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
    packs, _ = solve_lot_sizing(lot_sizing_instance(data, prm, prices))
    dp_cost = model_objective(data, prm, order_weeks(data, packs))
    model = build_model(data)
    res = solve(model, mip_gap=1e-9, time_limit_s=30)
    assert res.status == SolveStatus.OPTIMAL
    assert model_objective(data, prm, orders_from_model(model, data)) == pytest.approx(
        res.objective, rel=1e-7
    )
    assert dp_cost == pytest.approx(res.objective, rel=1e-7, abs=1e-6)


def plan_cost(inst: LotSizingInstance, packs: np.ndarray) -> float:
    """The DP's objective of one SKU's arrivals ``packs[a]`` (module docstring of
    planner.optimizer.lotsizing)."""
    units = inst.pack[0] * np.cumsum(packs)
    weeks = np.arange(inst.horizon)
    stock = np.maximum(0.0, inst.cautious_base[0] + units)
    stage = (
        inst.holding[0] * units
        + np.where(
            weeks >= inst.lead_time[0], inst.penalty[0] * np.maximum(0.0, inst.requirement[0] - units), 0.0
        )
        + inst.cap_price * inst.volume[0] * stock
    )
    ordered = packs > 0
    return float(stage.sum() + (inst.fixed[0] + inst.unit[0] * inst.pack[0] * packs)[ordered].sum())


@settings(max_examples=60, deadline=None)
@given(data=st.data(), h=st.integers(2, 5), lead=st.integers(0, 2), pack=st.integers(1, 4))
def test_dp_with_limits_matches_enumeration(data, h, lead, pack) -> None:
    """Order-size caps, raised minimums, forced weeks, volume caps and storage prices: the DP's cost
    equals the best of every plan of 0..4 packs a week (within the DP's states), and its plan costs that."""
    ints = st.lists(st.integers(0, 4), min_size=h, max_size=h)
    requirement = np.cumsum(data.draw(st.lists(st.integers(0, 6), min_size=h, max_size=h))).astype(float)
    inst = dataclasses.replace(
        single(
            requirement.tolist(),
            lead=lead,
            pack=pack,
            min_packs=data.draw(st.integers(1, 2)),
            holding=data.draw(st.floats(0.1, 3)),
            penalty=data.draw(st.floats(5, 50)),
            fixed=data.draw(st.floats(0, 30)),
            unit=data.draw(st.floats(0, 2)),
        ),
        volume=np.ones(1),
        cautious_base=np.array([data.draw(st.lists(st.floats(-8, 4), min_size=h, max_size=h))]),
        cap_price=np.array(data.draw(st.lists(st.sampled_from([0.0, 0.5, 2.0]), min_size=h, max_size=h))),
        max_packs=np.array([data.draw(ints)]),
        week_min_packs=np.array([data.draw(ints)]),
        forced=np.array([data.draw(st.lists(st.booleans(), min_size=h, max_size=h))])
        & (np.arange(h) >= lead),
        extra_volume_cap=np.array(
            [data.draw(st.lists(st.sampled_from([np.inf, 4.0, 9.0]), min_size=h, max_size=h))]
        ),
    )
    n_max = int(max_states(inst)[0])
    floor = np.maximum(inst.min_packs[0], inst.week_min_packs[0])

    def allowed(packs: np.ndarray) -> bool:
        ordered = packs > 0
        units = pack * np.cumsum(packs)
        extra = np.maximum(0.0, inst.cautious_base[0] + units) - np.maximum(0.0, inst.cautious_base[0])
        return not (
            packs.sum() > n_max
            or (ordered & ~np.isfinite(inst.fixed[0])).any()
            or (ordered & ((packs < floor) | (packs > inst.max_packs[0]))).any()
            or (inst.forced[0] & ~ordered).any()
            or (extra > inst.extra_volume_cap[0] + 1e-9).any()
        )

    plans = (np.array(plan) for plan in itertools.product(range(5), repeat=h))
    best = min((plan_cost(inst, packs) for packs in plans if allowed(packs)), default=np.inf)
    got, cost = solve_lot_sizing(inst)
    assert np.isfinite(cost[0]) == np.isfinite(best) or got[0].max() > 4
    if np.isfinite(cost[0]):  # a plan allowed and costing what the DP says, no dearer than any enumerated
        assert allowed(got[0])
        assert plan_cost(inst, got[0]) == pytest.approx(cost[0], rel=1e-9, abs=1e-9)
        assert cost[0] <= best + 1e-9 * max(1.0, abs(best))


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
