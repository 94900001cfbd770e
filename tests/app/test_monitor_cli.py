"""planner monitor end to end: recorded forecasts scored once their weeks are known, the page in
headless Chromium, drift in the exit status."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner, Result

from planner.app.cli import main
from planner.history.store import RunRecord, RunStore
from planner.inputs.data import load_dataset
from planner.reporting.monitor import FIGURE_IDS

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def monitored(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, Result]:
    """Three weekly forecasts of the sample company: two with known weeks, one beyond the data."""
    root = tmp_path_factory.mktemp("monitor")
    shutil.copytree(REPO / "planner" / "sample_data", root / "data")
    last = load_dataset(root / "data").last_week
    store = f"sqlite:///{root / 'runs.db'}"
    for k, back in enumerate((10, 5, -1)):
        start = (last - pd.Timedelta(weeks=back)).date()
        path = root / f"week{k}.yaml"
        path.write_text(
            f"name: mon\ndata: {root / 'data'}\nplan_start: {start}\nhorizon_weeks: 8\n"
            "forecast: {model: baseline, n_paths: 100}\n"
        )
        result = run("--store", store, "forecast", path, "--out", root / f"fc{k}")
        assert result.exit_code == 0, result.output
    result = run("--store", store, "monitor", root / "week0.yaml", "--out", root / "out")
    return root, store, result


def test_forecasts_are_scored_and_stored(monitored: tuple[Path, str, Result]) -> None:
    root, store, result = monitored
    assert result.exit_code == 0, result.output
    assert "2 recorded forecasts scored" in result.output and "1 with no known week yet" in result.output
    summary = json.loads((root / "out" / "monitor.json").read_text())
    assert [r["weeks_known"] for r in summary["runs"]] == [8, 6] and len(summary["pending"]) == 1
    assert summary["drift"] == []
    scores = pd.read_csv(root / "out" / "monitor.csv")
    assert set(scores["dimension"]) == {"all", "week", "horizon", "class", "supplier"}
    assert (scores.loc[scores["dimension"] == "all", "coverage80"].between(0, 1)).all()
    saved = RunStore(store).scores([r["run_id"] for r in summary["runs"]])
    assert len(saved) == len(scores)


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium: run `make browser` (root, Debian)")
def test_monitor_page_renders_in_headless_chromium(
    monitored: tuple[Path, str, Result], tmp_path: Path
) -> None:
    root, _, _ = monitored
    page = root / "out" / "monitor.html"
    base = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}"]  # fmt: skip
    dom = subprocess.run(
        [*base, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    for fig_id in FIGURE_IDS:
        assert f'id="{fig_id}"' in dom, fig_id
    assert dom.count("<img") == len(FIGURE_IDS) and "No drift flagged" in dom
    shot = tmp_path / "shot.png"
    subprocess.run([*base, f"--screenshot={shot}", "--window-size=1200,2400", page.as_uri()],
                   capture_output=True, timeout=120, check=True)  # fmt: skip
    assert shot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_a_biased_forecast_is_flagged_as_drift(monitored: tuple[Path, str, Result], tmp_path: Path) -> None:
    """Three forecasts at three times the recorded means: bias above 20 % at each: exit 4."""
    root, _, _ = monitored
    store_url = f"sqlite:///{tmp_path / 'runs.db'}"
    store = RunStore(store_url)
    history = load_dataset(root / "data").history
    weeks = sorted(history["week"].unique())[-12:]
    for k in range(3):
        span = weeks[k : k + 8]
        rows = history[history["week"].isin(span)]
        frame = pd.DataFrame(
            {"sku": rows["sku"], "week": rows["week"].dt.strftime("%Y-%m-%d"), "horizon": 1,
             "mean": rows["units"] * 3 + 1, "q0.1": rows["units"] * 2, "q0.5": rows["units"] * 3,
             "q0.9": rows["units"] * 4 + 1}
        )  # fmt: skip
        store.record(
            RunRecord(
                command="forecast", scenario_name="mon", scenario_path="-", scenario_sha256="-",
                scenario_yaml="", data_sha256="-", inputs={}, code_version="-", versions={}, out_dir="-",
                outputs=[], created_at=dt.datetime(2026, 12, 7, 6, k, tzinfo=dt.UTC), forecast=frame,
            )
        )  # fmt: skip
    store.close()
    result = run("--store", store_url, "monitor", root / "week0.yaml", "--out", tmp_path / "out")
    assert result.exit_code == 4, result.output
    assert "drift" in result.output and "bias beyond" in result.output
    assert "Drift flagged" in (tmp_path / "out" / "monitor.html").read_text()
