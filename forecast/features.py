"""Features for direct multi-horizon demand models, free of leakage by construction.

History is laid out as a panel: one row per SKU, one column per week of a common weekly
grid. A training or prediction row is a triple (SKU ``s``, origin ``t``, horizon ``h``):
the model sees what was known at the end of week ``t`` and predicts demand in week
``t + h``. Every origin feature in column ``t`` of :func:`origin_features` is computed from
columns ``<= t`` only (rolling windows end at ``t``); the only facts about week ``t + h``
are its calendar (week of year, month, event flags from the events table) and last
year's demand in that week (``t + h - 52 <= t`` for ``h <= 52``).

Units are scaled by the SKU's level at the origin (``scale[s, t]``: mean of its uncensored
weeks in the 52 weeks up to ``t``), so one global model serves slow and fast SKUs.
Censored (stockout) weeks are missing, never zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

LAGS = (1, 2, 3, 4, 8, 13, 26, 52)
ROLL_MEANS = (4, 13, 26, 52)
MIN_SCALE = 0.05  # units/week; SKUs selling less are scaled as if they sold this
CATEGORICAL = ("category", "supplier")


@dataclass(frozen=True)
class Panel:
    """Weekly history as ``[S, T]`` arrays on a common grid of Mondays."""

    skus: np.ndarray
    weeks: pd.DatetimeIndex
    units: np.ndarray  # NaN where censored or before the SKU's first row
    listed: np.ndarray  # bool: the SKU has a row that week
    price: np.ndarray
    promo: np.ndarray
    category: np.ndarray  # [S] integer codes (-1 unknown)
    supplier: np.ndarray  # [S]
    event_weeks: pd.DatetimeIndex  # weeks with any event, past and future

    @property
    def last_week(self) -> pd.Timestamp:
        return self.weeks[-1]

    @property
    def stockout(self) -> np.ndarray:
        """``[S, T]`` bool: listed but censored (a stockout week)."""
        return self.listed & np.isnan(self.units)


def make_panel(
    history: pd.DataFrame,
    attributes: pd.DataFrame | None = None,
    events: pd.DataFrame | None = None,
    vocab: dict[str, list[str]] | None = None,
) -> tuple[Panel, dict[str, list[str]]]:
    """The panel of ``history`` and the category/supplier vocabularies used for the codes.

    Pass the ``vocab`` returned at fit time when predicting, so codes stay the same.
    """
    skus = np.array(sorted(history["sku"].unique()), dtype=object)
    weeks = pd.date_range(history["week"].min(), history["week"].max(), freq="7D")
    s_idx = pd.Index(skus).get_indexer(history["sku"])
    t_idx = weeks.get_indexer(history["week"])
    shape = (len(skus), len(weeks))

    def grid(column: str, fill: float = np.nan) -> np.ndarray:
        out = np.full(shape, fill)
        out[s_idx, t_idx] = history[column].to_numpy(dtype=float)
        return out

    listed = np.zeros(shape, dtype=bool)
    listed[s_idx, t_idx] = True
    units = grid("units")
    units[grid("stockout", 0.0) > 0] = np.nan
    vocab = dict(vocab or {})
    codes = {}
    for col in CATEGORICAL:
        values = (
            attributes[col].reindex(skus).astype(object).where(lambda v: v.notna(), None)
            if attributes is not None and col in attributes
            else pd.Series([None] * len(skus), index=skus, dtype=object)
        )
        if col not in vocab:
            vocab[col] = sorted({v for v in values if v is not None})
        codes[col] = pd.Index(vocab[col]).get_indexer(values.to_numpy()).astype(int)
    event_weeks = pd.DatetimeIndex([])
    if events is not None and len(events):
        event_weeks = pd.DatetimeIndex(sorted(pd.to_datetime(events["week"]).unique()))
    panel = Panel(
        skus=skus,
        weeks=weeks,
        units=units,
        listed=listed,
        price=grid("price"),
        promo=grid("promo", 0.0),
        category=codes["category"],
        supplier=codes["supplier"],
        event_weeks=event_weeks,
    )
    return panel, vocab


def _rolling(frame: pd.DataFrame, window: int, how: str, q: float | None = None) -> np.ndarray:
    """Rolling statistic over the last ``window`` weeks up to and including each week: ``[S, T]``."""
    r = frame.rolling(window, min_periods=1)
    out = r.quantile(q) if how == "quantile" else getattr(r, how)()
    return out.to_numpy().T


def origin_features(panel: Panel) -> dict[str, np.ndarray]:
    """Features known at the end of each week ``t``: ``name -> [S, T]``; ``scale`` included.

    - ``lag_k``: units in week ``t - k + 1`` (``lag_1`` is week ``t`` itself), / scale;
    - ``mean_w``: mean of the last ``w`` uncensored weeks / scale; ``std_13``, ``std_52``;
      ``q10_52``, ``q50_52``, ``q90_52``: rolling quantiles / scale; ``ewm``: exponential mean;
    - ``log_scale``: log of the level (units/week); ``trend``: mean_13 / mean_52;
    - intermittency: ``zero_share`` and ``adi`` (weeks per non-zero week) over 52 weeks,
      ``since_sale`` (weeks since the last non-zero week), ``age`` (weeks listed);
    - price: ``rel_price`` (price / its 52-week median), ``promo`` at ``t``, ``promo_13`` share;
    - ``profile_group`` / ``profile_all``: the category's / all SKUs' mean scaled demand over weeks
      ``t-2..t`` (used by :func:`design` for seasonal ratios, not as row features themselves).
    """
    units = pd.DataFrame(panel.units.T)  # [T, S]
    mean52 = _rolling(units, 52, "mean")
    scale = np.maximum(np.nan_to_num(mean52, nan=MIN_SCALE), MIN_SCALE)
    feats: dict[str, np.ndarray] = {"scale": scale, "log_scale": np.log(scale)}
    for k in LAGS:
        lagged = np.full_like(panel.units, np.nan)
        lagged[:, k - 1 :] = panel.units[:, : panel.units.shape[1] - k + 1]
        feats[f"lag_{k}"] = lagged / scale
    for w in ROLL_MEANS:
        feats[f"mean_{w}"] = _rolling(units, w, "mean") / scale
    feats["std_13"] = _rolling(units, 13, "std") / scale
    feats["std_52"] = _rolling(units, 52, "std") / scale
    for q in (0.1, 0.5, 0.9):
        feats[f"q{int(q * 100)}_52"] = _rolling(units, 52, "quantile", q) / scale
    feats["ewm"] = units.ewm(alpha=0.3, ignore_na=True).mean().to_numpy().T / scale
    feats["trend"] = feats["mean_13"] / np.maximum(feats["mean_52"], 1e-9)
    nonzero = pd.DataFrame((panel.units > 0).astype(float).T).where(units.notna())
    share_nonzero = _rolling(nonzero, 52, "mean")
    feats["zero_share"] = 1.0 - share_nonzero
    feats["adi"] = 1.0 / np.maximum(share_nonzero, 1.0 / 52)
    feats["since_sale"] = _weeks_since(panel.units > 0)
    feats["age"] = np.cumsum(panel.listed, axis=1).astype(float)
    price = pd.DataFrame(panel.price.T)
    median_price = price.rolling(52, min_periods=1).median().to_numpy().T
    with np.errstate(invalid="ignore", divide="ignore"):
        feats["rel_price"] = panel.price / median_price
    feats["promo"] = panel.promo
    feats["promo_13"] = _rolling(pd.DataFrame(panel.promo.T), 13, "mean")
    relative = panel.units / scale
    feats["profile_group"] = _group_profile(relative, panel.category)
    feats["profile_all"] = _group_profile(relative, np.zeros_like(panel.category))
    return feats


def _group_profile(relative: np.ndarray, group: np.ndarray) -> np.ndarray:
    """``[S, T]``: for each SKU's group, the mean over the group's SKUs of ``units / scale``
    in weeks ``t-2..t`` (trailing, so column ``t`` uses nothing after week ``t``)."""
    out = np.full_like(relative, np.nan)
    for g in np.unique(group):
        rows = group == g
        count = np.sum(~np.isnan(relative[rows]), axis=0)
        total = np.nansum(relative[rows], axis=0)
        mean = np.where(count > 0, total / np.maximum(count, 1), np.nan)
        out[rows] = pd.Series(mean).rolling(3, min_periods=1).mean().to_numpy()[None, :]
    return out


def _weeks_since(flag: np.ndarray) -> np.ndarray:
    """Weeks since the last True up to each week (0 if that week; NaN before the first)."""
    n_t = flag.shape[1]
    idx = np.where(flag, np.arange(n_t)[None, :], -1)
    last = np.maximum.accumulate(idx, axis=1)
    return np.where(last >= 0, np.arange(n_t)[None, :] - last, np.nan).astype(float)


def design(
    panel: Panel, feats: dict[str, np.ndarray], s: np.ndarray, t: np.ndarray, h: np.ndarray
) -> pd.DataFrame:
    """Model inputs for rows (SKU ``s``, origin ``t``, horizon ``h``), index arrays of equal length.

    Origin features are gathered at ``[s, t]``; target-week features: ``horizon``,
    ``woy``/``month`` of week ``t + h``, ``event`` (an event in week ``t + h``),
    ``event_next`` (in week ``t + h + 1``), ``last_year`` (units in week ``t + h - 52``,
    or NaN if that is after ``t``) and ``last_year_3`` (mean of weeks ``t+h-53..t+h-51``), / scale;
    ``group_season`` / ``all_season``: how the category's / all SKUs' demand profile changed from
    the origin's week last year to the target week last year (a pooled seasonal index), and
    ``group_now`` / ``all_now``: the profile at the origin.
    """
    cols = {
        name: arr[s, t] for name, arr in feats.items() if name != "scale" and not name.startswith("profile_")
    }
    target = panel.weeks[t] + pd.to_timedelta(7 * h, unit="D")
    cols["horizon"] = h.astype(float)
    cols["woy"] = target.isocalendar().week.to_numpy(dtype=float)
    cols["month"] = target.month.to_numpy(dtype=float)
    cols["event"] = target.isin(panel.event_weeks).astype(float)
    cols["event_next"] = (target + pd.Timedelta(days=7)).isin(panel.event_weeks).astype(float)
    scale = feats["scale"][s, t]
    ly = t + h - 52
    three = np.stack([_take(panel.units, s, ly + d, t) for d in (-1, 0, 1)])
    cols["last_year"] = _take(panel.units, s, ly, t) / scale
    count = np.sum(~np.isnan(three), axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        cols["last_year_3"] = np.where(count > 0, np.nansum(three, axis=0) / count, np.nan) / scale
    for name in ("group", "all"):
        profile = feats[f"profile_{name}"]
        with np.errstate(invalid="ignore", divide="ignore"):
            cols[f"{name}_season"] = _take(profile, s, ly + 1, t) / _take(profile, s, t - 51, t)
        cols[f"{name}_now"] = profile[s, t]
    for name in CATEGORICAL:  # unknown (-1) as missing: LightGBM's categories are non-negative codes
        codes = getattr(panel, name)[s]
        cols[name] = np.where(codes >= 0, codes, np.nan)
    return pd.DataFrame(cols)


def _take(values: np.ndarray, s: np.ndarray, col: np.ndarray, origin: np.ndarray) -> np.ndarray:
    """``values[s, col]`` where ``0 <= col <= origin``, else NaN (never a week after the origin)."""
    ok = (col >= 0) & (col <= origin)
    out = np.full(len(s), np.nan)
    out[ok] = values[s[ok], col[ok]]
    return out


def target(panel: Panel, s: np.ndarray, t: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Units in week ``t + h`` (NaN when censored, unlisted or beyond the panel)."""
    col = t + h
    ok = col < panel.units.shape[1]
    out = np.full(len(s), np.nan)
    out[ok] = panel.units[s[ok], col[ok]]
    return out
