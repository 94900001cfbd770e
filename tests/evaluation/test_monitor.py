"""Forecast monitoring: scores worked by hand, and the drift rule."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from planner.evaluation.monitor import DriftRule, drift, score_forecast

WEEKS = pd.date_range("2026-01-05", periods=6, freq="7D")


def history() -> pd.DataFrame:
    """SKU A sells 10 a week; B sells 0 or 4; week 5 of B is a stockout (censored)."""
    rows = []
    for i, w in enumerate(WEEKS):
        rows.append({"sku": "A", "week": w, "units": 10.0, "stockout": 0})
        rows.append({"sku": "B", "week": w, "units": 4.0 * (i % 2), "stockout": int(i == 4)})
    return pd.DataFrame(rows)


def forecast() -> pd.DataFrame:
    """From week 3 (index 2) on, 4 weeks: A's median 10 with 80 % interval 8-12; B's 0-3, mean 2."""
    rows = []
    for h, w in enumerate(WEEKS[2:], start=1):
        rows.append({"sku": "A", "week": w.strftime("%Y-%m-%d"), "horizon": h, "mean": 11.0,
                     "q0.1": 8.0, "q0.5": 10.0, "q0.9": 12.0})  # fmt: skip
        rows.append({"sku": "B", "week": w.strftime("%Y-%m-%d"), "horizon": h, "mean": 2.0,
                     "q0.1": 0.0, "q0.5": 1.0, "q0.9": 3.0})  # fmt: skip
    return pd.DataFrame(rows)


def test_scores_by_hand() -> None:
    last_known = WEEKS[4]  # weeks 3-5 known; week 5 of B censored
    s = score_forecast(forecast(), history(), pd.Series({"A": "S1", "B": "S2"}), last_known)
    overall = s[s["dimension"] == "all"].iloc[0]
    # points: A weeks 3,4,5 (10 each); B weeks 3,4 (0 and 4): 5 points, 34 units
    assert overall["points"] == 5 and overall["actual"] == 34 and overall["weeks_known"] == 3
    # pinball over levels 0.1/0.5/0.9: A: y=10: 0.1*2 + 0 + 0.1*2 = 0.4 per week -> 1.2
    # B y=0: (0.9*0 + 0.5*1 + 0.1*3) = 0.8 ; B y=4: 0.1*4 + 0.5*3 + 0.9*1 = 2.8 -> 3.6
    assert overall["wql"] == pytest.approx((1.2 + 3.6) / 34)
    assert overall["bias"] == pytest.approx((3 * 11 + 2 * 2) / 34 - 1)
    assert overall["coverage80"] == pytest.approx(4 / 5)  # B's 4 is above 3
    assert np.isnan(overall["coverage90"])  # no 5 % and 95 % levels
    by = s.set_index(["dimension", "key"])
    assert by.loc[("supplier", "S1"), "points"] == 3 and by.loc[("supplier", "S2"), "points"] == 2
    assert by.loc[("horizon", "1"), "points"] == 2 and by.loc[("horizon", "3"), "points"] == 1
    assert by.loc[("week", str(WEEKS[4].date())), "points"] == 1  # B censored that week
    assert set(s.loc[s["dimension"] == "class", "key"]) <= {
        "smooth",
        "erratic",
        "intermittent",
        "lumpy",
        "new",
        "dead",
    }
    assert score_forecast(forecast(), history(), pd.Series(dtype=str), WEEKS[1]).empty  # nothing known yet


def overall(coverage: list[float], bias: list[float], weeks: int = 8) -> pd.DataFrame:
    origins = [dt.date(2026, 1, 5) + dt.timedelta(weeks=i) for i in range(len(coverage))]
    return pd.DataFrame({"origin": origins, "coverage80": coverage, "bias": bias, "weeks_known": weeks})


def test_drift_needs_consecutive_origins() -> None:
    rule = DriftRule(band=(0.7, 0.9), max_bias=0.2, weeks=3, min_weeks=4)
    assert drift(overall([0.8, 0.6, 0.6, 0.6], [0, 0, 0, 0]), rule)[0].startswith("80 % interval coverage")
    assert drift(overall([0.6, 0.6, 0.8, 0.6], [0, 0, 0, 0]), rule) == []  # one origin inside
    assert len(drift(overall([0.8, 0.95, 0.95, 0.95], [0.3, -0.3, 0.25, 0.5]), rule)) == 2
    assert drift(overall([0.5, 0.5, 0.5], [0, 0, 0], weeks=3), rule) == []  # too few weeks known
    assert drift(overall([0.5, 0.5], [0, 0]), rule) == []  # too few origins
