"""`planner forecast`, `planner backtest-forecast` and reusing a saved model or forecast file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from click.testing import Result

from forecast.segments import DEMAND_CLASSES

TINY_LGB = {"model": "lightgbm", "n_paths": 50, "params": {"num_rounds": 10, "max_rows": 3000}}


@pytest.fixture
def forecasted(
    sample_dataset: Path, write_scenario: Callable[..., Path], cli: Callable[..., Result], tmp_path: Path
) -> tuple[Path, Path]:
    scenario = write_scenario(horizon_weeks=8, forecast=TINY_LGB)
    result = cli("forecast", scenario, "--out", tmp_path / "fc")
    assert result.exit_code == 0, result.output
    assert "lightgbm forecast for 240 SKUs" in result.output
    return scenario, tmp_path / "fc"


def test_forecast_writes_the_file_format_cumulative_paths_and_model(forecasted: tuple[Path, Path]) -> None:
    _, out = forecasted
    assert sorted(p.name for p in out.iterdir()) == [
        "cumulative.csv",
        "forecast_manifest.json",
        "forecasts.csv",
        "model",
        "paths.parquet",
    ]
    fc = pd.read_csv(out / "forecasts.csv")
    assert list(fc.columns[:5]) == ["sku", "week", "horizon", "class", "mean"]
    assert set(fc["class"]) <= set(DEMAND_CLASSES)
    assert {"q0.05", "q0.5", "q0.95"} <= set(fc.columns)
    assert len(fc) == 240 * 8 and fc["week"].min() == "2026-11-16"
    qcols = sorted((c for c in fc.columns if c.startswith("q")), key=lambda c: float(c[1:]))
    assert (fc[qcols].diff(axis=1).iloc[:, 1:] >= 0).all().all()
    cum = pd.read_csv(out / "cumulative.csv")
    assert (cum.groupby("sku")["cum_q0.9"].diff().dropna() >= -1e-9).all()
    paths = pd.read_parquet(out / "paths.parquet")
    assert paths.shape == (240 * 50, 2 + 8)
    assert (out / "model" / "manifest.json").exists()


def test_a_written_forecast_feeds_another_run(
    forecasted: tuple[Path, Path],
    write_scenario: Callable[..., Path],
    cli: Callable[..., Result],
    tmp_path: Path,
) -> None:
    _, out = forecasted
    scenario = write_scenario(
        file="from_file.yaml",
        horizon_weeks=8,
        forecast={"model": "file", "path": str(out / "forecasts.csv"), "n_paths": 50},
    )
    result = cli("plan", scenario, "--out", tmp_path / "plan", "--policy", "classical")
    assert result.exit_code == 0, result.output


def test_a_saved_model_gives_the_same_plan_as_training(
    forecasted: tuple[Path, Path], cli: Callable[..., Result], tmp_path: Path
) -> None:
    scenario, out = forecasted
    trained = cli("plan", scenario, "--out", tmp_path / "a", "--policy", "classical")
    loaded = cli("plan", scenario, "--out", tmp_path / "b", "--policy", "classical", "--model", out / "model")
    assert trained.exit_code == 0 and loaded.exit_code == 0, loaded.output
    for name in ("purchase_plan.csv", "projection.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_backtest_forecast_prints_and_writes_metrics(
    sample_dataset: Path, write_scenario: Callable[..., Path], cli: Callable[..., Result], tmp_path: Path
) -> None:
    scenario = write_scenario(forecast={"model": "baseline", "n_paths": 50})
    result = cli(
        "backtest-forecast",
        scenario,
        "--out",
        tmp_path / "bt",
        "--origins",
        "2",
        "--horizon",
        "4",
        "--models",
        "seasonal_naive,baseline,croston",
    )
    assert result.exit_code == 0, result.output
    assert "WQL" in result.output and "all SKUs, demand over lead time + 1 week" in result.output
    metrics = pd.read_csv(tmp_path / "bt" / "backtest_metrics.csv")
    assert set(metrics["model"]) == {"seasonal_naive", "baseline", "croston", "empirical lead time"}
    assert set(metrics["target"]) == {"weekly", "lead_time"}
    assert "all" in set(metrics["class"]) and set(metrics["class"]) <= {"all", *DEMAND_CLASSES}
    assert metrics["wql"].between(0, 2).all()
    bad = cli("backtest-forecast", scenario, "--out", tmp_path / "x", "--models", "prophet")
    assert bad.exit_code == 1 and "unknown model(s): prophet" in bad.output
    too_many = cli(
        "backtest-forecast", scenario, "--out", tmp_path / "y", "--origins", "40", "--horizon", "13"
    )
    assert too_many.exit_code == 1 and "use fewer origins" in too_many.output


def test_bad_model_params_and_missing_model_folder_are_clear_errors(
    sample_dataset: Path, write_scenario: Callable[..., Path], cli: Callable[..., Result], tmp_path: Path
) -> None:
    scenario = write_scenario(forecast={"model": "lightgbm", "params": {"num_round": 5}})
    result = cli("forecast", scenario, "--out", tmp_path / "o")
    assert result.exit_code == 1
    assert "key 'forecast.params': num_round is not a parameter of model 'lightgbm'" in result.output
    assert "did you mean 'num_rounds'" in result.output
    assert "Traceback" not in result.output
    (tmp_path / "empty").mkdir()
    scenario = write_scenario(file="load.yaml", forecast={"model": "lightgbm", "load": "empty"})
    result = cli("forecast", scenario, "--out", tmp_path / "o")
    assert result.exit_code == 1 and "manifest.json is missing" in result.output
    assert not (tmp_path / "o").exists()
