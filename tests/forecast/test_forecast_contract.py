"""One contract suite over every forecaster, plus the file format's specifics."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from upath import UPath

from forecast.base import Forecast, Forecaster
from forecast.baselines import (
    CrostonForecaster,
    EmpiricalQuantileForecaster,
    SeasonalNaiveForecaster,
    seasonal_index,
)
from forecast.count_model import CountForecaster
from forecast.ensemble import EnsembleForecaster
from forecast.file_source import FileForecaster
from forecast.gbm import LightGBMForecaster
from forecast.lstm import LSTMForecaster
from forecast.persist import load_forecaster, save_forecaster
from planner.base.errors import DataError
from planner.inputs.forecast_file import read_forecast_file

LEVELS = [0.05, 0.1, 0.5, 0.9, 0.95]
WEEKS = pd.date_range("2026-01-05", periods=8, freq="7D")
SKUS = ["A", "B", "C"]


def history(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    weeks = pd.date_range("2023-01-02", periods=156, freq="7D")
    frames = []
    for sku, lam in zip(SKUS, (20.0, 0.4, 5.0), strict=True):
        seasonal = 1 + 0.5 * np.sin(2 * np.pi * np.arange(156) / 52)
        frames.append(
            pd.DataFrame(
                {
                    "sku": sku,
                    "week": weeks,
                    "units": rng.poisson(lam * seasonal),
                    "price": 1.0,
                    "promo": 0,
                    "stockout": 0,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def forecast_file(tmp_path: Path) -> Path:
    rows = []
    for sku in SKUS:
        for w in WEEKS:
            rows.append({"sku": sku, "week": w.date(), "mean": 10.0, "q0.1": 5.0, "q0.5": 9.0, "q0.9": 16.0})
    path = tmp_path / "fc.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


TINY_LGB = {"num_rounds": 15, "max_rows": 3000, "min_data_in_leaf": 20}
TINY_LSTM = {"window": 16, "epochs": 1, "units": (8, 4), "dense": 4, "stride": 4}

FACTORIES: dict[str, Callable[[Path], Forecaster]] = {
    "baseline": lambda tmp: EmpiricalQuantileForecaster(window=52, n_paths=300, seed=1),
    "file": lambda tmp: FileForecaster(forecast_file(tmp), n_paths=300, seed=1).use(
        *read_forecast_file(UPath(forecast_file(tmp)))
    ),
    "seasonal_naive": lambda tmp: SeasonalNaiveForecaster(season=52, n_paths=300, seed=1),
    "croston_sba": lambda tmp: CrostonForecaster(method="sba", alpha=0.1, n_paths=300, seed=1),
    "croston_tsb": lambda tmp: CrostonForecaster(method="tsb", alpha=0.1, n_paths=300, seed=1),
    "lightgbm": lambda tmp: LightGBMForecaster(max_horizon=10, n_paths=300, seed=1, **TINY_LGB),
    "tweedie": lambda tmp: CountForecaster(max_horizon=10, n_paths=300, seed=1, **TINY_LGB),
    "lstm": lambda tmp: LSTMForecaster(max_horizon=10, n_paths=300, seed=1, **TINY_LSTM),
    "ensemble": lambda tmp: EnsembleForecaster(
        max_horizon=10,
        validation_weeks=8,
        member_params={"lightgbm": TINY_LGB, "lstm": TINY_LSTM},
        n_paths=300,
        seed=1,
    ),
}


@pytest.fixture(params=sorted(FACTORIES))
def fitted(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Callable[[], Forecaster], Forecast]:
    def make() -> Forecaster:
        return FACTORIES[request.param](tmp_path).fit(history())

    return make, make().predict(SKUS, WEEKS, LEVELS)


def test_shapes_and_finite(fitted: tuple[Callable[[], Forecaster], Forecast]) -> None:
    _, fc = fitted
    s, h, q = len(SKUS), len(WEEKS), len(LEVELS)
    assert fc.mean.shape == (s, h) and fc.quantiles.shape == (s, h, q) and fc.cum_quantiles.shape == (s, h, q)
    assert fc.paths.shape[0] == s and fc.paths.shape[2] == h
    for arr in (fc.mean, fc.quantiles, fc.cum_quantiles, fc.paths):
        assert np.isfinite(arr).all() and (arr >= 0).all()


def test_quantiles_do_not_cross_and_cumulative_grow(
    fitted: tuple[Callable[[], Forecaster], Forecast],
) -> None:
    _, fc = fitted
    assert (np.diff(fc.quantiles, axis=2) >= -1e-9).all()
    assert (np.diff(fc.cum_quantiles, axis=2) >= -1e-9).all()
    assert (np.diff(fc.cum_quantiles, axis=1) >= -1e-9).all()


def test_paths_agree_with_quantiles(fitted: tuple[Callable[[], Forecaster], Forecast]) -> None:
    _, fc = fitted
    for k, level in enumerate(LEVELS):
        share_below = (fc.paths <= fc.cum_quantiles[:, None, :1, k] + 1e-6).mean(axis=1)[:, 0]
        assert (share_below >= level - 0.08).all()
    # cumulative quantiles are not sums of weekly ones: the 95 % one is smaller for independent weeks
    assert (fc.cum_quantiles[:, -1, -1] <= fc.quantiles[:, :, -1].sum(axis=1) + 1e-6).all()


def test_same_seed_same_output(fitted: tuple[Callable[[], Forecaster], Forecast]) -> None:
    make, fc = fitted
    again = make().predict(SKUS, WEEKS, LEVELS)
    np.testing.assert_array_equal(fc.paths, again.paths)
    np.testing.assert_array_equal(fc.cum_quantiles, again.cum_quantiles)


def test_save_and_load_give_identical_output(
    fitted: tuple[Callable[[], Forecaster], Forecast], tmp_path: Path
) -> None:
    make, fc = fitted
    model = make()
    folder = tmp_path / "saved"
    folder.mkdir()
    save_forecaster(model, folder, data_hash="x")
    again = load_forecaster(folder).predict(SKUS, WEEKS, LEVELS)
    np.testing.assert_array_equal(fc.quantiles, again.quantiles)
    np.testing.assert_array_equal(fc.paths, again.paths)


def test_predict_before_fit_is_an_error(tmp_path: Path) -> None:
    for factory in FACTORIES.values():
        with pytest.raises(RuntimeError, match="before fit"):
            factory(tmp_path).predict(SKUS, WEEKS, LEVELS)


def test_sku_paths_do_not_depend_on_other_skus() -> None:
    model = EmpiricalQuantileForecaster(n_paths=100, seed=4).fit(history())
    alone = model.predict(["C"], WEEKS, LEVELS)
    together = model.predict(SKUS, WEEKS, LEVELS)
    np.testing.assert_array_equal(alone.paths[0], together.paths[2])


def test_seasonal_index_recovers_a_known_season() -> None:
    weeks = np.arange(208)
    units = 100 * (1 + 0.5 * np.sin(2 * np.pi * weeks / 52))
    index = seasonal_index(units, weeks % 52 + 1)
    peak = max(index, key=index.get)
    assert abs(peak - 14) <= 1  # sin peaks a quarter of the way into the year
    assert 1.3 < index[peak] < 1.55  # true 1.5, shrunk towards 1 by n/(n+1)


def test_baseline_empirical_quantiles_match_history_without_season() -> None:
    weeks = pd.date_range("2025-01-06", periods=20, freq="7D")
    units = np.arange(20, dtype=float)
    hist = pd.DataFrame(
        {"sku": "A", "week": weeks, "units": units, "price": 1.0, "promo": 0, "stockout": [1] + [0] * 19}
    )
    model = EmpiricalQuantileForecaster(window=10, n_paths=4000, seed=0).fit(hist)
    fc = model.predict(["A"], pd.date_range("2025-05-26", periods=3, freq="7D"), [0.5])
    np.testing.assert_allclose(fc.mean[0], np.mean(units[10:]))  # the last 10 weeks (stockout week is older)
    assert set(np.unique(fc.paths)) <= set(units[10:])


def _file_model(path: Path) -> FileForecaster:
    """A file forecaster fed as the planner feeds it: the data layer reads and checks the file."""
    return FileForecaster(path).use(*read_forecast_file(UPath(path))).fit(history())


def test_deterministic_file_is_exact(tmp_path: Path) -> None:
    path = tmp_path / "det.csv"
    pd.DataFrame(
        {"sku": ["A"] * 3, "week": ["2026-01-05", "2026-01-12", "2026-01-14"], "mean": [90, 120, 80]}
    ).to_csv(path, index=False)
    with pytest.raises(DataError, match="duplicate sku and week"):  # 01-14 is in the week of 01-12
        _file_model(path)
    pd.DataFrame(
        {"sku": ["A"] * 3, "week": ["2026-01-05", "2026-01-12", "2026-01-19"], "mean": [90, 120, 80]}
    ).to_csv(path, index=False)
    fc = _file_model(path).predict(["A"], WEEKS[:3], [0.5, 0.95])
    np.testing.assert_allclose(fc.cum_quantiles[0, :, 1], [90, 210, 290])
    np.testing.assert_allclose(fc.quantiles[0, :, 0], [90, 120, 80])


def test_file_errors_name_file_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    pd.DataFrame(
        {"sku": ["A", "A"], "week": ["2026-01-05", "junk"], "mean": [1, -2], "q0.1": [3, 1], "q0.9": [2, 4]}
    ).to_csv(path, index=False)
    with pytest.raises(DataError) as exc:
        _file_model(path)
    text = str(exc.value)
    assert "bad.csv: line 3: column 'week': unparsable date" in text
    assert "bad.csv: line 3: column 'mean': must be a finite number >= 0" in text
    assert "bad.csv: line 2: quantiles decrease with the level (crossing)" in text
    missing = tmp_path / "short.csv"
    pd.DataFrame({"sku": ["A"], "week": ["2026-01-05"], "mean": [1.0]}).to_csv(missing, index=False)
    with pytest.raises(ValueError, match="no forecast for A 2026-01-12"):
        _file_model(missing).predict(["A"], WEEKS[:2], [0.5])
