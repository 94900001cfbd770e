"""Demand classes: how a SKU's demand behaves, from its own history.

Syntetos, Boylan & Croston (2005) classify demand by the average inter-demand interval ADI
(weeks per week with demand) and the squared coefficient of variation CV² of the non-zero
demand sizes, with cut-offs 1.32 and 0.49:

| class | ADI | CV² |
|---|---|---|
| smooth | < 1.32 | < 0.49 |
| erratic | < 1.32 | >= 0.49 |
| intermittent | >= 1.32 | < 0.49 |
| lumpy | >= 1.32 | >= 0.49 |

Two more classes come first: ``new`` (first sale less than ``NEW_WEEKS`` before the origin: too
little history to classify) and ``dead`` (no sale in the last ``DEAD_WEEKS``). Both are computed
on uncensored weeks from the SKU's first sale. The two coarse ``SEGMENTS`` (smooth versus
intermittent, on ADI alone over the last year) group them for the ensemble's weights.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

ADI_CUTOFF = 1.32  # Syntetos, Boylan & Croston (2005)
CV2_CUTOFF = 0.49
NEW_WEEKS = 26
DEAD_WEEKS = 52
DEMAND_CLASSES = ("smooth", "erratic", "intermittent", "lumpy", "new", "dead")
SEGMENTS = ("smooth", "intermittent")


def segment_of(units: np.ndarray) -> str:
    """'intermittent' when the average interval between non-zero weeks exceeds 1.32 weeks.

    ``units`` are the SKU's uncensored weekly sales; a SKU without any sale is intermittent.
    """
    nonzero = int(np.count_nonzero(np.asarray(units) > 0))
    if nonzero == 0:
        return "intermittent"
    return "intermittent" if len(units) / nonzero > ADI_CUTOFF else "smooth"


def classify(history: pd.DataFrame, weeks: int = 52) -> pd.Series:
    """Segment per SKU (index ``sku``) from its last ``weeks`` uncensored weeks of ``history``."""
    recent = history.sort_values(["sku", "week"]).groupby("sku", sort=True).tail(weeks)
    recent = recent[recent["stockout"] == 0]
    seg = recent.groupby("sku")["units"].agg(lambda u: segment_of(u.to_numpy()))
    all_skus = pd.Index(sorted(history["sku"].unique()), name="sku")
    return seg.reindex(all_skus, fill_value="intermittent").rename("segment")


def demand_class(units: np.ndarray, weeks_since_start: int | None = None) -> str:
    """The demand class of one SKU from its uncensored weekly ``units`` up to the origin (oldest
    first). ``weeks_since_start``: calendar weeks from the first week of ``units`` to the origin
    (default ``len(units)``; larger when censored weeks were dropped)."""
    units = np.asarray(units, dtype=float)
    span = len(units) if weeks_since_start is None else weeks_since_start
    sold = np.flatnonzero(units > 0)
    if sold.size == 0 or len(units) - sold[-1] > DEAD_WEEKS:
        return "dead"
    if span - sold[0] < NEW_WEEKS:
        return "new"
    active = units[sold[0] :]
    adi = len(active) / sold.size
    sizes = units[sold]
    cv2 = float((sizes.std() / sizes.mean()) ** 2) if sizes.size > 1 else 0.0
    if adi < ADI_CUTOFF:
        return "smooth" if cv2 < CV2_CUTOFF else "erratic"
    return "intermittent" if cv2 < CV2_CUTOFF else "lumpy"


def classify_demand(history: pd.DataFrame) -> pd.Series:
    """Demand class per SKU (index ``sku``, name ``class``) of ``history`` (``sku, week, units,
    stockout``): :func:`demand_class` on each SKU's uncensored weeks."""
    h = history.sort_values(["sku", "week"], kind="stable")
    out = {}
    for sku, rows in h.groupby("sku", sort=True):
        ok = rows["stockout"].to_numpy() == 0 if "stockout" in rows else np.ones(len(rows), dtype=bool)
        out[sku] = demand_class(rows["units"].to_numpy(dtype=float)[ok], len(rows))
    return pd.Series(out, name="class").rename_axis("sku")
