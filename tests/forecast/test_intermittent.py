"""The bootstrap forecaster's launch of SKUs that have never sold: pooled counts and known answers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.special import betaln
from test_baselines import frame, next_weeks

from forecast.intermittent import PRIOR, BootstrapForecaster, launch_paths

LEVELS = [0.1, 0.5, 0.9]


def _history():
    return frame(
        {
            "A": np.array([0.0, 0.0, 0.0, 5.0, 0.0, 2.0]),  # first sale in week 3
            "B": np.zeros(6),  # never sold
            "C": np.array([4.0, 4.0, 0.0, 0.0, 0.0, 0.0]),  # first sale in week 0
        },
        stockout={"A": np.array([0, 1, 0, 0, 0, 0])},  # week 1 censored: not a week at risk
    )


def test_pooled_launch_counts_by_hand() -> None:
    """Weeks at risk of a first sale: A 0, 2, 3 (week 1 censored), B all 6, C week 0 -> 10; first
    sales 2 (A, C). From first sales: A's uncensored weeks 5, 0, 2 and C's 4, 4, 0, 0, 0, 0 give
    n00 3, n01 1, n10 2, n11 1 and sizes 5, 2, 4, 4."""
    model = BootstrapForecaster(n_paths=20, seed=1).fit(_history())
    np.testing.assert_array_equal(model.launch_["hazard"], [2, 10])
    np.testing.assert_array_equal(model.launch_["transitions"], [3, 1, 2, 1])
    np.testing.assert_array_equal(np.sort(model.launch_["sizes"]), [2, 4, 4, 5])
    assert model.units_["B"].size == 0


def test_first_sale_week_has_the_beta_geometric_law() -> None:
    """P(no sale in the first t weeks) = E[(1 - h)^t] with h ~ Beta(a, b): B(a, b + t) / B(a, b)."""
    launch = {
        "hazard": np.array([50.0, 500.0]),
        "transitions": np.array([10.0, 5.0, 5.0, 10.0]),
        "sizes": np.array([1.0, 3.0]),
    }
    paths = launch_paths(launch, 12, 40_000, np.random.default_rng(3), jitter=False)
    none_yet = (np.cumsum(paths, axis=1) == 0).mean(axis=0)
    a, b = 50 + PRIOR, 450 + PRIOR
    exact = np.exp([betaln(a, b + t) - betaln(a, b) for t in range(1, 13)])
    np.testing.assert_allclose(none_yet, exact, atol=0.01)
    assert set(np.unique(paths)) == {0.0, 1.0, 3.0}


def test_a_never_sold_sku_gets_launch_paths_and_they_survive_a_save(tmp_path: Path) -> None:
    hist = _history()
    weeks = next_weeks(hist, 8)
    model = BootstrapForecaster(n_paths=400, seed=2).fit(hist)
    fc = model.predict(["A", "B", "C"], weeks, LEVELS)
    assert fc.paths[1].sum() > 0  # B has never sold, yet may launch
    assert (fc.paths[1].sum(axis=1) > 0).mean() < 1.0  # ... and may not
    model.save_state(tmp_path)
    again = BootstrapForecaster(**model.params()).load_state(tmp_path).predict(["A", "B", "C"], weeks, LEVELS)
    np.testing.assert_array_equal(fc.paths, again.paths)


def test_nothing_ever_sold_means_nothing_forecast() -> None:
    hist = frame({"A": np.zeros(8), "B": np.zeros(8)})
    fc = BootstrapForecaster(n_paths=50, seed=0).fit(hist).predict(["A", "B"], next_weeks(hist, 4), LEVELS)
    assert not fc.paths.any()
