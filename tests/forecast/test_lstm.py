"""The global LSTM quantile forecaster: contract, censoring, determinism, persistence (tiny settings)."""

from __future__ import annotations

import random
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from forecast.base import Forecast
from forecast.features import make_panel
from forecast.lstm import (
    STEP_FEATURES,
    LSTMForecaster,
    context_inputs,
    make_loss,
    origin_stats,
    pinball_loss,
    step_inputs,
    targets,
)
from forecast.tasks import use_runner

LEVELS = [0.05, 0.1, 0.5, 0.9, 0.95]
N_WEEKS = 120
FIRST = pd.Timestamp("2023-01-02")
HORIZON = 6
WEEKS = pd.date_range(FIRST + pd.Timedelta(weeks=N_WEEKS), periods=HORIZON, freq="7D")
SKUS = ["A", "B", "C", "D", "OUT", "NEW"]
TINY = {
    "quantiles": (0.1, 0.5, 0.9),
    "max_horizon": 8,
    "window": 16,
    "epochs": 2,
    "batch_size": 64,
    "learning_rate": 1e-2,
    "units": (16, 8),
    "dense": 8,
    "stride": 2,
    "n_paths": 100,
    "seed": 3,
}


def history(seed: int = 0) -> pd.DataFrame:
    """6 SKUs x 120 weeks of seasonal Poisson demand; 'OUT' has stockouts, 'NEW' only 20 weeks."""
    rng = np.random.default_rng(seed)
    weeks = pd.date_range(FIRST, periods=N_WEEKS, freq="7D")
    season = 1 + 0.5 * np.sin(2 * np.pi * np.arange(N_WEEKS) / 52)
    frames = []
    for sku, lam in zip(SKUS, (40.0, 8.0, 0.5, 3.0, 20.0, 10.0), strict=True):
        units = rng.poisson(lam * season).astype(float)
        stockout = np.zeros(N_WEEKS, dtype=int)
        if sku == "OUT":
            stockout[[30, 31, 32, 80, 81, 110]] = 1
            units[stockout == 1] = 0.0
        price = np.where(rng.random(N_WEEKS) < 0.1, np.nan, 2.0)
        frame = pd.DataFrame(
            {"sku": sku, "week": weeks, "units": units, "price": price, "promo": 0, "stockout": stockout}
        )
        frames.append(frame.iloc[-20:] if sku == "NEW" else frame)
    return pd.concat(frames, ignore_index=True)


ATTRIBUTES = pd.DataFrame(
    {"category": ["X", "X", "Y", "Y", "X", None], "supplier": ["s"] * 6}, index=pd.Index(SKUS, name="sku")
)
EVENTS = pd.DataFrame({"week": [FIRST + pd.Timedelta(weeks=k) for k in (10, 62, 114, 122)], "event": "E"})


def fit(seed: int = 3) -> LSTMForecaster:
    return LSTMForecaster(**{**TINY, "seed": seed}).fit(history(), attributes=ATTRIBUTES, events=EVENTS)


@pytest.fixture(scope="module")
def fitted() -> tuple[LSTMForecaster, Forecast]:
    model = fit()
    return model, model.predict(SKUS + ["UNSEEN"], WEEKS, LEVELS)


def test_shapes_finite_and_monotone(fitted: tuple[LSTMForecaster, Forecast]) -> None:
    _, fc = fitted
    s, h, q = len(SKUS) + 1, HORIZON, len(LEVELS)
    assert fc.model == "lstm"
    assert fc.mean.shape == (s, h) and fc.quantiles.shape == (s, h, q) and fc.cum_quantiles.shape == (s, h, q)
    assert fc.paths.shape == (s, 100, h)
    for arr in (fc.mean, fc.quantiles, fc.cum_quantiles, fc.paths):
        assert np.isfinite(arr).all() and (arr >= 0).all()
    assert (np.diff(fc.quantiles, axis=2) >= -1e-9).all()
    assert (np.diff(fc.cum_quantiles, axis=2) >= -1e-9).all()
    assert (np.diff(fc.cum_quantiles, axis=1) >= -1e-9).all()
    assert (fc.paths[-1] == 0).all() and (fc.quantiles[-1] == 0).all()  # unseen SKU: zero demand


def test_forecast_is_on_the_scale_of_each_sku(fitted: tuple[LSTMForecaster, Forecast]) -> None:
    _, fc = fitted
    recent = history().groupby("sku")["units"].apply(lambda u: u.iloc[-16:].mean())
    median = fc.quantiles[: len(SKUS), :, LEVELS.index(0.5)].mean(axis=1)
    assert median[SKUS.index("A")] > 3 * median[SKUS.index("C")]
    assert 0.3 * recent["A"] < median[SKUS.index("A")] < 3 * recent["A"]


def test_model_internals_are_non_crossing(fitted: tuple[LSTMForecaster, Forecast]) -> None:
    model, _ = fitted
    q = model.predict_quantiles(SKUS, model.max_horizon)  # [S, H, Q] at the model's own levels
    assert q.shape == (len(SKUS), 8, 3)
    assert (np.diff(q, axis=2) >= 0).all()


def test_same_seed_same_predictions(fitted: tuple[LSTMForecaster, Forecast]) -> None:
    model, fc = fitted
    second = fit()
    again = second.predict(SKUS + ["UNSEEN"], WEEKS, LEVELS)
    assert second.train_loss_ == model.train_loss_ and len(model.train_loss_) == TINY["epochs"]
    np.testing.assert_array_equal(fc.quantiles, again.quantiles)
    np.testing.assert_array_equal(fc.paths, again.paths)


def test_training_ignores_other_threads_drawing_from_python_random(
    fitted: tuple[LSTMForecaster, Forecast],
) -> None:
    """A Dask worker's event loop draws from Python's process-wide ``random`` while a task trains;
    Keras' unseeded layers drew their seeds from it too, so the same fit gave other weights there."""
    model, _ = fitted
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # hand the GIL over often, as a busy event loop would
    stop = threading.Event()

    def draw() -> None:
        while not stop.is_set():
            random.random()

    thread = threading.Thread(target=draw)
    thread.start()
    try:
        busy = fit()
    finally:
        stop.set()
        thread.join()
        sys.setswitchinterval(interval)
    assert busy.train_loss_ == model.train_loss_
    for ours, theirs in zip(busy._net.get_weights(), model._net.get_weights(), strict=True):
        np.testing.assert_array_equal(ours, theirs)


def test_predicting_in_groups_of_skus_gives_the_same_forecast(
    fitted: tuple[LSTMForecaster, Forecast],
) -> None:
    """On a cluster each worker predicts its group of SKUs (forecast.tasks); a SKU's forecast must
    not depend on the others in its batch. A runner asking for 4 groups checks it without a cluster."""
    model, whole = fitted

    def in_reverse(fn, items, shared):  # a runner: tasks here, last group first
        return [fn(item, shared) for item in reversed(items)][::-1]

    in_reverse.partitions = 4
    with use_runner(in_reverse):
        grouped = model.predict(SKUS + ["UNSEEN"], WEEKS, LEVELS)
    assert grouped.skus == whole.skus
    for field in ("mean", "quantiles", "paths", "cum_quantiles"):
        assert np.array_equal(getattr(grouped, field), getattr(whole, field)), field


def test_save_and_load_give_identical_predictions(
    fitted: tuple[LSTMForecaster, Forecast], tmp_path: Path
) -> None:
    model, fc = fitted
    model.save_state(tmp_path)
    assert (tmp_path / "lstm.weights.h5").is_file()
    restored = LSTMForecaster(**model.params()).load_state(tmp_path)
    again = restored.predict(SKUS + ["UNSEEN"], WEEKS, LEVELS)
    np.testing.assert_array_equal(fc.quantiles, again.quantiles)
    np.testing.assert_array_equal(fc.paths, again.paths)
    np.testing.assert_array_equal(fc.cum_quantiles, again.cum_quantiles)


def test_params_are_json_friendly_constructor_arguments(fitted: tuple[LSTMForecaster, Forecast]) -> None:
    model, _ = fitted
    params = model.params()
    assert params["units"] == [16, 8] and params["quantiles"] == [0.1, 0.5, 0.9]
    assert LSTMForecaster(**params).params() == params


def test_horizon_and_weeks_are_checked(fitted: tuple[LSTMForecaster, Forecast]) -> None:
    model, _ = fitted
    too_long = pd.date_range(WEEKS[0], periods=9, freq="7D")
    with pytest.raises(ValueError, match="trained for 8 weeks ahead; 9 asked"):
        model.predict(SKUS, too_long, LEVELS)
    with pytest.raises(ValueError, match="consecutive Mondays after its history"):
        model.predict(SKUS, WEEKS - pd.Timedelta(weeks=2), LEVELS)
    later = model.predict(SKUS, WEEKS[2:], LEVELS)  # a gap after the history: weeks 3.. of the model
    np.testing.assert_allclose(later.quantiles, model.predict(SKUS, WEEKS, LEVELS).quantiles[:, 2:])
    with pytest.raises(RuntimeError, match="before fit"):
        LSTMForecaster(**TINY).predict(SKUS, WEEKS, LEVELS)


def test_inputs_mark_censored_and_missing_weeks() -> None:
    hist = history()
    panel, _ = make_panel(hist, ATTRIBUTES)
    stats = origin_stats(panel, 16)
    cal = np.zeros((N_WEEKS + 8, 3))
    out, new = list(panel.skus).index("OUT"), list(panel.skus).index("NEW")
    seq = step_inputs(panel, stats, cal, np.array([out, new]), np.array([40, N_WEEKS - 1]), 16)  # [2, W, F]
    f = {name: k for k, name in enumerate(STEP_FEATURES)}
    # OUT: weeks 25..40, stockouts at 30-32 -> flag 1, units input 0; every week present
    assert seq[0, 5:8, f["stockout"]].tolist() == [1, 1, 1] and (seq[0, 5:8, f["log_units"]] == 0).all()
    assert (seq[0, :, f["present"]] == 1).all()
    # scale ignores censored weeks: mean of the 13 uncensored weeks in the window
    units = hist[hist["sku"] == "OUT"]["units"].to_numpy()[25:41]
    ok = np.ones(16, dtype=bool)
    ok[5:8] = False
    assert stats["scale"][out, 40] == pytest.approx(units[ok].mean())
    # NEW: listed for the last 20 weeks only -> the full 16-week window is present
    assert (seq[1, :, f["present"]] == 1).all()
    seq_new = step_inputs(panel, stats, cal, np.array([new]), np.array([N_WEEKS - 10]), 16)
    assert (seq_new[0, :5, :] == 0).all() and (seq_new[0, 5:, f["present"]] == 1).all()  # weeks 95-99 padded
    # missing prices count as the median price
    assert np.isin(seq[:, :, f["rel_price"]], [0.0, 1.0]).all()
    # targets of censored weeks are masked out of the loss
    y = targets(panel, stats, np.array([out]), np.array([28]), 8)  # weeks 29..36
    assert y[0, :, 1].tolist() == [1, 0, 0, 0, 1, 1, 1, 1]
    y_end = targets(panel, stats, np.array([out]), np.array([N_WEEKS - 3]), 8)
    assert y_end[0, :, 1].tolist() == [1, 1, 0, 0, 0, 0, 0, 0]


def test_context_reaches_beyond_a_year_from_the_last_week() -> None:
    """Target weeks more than 52 weeks after the origin have no last-year demand yet (0), also at
    the panel's last week, where t + h - 52 lies past the history."""
    panel, _ = make_panel(history(), ATTRIBUTES)
    stats = origin_stats(panel, 16)
    horizon, last = 56, N_WEEKS - 1
    cal = np.zeros((N_WEEKS + horizon, 3))
    a = list(panel.skus).index("A")
    ctx = context_inputs(panel, stats, cal, np.array([a]), np.array([last]), horizon, 2)
    last_year = ctx[0, 4:].reshape(horizon, 4)[:, 3]  # after scale, intermittent, 2 categories
    expected = np.log1p(panel.units[a, last + np.arange(1, 53) - 52] / stats["scale"][a, last])
    np.testing.assert_allclose(last_year[:52], expected, rtol=1e-6)
    assert (last_year[52:] == 0).all()


def test_keras_loss_matches_numpy_pinball() -> None:
    from keras import ops

    rng = np.random.default_rng(1)
    levels = (0.1, 0.5, 0.9)
    y = rng.gamma(2.0, size=(5, 4)).astype(np.float32)
    mask = (rng.random((5, 4)) < 0.7).astype(np.float32)
    q = np.sort(rng.gamma(2.0, size=(5, 4, 3)), axis=2).astype(np.float32)
    loss = ops.convert_to_numpy(make_loss(levels)(np.stack([y, mask], axis=-1), q))
    assert loss.shape == (5,)
    assert float(loss.mean()) == pytest.approx(pinball_loss(y, q, levels, mask), rel=1e-5)
    assert pinball_loss(np.array([10.0]), np.array([[8.0]]), [0.9]) == pytest.approx(1.8)


def test_importing_the_module_does_not_import_tensorflow() -> None:
    code = "import sys, forecast.lstm; print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
