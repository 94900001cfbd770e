"""Stock and cost accounting (planner.core.accounting) on weeks worked by hand."""

from __future__ import annotations

import numpy as np
import pytest
from factories import make_data
from hypothesis import given
from hypothesis import strategies as st

from planner.core.accounting import (
    PathOutcome,
    arrivals,
    cautious_stock,
    cost_breakdown,
    mean_projection,
    order_events,
    planned_arrivals,
    replay_paths,
    slow_stock,
    storage_volume,
)


def test_planned_arrivals_shift_by_lead_time_and_drop_past_horizon() -> None:
    # H = 5. S0: L = 2; orders w0: 10 -> w2, w2: 5 -> w4, w3: 7 -> w5 (past horizon), w4: 3 -> w6 (past).
    #        S1: L = 0; order w1: 4 arrives w1.  S2: L = 5 = H: nothing can land.
    data = make_data(np.ones((3, 5)), lead_time=[2, 0, 5])
    orders = np.array([[10.0, 0, 5, 7, 3], [0, 4, 0, 0, 0], [9, 9, 0, 0, 0]])
    np.testing.assert_array_equal(
        planned_arrivals(data, orders), [[0, 0, 10, 0, 5], [0, 4, 0, 0, 0], [0, 0, 0, 0, 0]]
    )


def test_arrivals_add_open_orders() -> None:
    # open orders: S0 6 units in w1; S1 2 units in w0 and w3. Planned: S0 w0 10 (L=1 -> w1), S1 w2 4 (L=0).
    open_ = np.array([[0.0, 6, 0, 0], [2, 0, 0, 2]])
    data = make_data(np.ones((2, 4)), lead_time=[1, 0], open_arrivals=open_)
    orders = np.array([[10.0, 0, 0, 0], [0, 0, 4, 0]])
    np.testing.assert_array_equal(arrivals(data, orders), [[0, 16, 0, 0], [2, 0, 4, 2]])


def test_mean_projection_lost_sales_never_negative() -> None:
    # I0 = 5, mean demand 3, 4, 2, 6, receipts 0, 0, 6, 0:
    # w0: start 5, end 2 | w1: start 2, end 0 (2 lost) | w2: start 6, end 4 | w3: start 4, end 0 (2 lost)
    data = make_data(np.array([[3.0, 4, 2, 6]]), on_hand=5)
    start, end = mean_projection(data, np.array([[0.0, 0, 6, 0]]))
    np.testing.assert_array_equal(start, [[5, 2, 6, 4]])
    np.testing.assert_array_equal(end, [[2, 0, 4, 0]])


def test_replay_paths_two_paths_by_hand() -> None:
    # I0 = 4, receipts 0, 5, 0.
    # path A demand 3, 3, 4: w0 4->1 | w1 1+5=6 -> 3 | w2 3 - 4: 1 lost, end 0
    # path B demand 6, 1, 2: w0 4 - 6: 2 lost, end 0 | w1 0+5=5 -> 4 | w2 4 -> 2
    paths = np.array([[[3.0, 3, 4], [6, 1, 2]]])
    data = make_data(paths, on_hand=4)
    out = replay_paths(data, np.array([[0.0, 5, 0]]))
    np.testing.assert_allclose(out.end_stock, [[0.5, 3.5, 1.0]])  # (1+0)/2, (3+4)/2, (0+2)/2
    np.testing.assert_allclose(out.short, [[1.0, 0.0, 0.5]])  # (0+2)/2, 0, (1+0)/2
    np.testing.assert_allclose(out.stockout_prob, [[0.5, 0.0, 0.5]])
    np.testing.assert_allclose(out.demand, [[4.5, 2.0, 3.0]])
    # volume after receipts per week and path (v = 1): A 4, 6, 3; B 4, 5, 4
    np.testing.assert_allclose(out.storage, [[4, 4], [6, 5], [3, 4]])


def test_replay_paths_keeps_skus_apart() -> None:
    # S0 as above; S1 has plenty (I0 = 100): no loss, end stock falls by the mean demand.
    paths = np.array([[[3.0, 3, 4], [6, 1, 2]], [[1, 1, 1], [3, 3, 3]]])
    data = make_data(paths, on_hand=[4, 100])
    out = replay_paths(data, np.array([[0.0, 5, 0], [0, 0, 0]]))
    np.testing.assert_allclose(out.end_stock[1], [98, 96, 94])
    np.testing.assert_allclose(out.short[1], 0.0)
    np.testing.assert_allclose(out.short[0], [1.0, 0.0, 0.5])


def test_cost_breakdown_purchase_orders_lines_holding_shortage() -> None:
    # S0, S1 from P0 (K = 100), S2 from P1 (K = 40). Unit costs 2, 5, 1; line costs 3, 4, 0.5.
    # Orders: S0 w0 10 and w2 6; S1 w0 4; S2 w0 8.
    data = make_data(
        np.ones((3, 3)),
        supplier_idx=[0, 0, 1],
        unit_cost=[2.0, 5.0, 1.0],
        line_cost=[3.0, 4.0, 0.5],
        order_cost=[100.0, 40.0],
        holding_cost=[0.1, 0.2, 0.0],
        shortage_cost=[7.0, 9.0, 1.0],
    )
    orders = np.array([[10.0, 0, 6], [4, 0, 0], [8, 0, 0]])
    end = np.array([[1.0, 2, 0], [0, 0, 3], [5, 5, 5]])
    short = np.array([[0.0, 0.5, 0], [1, 0, 0], [0, 0, 2]])
    outcome = PathOutcome(end, short, np.zeros((3, 3)), np.ones((3, 3)))
    costs = cost_breakdown(data, orders, outcome)
    assert costs["purchase"] == pytest.approx(2 * 16 + 5 * 4 + 1 * 8)  # 60
    # POs: P0 in w0 (two lines, one PO) and w2; P1 in w0 -> 100 + 100 + 40
    assert costs["ordering_purchase_orders"] == pytest.approx(240.0)
    assert costs["ordering_lines"] == pytest.approx(3 + 3 + 4 + 0.5)  # one per line: 10.5
    assert costs["ordering"] == pytest.approx(250.5)
    assert costs["holding"] == pytest.approx(0.1 * 3 + 0.2 * 3 + 0.0 * 15)  # 0.9
    assert costs["shortage"] == pytest.approx(7 * 0.5 + 9 * 1 + 1 * 2)  # 14.5
    assert costs["total"] == pytest.approx(60 + 250.5 + 0.9 + 14.5)
    assert costs["total_excluding_purchase"] == pytest.approx(250.5 + 0.9 + 14.5)
    y, z = order_events(data, orders)
    np.testing.assert_array_equal(z, [[True, False, True], [True, False, False]])
    assert int(y.sum()) == 4


def test_storage_volume_on_the_cautious_basis() -> None:
    # storage quantile 0.2. S0 paths (2,2,2) and (4,6,4): cumulative (2,4,6) and (4,10,14);
    #   their 0.2 quantile (linear) 2.4, 5.2, 7.6 -> sold before week t: 0, 2.4, 5.2.
    #   I0 = 10, receipts 0, 3, 0 -> supply 10, 13, 13 -> cautious 10, 10.6, 7.8; v = 0.5 -> 5, 5.3, 3.9
    # S1 both paths 5/week. I0 = 4, receipts 0, 0, 8: week 0 sells 4 and loses 1, week 1 has
    #   nothing and loses 5, so the 8 units of week 2 land on an empty shelf -> 4, 0, 8 (backorder
    #   arithmetic, supply 12 less 10 sold before, would say 2); v = 2 -> 8, 0, 16
    paths = np.array([[[2.0, 2, 2], [4, 6, 4]], [[5, 5, 5], [5, 5, 5]]])
    data = make_data(paths, on_hand=[10, 4], unit_volume=[0.5, 2.0], storage_quantile=0.2)
    receipts = np.array([[0.0, 3, 0], [0, 0, 8]])
    np.testing.assert_allclose(cautious_stock(data, receipts), [[10, 10.6, 7.8], [4, 0, 8]])
    np.testing.assert_allclose(storage_volume(data, receipts), [13.0, 5.3, 19.9])
    # the mean basis would differ: S0 mean demand 3, 4, 3 -> mean stock after receipts 10, 10, 6
    start, _ = mean_projection(data, receipts)
    assert not np.allclose(start[0], [10, 10.6, 7.8])


def test_slow_sales_lost_before_the_first_arrival_do_not_use_up_receipts() -> None:
    """I0 = 0, lead time 2, 10 a week for sure: weeks 0 and 1 lose their demand, so the 10 units
    arriving in week 2 are on the shelf (the backorder arithmetic said 10 - 20 -> 0); with I0 = 15,
    5 units are lost in week 1 and 10 + 15 - 20 + 5 = 10 units stand there after receipts."""
    demand = np.full((2, 4), 10.0)
    data = make_data(demand, on_hand=[0.0, 15.0], lead_time=2, storage_quantile=0.2)
    receipts = np.array([[0.0, 0, 10, 10], [0, 0, 10, 10]])
    np.testing.assert_allclose(cautious_stock(data, receipts), [[0, 0, 10, 10], [15, 5, 10, 10]])


@given(
    st.lists(st.integers(0, 20), min_size=1, max_size=8).flatmap(
        lambda d: st.tuples(
            st.just(d),
            st.lists(st.integers(0, 30), min_size=len(d), max_size=len(d)),
            st.integers(0, 30),
        )
    )
)
def test_slow_stock_is_the_lost_sales_recursion(case) -> None:
    """The closed form equals the week-by-week replay: stock after receipts ``s_t = A_t + max(0,
    s_{t-1} - d_{t-1})``; a plan that never runs out is ``supply - demand before``."""
    demand, receipts, on_hand = (np.array(v, dtype=float) for v in case)
    supply = on_hand + np.cumsum(receipts)
    stock, expected = 0.0, []
    for t in range(len(demand)):
        stock = receipts[t] + (on_hand if t == 0 else max(0.0, stock - demand[t - 1]))
        expected.append(stock)
    got = slow_stock(supply, np.cumsum(demand), 0.0)
    np.testing.assert_allclose(got, expected)
    if np.all(supply >= np.cumsum(demand)):
        np.testing.assert_allclose(got, supply - np.r_[0.0, np.cumsum(demand)[:-1]])
