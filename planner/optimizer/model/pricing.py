"""Dual prices from the LP relaxation of the restricted master (column generation).

The master of :mod:`planner.optimizer.model.master` with ``0 <= l, z <= 1``:

    min  sum_j cost_j l_j + sum_{p,t} K_p z[p,t]
    s.t. sum_{j of s} l_j = 1                                   (sigma_s)
         sum_{j of s ordering in t} l_j - z[p(s),t] <= 0         (-pi[s,t]),  pairs some column orders in
         sum_j volume[j,t] l_j <= Cap_t                         (-lambda_t),  m3
         sum_j spend[j,t] l_j <= B_t                            (-mu_t),      currency
         sum_{j of p's SKUs} spend[j,t] l_j - MOV_p z[p,t] >= 0  (rho[p,t]),   currency, MOV_p > 0

Its optimal duals are the Lagrange multipliers (storage price lambda_t per m3, budget price mu_t
per currency unit, purchase-order link price pi[s,t], minimum-order-value reward rho[p,t]
per currency unit ordered) at which the per-SKU dynamic program prices
new columns (Dantzig-Wolfe decomposition). This LP is rebuilt every round, so it goes to HiGHS
directly through highspy as sparse arrays: Pyomo's hand-off would cost more than the solve.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import highspy
import numpy as np
from pyomo.common.tee import capture_output
from scipy import sparse

from planner.core.problem import PlanningData
from planner.optimizer.model.master import Columns

log = logging.getLogger(__name__)
FEASIBLE_POINT = int(highspy.SolutionStatus.kSolutionStatusFeasible)
NO_SOLUTION = int(highspy.SolutionStatus.kSolutionStatusNone)


@dataclass(frozen=True)
class Prices:
    """Lagrange multipliers of the coupling constraints (all >= 0)."""

    lam: np.ndarray  # [H] storage, currency per m3 in week t
    mu: np.ndarray  # [H] budget, per currency unit spent in order week t
    pi: np.ndarray  # [S, H] share of the purchase-order cost charged to SKU s's line in week t
    rho: np.ndarray  # [P, H] minimum order value: reward per currency unit ordered from p in week t

    @staticmethod
    def zero(data: PlanningData) -> Prices:
        h, p_count = data.horizon, len(data.suppliers)
        return Prices(np.zeros(h), np.zeros(h), np.zeros((data.n_skus, h)), np.zeros((p_count, h)))

    def blend(self, other: Prices, weight: float) -> Prices:
        """weight * self + (1 - weight) * other (dual smoothing)."""
        return Prices(
            weight * self.lam + (1 - weight) * other.lam,
            weight * self.mu + (1 - weight) * other.mu,
            weight * self.pi + (1 - weight) * other.pi,
            weight * self.rho + (1 - weight) * other.rho,
        )


@dataclass(frozen=True)
class MasterLP:
    """Optimal value of the restricted master LP and its dual prices."""

    value: float
    prices: Prices


def master_lp(data: PlanningData, cols: Columns, time_limit_s: float, threads: int = 1) -> MasterLP | None:
    """Solve the restricted master LP over ``cols``; ``None`` when HiGHS stops without an optimum."""
    s_count, h, p_count = data.n_skus, data.horizon, len(data.suppliers)
    j_count = len(cols.sku)
    # link rows: one per (SKU, week) some column orders in
    j_idx, t_idx = np.nonzero(cols.orders > 0)
    pair = cols.sku[j_idx] * h + t_idx
    pairs, row_of = np.unique(pair, return_inverse=True)
    n_link = len(pairs)
    cap_rows = h if data.capacity is not None else 0
    bud_rows = h if data.budget is not None else 0
    mov_sup = np.flatnonzero(data.min_order_value > 0)
    # row blocks: convexity [S], link [n_link], capacity [H], budget [H], minimum order value [P' x H]
    r_link, r_cap = s_count, s_count + n_link
    r_bud = r_cap + cap_rows
    r_mov = r_bud + bud_rows
    n_rows = r_mov + len(mov_sup) * h
    rows = [cols.sku, r_link + row_of]
    cols_ix = [np.arange(j_count), j_idx]
    vals = [np.ones(j_count), np.ones(len(j_idx))]
    z_col = j_count + (pairs % h) + h * data.supplier_idx[pairs // h]  # z[p,t] column of each link row
    rows.append(r_link + np.arange(n_link))
    cols_ix.append(z_col)
    vals.append(-np.ones(n_link))
    for first, use, present in ((r_cap, cols.volume, cap_rows), (r_bud, cols.spend, bud_rows)):
        if present:
            jj, tt = np.nonzero(use > 0)
            rows.append(first + tt)
            cols_ix.append(jj)
            vals.append(use[jj, tt])
    row_of_sup = np.full(p_count, -1)
    row_of_sup[mov_sup] = np.arange(len(mov_sup))
    sup_row = row_of_sup[data.supplier_idx[cols.sku]]  # [J] MOV row block of each column's supplier
    jj, tt = np.nonzero((cols.spend > 0) & (sup_row >= 0)[:, None])
    rows.append(r_mov + sup_row[jj] * h + tt)
    cols_ix.append(jj)
    vals.append(cols.spend[jj, tt])
    pp, tt = np.meshgrid(mov_sup, np.arange(h), indexing="ij")
    rows.append(r_mov + row_of_sup[pp.ravel()] * h + tt.ravel())
    cols_ix.append(j_count + pp.ravel() * h + tt.ravel())
    vals.append(-np.repeat(data.min_order_value[mov_sup], h))
    n_cols = j_count + p_count * h
    a = sparse.csc_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols_ix))), shape=(n_rows, n_cols)
    )
    lower = np.full(n_rows, -highspy.kHighsInf)
    upper = np.zeros(n_rows)
    lower[:s_count] = upper[:s_count] = 1.0
    if cap_rows:
        upper[r_cap:r_bud] = data.capacity
    if bud_rows:
        upper[r_bud:r_mov] = data.budget
    lower[r_mov:], upper[r_mov:] = 0.0, highspy.kHighsInf
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n_cols, n_rows
    lp.col_cost_ = np.concatenate([cols.cost, np.repeat(data.order_cost, h)])
    lp.col_lower_ = np.zeros(n_cols)
    lp.col_upper_ = np.ones(n_cols)
    lp.row_lower_, lp.row_upper_ = lower, upper
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = a.indptr
    lp.a_matrix_.index_ = a.indices
    lp.a_matrix_.value_ = a.data
    # HiGHS keeps one thread pool per process, sized by its first solve: after a MIP on more threads
    # this one-thread LP would fail at once (and column generation silently stop) unless it is reset
    highspy.Highs.resetGlobalScheduler(True)
    with capture_output(capture_fd=True):  # HiGHS prints a banner when created, before any option
        highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("time_limit", float(max(time_limit_s, 0.1)))
    highs.setOptionValue("threads", 1)
    highs.setOptionValue("random_seed", 0)
    highs.setOptionValue("solver", "ipm")  # interior duals: faster here than simplex, and central
    highs.setOptionValue("run_crossover", "off")
    highs.passModel(lp)
    highs.run()
    status, info = highs.getModelStatus(), highs.getInfo()
    log.info("master LP: %s in %.2f s", status, highs.getRunTime())
    # Without crossover the interior point method may end "unknown" just short of its dual tolerance
    # (large shortfall penalties scale the LP badly). Its point is still usable: any prices >= 0 give
    # a valid bound, and a feasible primal value only makes the stopping test more cautious.
    near_optimal = (
        status == highspy.HighsModelStatus.kUnknown
        and info.primal_solution_status == FEASIBLE_POINT
        and info.dual_solution_status != NO_SOLUTION
    )
    if status != highspy.HighsModelStatus.kOptimal and not near_optimal:
        log.info("master LP ended %s; column generation stops", status)
        return None
    dual = -np.asarray(highs.getSolution().row_dual)
    pi = np.zeros((s_count, h))
    pi.flat[pairs] = np.maximum(0.0, dual[r_link:r_cap])
    lam = np.maximum(0.0, dual[r_cap:r_bud]) if cap_rows else np.zeros(h)
    mu = np.maximum(0.0, dual[r_bud:r_mov]) if bud_rows else np.zeros(h)
    rho = np.zeros((p_count, h))
    rho[mov_sup] = np.maximum(0.0, -dual[r_mov:]).reshape(len(mov_sup), h)
    return MasterLP(float(info.objective_function_value), Prices(lam, mu, pi, rho))
