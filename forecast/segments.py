"""Demand segments: smooth versus intermittent (Syntetos-Boylan cut-off on the inter-demand interval)."""

from __future__ import annotations

import numpy as np
import pandas as pd

ADI_CUTOFF = 1.32  # Syntetos, Boylan & Croston (2005)
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
