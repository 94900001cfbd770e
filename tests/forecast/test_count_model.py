"""The count-aware global model: occurrence-and-size paths around a Tweedie mean, known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecast.count_model import CountForecaster, occurrence_paths, week_variance
from forecast.segments import classify_demand

TINY = {"num_rounds": 40, "max_rows": 6000, "min_data_in_leaf": 20, "n_paths": 2000, "seed": 0}


def test_a_week_has_demand_with_probability_mean_over_size() -> None:
    """Sizes 4 and 12 (mean 8) on weekly means 2 and 6: demand in 1/4 and 3/4 of the weeks."""
    sizes = np.array([4.0, 12.0])
    paths = occurrence_paths(np.array([2.0, 6.0]), sizes, 0.0, True, 400_000, np.random.default_rng(0))
    np.testing.assert_allclose((paths > 0).mean(axis=0), [0.25, 0.75], atol=0.003)
    np.testing.assert_allclose(paths.mean(axis=0), [2.0, 6.0], rtol=0.02)  # jitter kept positive: +1 %
    assert np.all(paths == np.round(paths))
    square = np.mean(sizes**2) + sizes.mean()  # the jitter x + Z sqrt(x) adds x
    expected = week_variance(np.array([2.0, 6.0]), np.array([8.0]), np.array([square]))
    np.testing.assert_allclose(paths.var(axis=0), expected, rtol=0.03)
    assert expected[0] == pytest.approx(0.25 * (80.0 + 8.0) - 4.0)  # pi E[x^2] - m^2


def test_a_mean_above_the_size_scales_the_sizes() -> None:
    paths = occurrence_paths(np.array([30.0]), np.array([10.0]), 0.0, True, 100_000, np.random.default_rng(1))
    assert (paths > 0).all()
    assert paths.mean() == pytest.approx(30.0, rel=0.01)
    assert paths.var() == pytest.approx(30.0, rel=0.05)  # jitter on 30: variance 30


def test_a_level_per_path_makes_the_weeks_covary_by_its_variance() -> None:
    mu, c = np.array([4.0, 2.0]), 0.3
    paths = occurrence_paths(mu, np.array([3.0, 9.0]), c, False, 400_000, np.random.default_rng(2))
    np.testing.assert_allclose(paths.mean(axis=0), mu, rtol=0.02)
    assert np.cov(paths.T)[0, 1] == pytest.approx(mu[0] * mu[1] * c, rel=0.06)  # Cov = mu_1 mu_2 Var A
    flat = occurrence_paths(mu, np.array([3.0, 9.0]), 0.0, False, 400_000, np.random.default_rng(2))
    assert abs(np.corrcoef(flat.T)[0, 1]) < 0.01  # without it the weeks are independent


def lumpy_history(n_skus: int = 16, weeks: int = 130, seed: int = 0) -> pd.DataFrame:
    """Orders in about 1 week of 4, negative-binomial sizes: a lumpy panel with a known shape."""
    rng = np.random.default_rng(seed)
    grid = pd.date_range("2022-01-03", periods=weeks, freq="7D")
    frames = []
    for k in range(n_skus):
        occurs = rng.random(weeks) < 0.25
        sizes = 1 + rng.negative_binomial(2, 2 / (2 + 4.0 * (1 + k % 4)), size=weeks)
        units = np.where(occurs, sizes, 0).astype(float)
        frames.append(
            pd.DataFrame(
                {"sku": f"S{k:02d}", "week": grid, "units": units, "price": 1.0, "promo": 0, "stockout": 0}
            )
        )
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def lumpy_fit() -> tuple[CountForecaster, pd.DataFrame]:
    hist = lumpy_history()
    return CountForecaster(max_horizon=8, **TINY).fit(hist), hist


def test_forecast_keeps_the_zero_weeks_and_the_level(lumpy_fit: tuple) -> None:
    model, hist = lumpy_fit
    skus = sorted(hist["sku"].unique())
    weeks = pd.date_range(hist["week"].max() + pd.Timedelta(days=7), periods=8, freq="7D")
    fc = model.predict(skus, weeks, [0.1, 0.5, 0.9])
    assert set(classify_demand(hist)) <= {"lumpy", "intermittent"}
    zero_share = (fc.paths == 0).mean()
    assert 0.6 < zero_share < 0.9  # history: 0.75 of weeks without demand
    assert (fc.quantiles[:, :, 0] == 0).all()  # the 10 % quantile of a lumpy week is no demand
    level = hist.groupby("sku")["units"].mean().reindex(skus).to_numpy()
    ratio = fc.mean.mean(axis=1) / level
    assert np.median(ratio) == pytest.approx(1.0, abs=0.2)
    np.testing.assert_allclose(fc.paths.mean(axis=1), fc.mean, rtol=0.25, atol=0.5)


def test_lead_time_spread_follows_the_history(lumpy_fit: tuple) -> None:
    """Independent orders: 8-week sums vary as the history's 8-week sums do (not much wider)."""
    model, hist = lumpy_fit
    skus = sorted(hist["sku"].unique())
    weeks = pd.date_range(hist["week"].max() + pd.Timedelta(days=7), periods=8, freq="7D")
    sums = model.predict(skus, weeks, [0.5]).paths.sum(axis=2)
    units = hist.pivot(index="sku", columns="week", values="units").reindex(skus).to_numpy()
    blocks = units[:, : 16 * 8].reshape(len(skus), 16, 8).sum(axis=2)
    ratio = sums.std(axis=1) / blocks.std(axis=1)
    assert 0.7 < np.median(ratio) < 1.5
