"""What the service target means, and the quantile each SKU is planned on to meet it.

**The target is a fill rate**: the share of demanded units served in the week they are demanded,
counted over the weeks a new order can still reach (week ``t >= L_s``), across the planned SKUs
(``scope = "portfolio"``). A SKU's own ``service_level`` (items.csv) is a floor: that SKU's own
fill rate is at least its target. With ``scope = "sku"`` every SKU is planned to its own target.

The optimiser plans SKU s on cumulative demand at one quantile level ``alpha_s`` (its *planning
level*): cumulative supply covers ``Q_{D[s,1..t]}(alpha_s)`` in every week (:mod:`planner.optimizer.model`).
The level is chosen here, per SKU, by simulating on the forecast's sample paths the policy the
plan amounts to week after week, from the SKU's stock and open orders:

- review every week; when the inventory position is below the order-up-to level
  ``S_s(a) = Q_{D[s,1..L_s+1]}(a)`` order ``max(S - IP, lot_s)`` in whole packs (``lot_s`` the EOQ
  on the forecast's mean demand, at least the MOQ); orders arrive ``L_s`` weeks later; unmet
  demand is lost;
- per candidate level ``a`` (``LEVELS``): expected lost units, units held at the end of each week
  and order lines over the horizon.

The portfolio then takes, per SKU, the level minimising ``h_s held + k_s lines + lambda lost``,
with the one price ``lambda`` per lost unit that makes the expected fill rate reach the target
(bisection): where a unit of service is cheap (low unit cost, steady demand) it is bought first.
This is what a fill-rate target asks for, and it meets it at less stock than one service level
for every SKU. The expected fill rate is a simulation on the forecast, so it is as good as the
forecast's calibration; ``planner backtest`` reports the realised one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from planner.core.leadtime import draw_delays, lead_time_cumulative
from planner.core.lots import eoq, order_quantity

Scope = Literal["portfolio", "sku"]
LEVELS = np.concatenate([np.arange(0.5, 0.9, 0.05), np.arange(0.9, 0.99, 0.01), [0.99, 0.995, 0.999]])
MAX_PATHS = 250  # paths simulated per SKU (the first ones: paths are independent draws)
CELLS = 4_000_000  # SKU x level x path x week cells per block of the simulation
BISECTIONS = 60


@dataclass(frozen=True)
class Plan:
    """Planning levels ``alpha[S]``, the portfolio's expected fill rate with them and each SKU's
    ``sku_fill[S]`` (over the reachable weeks, on the forecast's paths)."""

    alpha: np.ndarray
    expected_fill: float
    sku_fill: np.ndarray


@dataclass(frozen=True)
class Outcomes:
    """Per SKU and candidate level (``[S, G]``) over the reachable weeks: expected lost units,
    units held at week ends and order lines; per SKU (``[S]``): expected demand."""

    lost: np.ndarray
    held: np.ndarray
    lines: np.ndarray
    demand: np.ndarray


def simulate_levels(
    paths: np.ndarray,
    on_hand: np.ndarray,
    open_arrivals: np.ndarray,
    lead_time: np.ndarray,
    pack: np.ndarray,
    lot: np.ndarray,
    order_up_to: np.ndarray,
    delays: np.ndarray | None = None,
) -> Outcomes:
    """Weekly order-up-to policies ``order_up_to[S, G]`` (units) with minimum lots ``lot[S]`` replayed
    on demand ``paths[S, N, H]`` with lost sales, from ``on_hand[S]`` and ``open_arrivals[S, H]``;
    the order of week t on path n arrives ``delays[s, t, n]`` weeks after its lead time (whole weeks,
    :mod:`planner.core.leadtime`; None: on time)."""
    n_sku, n_paths, horizon = paths.shape
    if delays is None:
        delays = np.zeros((n_sku, horizon, n_paths), dtype=int)
    out = [np.zeros(order_up_to.shape) for _ in range(3)]
    demand = np.zeros(n_sku)
    size = max(1, CELLS // max(1, order_up_to.shape[1] * paths.shape[1] * horizon))
    for a in range(0, n_sku, size):
        rows = slice(a, min(a + size, n_sku))
        block = _simulate_block(
            paths[rows],
            on_hand[rows],
            open_arrivals[rows],
            lead_time[rows],
            pack[rows],
            lot[rows],
            order_up_to[rows],
            delays[rows],
        )
        for target, part in zip(out, block[:3], strict=True):
            target[rows] = part
        demand[rows] = block[3]
    return Outcomes(*out, demand)


def _simulate_block(
    paths: np.ndarray,
    on_hand: np.ndarray,
    open_arrivals: np.ndarray,
    lead: np.ndarray,
    pack: np.ndarray,
    lot: np.ndarray,
    level: np.ndarray,
    delays: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    n_sku, n_paths, horizon = paths.shape
    n_levels = level.shape[1]
    stock = np.broadcast_to(on_hand[:, None, None], (n_sku, n_levels, n_paths)).astype(float)  # [S, G, N]
    coming = np.broadcast_to(open_arrivals[:, None, None, :], (n_sku, n_levels, n_paths, horizon)).copy()
    position = stock + coming.sum(axis=3)
    lost, held, lines = (np.zeros((n_sku, n_levels)) for _ in range(3))
    demand = np.zeros(n_sku)
    for t in range(horizon):
        can_order = t + lead < horizon
        short = np.maximum(level[:, :, None] - position, 0.0)
        q = np.where(short > 1e-9, np.maximum(short, lot[:, None, None]), 0.0)
        q = np.ceil(q / pack[:, None, None] - 1e-9) * pack[:, None, None] * can_order[:, None, None]
        arrive = np.maximum(t + lead[:, None] + delays[:, t, :], t)  # [S, N]
        s_idx, n_idx = np.nonzero(can_order[:, None] & (arrive < horizon))
        coming[s_idx, :, n_idx, arrive[s_idx, n_idx]] += q[s_idx, :, n_idx]
        position += q
        stock = stock + coming[:, :, :, t]
        d = paths[:, None, :, t]
        served = np.minimum(stock, d)
        stock = stock - served
        position -= served
        counted = (t >= lead)[:, None]
        lost += counted * (d - served).mean(axis=2)
        held += counted * stock.mean(axis=2)
        lines += (q > 0).mean(axis=2)
        demand += (t >= lead) * paths[:, :, t].mean(axis=1)
    return lost, held, lines, demand


def planning_levels(
    paths: np.ndarray,
    *,
    on_hand: np.ndarray,
    open_arrivals: np.ndarray,
    lead_time: np.ndarray,
    pack: np.ndarray,
    min_units: np.ndarray,
    holding_cost: np.ndarray,
    order_cost: np.ndarray,
    target: float,
    floors: np.ndarray,
    scope: Scope = "portfolio",
    lead_time_sd: np.ndarray | None = None,
    seed: int = 0,
) -> Plan:
    """Planning level ``alpha_s`` per SKU (module docstring) and the expected fill rates they give.

    ``paths[S, N, H]`` is the forecast's demand; ``holding_cost`` h_s per unit-week; ``order_cost``
    k_s per order line (its supplier's purchase order included); ``floors[S]`` each SKU's own fill
    rate target (NaN: none); ``lead_time_sd[S]`` its supplier's lead-time deviation (weeks): the
    simulated deliveries are late or early by seeded draws (:mod:`planner.core.leadtime`).
    """
    paths = np.asarray(paths[:, :MAX_PATHS], dtype=float)
    n_sku, _, horizon = paths.shape
    sd = np.zeros(n_sku) if lead_time_sd is None else np.asarray(lead_time_sd, dtype=float)
    reach = np.minimum(lead_time, horizon - 1)
    cum = lead_time_cumulative(paths, sd, lead_time, seed)
    lead_demand = cum[np.arange(n_sku), :, reach]  # [S, N]: demand over weeks 1..L+1 (+ delay)
    delays = draw_delays(sd, lead_time, (horizon, paths.shape[1]), np.random.default_rng(seed))
    order_up_to = np.quantile(lead_demand, LEVELS, axis=1).T  # [S, G]
    mean = paths.mean(axis=(1, 2))
    lot = order_quantity(eoq(mean, order_cost, holding_cost), min_units, pack)  # per week: the 52s cancel
    lots = np.where(mean > 0, lot, min_units)
    sim = simulate_levels(paths, on_hand, open_arrivals, lead_time, pack, lots, order_up_to, delays)
    cost = holding_cost[:, None] * sim.held + order_cost[:, None] * sim.lines
    with np.errstate(invalid="ignore", divide="ignore"):
        fill = np.where(sim.demand[:, None] > 0, 1.0 - sim.lost / sim.demand[:, None], 1.0)
    own = np.where(np.isnan(floors), target, floors) if scope == "sku" else floors
    allowed = ~(fill < np.nan_to_num(own, nan=0.0)[:, None] - 1e-9)  # a SKU's own target is a floor
    allowed[~allowed.any(axis=1), -1] = True  # unreachable floor: the highest level
    if scope == "sku":
        pick = np.argmax(allowed, axis=1)
    else:
        pick = _portfolio(cost, sim.lost, sim.demand, allowed, target)
    rows = np.arange(n_sku)
    total = sim.demand.sum()
    expected = 1.0 - sim.lost[rows, pick].sum() / total if total > 0 else 1.0
    return Plan(LEVELS[pick], float(expected), fill[rows, pick])


def _portfolio(
    cost: np.ndarray, lost: np.ndarray, demand: np.ndarray, allowed: np.ndarray, target: float
) -> np.ndarray:
    """Per SKU the allowed level minimising ``cost + lambda lost``, with the least ``lambda`` whose
    choices give the portfolio fill rate ``target`` (all SKUs at their highest allowed level when
    even that falls short)."""
    rows = np.arange(cost.shape[0])
    total = demand.sum()

    def choose(price: float) -> tuple[np.ndarray, float]:
        pick = np.argmin(np.where(allowed, cost + price * lost, np.inf), axis=1)
        return pick, 1.0 - lost[rows, pick].sum() / total if total > 0 else 1.0

    low, high = 0.0, 1.0
    while choose(high)[1] < target and high < 1e12:
        low, high = high, high * 10.0
    for _ in range(BISECTIONS):
        mid = 0.5 * (low + high)
        if choose(mid)[1] < target:
            low = mid
        else:
            high = mid
    return choose(high)[0]
