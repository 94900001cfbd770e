"""Features without leakage, LightGBM, the ensemble, calibration, copula paths and persistence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from forecast.calibration import (
    cumulative_miscalibration,
    cumulative_pits,
    level_map,
    mapped_quantiles,
    path_pit,
    resample_paths,
)
from forecast.ensemble import EnsembleForecaster
from forecast.features import design, make_panel, origin_features
from forecast.gbm import LightGBMForecaster
from forecast.persist import history_hash, load_forecaster, read_manifest, save_forecaster
from forecast.quantile_paths import evaluate_quantiles, forecast_from_quantiles, history_rho

LEVELS = (0.1, 0.5, 0.9)
TINY_GBM = {"num_rounds": 20, "max_rows": 4000, "min_data_in_leaf": 20, "n_paths": 200}


def nb_history(n_skus: int = 12, weeks: int = 120, seed: int = 0) -> pd.DataFrame:
    """Negative-binomial weekly demand with yearly seasonality and a few stockouts."""
    rng = np.random.default_rng(seed)
    grid = pd.date_range("2022-01-03", periods=weeks, freq="7D")
    frames = []
    for k in range(n_skus):
        mean = (1.0 + 3.0 * k) * (1 + 0.3 * np.sin(2 * np.pi * np.arange(weeks) / 52))
        r = 3.0
        units = rng.negative_binomial(r, r / (r + mean)).astype(float)
        stockout = np.zeros(weeks, dtype=int)
        if k == 1:
            stockout[40:43] = 1
            units[40:43] = 0
        frames.append(
            pd.DataFrame(
                {
                    "sku": f"S{k:02d}",
                    "week": grid,
                    "units": units,
                    "price": 10.0 + k,
                    "promo": (rng.random(weeks) < 0.05).astype(int),
                    "stockout": stockout,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def attributes(history: pd.DataFrame) -> pd.DataFrame:
    skus = sorted(history["sku"].unique())
    return pd.DataFrame(
        {"category": ["a" if i % 2 else "b" for i in range(len(skus))], "supplier": "P"}, index=skus
    )


def test_features_use_nothing_after_the_origin() -> None:
    """Features at origin t are the same whether or not the weeks after t exist."""
    hist = nb_history()
    events = pd.DataFrame({"week": pd.to_datetime(["2022-12-19", "2023-12-18"]), "event": "christmas"})
    full, vocab = make_panel(hist, attributes(hist), events)
    f_full = origin_features(full)
    origin = 90
    cut = hist[hist["week"] <= full.weeks[origin]]
    part, _ = make_panel(cut, attributes(hist), events, vocab=vocab)
    f_part = origin_features(part)
    s = np.repeat(np.arange(len(full.skus)), 13)
    t = np.full(len(s), origin)
    h = np.tile(np.arange(1, 14), len(full.skus))
    a = design(full, f_full, s, t, h)
    b = design(part, f_part, s, t, h)
    pd.testing.assert_frame_equal(a, b)
    # and the data after the origin does matter for later origins (the test can fail)
    assert not np.allclose(f_full["mean_4"][:, origin + 5], f_full["mean_4"][:, origin], equal_nan=True)


def test_features_treat_stockouts_as_missing() -> None:
    hist = nb_history()
    panel, _ = make_panel(hist, attributes(hist))
    assert np.isnan(panel.units[1, 40:43]).all()
    feats = origin_features(panel)
    assert np.isnan(feats["lag_1"][1, 41])


def test_evaluate_quantiles_interpolates_and_extends_the_tail() -> None:
    q = np.array([[[2.0, 5.0, 9.0]]])
    levels = np.array(LEVELS)
    out = evaluate_quantiles(levels, q, np.array([0.1, 0.3, 0.5, 0.9, 0.95]))[0, 0]
    # 0.3 lies halfway between 0.1 (2) and 0.5 (5); the tail above 0.9 has slope (9-5)/0.4 = 10 at 0.9:
    # q(0.95) = 9 + 10 * 0.1 * ln(0.1 / 0.05)
    np.testing.assert_allclose(out, [2.0, 3.5, 5.0, 9.0, 9.0 + np.log(2.0)])


def test_copula_paths_reproduce_weekly_quantiles_and_correlate_weeks() -> None:
    q = np.tile(np.array([2.0, 5.0, 9.0]), (2, 4, 1))
    weeks = pd.date_range("2026-01-05", periods=4, freq="7D")
    fc = forecast_from_quantiles(
        ["a", "b"], weeks, LEVELS, q, LEVELS, n_paths=20000, rho=0.6, seed=1, model="x"
    )
    emp = np.quantile(fc.paths[0], LEVELS, axis=0).T
    np.testing.assert_allclose(emp, q[0], atol=0.15)
    corr = np.corrcoef(fc.paths[0, :, 0], fc.paths[0, :, 3])[0, 1]
    assert 0.45 < corr < 0.7
    indep = forecast_from_quantiles(
        ["a"], weeks, LEVELS, q[:1], LEVELS, n_paths=20000, rho=0.0, seed=1, model="x"
    )
    assert abs(np.corrcoef(indep.paths[0, :, 0], indep.paths[0, :, 3])[0, 1]) < 0.03
    # cumulative spread grows with correlation
    assert fc.cum_quantiles[0, -1, 2] - fc.cum_quantiles[0, -1, 0] > (
        indep.cum_quantiles[0, -1, 2] - indep.cum_quantiles[0, -1, 0]
    )


def test_history_rho_finds_shared_level_shocks() -> None:
    rng = np.random.default_rng(3)
    weeks = pd.date_range("2022-01-03", periods=104, freq="7D")
    rows = []
    for k in range(20):
        level = np.repeat(rng.normal(50, 10, 8), 13)  # a level shared by 13-week blocks
        rows.append(pd.DataFrame({"sku": f"S{k}", "week": weeks, "units": level + rng.normal(0, 10, 104)}))
    hist = pd.concat(rows).assign(price=1.0, promo=0, stockout=0)
    assert 0.3 < history_rho(hist) < 0.7
    white = hist.assign(units=rng.normal(50, 10, len(hist)))
    assert history_rho(white) < 0.1


def test_recalibration_fixes_overconfident_cumulative_demand_with_whole_paths() -> None:
    """Paths say 4 independent weeks of N(100, 1) (total sd 2); the truth has a common level, total
    sd 3: the cumulative PITs give a level map that widens the total's 80 % interval to cover 80 %
    again, and every recalibrated path is one of the original paths."""
    rng = np.random.default_rng(0)
    paths = 100 + rng.standard_normal((1, 4000, 4))
    truth = 100 + rng.standard_normal((4000, 4)) + np.sqrt(5) / 4 * rng.standard_normal((4000, 1))
    levels = np.round(np.arange(0.01, 1.0, 0.01), 2)
    u = np.concatenate([cumulative_pits(paths, a[None, :], (4,), rng) for a in truth[:400]])
    mapped = level_map(u, levels)
    assert np.interp(0.1, levels, mapped) < 0.05 and np.interp(0.9, levels, mapped) > 0.95
    wide = resample_paths(paths, levels, mapped, weeks=4)
    lo, hi = np.quantile(wide[0].sum(axis=1), [0.1, 0.9])
    totals = truth.sum(axis=1)
    assert 0.75 < ((totals >= lo) & (totals <= hi)).mean() < 0.85
    original = {tuple(p) for p in paths[0]}
    assert all(tuple(p) in original for p in wide[0])
    np.testing.assert_array_equal(resample_paths(paths, levels, levels, weeks=4), paths)


def test_weekly_map_widens_narrow_weekly_quantiles_to_their_nominal_coverage() -> None:
    """Paths say N(10, 1) each week; the truth is N(10, 2): the held-out weekly PITs give a map
    under which the reported 10 % and 90 % quantiles are the truth's (10 -/+ 2.56), while
    identity maps read the paths' own quantiles."""
    rng = np.random.default_rng(4)
    paths = 10 + rng.standard_normal((3, 8000, 5))
    levels = np.round(np.arange(0.01, 1.0, 0.01), 2)
    u = np.concatenate([path_pit(paths, 10 + 2 * rng.standard_normal((3, 5)), rng) for _ in range(300)])
    q = mapped_quantiles(paths, [0.1, 0.5, 0.9], levels, level_map(u.ravel(), levels))
    assert q.shape == (3, 5, 3)
    np.testing.assert_allclose(q.mean(axis=(0, 1)), [10 - 2.56, 10, 10 + 2.56], atol=0.25)
    own = mapped_quantiles(paths, [0.1, 0.9], levels, levels)
    np.testing.assert_allclose(own, np.moveaxis(np.quantile(paths, [0.1, 0.9], axis=1), 0, -1))


def test_cumulative_pits_leave_out_censored_spans() -> None:
    rng = np.random.default_rng(1)
    paths = np.ones((2, 10, 3))
    y = np.array([[1.0, 1.0, np.nan], [1.0, 1.0, 1.0]])
    assert len(cumulative_pits(paths, y, (2, 3, 5), rng)) == 3  # both at 2 weeks, one at 3, none at 5


def test_cumulative_miscalibration_is_small_for_calibrated_paths_only() -> None:
    rng = np.random.default_rng(3)
    y = rng.poisson(5.0, size=(300, 8)).astype(float)
    calibrated = rng.poisson(5.0, size=(300, 400, 8)).astype(float)
    narrow = np.full((300, 400, 8), 5.0)
    assert cumulative_miscalibration(calibrated, y, (4, 8)) < 0.002
    assert cumulative_miscalibration(narrow, y, (4, 8)) > 0.5


def test_randomised_pit_spreads_ties_at_zero() -> None:
    rng = np.random.default_rng(0)
    paths = np.where(np.arange(100) < 50, 0.0, 3.0)[None, :, None]  # half the mass at zero
    u = np.concatenate([path_pit(paths, np.zeros((1, 1)), rng).ravel() for _ in range(4000)])
    assert u.min() >= 0.0 and u.max() <= 0.5
    assert abs(u.mean() - 0.25) < 0.02


@pytest.fixture(scope="module")
def gbm_fit() -> tuple[LightGBMForecaster, pd.DataFrame]:
    hist = nb_history()
    model = LightGBMForecaster(quantiles=LEVELS, max_horizon=8, **TINY_GBM).fit(
        hist, attributes=attributes(hist)
    )
    return model, hist


def test_lightgbm_quantiles_are_ordered_and_scale_with_demand(gbm_fit: tuple) -> None:
    model, hist = gbm_fit
    skus = sorted(hist["sku"].unique())
    q = model.predict_quantiles(skus, 8)
    assert q.shape == (12, 8, 3) and np.isfinite(q).all()
    assert (np.diff(q, axis=2) >= 0).all()
    assert q[-1, :, 1].mean() > 5 * q[0, :, 1].mean()  # the fastest SKU sells ~30x the slowest
    with pytest.raises(ValueError, match="trained for 8 weeks"):
        model.predict(
            skus, pd.date_range(hist["week"].max() + pd.Timedelta(days=7), periods=9, freq="7D"), [0.5]
        )


def test_lightgbm_update_moves_the_origin_without_retraining(gbm_fit: tuple) -> None:
    model, hist = gbm_fit
    early = hist[hist["week"] < hist["week"].max() - pd.Timedelta(weeks=10)]
    small = LightGBMForecaster(quantiles=LEVELS, max_horizon=8, **TINY_GBM).fit(
        early, attributes=attributes(hist)
    )
    boosters = [b.model_to_string() for b in small.boosters_]
    small.update(hist, attributes=attributes(hist))
    assert small.last_week_ == hist["week"].max()
    assert [b.model_to_string() for b in small.boosters_] == boosters


def test_save_and_load_reproduce_predictions_exactly(gbm_fit: tuple, tmp_path: Path) -> None:
    model, hist = gbm_fit
    folder = tmp_path / "m"
    folder.mkdir()
    save_forecaster(model, folder, data_hash=history_hash(hist), metrics={"wql": 0.1})
    manifest = read_manifest(folder)
    assert manifest["model"] == "lightgbm" and manifest["params"]["max_horizon"] == 8
    assert "lag_52" in manifest["features"] and manifest["metrics"] == {"wql": 0.1}
    assert "lightgbm" in manifest["versions"]
    loaded = load_forecaster(folder)
    skus = sorted(hist["sku"].unique())
    weeks = pd.date_range(hist["week"].max() + pd.Timedelta(days=7), periods=6, freq="7D")
    a, b = model.predict(skus, weeks, [0.1, 0.5, 0.95]), loaded.predict(skus, weeks, [0.1, 0.5, 0.95])
    np.testing.assert_array_equal(a.quantiles, b.quantiles)
    np.testing.assert_array_equal(a.paths, b.paths)


def test_ensemble_is_calibrated_on_negative_binomial_demand() -> None:
    """80 % interval coverage within 5 points on held-out NB demand with known parameters."""
    hist = nb_history(n_skus=30, weeks=150, seed=5)
    cut = hist["week"].max() - pd.Timedelta(weeks=12)
    train, test = hist[hist["week"] <= cut], hist[hist["week"] > cut]
    model = EnsembleForecaster(
        quantiles=LEVELS,
        max_horizon=12,
        members=("lightgbm",),
        member_params={"lightgbm": TINY_GBM | {"num_rounds": 60}},
        n_paths=200,
    ).fit(train, attributes=attributes(hist))
    skus = sorted(hist["sku"].unique())
    fc = model.predict(skus, pd.date_range(cut + pd.Timedelta(days=7), periods=12, freq="7D"), LEVELS)
    actual = test.pivot(index="sku", columns="week", values="units").reindex(skus).to_numpy()
    inside = (actual >= fc.quantiles[:, :, 0]) & (actual <= fc.quantiles[:, :, 2])
    assert 0.75 <= inside.mean() <= 0.85
    assert (np.diff(fc.cum_quantiles, axis=1) >= -1e-9).all()


def test_ensemble_weights_favour_the_better_member_and_round_trip(tmp_path: Path) -> None:
    hist = nb_history(n_skus=10, weeks=100, seed=2)
    good = TINY_GBM | {"num_rounds": 40}
    bad = TINY_GBM | {"num_rounds": 1, "learning_rate": 0.01}  # barely moves from the start value
    model = EnsembleForecaster(
        quantiles=LEVELS,
        max_horizon=6,
        members=("lightgbm", "lightgbm"),
        member_params={"lightgbm": good},
        n_paths=100,
    )
    model._new_member = _members_with(model, [good, bad])  # type: ignore[method-assign]
    model.fit(hist, attributes=attributes(hist))
    assert model.weights_["smooth"][0] >= 0.7
    folder = tmp_path / "ens"
    folder.mkdir()
    model.save_state(folder)
    clone = EnsembleForecaster(**model.params())
    clone._new_member = _members_with(clone, [good, bad])  # type: ignore[method-assign]
    clone.load_state(folder)
    skus = sorted(hist["sku"].unique())
    weeks = pd.date_range(hist["week"].max() + pd.Timedelta(days=7), periods=6, freq="7D")
    np.testing.assert_array_equal(
        model.predict(skus, weeks, LEVELS).paths, clone.predict(skus, weeks, LEVELS).paths
    )


def _members_with(model: EnsembleForecaster, params: list[dict]) -> object:
    """Member factory giving the k-th call's member the k-th parameter set (cycling)."""
    calls = iter(range(10**6))

    def make(name: str) -> LightGBMForecaster:
        p = params[next(calls) % len(params)]
        return LightGBMForecaster(
            quantiles=model.quantiles, max_horizon=model.max_horizon, **{**p, "n_paths": model.n_paths}
        )

    return make
