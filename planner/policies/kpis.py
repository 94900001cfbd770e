"""Classical inventory KPIs per SKU (periodic weekly review).

Symbols: mu weekly mean demand (units/week), sigma its standard deviation, L lead
time (weeks), K fixed cost per order (currency: supplier purchase order + order
line), H annual holding cost per unit (currency/unit/year), alpha service level,
z = Phi^-1(alpha).
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import pandas as pd

from planner.core.lots import eoq, order_quantity
from planner.core.problem import WEEKS_PER_YEAR, PlanningData


def safety_stock(
    z: np.ndarray,
    sigma: np.ndarray,
    lead_time: np.ndarray,
    review: float = 1.0,
    mu: np.ndarray | float = 0.0,
    lead_time_sd: np.ndarray | float = 0.0,
) -> np.ndarray:
    """Safety stock z * sqrt((L + R) sigma^2 + mu^2 sigma_L^2) in units over the protection interval
    L + R weeks (R = 1); with a certain lead time (sigma_L = 0) this is z * sigma * sqrt(L + R)."""
    span = np.asarray(lead_time, dtype=float) + review
    variance = span * np.asarray(sigma, dtype=float) ** 2 + (np.asarray(mu) * np.asarray(lead_time_sd)) ** 2
    return np.asarray(z) * np.sqrt(variance)


def reorder_point(mu: np.ndarray, lead_time: np.ndarray, ss: np.ndarray, review: float = 1.0) -> np.ndarray:
    """Reorder point mu * (L + R) + SS in units: demand over the protection interval plus safety stock."""
    return np.asarray(mu) * (np.asarray(lead_time, dtype=float) + review) + np.asarray(ss)


def inventory_turnover(annual_demand: np.ndarray, average_inventory: np.ndarray) -> np.ndarray:
    """Turns per year D / (Q/2 + SS): annual usage over average stock, both in units (cost cancels)."""
    d, avg = np.asarray(annual_demand, float), np.asarray(average_inventory, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(avg > 0, d / avg, np.nan)


def annual_holding_cost(annual_holding: np.ndarray, average_inventory: np.ndarray) -> np.ndarray:
    """H * (Q/2 + SS) in currency per year."""
    return np.asarray(annual_holding) * np.asarray(average_inventory)


def demand_moments(data: PlanningData) -> tuple[np.ndarray, np.ndarray]:
    """mu and sigma per SKU: the forecast's mean weekly demand and root-mean weekly variance."""
    mu = data.demand_mean.mean(axis=1)
    var = data.forecast.paths.var(axis=1, dtype=np.float64).mean(axis=1)
    return mu, np.sqrt(var)


def sku_kpis(data: PlanningData) -> pd.DataFrame:
    """One row per SKU with the classical KPIs and their inputs."""
    mu, sigma = demand_moments(data)
    annual = mu * WEEKS_PER_YEAR
    k = data.order_cost[data.supplier_idx] + data.line_cost
    h_year = data.holding_cost * WEEKS_PER_YEAR
    z = np.array([NormalDist().inv_cdf(a) for a in data.service_level])
    q_eoq = eoq(annual, k, h_year)
    q = np.where(mu > 0, order_quantity(q_eoq, data.min_units, data.pack), 0.0)
    lead_sd = 0.0 if data.lead_time_sd is None else data.lead_time_sd
    ss = safety_stock(z, sigma, data.lead_time, mu=mu, lead_time_sd=lead_sd)
    avg = q / 2.0 + ss
    with np.errstate(divide="ignore", invalid="ignore"):
        cover = np.where(mu > 0, data.on_hand / mu, np.inf)
    return pd.DataFrame(
        {
            "sku": data.skus,
            "supplier": np.asarray(data.suppliers)[data.supplier_idx],
            "lead_time_weeks": data.lead_time,
            "service_level": data.service_level,
            "z": z,
            "mean_weekly_demand": mu,
            "sd_weekly_demand": sigma,
            "annual_demand": annual,
            "order_cost": k,
            "holding_cost_per_unit_year": h_year,
            "eoq": q_eoq,
            "order_quantity": q,
            "safety_stock": ss,
            "reorder_point": reorder_point(mu, data.lead_time, ss),
            "average_inventory": avg,
            "inventory_turnover": inventory_turnover(annual, avg),
            "annual_holding_cost": annual_holding_cost(h_year, avg),
            "annual_ordering_cost": np.where(q > 0, k * annual / np.where(q > 0, q, 1.0), 0.0),
            "on_hand": data.on_hand,
            "weeks_of_cover": cover,
        }
    )
