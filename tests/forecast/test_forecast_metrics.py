"""Metrics against hand-worked numbers, origin arithmetic and a small rolling-origin backtest."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecast.backtest import EMPIRICAL_LEAD_TIME, origins, run_backtest
from forecast.base import Forecast
from forecast.baselines import CrostonForecaster, SeasonalNaiveForecaster
from forecast.metrics import evaluate, pinball, scale_mase, scale_pinball, summarise
from forecast.segments import DEMAND_CLASSES

W = pd.Timedelta(weeks=1)
START = pd.Timestamp("2024-01-01")  # a Monday


def history_frame(
    series: dict[str, list[float]], stockout: dict[str, list[int]] | None = None
) -> pd.DataFrame:
    parts = []
    for sku, units in series.items():
        parts.append(
            pd.DataFrame(
                {
                    "sku": sku,
                    "week": pd.date_range(START, periods=len(units), freq="7D"),
                    "units": np.asarray(units, dtype=float),
                    "price": 1.0,
                    "promo": 0,
                    "stockout": (stockout or {}).get(sku, [0] * len(units)),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def hand_forecast(quantiles: np.ndarray, levels: list[float], weeks: pd.DatetimeIndex) -> Forecast:
    """A forecast with the given ``quantiles[S, H, Q]`` for SKUs A, B (paths: the median)."""
    paths = quantiles[:, None, :, levels.index(0.5)] if 0.5 in levels else quantiles[:, None, :, 0]
    return Forecast(
        ["A", "B"],
        weeks,
        np.asarray(levels),
        quantiles[:, :, levels.index(0.5)] if 0.5 in levels else quantiles[:, :, 0],
        quantiles,
        paths,
        np.cumsum(quantiles, axis=1),
        "hand",
    )


def test_pinball_hand_values() -> None:
    y = np.array([10.0, 10.0, 10.0])
    q = np.array([8.0, 10.0, 13.0])  # y - q = 2, 0, -3
    # level 0.9: max(0.9 * 2, -0.1 * 2) = 1.8; 0; max(0.9 * -3, -0.1 * -3) = 0.3
    np.testing.assert_allclose(pinball(y, q, 0.9), [1.8, 0.0, 0.3])
    # level 0.1: 0.2; 0; 2.7
    np.testing.assert_allclose(pinball(y, q, 0.1), [0.2, 0.0, 2.7])
    # level 0.5 is half the absolute error; broadcasting over levels
    np.testing.assert_allclose(pinball(y[:, None], q[:, None], [0.5]), [[1.0], [0.0], [1.5]])
    rng = np.random.default_rng(0)  # oracle: the piecewise definition
    y, q, lv = rng.normal(size=200), rng.normal(size=200), rng.random(200)
    np.testing.assert_allclose(pinball(y, q, lv), np.where(y >= q, lv * (y - q), (1 - lv) * (q - y)))


def test_scales_hand_values() -> None:
    hist = history_frame(
        {
            # A: sales from week 2 on; week 6 censored. Pairs after the first sale with both weeks
            #    uncensored: |5-3| = 2, |2-5| = 3, |2-2| = 0, |1-4| = 3 -> scale 8 / 4 = 2.
            #    (0 -> 3 at launch is not counted; pairs touching week 6 are not counted.)
            "A": [0, 0, 3, 5, 2, 2, 0, 4, 1],
            "B": [0, 0, 0, 0],  # no sale: undefined -> 1
            "C": [5, 5, 5, 5],  # constant: 0 -> 1
            "D": [7],  # one week: no pair -> 1
        },
        {"A": [0, 0, 0, 0, 0, 0, 1, 0, 0]},
    )
    scale = scale_pinball(hist)
    assert scale.to_dict() == pytest.approx({"A": 2.0, "B": 1.0, "C": 1.0, "D": 1.0})
    pd.testing.assert_series_equal(scale_mase(hist), scale)


# Hand-made forecast: levels 0.1, 0.5, 0.9; two SKUs, two weeks.
#   A: q = (2, 4, 6) both weeks; actuals 5, 8.     B: q = (0, 1, 2); actuals 1, 0 (censored).
# Pinball  A w1 (y=5): 0.1*3 = 0.3, 0.5*1 = 0.5, 0.1*1 = 0.1            sum 0.9
#          A w2 (y=8): 0.1*6 = 0.6, 0.5*4 = 2.0, 0.9*2 = 1.8            sum 4.4
#          B w1 (y=1): 0.1*1 = 0.1, 0,           0.1*1 = 0.1            sum 0.2
#          B w2: censored, excluded.
# WQL = 5.5 / (3 levels * (5 + 8 + 1)) = 5.5 / 42
# Scales (history): A 1 3 2 4 -> (2 + 1 + 2) / 3 = 5/3;  B 1 1 1 2 -> 1/3
# Scaled pinball = mean(5.3/6 / (5/3), 0.2/3 / (1/3)) = mean(0.53, 0.2) = 0.365
# cov80 ([q0.1, q0.9]): A w1 in, A w2 out, B w1 in -> 2/3; cov50, cov90: levels missing -> NaN
# Median errors 1, 4, 0: MAE 5/3, MSE 17/3;  MASE = mean(2.5 / (5/3), 0 / (1/3)) = 0.75
# Pinball per level: 0.1: 1.0/3, 0.5: 2.5/3, 0.9: 2.0/3
HAND_LEVELS = [0.1, 0.5, 0.9]
HAND_WEEKS = pd.date_range("2024-02-05", periods=2, freq="7D")


def hand_case() -> tuple[pd.DataFrame, Forecast, pd.DataFrame]:
    q = np.array([[[2, 4, 6], [2, 4, 6]], [[0, 1, 2], [0, 1, 2]]], dtype=float)  # [S, H, Q]
    fc = hand_forecast(q, HAND_LEVELS, HAND_WEEKS)
    actuals = pd.DataFrame(
        {
            "sku": ["A", "A", "B", "B", "C"],
            "week": [HAND_WEEKS[0], HAND_WEEKS[1], HAND_WEEKS[0], HAND_WEEKS[1], HAND_WEEKS[0]],
            "units": [5.0, 8.0, 1.0, 0.0, 9.0],  # C is not forecast: ignored
            "stockout": [0, 0, 0, 1, 0],
        }
    )
    hist = history_frame({"A": [1, 3, 2, 4], "B": [1, 1, 1, 2]})
    return actuals, fc, hist


def test_evaluate_rows_and_censoring() -> None:
    actuals, fc, hist = hand_case()
    rows = evaluate(actuals, fc, hist)
    assert len(rows) == 3 * 3  # B's censored week is gone
    assert not ((rows["sku"] == "B") & (rows["week"] == HAND_WEEKS[1])).any()
    assert rows["pinball"].sum() == pytest.approx(5.5)
    by_point = rows.groupby(["sku", "horizon"])["pinball"].sum()
    assert by_point.to_dict() == pytest.approx({("A", 1): 0.9, ("A", 2): 4.4, ("B", 1): 0.2})
    assert rows.groupby("sku")["scale"].first().to_dict() == pytest.approx({"A": 5 / 3, "B": 1 / 3})
    only = evaluate(actuals, fc, hist, levels=[0.5])
    assert only["pinball"].sum() == pytest.approx(0.5 + 2.0 + 0.0)
    with pytest.raises(ValueError, match="levels 0.95 are not in forecast 'hand'"):
        evaluate(actuals, fc, hist, levels=[0.5, 0.95])


def test_summary_hand_values() -> None:
    actuals, fc, hist = hand_case()
    rows = evaluate(actuals, fc, hist).assign(model="hand")
    s = summarise(rows, by=["model"]).iloc[0]
    assert s["wql"] == pytest.approx(5.5 / 42)
    assert s["scaled_pinball"] == pytest.approx(0.365)
    assert s["cov80"] == pytest.approx(2 / 3)
    assert np.isnan(s["cov50"]) and np.isnan(s["cov90"])
    assert s["mae"] == pytest.approx(5 / 3)
    assert s["mse"] == pytest.approx(17 / 3)
    assert s["rmse"] == pytest.approx(np.sqrt(17 / 3))
    assert s["mase"] == pytest.approx(0.75)
    assert s["pinball_q0.1"] == pytest.approx(1 / 3)
    assert s["pinball_q0.5"] == pytest.approx(2.5 / 3)
    assert s["pinball_q0.9"] == pytest.approx(2 / 3)
    assert (s["n_series"], s["n_points"]) == (2, 3)
    overall = summarise(rows.drop(columns="model"), by=[]).iloc[0]
    assert overall["wql"] == pytest.approx(5.5 / 42)


def test_coverage_is_inclusive_and_uses_the_right_levels() -> None:
    levels = [0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95]
    q = np.tile(np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]), (2, 2, 1))  # [S=2, H=2, Q=7]
    fc = hand_forecast(q, levels, HAND_WEEKS)
    # actuals 3 (= q0.25: inside all three), 6.5 (outside 50 and 80, inside 90),
    #         7 (= q0.95: inside 90 only), 0.5 (below everything)
    actuals = pd.DataFrame(
        {
            "sku": ["A", "A", "B", "B"],
            "week": [*HAND_WEEKS, *HAND_WEEKS],
            "units": [3.0, 6.5, 7.0, 0.5],
        }
    )
    s = summarise(evaluate(actuals, fc, history_frame({"A": [1, 2], "B": [1, 2]})), by=[]).iloc[0]
    assert (s["cov50"], s["cov80"], s["cov90"]) == pytest.approx((1 / 4, 1 / 4, 3 / 4))


def test_origins_arithmetic() -> None:
    last = pd.Timestamp("2025-12-29")
    # horizon 4: the last window is 12-08 .. 12-29; non-overlapping steps of 4 weeks back
    expected = pd.DatetimeIndex(["2025-10-13", "2025-11-10", "2025-12-08"])
    pd.testing.assert_index_equal(origins(last, 3, 4), expected)
    pd.testing.assert_index_equal(
        origins(last, 3, 4, step=1), pd.DatetimeIndex(["2025-11-24", "2025-12-01", "2025-12-08"])
    )
    o = origins(last, 5, 13)
    assert (o[1:] - o[:-1] == 13 * W).all() and o[-1] + 12 * W == last
    with pytest.raises(ValueError):
        origins(last, 0, 4)


class SpyForecaster(SeasonalNaiveForecaster):
    """Seasonal naive that records the last training week of every fit."""

    fits: list[pd.Timestamp] = []

    def fit(self, history, *, attributes=None, events=None):
        SpyForecaster.fits.append(history["week"].max())
        return super().fit(history, attributes=attributes, events=events)


def test_run_backtest_two_baselines() -> None:
    rng = np.random.default_rng(3)
    n = 80
    season = 10 + 5 * np.sin(2 * np.pi * np.arange(n) / 52)
    hist = history_frame(
        {
            "smooth": list(rng.poisson(season)),
            "lumpy": list(rng.poisson(3, n) * (rng.random(n) < 0.2)),
        },
        {"smooth": [1 if t == n - 2 else 0 for t in range(n)]},  # one censored actual week
    )
    hist = hist[~((hist["sku"] == "lumpy") & (hist["week"] < START + 10 * W))]  # lumpy starts later
    levels = [0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95]
    o = origins(hist["week"].max(), n_origins=2, horizon=4)
    SpyForecaster.fits = []
    result = run_backtest(
        hist,
        {"spy": lambda: SpyForecaster(n_paths=50), "sba": lambda: CrostonForecaster(n_paths=50)},
        o,
        horizon=4,
        levels=levels,
    )
    # one fit per origin and model, on weeks strictly before the origin
    assert SpyForecaster.fits == [o[0] - W, o[1] - W]
    assert len(result.timings) == 4 and (result.timings[["fit_s", "predict_s"]] >= 0).all().all()
    # 2 models x 2 origins x 2 SKUs x 4 weeks x 7 levels, minus the censored week (2 models x 7 levels)
    assert len(result.points) == 2 * 2 * 2 * 4 * 7 - 2 * 7
    assert set(result.points["class"]) <= set(DEMAND_CLASSES) and set(result.points["target"]) == {"weekly"}
    assert (result.points["week"] >= result.points["origin"]).all()
    # the metrics are the summary of the points
    table = result.table()
    assert list(table["model"]) == ["spy", "sba"]
    assert list(table.columns) == [
        "model",
        "WQL",
        "scaled pinball",
        "cov50",
        "cov80",
        "cov90",
        "MASE",
        "MAE",
        "RMSE",
        "fit s",
        "predict s",
    ]
    again = summarise(result.points, by=["model"]).set_index("model")
    np.testing.assert_allclose(
        table.set_index("model").loc[["spy", "sba"], "WQL"], again.loc[["spy", "sba"], "wql"]
    )
    totals = result.timings.groupby("model")["fit_s"].sum()
    assert table.set_index("model")["fit s"].to_dict() == pytest.approx(totals.to_dict())
    per_class = result.metrics[result.metrics["class"] != "all"]
    assert len(per_class) == 2 * result.points["class"].nunique() and per_class["fit_s"].isna().all()
    assert np.isfinite(table[["WQL", "scaled pinball", "MASE", "MAE", "RMSE", "cov80"]].to_numpy()).all()


def test_lead_time_target_sums_the_lead_time_and_has_an_empirical_reference() -> None:
    """SKU A (lead time 1): demand over 2 weeks from the origin against the cumulative quantiles at
    week 2; the reference is the empirical quantiles of A's rolling 2-week sums."""
    units = [1, 3, 2, 4, 0, 6, 5, 7]
    hist = history_frame({"A": units})
    first = hist["week"].min() + 6 * W  # origin: weeks 7 and 8 (5 + 7 = 12) are forecast
    result = run_backtest(
        hist,
        {"sba": lambda: CrostonForecaster(n_paths=40)},
        [first],
        horizon=1,
        levels=[0.1, 0.5, 0.9],
        lead_time=pd.Series({"A": 1}),
    )
    lead = result.points[result.points["target"] == "lead_time"]
    model = lead[lead["model"] == "sba"]
    assert (model["y"] == 12.0).all() and (model["horizon"] == 2).all() and len(model) == 3
    ref = lead[lead["model"] == EMPIRICAL_LEAD_TIME].set_index("level")["q"]
    sums = np.convolve(units[:6], np.ones(2), mode="valid")  # 4, 5, 6, 4, 6
    np.testing.assert_allclose(ref.to_numpy(), np.quantile(sums, [0.1, 0.5, 0.9]))
    weekly = result.points[result.points["target"] == "weekly"]
    assert set(weekly["model"]) == {"sba"} and (weekly["horizon"] == 1).all()
    assert set(result.metrics["target"]) == {"weekly", "lead_time"}
