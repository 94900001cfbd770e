"""The run history from the command line: plans are recorded, listed, shown and compared."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
from click.testing import CliRunner, Result

from planner.app.cli import main
from planner.history.store import RunStore

REPO = Path(__file__).resolve().parents[2]


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def scenario(folder: Path, stock_factor: float = 1.0) -> Path:
    """The sample company over 8 weeks with the quick baseline forecaster; stock on hand scaled."""
    shutil.copytree(REPO / "planner" / "sample_data", folder / "data")
    inv = pd.read_csv(folder / "data" / "inventory.csv")
    inv["on_hand"] = (inv["on_hand"] * stock_factor).round()
    inv.to_csv(folder / "data" / "inventory.csv", index=False)
    path = folder / "s.yaml"
    path.write_text("name: history\ndata: data\nhorizon_weeks: 8\nforecast: {model: baseline, n_paths: 50}\n")
    return path


def recorded(result: Result) -> str:
    assert result.exit_code == 0, result.output
    found = re.search(r"recorded run (\S+) in (\S+)", result.output)
    assert found, result.output
    return found.group(1)


def test_plans_are_recorded_listed_shown_and_compared(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'store' / 'runs.db'}"
    first = recorded(run("--store", store, "plan", scenario(tmp_path / "a"), "--out", tmp_path / "out"))
    first_plan = pd.read_csv(tmp_path / "out" / "purchase_plan.csv")
    second = recorded(run("--store", store, "plan", scenario(tmp_path / "b", 0.0), "--out", tmp_path / "out"))
    listed = run("--store", store, "runs", "list", "--scenario", "history")
    assert listed.exit_code == 0
    assert listed.output.index(second) < listed.output.index(first)  # newest first
    shown = run("--store", store, "runs", "show", first)
    assert (
        shown.exit_code == 0 and "plan of 'history'" in shown.output and "purchase_plan.csv" in shown.output
    )
    diff = run("--store", store, "runs", "diff", first, second, "--out", tmp_path / "diff")
    assert diff.exit_code == 0, diff.output
    assert "why: stock on hand changed" in diff.output
    lines = pd.read_csv(tmp_path / "diff" / "plan_diff_lines.csv")
    assert len(lines) > 0 and set(lines["change"]) <= {"added", "removed", "changed"}
    # the first plan's lines are kept although the second run overwrote the output folder
    kept = RunStore(store).plan_lines(first)
    assert kept["units"].tolist() == first_plan["units"].tolist()
    assert kept["sku"].tolist() == first_plan["sku"].tolist()


def test_recording_off_and_a_broken_store(tmp_path: Path) -> None:
    path = scenario(tmp_path)
    off = run("--store", "off", "plan", path, "--out", tmp_path / "o1")
    assert off.exit_code == 0 and "recorded run" not in off.output
    assert run("--store", "off", "runs", "list").exit_code == 2
    bad = run("--store", "nonsense://x", "plan", path, "--out", tmp_path / "o2")
    assert bad.exit_code == 1
    assert "not a database URL" in bad.output and "outputs in" in bad.output and "--store off" in bad.output
    assert (tmp_path / "o2" / "purchase_plan.csv").exists()  # the outputs stand
    missing = run("--store", f"sqlite:///{tmp_path / 's.db'}", "runs", "show", "nope")
    assert missing.exit_code == 1 and "no run 'nope'" in missing.output
