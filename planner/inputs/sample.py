"""Deterministic generator of the bundled sample company (``planner/sample_data``).

:func:`generate_sample` builds a retail-like company (items, suppliers, weekly
sales history, stock, open orders, holiday calendar) plus the *true* weekly
demand distribution of every SKU-week (``truth``), for history and for the
future weeks after ``plan_start``.  Everything is drawn from one
``numpy.random.default_rng(seed)``; there is no global random state and no
wall clock, so the same arguments always give identical frames.
:func:`write_sample` writes the six dataset tables in the data-contract layout
(``truth`` is never written to a dataset folder).

The true demand of one truth row is an integer random variable ``X``:

* ``dist == "negbin"``: ``X ~ NegBin(mean, size)`` with mean ``mean`` and
  variance ``mean + mean**2 / size``, i.e.
  ``rng.negative_binomial(n=size, p=size / (size + mean))``; ``p_occur`` is 1.
* ``dist == "intermittent"``: ``X = B * (1 + Y)`` with ``B ~ Bernoulli(p_occur)``
  and ``Y ~ NegBin(m, size)`` independent, where ``m = mean / p_occur - 1``
  (``>= 0``), so ``E[X] = mean``.

:func:`sample_truth` draws from exactly this distribution.  The process and its
parameters are documented in ``planner/sample_data/README.md``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from planner.base.io import write_csv
from planner.inputs import contract

log = logging.getLogger(__name__)

LAST_HISTORY_WEEK = pd.Timestamp("2026-11-09")
"""Monday of the last history week; the plan starts one week later."""
PLAN_START = LAST_HISTORY_WEEK + pd.Timedelta(weeks=1)

CATEGORIES = ("grocery", "household", "beauty", "toys", "garden")
CATEGORY_WEIGHTS = (0.30, 0.22, 0.18, 0.15, 0.15)
SEASONALITY: dict[str, tuple[float, float, float]] = {
    # log s(t) = a1*cos(2*pi*(t - peak)) + a2*cos(4*pi*(t - peak)), t = fraction of the year
    "grocery": (0.08, 0.03, 0.95),
    "household": (0.12, 0.00, 0.28),
    "beauty": (0.20, 0.08, 0.93),
    "toys": (0.55, 0.30, 0.95),
    "garden": (0.70, 0.15, 0.50),
}
EVENTS = ("black_friday", "christmas", "easter", "summer_holiday")
HOLIDAY_LIFT: dict[str, tuple[float, float, float, float]] = {
    # lift of the weekly mean in the weeks of EVENTS (same order)
    "grocery": (1.10, 1.30, 1.25, 1.20),
    "household": (1.35, 1.15, 1.05, 1.00),
    "beauty": (1.50, 1.60, 1.15, 1.05),
    "toys": (1.80, 2.00, 1.30, 1.05),
    "garden": (1.05, 0.90, 1.25, 1.35),
}
UNIT_COST_MEDIAN = {"grocery": 2.5, "household": 5.0, "beauty": 8.0, "toys": 12.0, "garden": 15.0}
UNIT_VOLUME_MEDIAN = {
    "grocery": 0.002,
    "household": 0.004,
    "beauty": 0.001,
    "toys": 0.008,
    "garden": 0.015,
}
SUPPLIER_IDS = ("SUP-A", "SUP-B", "SUP-C", "SUP-D", "SUP-E", "SUP-F")
SUPPLIER_WEIGHTS = (0.20, 0.20, 0.18, 0.16, 0.14, 0.12)
LEAD_TIMES = (1, 2, 3, 5, 8, 12)
PACK_SIZES = (1, 4, 6, 12, 24, 48)

INTERMITTENT_SHARE = 0.30
NEW_ITEM_SHARE = 0.08
PROMO_SKU_SHARE = 0.70
STOCKOUT_START_PROB = 0.0065
OPEN_ORDER_SHARE = 0.30
ZERO_STOCK_SHARE = 0.03


@dataclass(frozen=True, eq=False)
class SampleCompany:
    """The generated company: the six dataset tables, the demand truth and the plan start."""

    demand: pd.DataFrame
    items: pd.DataFrame
    suppliers: pd.DataFrame
    inventory: pd.DataFrame
    open_orders: pd.DataFrame
    calendar: pd.DataFrame
    truth: pd.DataFrame
    plan_start: pd.Timestamp


# --------------------------------------------------------------------------- calendar


def _week_grid(history_weeks: int, future_weeks: int) -> pd.DatetimeIndex:
    """Mondays of all history weeks followed by all future weeks."""
    first = PLAN_START - pd.Timedelta(weeks=history_weeks)
    return pd.date_range(first, periods=history_weeks + future_weeks, freq="7D")


def _easter(year: int) -> pd.Timestamp:
    """Gregorian Easter Sunday (anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    r = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * r) // 451
    month = (h + r - 7 * m + 114) // 31
    day = (h + r - 7 * m + 114) % 31 + 1
    return pd.Timestamp(year=year, month=month, day=day)


def _event_mondays(year: int) -> list[tuple[pd.Timestamp, str]]:
    """Monday of every event week of ``year``."""
    nov1 = pd.Timestamp(year=year, month=11, day=1)
    thanksgiving = nov1 + pd.Timedelta(days=(3 - nov1.weekday()) % 7 + 21)
    christmas = pd.Timestamp(year=year, month=12, day=25)
    xmas_mondays = [
        d for d in pd.date_range(christmas - pd.Timedelta(days=14), periods=14) if d.weekday() == 0
    ]
    july4 = pd.Timestamp(year=year, month=7, day=4)
    return [
        (thanksgiving - pd.Timedelta(days=3), "black_friday"),
        *((d, "christmas") for d in xmas_mondays),
        (_easter(year) - pd.Timedelta(days=6), "easter"),
        (july4 - pd.Timedelta(days=july4.weekday()), "summer_holiday"),
    ]


def _calendar(weeks: pd.DatetimeIndex) -> pd.DataFrame:
    """One row per event week (dated by its Monday) inside the week grid."""
    rows = [ev for year in range(weeks[0].year, weeks[-1].year + 1) for ev in _event_mondays(year)]
    cal = pd.DataFrame(rows, columns=["date", "event"]).sort_values("date", kind="stable")
    cal = cal[(cal["date"] >= weeks[0]) & (cal["date"] <= weeks[-1])]
    return cal.reset_index(drop=True)


# --------------------------------------------------------------------------- SKU parameters


def _sku_params(rng: np.random.Generator, n_skus: int, history_weeks: int) -> pd.DataFrame:
    """Per-SKU latent parameters (category, supplier, level, shape of demand, prices)."""
    n = n_skus
    category = np.asarray(CATEGORIES)[rng.choice(len(CATEGORIES), n, p=CATEGORY_WEIGHTS)]
    supplier = rng.choice(len(SUPPLIER_IDS), n, p=SUPPLIER_WEIGHTS)
    intermittent = np.zeros(n, dtype=bool)
    intermittent[rng.choice(n, round(INTERMITTENT_SHARE * n), replace=False)] = True
    p_occur = np.where(intermittent, rng.uniform(0.10, 0.45, n), 1.0)
    extra = np.clip(rng.lognormal(np.log(1.5), 0.8, n), 0.3, 20.0)
    smooth_base = np.clip(rng.lognormal(np.log(8.0), 1.35, n), 0.3, 300.0)
    nb_size = np.where(
        intermittent, rng.uniform(1.0, 5.0, n), np.exp(rng.uniform(np.log(4.0), np.log(40.0), n))
    )
    cost_median = np.array([UNIT_COST_MEDIAN[c] for c in category])
    unit_cost = np.round(np.clip(cost_median * rng.lognormal(0.0, 0.6, n), 0.3, 250.0), 2)
    regular_price = np.round(unit_cost * rng.uniform(1.35, 2.2, n), 2)
    intro = np.zeros(n, dtype=int)
    new = rng.choice(n, round(NEW_ITEM_SHARE * n), replace=False)
    intro[new] = history_weeks - rng.integers(min(8, history_weeks), min(40, history_weeks) + 1, len(new))
    return pd.DataFrame(
        {
            "sku": [f"SKU{i:04d}" for i in range(1, n + 1)],
            "category": category,
            "supplier": np.asarray(SUPPLIER_IDS)[supplier],
            "intermittent": intermittent,
            "p_occur": p_occur,
            "base": np.where(intermittent, p_occur * (1.0 + extra), smooth_base),
            "size": nb_size,
            "growth": rng.uniform(-0.15, 0.15, n),
            "season_amp": rng.uniform(0.6, 1.4, n),
            "season_shift": rng.uniform(-0.02, 0.02, n),
            "holiday_sens": rng.uniform(0.5, 1.5, n),
            "elasticity": rng.uniform(1.5, 3.0, n),
            "unit_cost": unit_cost,
            "regular_price": regular_price,
            "promo_rate": np.where(rng.random(n) < PROMO_SKU_SHARE, rng.uniform(0.02, 0.08, n), 0.0),
            "intro": intro,
        }
    )


# --------------------------------------------------------------------------- weekly mean


def _log_season(params: pd.DataFrame, t: np.ndarray) -> np.ndarray:
    """Unnormalised log seasonality [n_skus, len(t)] at year fractions ``t``."""
    coef = np.array([SEASONALITY[c] for c in params["category"]])
    amp = params["season_amp"].to_numpy()[:, None]
    phase = 2 * np.pi * (t[None, :] - coef[:, 2:3] - params["season_shift"].to_numpy()[:, None])
    return amp * (coef[:, 0:1] * np.cos(phase) + coef[:, 1:2] * np.cos(2 * phase))


def _seasonality(params: pd.DataFrame, weeks: pd.DatetimeIndex) -> np.ndarray:
    """Multiplicative seasonality (annual mean 1) at the mid-week (Thursday) of each week."""
    t = ((weeks + pd.Timedelta(days=3)).day_of_year.to_numpy() - 0.5) / 365.25
    grid = (np.arange(365) + 0.5) / 365.0
    norm = np.exp(_log_season(params, grid)).mean(axis=1, keepdims=True)
    return np.exp(_log_season(params, t)) / norm


def _holiday_lift(params: pd.DataFrame, weeks: pd.DatetimeIndex, calendar: pd.DataFrame) -> np.ndarray:
    """Lift [n_skus, n_weeks]: category lift of the week's event to the SKU's sensitivity."""
    event_of_week = pd.Series(calendar["event"].to_numpy(), index=calendar["date"])
    idx = np.array([EVENTS.index(event_of_week[w]) if w in event_of_week.index else -1 for w in weeks])
    table = np.array([HOLIDAY_LIFT[c] + (1.0,) for c in params["category"]])
    lift = table[:, idx]  # idx -1 picks the trailing 1.0
    return lift ** params["holiday_sens"].to_numpy()[:, None]


def _prices(rng: np.random.Generator, params: pd.DataFrame, n_weeks: int) -> tuple[np.ndarray, np.ndarray]:
    """Selling price and promo flag [n_skus, n_weeks]; promos cut 10-30 % for 1-2 weeks."""
    n = len(params)
    starts = rng.random((n, n_weeks)) < params["promo_rate"].to_numpy()[:, None]
    length = rng.integers(1, 3, (n, n_weeks))
    discount = np.round(rng.uniform(0.10, 0.30, (n, n_weeks)), 2)
    promo = np.zeros((n, n_weeks), dtype=bool)
    cut = np.zeros((n, n_weeks))
    for s, w in zip(*np.nonzero(starts), strict=True):
        promo[s, w : w + length[s, w]] = True
        cut[s, w : w + length[s, w]] = discount[s, w]
    price = np.round(params["regular_price"].to_numpy()[:, None] * (1.0 - cut), 2)
    return price, promo


def _ramp(params: pd.DataFrame, n_weeks: int) -> np.ndarray:
    """Launch ramp of new items, ``1 - 0.6 exp(-age / 3)``; 1 for established items."""
    intro = params["intro"].to_numpy()[:, None]
    age = np.arange(n_weeks)[None, :] - intro
    ramp = 1.0 - 0.6 * np.exp(-np.maximum(age, 0) / 3.0)
    return np.where(intro > 0, ramp, 1.0)


def _weekly_mean(
    params: pd.DataFrame, weeks: pd.DatetimeIndex, calendar: pd.DataFrame, price: np.ndarray
) -> np.ndarray:
    """True expected demand [n_skus, n_weeks] (intermittent floor applied)."""
    years = ((weeks - PLAN_START).days.to_numpy() / 364.0)[None, :]
    trend = (1.0 + params["growth"].to_numpy()[:, None]) ** years
    regular = params["regular_price"].to_numpy()[:, None]
    promo_lift = (price / regular) ** -params["elasticity"].to_numpy()[:, None]
    raw = (
        params["base"].to_numpy()[:, None]
        * trend
        * _seasonality(params, weeks)
        * _holiday_lift(params, weeks, calendar)
        * promo_lift
        * _ramp(params, len(weeks))
    )
    p = params["p_occur"].to_numpy()[:, None]
    floored = p * (1.0 + np.maximum(raw / p - 1.0, 0.0))
    return np.where(params["intermittent"].to_numpy()[:, None], floored, raw)


def _truth(
    rng: np.random.Generator, params: pd.DataFrame, weeks: pd.DatetimeIndex, calendar: pd.DataFrame
) -> pd.DataFrame:
    """Long truth table: one row per SKU-week from the SKU's introduction on."""
    price, promo = _prices(rng, params, len(weeks))
    mean = _weekly_mean(params, weeks, calendar, price)
    n, w = mean.shape
    live = (np.arange(w)[None, :] >= params["intro"].to_numpy()[:, None]).ravel()
    sku_idx = np.repeat(np.arange(n), w)[live]
    inter = params["intermittent"].to_numpy()[sku_idx]
    return pd.DataFrame(
        {
            "sku": params["sku"].to_numpy()[sku_idx],
            "week": np.tile(weeks.to_numpy(), n)[live],
            "mean": mean.ravel()[live],
            "dist": np.where(inter, "intermittent", "negbin"),
            "size": params["size"].to_numpy()[sku_idx],
            "p_occur": params["p_occur"].to_numpy()[sku_idx],
            "price": price.ravel()[live],
            "promo": promo.ravel()[live].astype(np.int64),
        }
    )


# --------------------------------------------------------------------------- sampling


def _draw(truth: pd.DataFrame, rng: np.random.Generator, n_paths: int) -> np.ndarray:
    """Integer draws [n_rows, n_paths] from the truth distribution of each row."""
    mean = truth["mean"].to_numpy(dtype=float)[:, None]
    size = truth["size"].to_numpy(dtype=float)[:, None]
    p = truth["p_occur"].to_numpy(dtype=float)[:, None]
    inter = (truth["dist"].to_numpy() == "intermittent")[:, None]
    nb_mean = np.where(inter, np.maximum(mean / p - 1.0, 0.0), mean)
    shape = (len(truth), n_paths)
    y = rng.negative_binomial(np.broadcast_to(size, shape), np.broadcast_to(size / (size + nb_mean), shape))
    occur = rng.random(shape) < p
    return np.where(inter, occur * (1 + y), y).astype(np.int64)


def sample_truth(truth: pd.DataFrame, n_paths: int, seed: int) -> np.ndarray:
    """Draw ``n_paths`` demand paths for every truth row: int array [len(truth), n_paths].

    Row ``i`` is drawn independently from the distribution the row states (see
    the module docstring): ``negbin`` rows from ``NegBin(mean, size)``,
    ``intermittent`` rows as ``Bernoulli(p_occur) * (1 + NegBin(mean/p_occur - 1, size))``.
    """
    return _draw(truth, np.random.default_rng(seed), n_paths)


# --------------------------------------------------------------------------- tables


def _demand(rng: np.random.Generator, truth: pd.DataFrame) -> pd.DataFrame:
    """Sales history: one draw per history row, censored in rare stockout runs."""
    hist = truth[truth["week"] < PLAN_START].reset_index(drop=True)
    demand = _draw(hist, rng, 1)[:, 0]
    n = len(hist)
    starts = np.flatnonzero(rng.random(n) < STOCKOUT_START_PROB)
    length = rng.integers(1, 4, len(starts))
    sku = hist["sku"].to_numpy()
    in_run = np.zeros(n, dtype=bool)
    for i, k in zip(starts, length, strict=True):
        stop = min(i + k, n)
        in_run[i:stop] = sku[i:stop] == sku[i]
    stockout = in_run & (demand >= 1)
    sold = np.where(stockout, np.floor(demand * rng.uniform(0.0, 0.8, n)), demand)
    return pd.DataFrame(
        {
            "sku": sku,
            "date": hist["week"].to_numpy(),
            "units": sold.astype(np.int64),
            "price": hist["price"].to_numpy(),
            "promo": hist["promo"].to_numpy(),
            "stockout": stockout.astype(np.int64),
        }
    )


def _level(truth: pd.DataFrame, skus: pd.Series) -> np.ndarray:
    """Mean true weekly demand per SKU over the future weeks (in ``skus`` order)."""
    future = truth[truth["week"] >= PLAN_START]
    return future.groupby("sku")["mean"].mean().reindex(skus).to_numpy()


def _packs_and_moqs(rng: np.random.Generator, level: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pack size and MOQ per SKU.

    The pack is one of the three largest sizes of PACK_SIZES not above four weeks
    of demand (1 for the slowest items); the MOQ is 0 for ~30 % of SKUs, else
    ``max(1, floor(U(1, 6) * level / pack))`` whole packs.
    """
    n = len(level)
    packs = np.asarray(PACK_SIZES)
    n_allowed = np.maximum((packs[None, :] <= 4.0 * level[:, None]).sum(axis=1), 1)
    pack = packs[rng.integers(np.maximum(n_allowed - 3, 0), n_allowed)]
    weeks = rng.uniform(1.0, 6.0, n)
    n_packs = np.maximum(np.floor(weeks * level / pack), 1).astype(np.int64)
    moq = np.where(rng.random(n) < 0.7, n_packs * pack, 0)
    return pack.astype(np.int64), moq.astype(np.int64)


def _items(rng: np.random.Generator, params: pd.DataFrame, level: np.ndarray) -> pd.DataFrame:
    """Item master in contract column order; optional fields blank where documented."""
    n = len(params)
    unit_cost = params["unit_cost"].to_numpy()
    vol_median = np.array([UNIT_VOLUME_MEDIAN[c] for c in params["category"]])
    volume = np.round(np.clip(vol_median * rng.lognormal(0.0, 0.5, n), 0.0005, 0.05), 4)
    pack, moq = _packs_and_moqs(rng, level)
    holding_rate = np.where(rng.random(n) < 0.85, np.round(rng.uniform(0.15, 0.35, n), 2), np.nan)
    holding_cost = np.full(n, np.nan)
    few = rng.choice(n, 5, replace=False)
    holding_cost[few] = np.round(unit_cost[few] * rng.uniform(0.2, 0.4, len(few)) / 52.0, 4)
    service = np.where(rng.random(n) < 0.10, rng.choice([0.9, 0.98], n), np.nan)
    line_cost = np.where(rng.random(n) < 0.2, 0.0, np.round(rng.uniform(0.5, 10.0, n), 2))
    items = pd.DataFrame(
        {
            "sku": params["sku"].to_numpy(),
            "supplier": params["supplier"].to_numpy(),
            "unit_cost": unit_cost,
            "unit_volume": volume,
            "moq": moq,
            "pack_size": pack,
            "holding_rate": holding_rate,
            "holding_cost": holding_cost,
            "shortage_cost": np.round(unit_cost * rng.uniform(0.5, 1.5, n), 2),
            "service_level": service,
            "order_cost": line_cost,
            "category": params["category"].to_numpy(),
        }
    )
    return items[contract.ITEMS.column_names]


def _suppliers(rng: np.random.Generator, items: pd.DataFrame, level: np.ndarray) -> pd.DataFrame:
    """Supplier master: lead times 1-12 weeks, PO costs 40-250, modest MOVs on three."""
    k = len(SUPPLIER_IDS)
    lead = np.asarray(LEAD_TIMES)
    weekly_value = (
        pd.Series(level * items["unit_cost"].to_numpy())
        .groupby(items["supplier"].to_numpy())
        .sum()
        .reindex(SUPPLIER_IDS, fill_value=0.0)
        .to_numpy()
    )
    mov = np.full(k, np.nan)
    with_mov = rng.choice(k, 3, replace=False)
    mov[with_mov] = np.maximum(
        np.floor(weekly_value[with_mov] * rng.uniform(0.5, 1.5, 3) / 50.0) * 50.0, 50.0
    )
    mov[np.setdiff1d(np.arange(k), with_mov)[0]] = 0.0
    return pd.DataFrame(
        {
            "supplier": list(SUPPLIER_IDS),
            "lead_time_weeks": lead.astype(np.int64),
            "order_cost": np.sort(np.round(rng.uniform(40.0, 250.0, k), 0)),
            "min_order_value": mov,
            "lead_time_sd_weeks": np.round(lead * rng.uniform(0.05, 0.15, k), 2),
        }
    )[contract.SUPPLIERS.column_names]


def _lead_of(items: pd.DataFrame, suppliers: pd.DataFrame) -> np.ndarray:
    """Lead time (weeks) of each item's supplier."""
    lead = suppliers.set_index("supplier")["lead_time_weeks"]
    return lead.reindex(items["supplier"]).to_numpy()


def _inventory(
    rng: np.random.Generator, items: pd.DataFrame, suppliers: pd.DataFrame, level: np.ndarray
) -> pd.DataFrame:
    """On hand = (lead + 2) weeks of mean demand x U(0.5, 1.5), a few SKUs at 0."""
    n = len(items)
    on_hand = np.round((_lead_of(items, suppliers) + 2) * level * rng.uniform(0.5, 1.5, n))
    on_hand[rng.choice(n, max(1, round(ZERO_STOCK_SHARE * n)), replace=False)] = 0
    return pd.DataFrame({"sku": items["sku"].to_numpy(), "on_hand": on_hand.astype(np.int64)})


def _open_orders(
    rng: np.random.Generator, items: pd.DataFrame, suppliers: pd.DataFrame, level: np.ndarray
) -> pd.DataFrame:
    """One or two whole-pack orders (>= MOQ) for ~30 % of SKUs, due within the lead time."""
    lead = _lead_of(items, suppliers)
    chosen = np.sort(rng.choice(len(items), round(OPEN_ORDER_SHARE * len(items)), replace=False))
    rows = []
    for i in chosen:
        count = min(int(rng.integers(1, 3)), int(lead[i]))
        offsets = np.sort(rng.choice(int(lead[i]), count, replace=False))
        pack, moq = int(items["pack_size"].iat[i]), int(items["moq"].iat[i])
        for week in offsets:
            want = level[i] * rng.uniform(1.0, 4.0)
            units = max(int(np.ceil(want / pack)) * pack, moq, pack)
            day = int(rng.integers(0, 5))
            arrival = PLAN_START + pd.Timedelta(days=7 * int(week) + day)
            rows.append((items["sku"].iat[i], arrival, units))
    frame = pd.DataFrame(rows, columns=contract.OPEN_ORDERS.column_names)
    frame["units"] = frame["units"].astype(np.int64)
    return frame


# --------------------------------------------------------------------------- public API


def generate_sample(
    seed: int = 7, n_skus: int = 240, history_weeks: int = 156, future_weeks: int = 52
) -> SampleCompany:
    """Generate the sample company deterministically from ``seed``.

    History has ``history_weeks`` weekly rows per established SKU, the last on
    Monday 2026-11-09; new items start 8-40 weeks before ``plan_start``
    (Monday 2026-11-16).  ``truth`` covers history and ``future_weeks`` weeks.
    """
    rng = np.random.default_rng(seed)
    weeks = _week_grid(history_weeks, future_weeks)
    calendar = _calendar(weeks)
    params = _sku_params(rng, n_skus, history_weeks)
    truth = _truth(rng, params, weeks, calendar)
    demand = _demand(rng, truth)
    level = _level(truth, params["sku"])
    items = _items(rng, params, level)
    suppliers = _suppliers(rng, items, level)
    inventory = _inventory(rng, items, suppliers, level)
    open_orders = _open_orders(rng, items, suppliers, level)
    log.debug("generated sample company: %d SKUs, %d demand rows", n_skus, len(demand))
    return SampleCompany(
        demand=demand,
        items=items,
        suppliers=suppliers,
        inventory=inventory,
        open_orders=open_orders,
        calendar=calendar,
        truth=truth,
        plan_start=PLAN_START,
    )


def _for_csv(table: contract.Table, frame: pd.DataFrame) -> pd.DataFrame:
    """Contract columns in contract order, date columns as ISO strings."""
    out = frame[table.column_names].copy()
    for col in table.columns:
        if col.kind == "date":
            out[col.name] = pd.to_datetime(out[col.name]).dt.strftime("%Y-%m-%d")
    return out


def write_sample(company: SampleCompany, out_dir: Path) -> list[Path]:
    """Write the six dataset tables of ``company`` as CSVs into ``out_dir``; return the paths."""
    out_dir = Path(out_dir)
    frames = {
        contract.DEMAND: company.demand,
        contract.ITEMS: company.items,
        contract.SUPPLIERS: company.suppliers,
        contract.INVENTORY: company.inventory,
        contract.OPEN_ORDERS: company.open_orders,
        contract.CALENDAR: company.calendar,
    }
    return [
        write_csv(_for_csv(table, frame), out_dir / f"{table.name}.csv", lineterminator="\n")
        for table, frame in frames.items()
    ]
