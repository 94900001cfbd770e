"""Known answers for the seasonal-naive and Croston-family baselines."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from forecast.baselines import (
    CrostonForecaster,
    SeasonalNaiveForecaster,
    croston_mean,
    discrete_quantiles,
    seasonal_naive_errors,
    ses_level,
)

START = pd.Timestamp("2024-01-01")  # a Monday
LEVELS = [0.05, 0.5, 0.95]


def frame(series: dict[str, np.ndarray], stockout: dict[str, np.ndarray] | None = None) -> pd.DataFrame:
    """History with one row per SKU and week from ``START`` (``stockout`` default 0)."""
    parts = []
    for sku, units in series.items():
        n = len(units)
        censored = (stockout or {}).get(sku, np.zeros(n, dtype=int))
        parts.append(
            pd.DataFrame(
                {
                    "sku": sku,
                    "week": pd.date_range(START, periods=n, freq="7D"),
                    "units": np.asarray(units, dtype=float),
                    "price": 1.0,
                    "promo": 0,
                    "stockout": censored,
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def next_weeks(history: pd.DataFrame, h: int) -> pd.DatetimeIndex:
    return pd.date_range(history["week"].max() + pd.Timedelta(weeks=1), periods=h, freq="7D")


# --- seasonal naive -----------------------------------------------------------------------


def test_seasonal_naive_repeats_last_year_exactly_when_errors_are_zero() -> None:
    pattern = np.round(50 + 30 * np.sin(2 * np.pi * np.arange(52) / 52))
    hist = frame({"A": np.tile(pattern, 3)})  # 156 weeks, every seasonal error is 0
    weeks = next_weeks(hist, 60)  # beyond one season: week 53+ repeats the last season again
    fc = SeasonalNaiveForecaster(n_paths=50, seed=0).fit(hist).predict(["A"], weeks, LEVELS)
    expected = np.tile(pattern, 2)[:60]
    np.testing.assert_array_equal(fc.mean[0], expected)
    for k in range(len(LEVELS)):
        np.testing.assert_array_equal(fc.quantiles[0, :, k], expected)
    np.testing.assert_array_equal(fc.paths[0], np.broadcast_to(expected, (50, 60)))


def test_seasonal_naive_bootstraps_hand_worked_errors() -> None:
    # season 4, five seasons: pattern + (0, 1, 0, 1, 0) per season, so y_t - y_{t-4} is
    # +1 (4 weeks), -1, +1, -1: eight errors of +1 and eight of -1. The last season is the
    # pattern itself, so week h has point pattern[h] and demand pattern[h] -/+ 1 with
    # probability 1/2 each: mean = point, q0.05 = point - 1, q0.5 = point, q0.95 = point + 1.
    pattern = np.array([10.0, 20.0, 30.0, 40.0])
    units = np.concatenate([pattern + b for b in (0, 1, 0, 1, 0)])
    np.testing.assert_array_equal(np.sort(seasonal_naive_errors(units, 4)), [-1.0] * 8 + [1.0] * 8)
    hist = frame({"A": units})
    fc = (
        SeasonalNaiveForecaster(season=4, n_paths=2000, seed=3)
        .fit(hist)
        .predict(["A"], next_weeks(hist, 4), LEVELS)
    )
    np.testing.assert_allclose(fc.mean[0], pattern)
    np.testing.assert_allclose(fc.quantiles[0], np.stack([pattern - 1, pattern, pattern + 1], axis=1))
    assert set(np.unique(fc.paths[0] - pattern)) == {-1.0, 1.0}
    assert abs((fc.paths[0] > pattern).mean() - 0.5) < 0.05


def test_seasonal_naive_falls_back_to_recent_mean_for_a_censored_lag_week() -> None:
    pattern = np.arange(1.0, 53.0)
    units = np.tile(pattern, 2)
    stockout = np.zeros(104, dtype=int)
    stockout[52] = 1  # the lag week of the first forecast week (y_{T+1-52} = week 52)
    hist = frame({"A": units}, {"A": stockout})
    fc = SeasonalNaiveForecaster(n_paths=20).fit(hist).predict(["A"], next_weeks(hist, 2), [0.5])
    recent_mean = units[-13:].mean()  # the last 13 weeks are uncensored: mean of 40..52 = 46
    # the other 51 seasonal pairs are equal, so the errors are all 0 and q0.5 is the point
    np.testing.assert_allclose(fc.quantiles[0, :, 0], [recent_mean, pattern[1]])


def test_seasonal_naive_short_zero_and_unknown_skus_are_finite() -> None:
    hist = frame({"short": np.array([3.0, 5.0, 4.0]), "zero": np.zeros(30), "one": np.array([2.0])})
    fc = (
        SeasonalNaiveForecaster(n_paths=100)
        .fit(hist)
        .predict(["short", "zero", "one", "new"], next_weeks(hist, 5), LEVELS)
    )
    for arr in (fc.mean, fc.quantiles, fc.paths, fc.cum_quantiles):
        assert np.isfinite(arr).all() and (arr >= 0).all()
    # short history: point = recent mean 4, errors = deviations from it (-1, +1, 0)
    np.testing.assert_allclose(fc.mean[0], 4.0)
    np.testing.assert_allclose(fc.quantiles[0, :, 1], 4.0)
    assert set(np.unique(fc.paths[0])) == {3.0, 4.0, 5.0}
    np.testing.assert_array_equal(fc.paths[1], 0.0)
    np.testing.assert_array_equal(fc.mean[2], 2.0)  # one week: point 2, zero deviation
    np.testing.assert_array_equal(fc.paths[3], 0.0)


# --- Croston family -----------------------------------------------------------------------

# y = 0 0 3 0 1 0 0 2, alpha = 0.1
#   demand sizes 3, 1, 2:        SES 3 -> 3 + 0.1 (1 - 3) = 2.8 -> 2.8 + 0.1 (2 - 2.8) = 2.72
#   intervals 3, 2, 3 (first from the start: index 2 + 1):  3 -> 2.9 -> 2.9 + 0.1 (3 - 2.9) = 2.91
#   Croston = 2.72 / 2.91 = 0.934707...;  SBA = 0.95 * Croston = 0.887972...
#   TSB probability SES of 0 0 1 0 1 0 0 1 from 0: 0, 0, 0.1, 0.09, 0.181, 0.1629, 0.14661, 0.231949
#   TSB = 0.231949 * 2.72 = 0.63090128
# (statsforecast 2.1's _croston_classic and _tsb give the same 0.9347079 and 0.63090128.)
HAND_SERIES = np.array([0, 0, 3, 0, 1, 0, 0, 2], dtype=float)


def test_ses_level_matches_the_recursion() -> None:
    assert ses_level(np.array([1.0, 2.0, 3.0]), 0.5) == pytest.approx(2.25)  # 1 -> 1.5 -> 2.25
    assert ses_level(np.array([4.0]), 0.3) == 4.0
    assert ses_level(np.array([]), 0.3) == 0.0


def test_croston_sba_tsb_on_a_hand_worked_series() -> None:
    croston = croston_mean(HAND_SERIES, 0.1, "croston")
    assert croston == pytest.approx(2.72 / 2.91)
    assert croston_mean(HAND_SERIES, 0.1, "sba") == pytest.approx(0.95 * 2.72 / 2.91)
    assert croston_mean(HAND_SERIES, 0.1, "tsb") == pytest.approx(0.231949 * 2.72)


def test_sba_is_croston_times_one_minus_half_alpha() -> None:
    rng = np.random.default_rng(5)
    for alpha in (0.05, 0.2, 0.5):
        y = rng.poisson(3, 80) * (rng.random(80) < 0.3)
        assert croston_mean(y, alpha, "sba") == pytest.approx(
            croston_mean(y, alpha, "croston") * (1 - alpha / 2)
        )


def test_constant_series_known_answer_is_poisson() -> None:
    # y = 5 every week: sizes 5, intervals 1 -> Croston 5, SBA 5 (1 - 0.1/2) = 4.75, TSB 1 * 5 = 5;
    # sample variance 0 <= mean, so weekly demand is Poisson(mean).
    hist = frame({"A": np.full(30, 5.0)})
    weeks = next_weeks(hist, 3)
    levels = [0.05, 0.25, 0.5, 0.75, 0.95]
    for method, mu in (("croston", 5.0), ("sba", 4.75), ("tsb", 5.0)):
        fc = (
            CrostonForecaster(method=method, alpha=0.1, n_paths=4000, seed=2)
            .fit(hist)
            .predict(["A"], weeks, levels)
        )
        np.testing.assert_allclose(fc.mean[0], mu)
        np.testing.assert_array_equal(fc.quantiles[0], np.tile(stats.poisson.ppf(levels, mu), (3, 1)))
        assert abs(fc.paths.mean() - mu) < 0.1 and abs(fc.paths.var() - mu) < 0.4


def test_negative_binomial_matches_mean_and_sample_variance() -> None:
    # 0 0 0 20 repeated: sizes 20, intervals 4 -> Croston mean 5; last 52 weeks: 13 x 20 and
    # 39 x 0, sample variance (13 * 15^2 + 39 * 5^2) / 51 = 3900 / 51 = 76.47 > 5 -> NB.
    hist = frame({"A": np.tile([0.0, 0.0, 0.0, 20.0], 13)})
    var = 3900 / 51
    fc = (
        CrostonForecaster(method="croston", n_paths=20000, seed=0)
        .fit(hist)
        .predict(["A"], next_weeks(hist, 2), LEVELS)
    )
    n, p = 25 / (var - 5), 5 / var
    np.testing.assert_array_equal(fc.quantiles[0, 0], stats.nbinom.ppf(LEVELS, n, p))
    np.testing.assert_allclose(fc.mean[0], 5.0)
    assert abs(fc.paths.mean() - 5.0) < 0.2
    assert abs(fc.paths.var() / var - 1) < 0.1


def test_discrete_quantiles_match_scipy() -> None:
    levels = np.array([0.01, 0.1, 0.5, 0.9, 0.99])
    for mean, var in ((0.05, 0.05), (3.0, 2.0), (3.0, 3.03), (40.0, 400.0), (800.0, 5000.0)):
        expected = (
            stats.poisson.ppf(levels, mean)
            if var <= mean
            else stats.nbinom.ppf(levels, mean**2 / (var - mean), mean / var)
        )
        np.testing.assert_array_equal(discrete_quantiles(levels, mean, var), expected)


def test_croston_skips_censored_weeks() -> None:
    clean = np.array([0, 4, 0, 0, 6, 0, 3, 0, 0, 5], dtype=float)
    with_gaps = np.insert(clean, [2, 5], [0.0, 0.0])  # two censored zero weeks
    stockout = np.zeros(len(with_gaps), dtype=int)
    stockout[[2, 6]] = 1
    a = CrostonForecaster(method="croston").fit(frame({"A": clean}))
    b = CrostonForecaster(method="croston").fit(frame({"A": with_gaps}, {"A": stockout}))
    assert a.mean_["A"] == pytest.approx(b.mean_["A"])
    assert a.variance_["A"] == pytest.approx(b.variance_["A"])


def test_croston_zero_short_and_unknown_skus() -> None:
    hist = frame({"zero": np.zeros(20), "one": np.array([3.0]), "late": np.array([0.0, 0.0, 2.0])})
    for method in ("croston", "sba", "tsb"):
        fc = (
            CrostonForecaster(method=method, n_paths=50)
            .fit(hist)
            .predict(["zero", "one", "late", "new"], next_weeks(hist, 4), LEVELS)
        )
        for arr in (fc.mean, fc.quantiles, fc.paths, fc.cum_quantiles):
            assert np.isfinite(arr).all() and (arr >= 0).all()
        assert not fc.paths[[0, 3]].any() and not fc.mean[[0, 3]].any()
        # one week of 3: size 3, interval 1, TSB probability 1 -> 3; SBA 3 * 0.95
        assert fc.mean[1, 0] == pytest.approx(2.85 if method == "sba" else 3.0)


def test_bad_method_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown Croston method 'ets'"):
        CrostonForecaster(method="ets").fit(frame({"A": np.ones(5)}))


@pytest.mark.parametrize(
    "model",
    [
        SeasonalNaiveForecaster(season=4, n_paths=30, seed=7),
        CrostonForecaster(method="tsb", n_paths=30, seed=7),
    ],
    ids=["seasonal_naive", "croston_tsb"],
)
def test_params_and_save_load_round_trip(model, tmp_path: Path) -> None:
    hist = frame({"A": np.tile([0.0, 3.0, 1.0, 7.0], 10), "B": np.arange(40.0)})
    weeks = next_weeks(hist, 6)
    fc = model.fit(hist).predict(["A", "B"], weeks, LEVELS)
    model.save_state(tmp_path)
    clone = type(model)(**model.params()).load_state(tmp_path)
    again = clone.predict(["A", "B"], weeks, LEVELS)
    np.testing.assert_array_equal(fc.paths, again.paths)
    np.testing.assert_array_equal(fc.quantiles, again.quantiles)
