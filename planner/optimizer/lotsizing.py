"""Exact single-SKU lot sizing by dynamic programming, compiled with Numba.

For one SKU (notation of docs/model.md) with lead time ``L``, pack
size ``p``, minimum order ``m`` packs and net requirement ``r[t]`` (cumulative
units that new orders must have delivered by week t: the service target
``Q_{D[1..t]}(alpha)`` less stock and open orders), choose arrivals in whole packs.
The state ``n`` is the number of packs delivered so far. Working backwards over
arrival weeks ``a = H-1 .. 0``:

    stage_a(n) = h p n                                   holding of planned units in week a
               + P max(0, r[a] - p n)     (a >= L)       shortfall against the target
               + lambda_a v max(0, cb[a] + p n)          storage price on the slow-sales stock
    U_a(n)     = stage_a(n) + V_{a+1}(n)
    V_a(n)     = min( U_a(n),  F_a + min_{n' >= n + m} [ g_a p (n' - n) + U_a(n') ] )   (a >= L)
    V_a(n)     = U_a(n)                                                                (a <  L)

``cb + p n`` is the slow-sales stock while the plan does not run out from week L on; where it
does, the exact stock (:func:`planner.core.accounting.slow_stock`) is higher, so the DP prices
a relaxation of storage and its costs stay a bound. Callers check storage on the exact stock.
With ``F_a`` the fixed cost of an order arriving in week a, ``g_a`` the cost per unit
(purchase plus any budget price) and ``V_H = 0``. The inner minimum is a suffix
minimum (a sliding-window minimum when an order's size is capped), so one SKU costs
O(H N) for N states. Ties prefer the smaller order. The loops are compiled by Numba
(cached on disk after the first call), because the best-response heuristic solves SKUs
one at a time and calls the DP many times.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numba
import numpy as np

from forecast.tasks import map_tasks, partitions, split

NO_LIMIT = 10**12  # packs: "no cap on the order size"


@dataclass(frozen=True)
class LotSizingInstance:
    """Independent single-SKU problems over H weeks (arrays ``[S]`` or ``[S, H]``).

    ``fixed[s, a]`` and ``unit[s, a]`` are indexed by arrival week ``a``; weeks with
    ``fixed = inf`` cannot receive an order. ``cap_price[a]`` is a storage price per
    unit volume (shared), ``cautious_base[s, a]`` the cautious stock without new orders.
    Optional hard limits (used when SKUs are planned one after another against what is left):
    ``extra_volume_cap`` on the volume new orders add in a week, ``max_packs`` on one order and
    ``week_min_packs`` raising the minimum (e.g. to reach a supplier's minimum order value).
    """

    lead_time: np.ndarray  # [S] int
    pack: np.ndarray  # [S]
    min_packs: np.ndarray  # [S] int >= 1
    requirement: np.ndarray  # [S, H] net cumulative requirement (units)
    holding: np.ndarray  # [S] per unit-week
    penalty: np.ndarray  # [S] per unit-week of shortfall (weeks >= L)
    fixed: np.ndarray  # [S, H] per order, by arrival week
    unit: np.ndarray  # [S, H] per unit, by arrival week
    volume: np.ndarray  # [S]
    cautious_base: np.ndarray  # [S, H]
    cap_price: np.ndarray  # [H]
    extra_volume_cap: np.ndarray | None = None  # [S, H] hard limit on v (stock - stock without orders)^+
    max_packs: np.ndarray | None = None  # [S, H] hard limit on one order's packs, by arrival week
    week_min_packs: np.ndarray | None = None  # [S, H] least packs of one order by arrival week (>= min_packs)
    forced: np.ndarray | None = None  # [S, H] bool: an order must arrive in these weeks

    @property
    def n_skus(self) -> int:
        return len(self.pack)

    @property
    def horizon(self) -> int:
        return self.requirement.shape[1]


def subset(inst: LotSizingInstance, rows: np.ndarray) -> LotSizingInstance:
    """The problems of SKUs ``rows`` only (the storage price is shared)."""
    return dataclasses.replace(
        inst,
        **{
            f.name: value[rows]
            for f in dataclasses.fields(inst)
            if f.name != "cap_price" and (value := getattr(inst, f.name)) is not None
        },
    )


def solve_in_groups(inst: LotSizingInstance) -> tuple[np.ndarray, np.ndarray]:
    """:func:`solve_lot_sizing` with the SKUs split into groups solved as tasks (:mod:`forecast.tasks`).

    Each SKU's problem is solved alone whatever its group, so the result is that of one call.
    """
    groups = split(inst.n_skus, partitions())
    if len(groups) == 1:
        return solve_lot_sizing(inst)
    solved = map_tasks(_solve_group, [subset(inst, rows) for rows in groups])
    return np.concatenate([p for p, _ in solved]), np.concatenate([c for _, c in solved])


def _solve_group(inst: LotSizingInstance, _: None) -> tuple[np.ndarray, np.ndarray]:
    return solve_lot_sizing(inst)


def max_states(inst: LotSizingInstance) -> np.ndarray:
    """Largest useful number of packs per SKU: the peak requirement plus one minimum order."""
    need = np.ceil(np.maximum(inst.requirement.max(axis=1), 0.0) / inst.pack - 1e-9)
    return (need + np.where(need > 0, inst.min_packs, 0)).astype(np.int64)


def solve_lot_sizing(inst: LotSizingInstance) -> tuple[np.ndarray, np.ndarray]:
    """Optimal arrivals in packs ``[S, H]`` (by arrival week) and optimal costs ``[S]``."""
    shape = (inst.n_skus, inst.horizon)

    def full(values: np.ndarray | None, neutral: float | bool, dtype: type) -> np.ndarray:
        """[S, H] C-contiguous array of ``values``, or of the neutral limit when absent."""
        return np.ascontiguousarray(
            np.broadcast_to(neutral if values is None else values, shape), dtype=dtype
        )

    def vector(values: np.ndarray, dtype: type = np.float64) -> np.ndarray:
        return np.ascontiguousarray(values, dtype=dtype)

    min_packs = np.round(inst.min_packs).astype(np.int64)[:, None]
    week_min = min_packs if inst.week_min_packs is None else np.maximum(min_packs, inst.week_min_packs)
    return _dp(
        vector(inst.lead_time, np.int64),
        vector(inst.pack),
        full(week_min, 0, np.int64),
        vector(inst.requirement),
        vector(inst.holding),
        vector(inst.penalty),
        vector(inst.fixed),
        vector(inst.unit),
        vector(inst.volume),
        vector(inst.cautious_base),
        vector(inst.cap_price),
        full(inst.extra_volume_cap, np.inf, np.float64),
        full(inst.max_packs, NO_LIMIT, np.int64),
        full(inst.forced, False, np.bool_),
        max_states(inst),
    )


@numba.njit(cache=True)
def _dp(lead, pack, week_min, requirement, holding, penalty, fixed, unit, volume, cautious_base, cap_price,
        extra_cap, max_packs, forced, n_max):  # fmt: skip
    """The backward DP of the module docstring, SKU by SKU, on states 0..n_max[s].

    The inner minimum over n' in [n + m_a, n + kmax_a] (kmax_a: the order-size cap) is a sliding
    window minimum (the window only moves up with n), so a week costs O(N); ties prefer the
    smaller order.
    """
    s_count, h = requirement.shape
    packs = np.zeros((s_count, h), dtype=np.int64)
    cost = np.zeros(s_count)
    for s in range(s_count):
        width = n_max[s] + 1
        value = np.zeros(width)  # V_{a+1}
        after = np.empty(width)  # U_a
        w = np.empty(width)
        window = np.empty(width, dtype=np.int64)  # candidate n' of the sliding minimum (a deque)
        choice = np.empty((h, width), dtype=np.int64)  # n' after ordering in week a (or n itself)
        for a in range(h - 1, -1, -1):
            open_week = a >= lead[s]
            per_pack = unit[s, a] * pack[s]
            base = cautious_base[s, a]
            for n in range(width):
                units = pack[s] * n
                stage = holding[s] * units
                if open_week:
                    stage += penalty[s] * max(0.0, requirement[s, a] - units)
                if cap_price[a] > 0:
                    stage += cap_price[a] * volume[s] * max(0.0, base + units)
                if volume[s] * (max(0.0, base + units) - max(0.0, base)) > extra_cap[s, a] + 1e-9:
                    stage = np.inf
                after[n] = stage + value[n]
                w[n] = per_pack * n + after[n]
            m = week_min[s, a]
            k = max(max_packs[s, a], m)
            head, tail, pushed = 0, 0, 0
            for n in range(width):
                lo = min(n + m, width - 1)
                hi = max(min(n + k, width - 1), lo)
                while pushed <= hi:  # push n' = pushed, keeping the deque's values non-decreasing
                    while tail > head and w[window[tail - 1]] > w[pushed]:
                        tail -= 1
                    window[tail] = pushed
                    tail += 1
                    pushed += 1
                while window[head] < lo:
                    head += 1
                best, arg = w[window[head]], window[head]
                ordered = np.inf
                if open_week and n + m < width and max_packs[s, a] >= m:
                    ordered = fixed[s, a] - per_pack * n + best
                if ordered < after[n] - 1e-9 or forced[s, a]:
                    value[n] = ordered
                    choice[a, n] = arg
                else:
                    value[n] = after[n]
                    choice[a, n] = n
        cost[s] = value[0]
        state = 0
        for a in range(h):
            packs[s, a] = choice[a, state] - state
            state = choice[a, state]
    return packs, cost
