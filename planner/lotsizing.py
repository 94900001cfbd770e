"""Exact single-SKU lot sizing by dynamic programming, batched over SKUs.

For one SKU (notation of the README's model section) with lead time ``L``, pack
size ``p``, minimum order ``m`` packs and net requirement ``r[t]`` (cumulative
units that new orders must have delivered by week t: the service target
``Q_{D[1..t]}(alpha)`` less stock and open orders), choose arrivals in whole packs.
The state ``n`` is the number of packs delivered so far. Working backwards over
arrival weeks ``a = H-1 .. 0``:

    stage_a(n) = h p n                                   holding of planned units in week a
               + P max(0, r[a] - p n)     (a >= L)       shortfall against the target
               + lambda_a v max(0, cb[a] + p n)          storage price on the cautious stock
    U_a(n)     = stage_a(n) + V_{a+1}(n)
    V_a(n)     = min( U_a(n),  F_a + min_{n' >= n + m} [ g_a p (n' - n) + U_a(n') ] )   (a >= L)
    V_a(n)     = U_a(n)                                                                (a <  L)

with ``F_a`` the fixed cost of an order arriving in week a, ``g_a`` the cost per unit
(purchase plus any budget price) and ``V_H = 0``. The inner minimum is a suffix
minimum, so one SKU costs O(H N) for N states; SKUs are solved together in padded
2-D arrays. Ties prefer the smaller order.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from forecast.tasks import map_tasks, partitions, split

INF = np.inf
MAX_CELLS = 1_000_000  # states x SKUs per batch (memory of the decision table ~ H * MAX_CELLS * 4 bytes)
GROWTH = 1.25  # a batch holds SKUs whose state counts lie within this factor (little padding)
MIN_WIDTH = 16


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
    n_max = max_states(inst)
    packs = np.zeros((inst.n_skus, inst.horizon), dtype=np.int64)
    cost = np.zeros(inst.n_skus)
    order = np.argsort(n_max, kind="stable")
    start = 0
    while start < len(order):
        floor = max(int(n_max[order[start]]), MIN_WIDTH)
        stop = start + 1
        while (
            stop < len(order)
            and n_max[order[stop]] <= GROWTH * floor
            and (stop - start + 1) * (int(n_max[order[stop]]) + 1) <= MAX_CELLS
        ):
            stop += 1
        idx = order[start:stop]
        width = int(n_max[idx].max()) + 1
        packs[idx], cost[idx] = _solve_batch(inst, idx, width, n_max[idx])
        start = stop
    return packs, cost


def _solve_batch(
    inst: LotSizingInstance, idx: np.ndarray, width: int, n_max: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Backward DP for the SKUs ``idx`` on states 0..width-1 (states above a SKU's n_max are barred)."""
    b, h = len(idx), inst.horizon
    n = np.arange(width, dtype=float)[None, :]  # [1, N]
    pack = inst.pack[idx][:, None]
    units = pack * n  # [B, N]
    barred = np.arange(width)[None, :] > n_max[:, None]
    lead = inst.lead_time[idx]
    m = inst.min_packs[idx].astype(np.int64)
    value = np.where(barred, INF, 0.0)  # V_{a+1}
    choice = np.zeros((h, b, width), dtype=np.int32)  # n' after ordering at a (or n itself)
    for a in range(h - 1, -1, -1):
        stage = inst.holding[idx][:, None] * units
        open_week = (a >= lead)[:, None]
        short = np.maximum(0.0, inst.requirement[idx, a][:, None] - units)
        stage = stage + np.where(open_week, inst.penalty[idx][:, None] * short, 0.0)
        base = inst.cautious_base[idx, a][:, None]
        if inst.cap_price[a] > 0:
            stock = np.maximum(0.0, base + units)
            stage = stage + inst.cap_price[a] * inst.volume[idx][:, None] * stock
        if inst.extra_volume_cap is not None:
            extra = inst.volume[idx][:, None] * (np.maximum(0.0, base + units) - np.maximum(0.0, base))
            stage = np.where(extra > inst.extra_volume_cap[idx, a][:, None] + 1e-9, INF, stage)
        after = stage + value  # U_a(n)
        unit = inst.unit[idx, a][:, None] * pack  # cost per pack
        w = unit * n + after  # g p n' + U(n')
        m_a = m if inst.week_min_packs is None else np.maximum(m, inst.week_min_packs[idx, a])
        lo = np.arange(width)[None, :] + m_a[:, None]  # n + m
        ok = lo < width
        lo = np.minimum(lo, width - 1)
        if inst.max_packs is None:
            smin, sarg = _suffix_min(w)
            best, arg = np.take_along_axis(smin, lo, axis=1), np.take_along_axis(sarg, lo, axis=1)
        else:
            kmax = inst.max_packs[idx, a][:, None]
            ok &= kmax >= m_a[:, None]
            hi = np.minimum(np.arange(width)[None, :] + np.maximum(kmax, m_a[:, None]), width - 1)
            best, arg = _range_min(w, lo, np.maximum(hi, lo))
        order_cost = inst.fixed[idx, a][:, None] - unit * n + best
        order_cost = np.where(ok & open_week & ~barred, order_cost, INF)
        better = order_cost < after - 1e-9
        if inst.forced is not None:
            better |= inst.forced[idx, a][:, None]
        value = np.where(better, order_cost, after)
        choice[a] = np.where(better, arg, np.arange(width)[None, :])
    packs = np.zeros((b, h), dtype=np.int64)
    state = np.zeros(b, dtype=np.int64)
    for a in range(h):
        nxt = choice[a, np.arange(b), state]
        packs[:, a] = nxt - state
        state = nxt
    return packs, value[:, 0]


def _suffix_min(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise min over w[:, j:] and its smallest argmin j' >= j."""
    rev = w[:, ::-1]
    acc = np.minimum.accumulate(rev, axis=1)
    pos = np.arange(w.shape[1])[None, :]
    rec = np.maximum.accumulate(np.where(rev <= acc, pos, 0), axis=1)
    width = w.shape[1]
    return acc[:, ::-1], (width - 1 - rec)[:, ::-1]


def _range_min(w: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise min of w[:, lo..hi] (inclusive, per cell) and its smallest argmin, by a sparse table."""
    b, width = w.shape
    levels = [(w, np.broadcast_to(np.arange(width), (b, width)).copy())]
    span = 1
    while 2 * span <= width:
        prev_v, prev_a = levels[-1]
        left_v, right_v = prev_v[:, : width - 2 * span + 1], prev_v[:, span : width - span + 1]
        left_a, right_a = prev_a[:, : width - 2 * span + 1], prev_a[:, span : width - span + 1]
        take_right = right_v < left_v
        levels.append((np.where(take_right, right_v, left_v), np.where(take_right, right_a, left_a)))
        span *= 2
    k = np.floor(np.log2(hi - lo + 1)).astype(np.int64)
    out_v = np.empty(lo.shape)
    out_a = np.empty(lo.shape, dtype=np.int64)
    for j, (vals, args) in enumerate(levels):
        sel = k == j
        if not sel.any():
            continue
        rows = np.nonzero(sel)[0]
        left, right = lo[sel], hi[sel] - (1 << j) + 1
        lv, rv = vals[rows, left], vals[rows, right]
        la, ra = args[rows, left], args[rows, right]
        take_right = rv < lv
        out_v[sel] = np.where(take_right, rv, lv)
        out_a[sel] = np.where(take_right, ra, la)
    return out_v, out_a
