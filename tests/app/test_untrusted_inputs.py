"""Untrusted and broken inputs, as a careful new user and a security reviewer would try them.

Each case runs the real command line on a 4-SKU copy of the sample company and asserts the exit
code, the message (file, line or key), that no output or partial output was written (or that the
previous run's outputs are untouched), and that no file outside the ones the case names was read
(an audit hook records every file the command opens).
"""

from __future__ import annotations

import io
import json
import os
import pickle
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner, Result

import planner.base.io
import planner.run.planning
import planner.run.prepare
from planner.app.cli import main

SAMPLE = Path(__file__).resolve().parents[2] / "planner" / "sample_data"
SKUS = ["SKU0001", "SKU0002", "SKU0003", "SKU0004"]
QUICK = {
    "horizon_weeks": 8,
    "forecast": {"model": "baseline", "n_paths": 50},
    "solver": {"time_limit_s": 10},
}

# ---------------------------------------------------------------------------
# recording which files a command opens

_OPENED: list[str] | None = None


def _audit(event: str, args: tuple) -> None:
    if _OPENED is not None and event == "open" and isinstance(args[0], str | bytes | os.PathLike):
        _OPENED.append(os.path.realpath(os.fsdecode(args[0])))


sys.addaudithook(_audit)


class Run:
    """A finished command: exit code, what it printed, and the files it opened."""

    def __init__(self, result: Result, opened: list[str]):
        self.result = result
        self.code = result.exit_code
        self.stderr = result.stderr
        self.stdout = result.stdout
        self.opened = opened

    def opened_under(self, folder: Path) -> set[Path]:
        root = os.path.realpath(folder)
        return {Path(p) for p in self.opened if p == root or p.startswith(root + os.sep)}


def run(*args: str | Path) -> Run:
    global _OPENED
    _OPENED = []
    try:
        result = CliRunner().invoke(main, [str(a) for a in args])
    finally:
        opened, _OPENED = _OPENED, None
    return Run(result, opened)


def failed(r: Run, code: int = 1) -> str:
    """Assert a clean failure (the exit code, a message, no traceback) and return stderr."""
    assert r.code == code, r.result.output
    assert isinstance(r.result.exception, SystemExit), r.result.exception
    assert "Traceback" not in r.result.output
    assert r.stderr.startswith("error:") or "Error:" in r.stderr, r.stderr
    return r.stderr


def no_outputs(out: Path) -> None:
    assert not out.exists() or list(out.iterdir()) == [], list(out.iterdir())


# ---------------------------------------------------------------------------
# the 4-SKU company


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    """A 4-SKU copy of the sample company at ``tmp_path/data``."""
    data = tmp_path / "data"
    data.mkdir()
    for name in ("demand", "items", "inventory", "open_orders"):
        frame = pd.read_csv(SAMPLE / f"{name}.csv", dtype=str, keep_default_na=False)
        frame[frame["sku"].isin(SKUS)].to_csv(data / f"{name}.csv", index=False, lineterminator="\n")
    for name in ("suppliers", "calendar"):
        (data / f"{name}.csv").write_bytes((SAMPLE / f"{name}.csv").read_bytes())
    return data


@pytest.fixture
def scenario(tmp_path: Path, tiny: Path) -> Callable[..., Path]:
    """Write ``tmp_path/<file>`` with the quick settings plus ``keys`` (None removes a key)."""

    def write(file: str = "s.yaml", **keys: object) -> Path:
        merged = {"name": "t", "data": "data", **QUICK, **keys}
        path = tmp_path / file
        path.write_text(yaml.safe_dump({k: v for k, v in merged.items() if v is not None}), encoding="utf-8")
        return path

    return write


def edit(folder: Path, table: str, change: Callable[[pd.DataFrame], pd.DataFrame]) -> Path:
    path = folder / f"{table}.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    change(frame).to_csv(path, index=False, lineterminator="\n")
    return path


# ---------------------------------------------------------------------------
# security: nothing read runs code, nothing read is echoed


class _Boom:
    """Unpickling this runs a command that leaves a marker file."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture
def model_dir(tmp_path: Path, scenario: Callable[..., Path]) -> Path:
    """A model folder written by 'planner forecast' (the baseline model)."""
    r = run("forecast", scenario(), "--out", tmp_path / "fc")
    assert r.code == 0, r.result.output
    return tmp_path / "fc" / "model"


@pytest.mark.parametrize("command", ["plan", "validate"])
def test_a_pickle_in_a_model_folder_is_refused_and_never_run(
    tmp_path: Path, scenario: Callable[..., Path], model_dir: Path, command: str
) -> None:
    marker = tmp_path / "pwned"
    (model_dir / "state.pkl").write_bytes(pickle.dumps(_Boom(marker)))
    sc = scenario(forecast={**QUICK["forecast"], "load": str(model_dir)})
    args = ["--out", tmp_path / "out"] if command == "plan" else []
    r = run(command, sc, *args)
    message = failed(r)
    assert "state.pkl" in message and "pickled state can run code" in message
    assert not marker.exists()
    assert model_dir / "state.pkl" not in r.opened_under(model_dir)
    no_outputs(tmp_path / "out")


def test_a_pickled_array_file_is_refused(
    tmp_path: Path, scenario: Callable[..., Path], model_dir: Path
) -> None:
    """An object array inside arrays.npz is a pickle: NumPy refuses it (allow_pickle=False)."""
    marker = tmp_path / "pwned"
    buffer = io.BytesIO()
    np.savez(buffer, a0=np.array([_Boom(marker)], dtype=object), allow_pickle=True)
    (model_dir / "arrays.npz").write_bytes(buffer.getvalue())
    _resign(model_dir)
    r = run("plan", scenario(forecast={**QUICK["forecast"], "load": str(model_dir)}), "--out", tmp_path / "o")
    assert "arrays.npz cannot be read as plain arrays" in failed(r)
    assert not marker.exists()
    no_outputs(tmp_path / "o")


def _resign(folder: Path) -> None:
    """Rewrite the manifest's checksums (as a forger would) so only the file formats protect."""
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"] = {
        p.name: planner.base.io.file_sha256(p) for p in sorted(folder.iterdir()) if p.name != "manifest.json"
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (lambda d: (d / "arrays.npz").write_bytes(b"PK\x03\x04 truncated"), "does not match its checksum"),
        (lambda d: (d / "state.json").unlink(), "state.json listed in manifest.json is missing"),
        (lambda d: (d / "manifest.json").write_text("{not json"), "manifest.json is not valid JSON"),
        (lambda d: (d / "manifest.json").unlink(), "manifest.json is missing"),
        (lambda d: (d / "extra.bin").write_bytes(b"x"), "holds files manifest.json does not list: extra.bin"),
        (lambda d: (d / "link").symlink_to("/etc/hostname"), "holds symbolic links (link)"),
    ],
)
def test_a_broken_model_folder_is_a_message(
    tmp_path: Path, scenario: Callable[..., Path], model_dir: Path, damage: Callable, expected: str
) -> None:
    damage(model_dir)
    r = run("plan", scenario(), "--out", tmp_path / "o", "--model", model_dir)
    message = failed(r)
    assert expected in message and str(model_dir) in message
    no_outputs(tmp_path / "o")


def test_a_forged_state_is_refused(tmp_path: Path, scenario: Callable[..., Path], model_dir: Path) -> None:
    """Valid files with forged content: attributes that are not fitted state, bad parameters."""
    state = json.loads((model_dir / "state.json").read_text())
    state["items"].append([{"__type__": "float", "repr": "1.0"}, 1.0])  # a non-string attribute name
    (model_dir / "state.json").write_text(json.dumps(state))
    _resign(model_dir)
    r = run("plan", scenario(), "--out", tmp_path / "o", "--model", model_dir)
    assert "state.json must hold a mapping of attribute names" in failed(r)
    manifest = json.loads((model_dir / "manifest.json").read_text())
    manifest["params"]["window"] = -5
    (model_dir / "manifest.json").write_text(json.dumps(manifest))
    r = run("plan", scenario(), "--out", tmp_path / "o", "--model", model_dir)
    expected = "the model's parameters are invalid (params.window: Input should be greater than or equal to 4"
    assert expected in failed(r)
    no_outputs(tmp_path / "o")


def test_extends_reads_only_yaml_and_never_echoes_another_file(
    tmp_path: Path, scenario: Callable[..., Path]
) -> None:
    secret = tmp_path / "shadow"
    secret.write_text("root:$6$salt$hash:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n")
    r = run("validate", scenario(extends=str(secret)))
    message = failed(r)
    assert "must be the path of another scenario file ending in .yaml or .yml" in message
    assert secret not in r.opened_under(tmp_path)
    # the same content under a .yaml name: read, refused, not quoted
    (tmp_path / "shadow.yaml").write_text(secret.read_text())
    r = run("validate", scenario(extends="shadow.yaml"))
    message = failed(r)
    assert "shadow.yaml: is not a scenario file: none of its 2 top-level keys is a scenario key" in message
    assert "$6$" not in message and "daemon" not in message and "19000" not in message


def test_a_parent_scenario_is_referred_to_by_line(tmp_path: Path, scenario: Callable[..., Path]) -> None:
    (tmp_path / "parent.yaml").write_text("name: p\nhorizon_weeks: 8\napi_token: s3cr3t-value\n")
    r = run("validate", scenario(extends="parent.yaml"))
    message = failed(r)
    assert "parent.yaml: line 3: unknown key" in message
    assert "api_token" not in message and "s3cr3t" not in message


# ---------------------------------------------------------------------------
# plans that would silently order nothing


def test_a_demand_row_far_in_the_future_is_named(
    tmp_path: Path, scenario: Callable[..., Path], tiny: Path
) -> None:
    with open(tiny / "demand.csv", "a") as fh:
        fh.write("SKU0001,2062-01-02,5,,,\n")
    lines = (tiny / "demand.csv").read_text().count("\n")
    r = run("plan", scenario(), "--out", tmp_path / "o")
    message = failed(r)
    assert f"demand.csv: line {lines}: column 'date': dates up to" in message
    assert "weeks after the rest of the history" in message and "'2062-01-02'" in message
    no_outputs(tmp_path / "o")


def test_a_demand_row_far_in_the_past_is_named(scenario: Callable[..., Path], tiny: Path) -> None:
    with open(tiny / "demand.csv", "a") as fh:
        fh.write("SKU0002,1962-01-01,5,,,\n")
    message = failed(run("validate", scenario()))
    assert "weeks before the rest of the history" in message and "'1962-01-01'" in message


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        (-5, "window: Input should be greater than or equal to 4 (got -5)"),
        (0, "window: Input should be greater than or equal to 4 (got 0)"),
        ("abc", "window: Input should be a valid integer (got 'abc')"),
        (True, "window: Input should be a valid integer (got True)"),
        (2.5, "window: Input should be a valid integer (got 2.5)"),
    ],
)
def test_forecast_parameters_are_checked_at_validate(
    scenario: Callable[..., Path], window: object, expected: str
) -> None:
    sc = scenario(forecast={"model": "baseline", "params": {"window": window}})
    assert f"key 'forecast.params': {expected}" in failed(run("validate", sc))


def test_ensemble_member_parameters_are_checked(scenario: Callable[..., Path]) -> None:
    sc = scenario(forecast={"model": "ensemble", "params": {"member_params": {"lstm": {"epochs": 0}}}})
    assert "member_params.lstm.epochs: Input should be greater than or equal to 1" in failed(
        run("validate", sc)
    )


def test_a_lead_time_beyond_the_horizon_is_a_stated_warning(
    tmp_path: Path, scenario: Callable[..., Path], tiny: Path
) -> None:
    edit(tiny, "suppliers", lambda f: f.assign(lead_time_weeks="30"))
    r = run("plan", scenario(), "--out", tmp_path / "o")
    assert r.code == 0, r.result.output
    assert "4 SKU(s) cannot receive a new order within the 8-week horizon" in r.stderr
    assert "Fix: raise horizon_weeks to at least 31" in r.stderr
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    codes = {w["code"]: w for w in summary["warnings"]}
    assert codes["lead_time_beyond_horizon"]["count"] == 4
    assert codes["lead_time_beyond_horizon"]["skus"] == SKUS


def test_a_sku_censored_in_every_week_is_a_stated_warning(
    tmp_path: Path, scenario: Callable[..., Path], tiny: Path
) -> None:
    edit(tiny, "demand", lambda f: f.assign(stockout=np.where(f["sku"] == "SKU0003", "1", f["stockout"])))
    r = run("plan", scenario(), "--out", tmp_path / "o")
    assert r.code == 0, r.result.output
    assert "1 item(s) have no uncensored week (stockout = 1 in every week): 'SKU0003'" in r.stderr
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert {w["code"]: w["skus"] for w in summary["warnings"]}["no_uncensored_history"] == ["SKU0003"]


def test_a_plan_that_orders_nothing_while_demand_is_lost_says_so(
    tmp_path: Path, scenario: Callable[..., Path], tiny: Path
) -> None:
    edit(tiny, "suppliers", lambda f: f.assign(lead_time_weeks="30"))
    edit(tiny, "inventory", lambda f: f.assign(on_hand="0"))
    edit(tiny, "open_orders", lambda f: f.iloc[:0])
    r = run("plan", scenario(), "--out", tmp_path / "o")
    assert r.code == 0
    assert (
        "the plan orders nothing, yet" in r.stderr
        and "units of demand are expected to go unserved" in r.stderr
    )
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert "plan_orders_nothing" in {w["code"] for w in summary["warnings"]}


# ---------------------------------------------------------------------------
# numbers and types


@pytest.mark.parametrize("value", ["1.7e308", "1e300", "2e9"])
def test_magnitudes_beyond_any_real_cost_are_refused(
    scenario: Callable[..., Path], tiny: Path, value: str
) -> None:
    edit(tiny, "items", lambda f: f.assign(unit_cost=np.where(f["sku"] == "SKU0002", value, f["unit_cost"])))
    message = failed(run("validate", scenario()))
    assert f"items.csv: line 3: column 'unit_cost': must be <= 1e+09, got '{value}'" in message


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("horizon_weeks", True, "key 'horizon_weeks': must be a number, not the yes/no value true"),
        ("storage_capacity", False, "key 'storage_capacity': must be one number or a list of numbers"),
        ("budget_per_week", True, "not the yes/no value true"),
        ("service_level", "0.9", "key 'service_level': Input should be a valid number (got '0.9')"),
        ("storage_capacity", 1e300, "must be at most 1e+12"),
    ],
)
def test_yaml_types_are_strict(scenario: Callable[..., Path], key: str, value: object, expected: str) -> None:
    assert expected in failed(run("validate", scenario(**{key: value})))


# ---------------------------------------------------------------------------
# files that are not what they claim


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("name: t\ndata: data\n".encode("utf-16"), "is UTF-16 or UTF-32 encoded, not UTF-8"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "is a binary file, not text"),
        ("name: caf\xe9\ndata: data\n".encode("latin-1"), "line 1: not UTF-8 text (byte 0xe9"),
        (b"name: t\n" + b"#" * (1 << 20) + b"\n", "larger than any such file"),
    ],
)
@pytest.mark.parametrize("through_extends", [False, True])
def test_a_scenario_that_is_not_utf8_text_is_a_message(
    tmp_path: Path, scenario: Callable[..., Path], content: bytes, expected: str, through_extends: bool
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(content)
    target = scenario(extends="bad.yaml") if through_extends else bad
    assert expected in failed(run("validate", target))


def test_a_data_file_in_another_encoding_or_separator_gets_a_hint(
    scenario: Callable[..., Path], tiny: Path
) -> None:
    items = tiny / "items.csv"
    text = items.read_text()
    items.write_bytes(text.replace(",", ";").encode("utf-8"))
    assert "items.csv: cannot be read: the header is separated by ';', not ','" in failed(
        run("validate", scenario())
    )
    items.write_bytes(text.replace("beauty", "beaut\xe9").encode("latin-1"))
    assert "items.csv: line 2: not UTF-8 text" in failed(run("validate", scenario()))
    items.write_bytes(text.encode("utf-16"))
    assert "items.csv: is UTF-16 or UTF-32 encoded" in failed(run("validate", scenario()))


def test_a_decimal_comma_gets_a_hint(scenario: Callable[..., Path], tiny: Path) -> None:
    edit(tiny, "items", lambda f: f.assign(unit_cost=np.where(f["sku"] == "SKU0002", "25,3", f["unit_cost"])))
    message = failed(run("validate", scenario()))
    assert "items.csv: line 3: column 'unit_cost': not a number: '25,3'" in message
    assert "'.' as the decimal point" in message


def test_line_numbers_count_blank_lines_and_multi_line_cells(
    scenario: Callable[..., Path], tiny: Path
) -> None:
    items = tiny / "items.csv"
    head, *rows = items.read_text().splitlines()
    first = rows[0].split(",")
    first[-1] = '"beauty\nand care"'  # the category spans lines 2-3
    bad = rows[2].split(",")
    bad[5] = "0"  # pack_size 0 on the row that now starts on line 8
    items.write_text("\n".join([head, ",".join(first), "", rows[1], "", "", ",".join(bad), rows[3]]) + "\n")
    message = failed(run("validate", scenario()))
    assert "items.csv: line 8: column 'pack_size': must be > 0, got '0'" in message


def test_a_duplicate_header_is_named_as_such(scenario: Callable[..., Path], tiny: Path) -> None:
    inv = tiny / "inventory.csv"
    inv.write_text("sku,on_hand,on_hand\n" + "".join(f"{s},1,2\n" for s in SKUS))
    message = failed(run("validate", scenario()))
    assert "inventory.csv: column 'on_hand': the header names this column 2 times (columns 2, 3)" in message
    assert "on_hand.1" not in message


def test_symlink_loops_are_named(tmp_path: Path, scenario: Callable[..., Path], tiny: Path) -> None:
    loop = tmp_path / "loop.yaml"
    loop.symlink_to(loop)
    r = run("validate", loop)
    assert "is a symbolic link that loops back on itself" in failed(r, code=2)
    (tiny / "items.csv").unlink()
    (tiny / "items.csv").symlink_to(tiny / "items.csv")
    assert "is a symbolic link that loops back on itself" in failed(run("validate", scenario()))
    looped = tmp_path / "looped"
    looped.symlink_to(looped)
    assert "is a symbolic link that loops back on itself" in failed(run("validate", scenario(data="looped")))


def test_ids_that_differ_only_in_unicode_form_are_one_id(scenario: Callable[..., Path], tiny: Path) -> None:
    composed, decomposed = "CAF\u00c9", "CAFE\u0301"
    edit(tiny, "items", lambda f: f.assign(sku=f["sku"].replace("SKU0004", composed)))
    edit(tiny, "demand", lambda f: f.assign(sku=f["sku"].replace("SKU0004", decomposed)))
    edit(tiny, "inventory", lambda f: f.assign(sku=f["sku"].replace("SKU0004", decomposed)))
    edit(tiny, "open_orders", lambda f: f.assign(sku=f["sku"].replace("SKU0004", composed)))
    r = run("validate", scenario())
    assert r.code == 0, r.result.output  # the demand rows belong to the item written the other way
    edit(tiny, "items", lambda f: pd.concat([f, f.iloc[[3]].assign(sku=decomposed)]))
    message = failed(run("validate", scenario()))
    assert "duplicate 'sku'" in message and "written in two Unicode forms" in message


# ---------------------------------------------------------------------------
# where outputs go


def test_out_under_a_file_or_in_proc_is_a_usage_error(tmp_path: Path, scenario: Callable[..., Path]) -> None:
    (tmp_path / "afile").write_text("x")
    r = run("plan", scenario(), "--out", tmp_path / "afile" / "out")
    assert "is a file, so no folder can be made under it" in failed(r, code=2)
    r = run("plan", scenario(), "--out", "/proc/planner-out")
    assert "system folder" in failed(r, code=2) or "not writable" in r.stderr


def test_an_output_name_taken_by_a_folder_is_refused_and_kept(
    tmp_path: Path, scenario: Callable[..., Path]
) -> None:
    out = tmp_path / "out"
    (out / "purchase_plan.csv").mkdir(parents=True)
    (out / "purchase_plan.csv" / "keep.txt").write_text("mine")
    message = failed(run("plan", scenario(), "--out", out))
    assert "purchase_plan.csv is a folder, where this run writes a file" in message
    assert sorted(p.name for p in out.iterdir()) == ["purchase_plan.csv"]
    assert (out / "purchase_plan.csv" / "keep.txt").read_text() == "mine"


def _snapshot(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.iterdir())}


@pytest.fixture
def planned(tmp_path: Path, scenario: Callable[..., Path]) -> Iterator[tuple[Path, Path, dict[str, bytes]]]:
    """A scenario planned once into ``out``: (scenario, out, the files' bytes)."""
    sc, out = scenario(), tmp_path / "out"
    assert run("plan", sc, "--out", out).code == 0
    edit(tmp_path / "data", "inventory", lambda f: f.assign(on_hand="0"))  # the next run differs
    yield sc, out, _snapshot(out)


def test_a_rename_failing_mid_commit_leaves_the_previous_set(
    planned: tuple[Path, Path, dict[str, bytes]], monkeypatch: pytest.MonkeyPatch
) -> None:
    sc, out, before = planned
    real, calls = os.replace, []

    def flaky(src: object, dst: object) -> None:
        calls.append(dst)
        if len(calls) == 4:  # the old manifest, then purchase_plan.csv (old out, new in), then ...
            raise OSError(5, "Input/output error")
        real(src, dst)

    monkeypatch.setattr(planner.base.io.os, "replace", flaky)
    message = failed(run("plan", sc, "--out", out))
    assert "cannot write outputs to" in message and "Input/output error" in message
    monkeypatch.undo()
    assert _snapshot(out) == before  # every file the previous run's, no temporaries


def test_sigterm_stops_a_run_and_leaves_the_previous_set(
    planned: tuple[Path, Path, dict[str, bytes]], monkeypatch: pytest.MonkeyPatch
) -> None:
    sc, out, before = planned
    real = planner.run.planning.verify_plan

    def terminated_while_verifying(*args: object) -> None:
        real(*args)
        os.kill(os.getpid(), signal.SIGTERM)

    previous = signal.getsignal(signal.SIGTERM)
    monkeypatch.setattr(planner.run.planning, "verify_plan", terminated_while_verifying)
    try:
        r = run("plan", sc, "--out", out)
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert "stopped by SIGTERM; nothing was written" in failed(r, code=143)
    assert _snapshot(out) == before


def test_a_killed_run_is_rolled_back_and_its_temporaries_removed(
    planned: tuple[Path, Path, dict[str, bytes]],
) -> None:
    """What SIGKILL leaves mid-commit (a dead process's journal and temporaries) is undone by the next run."""
    sc, out, before = planned
    dead = 2**22 + 12345  # above the kernel's pid_max default: no such process
    journal = out / f".planner-{dead}-commit.abcd"
    journal.mkdir()
    (journal / "journal.json").write_text(
        json.dumps(
            {
                "targets": ["purchase_plan.csv", "summary.json", "manifest.json"],
                "existed": ["purchase_plan.csv", "summary.json", "manifest.json"],
            }
        )
    )
    os.replace(out / "manifest.json", journal / "manifest.json")
    os.replace(out / "purchase_plan.csv", journal / "purchase_plan.csv")
    (out / "purchase_plan.csv").write_text("half of a new plan")
    (out / f".planner-{dead}-projection.csv.xyz.tmp").write_text("partial")
    planner.base.io.recover(out)
    assert _snapshot(out) == before
    r = run("plan", sc, "--out", out)
    assert r.code == 0
    assert not [p for p in out.iterdir() if p.name.startswith(".planner-")]
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest["files"]) == {"purchase_plan.csv", "projection.csv", "summary.json"}
    assert manifest["files"]["summary.json"] == planner.base.io.file_sha256(out / "summary.json")


def test_more_paths_than_memory_holds_is_refused_before_work(
    tmp_path: Path, scenario: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(planner.run.prepare, "available_memory", lambda: 2**29)
    sc = scenario(horizon_weeks=156, forecast={"model": "baseline", "n_paths": 100_000})
    message = failed(run("plan", sc, "--out", tmp_path / "o"))
    assert "100,000 sample paths x 156 weeks x 4 SKUs need about" in message
    assert "this machine has 0.5 GiB available" in message and "lower forecast.n_paths to at most" in message
    no_outputs(tmp_path / "o")


def test_a_plan_reads_only_its_scenario_data_and_model(
    tmp_path: Path, scenario: Callable[..., Path], model_dir: Path
) -> None:
    (tmp_path / "unrelated.csv").write_text("a,b\n1,2\n")
    r = run("plan", scenario(), "--out", tmp_path / "out", "--model", model_dir)
    assert r.code == 0, r.result.output
    allowed = {tmp_path / "s.yaml", *(tmp_path / "data").iterdir(), *model_dir.iterdir()}
    read = {p for p in r.opened_under(tmp_path) if "out" not in p.relative_to(tmp_path).parts}
    assert read <= {Path(os.path.realpath(p)) for p in allowed}, read


# ---------------------------------------------------------------------------
# more of the same kinds


def test_a_yaml_key_given_twice_is_an_error_not_the_last_one_silently(scenario: Callable[..., Path]) -> None:
    path = scenario()
    path.write_text(path.read_text() + "horizon_weeks: 52\n")
    line = path.read_text().count("\n")
    message = failed(run("validate", path))
    assert f"key 'horizon_weeks': line {line}: given twice in the same mapping" in message


def test_yaml_nested_too_deeply_is_a_message(tmp_path: Path) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text("name: t\ndata: data\nx: " + "[" * 5000 + "\n")
    assert "nested too deeply to be a scenario" in failed(run("validate", path))


@pytest.mark.parametrize(("value", "expected"), [(".nan", "got nan"), (".inf", "got inf")])
def test_non_finite_yaml_numbers_are_refused(tmp_path: Path, tiny: Path, value: str, expected: str) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(f"name: t\ndata: data\nservice_level: {value}\n")
    assert f"key 'service_level': Input should be less than 1 ({expected})" in failed(run("validate", path))


def test_a_plan_start_far_after_the_history_is_refused_and_a_near_one_stated(
    tmp_path: Path, scenario: Callable[..., Path], tiny: Path
) -> None:
    edit(tiny, "open_orders", lambda f: f.iloc[:0])
    message = failed(run("validate", scenario(plan_start="2040-01-02")))
    assert "key 'plan_start': 2040-01-02 is" in message and "weeks after the history ends" in message
    r = run("plan", scenario(plan_start="2026-12-07"), "--out", tmp_path / "o")
    assert r.code == 0, r.result.output
    assert "the plan starts 3 week(s) after the history ends (2026-11-09)" in r.stderr
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert "plan_start_after_history" in {w["code"] for w in summary["warnings"]}


def test_a_data_key_naming_a_file_says_so(scenario: Callable[..., Path], tiny: Path) -> None:
    assert "is a file, not the dataset folder" in failed(run("validate", scenario(data="data/items.csv")))


def test_a_forecast_file_must_be_a_table(tmp_path: Path, scenario: Callable[..., Path]) -> None:
    (tmp_path / "fc.txt").write_text("root:x:0:0:root:/root:/bin/bash\n")
    r = run("plan", scenario(forecast={"model": "file", "path": "fc.txt"}), "--out", tmp_path / "o")
    message = failed(r)
    assert "a forecast file must be a .csv or .parquet file" in message and "root:x" not in message
    assert tmp_path / "fc.txt" not in r.opened_under(tmp_path)
    (tmp_path / "fc.csv").write_bytes("sku,week,mean\n".encode("utf-16"))
    r = run("plan", scenario(forecast={"model": "file", "path": "fc.csv"}), "--out", tmp_path / "o")
    assert "fc.csv: is UTF-16 or UTF-32 encoded" in failed(r)
    no_outputs(tmp_path / "o")


def test_an_output_replaced_by_a_link_is_refused(
    planned: tuple[Path, Path, dict[str, bytes]], tmp_path: Path
) -> None:
    """A link planted where an output goes (to make the run overwrite another file) is refused."""
    sc, out, _ = planned
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (out / "summary.json").unlink()
    (out / "summary.json").symlink_to(victim)
    message = failed(run("plan", sc, "--out", out))
    assert "summary.json is a link, where this run writes a file" in message
    assert victim.read_text() == "keep me" and (out / "summary.json").is_symlink()


def test_m5_assumptions_in_utf16_are_a_message(tmp_path: Path) -> None:
    assumptions = tmp_path / "a.yaml"
    assumptions.write_bytes("suppliers: {}\n".encode("utf-16"))
    m5 = tmp_path / "m5"
    m5.mkdir()
    for name in ("sales_train_validation.csv", "calendar.csv", "sell_prices.csv"):
        (m5 / name).write_text("x\n")
    r = run("import-m5", m5, "--out", tmp_path / "o", "--assumptions", assumptions)
    assert "a.yaml: is UTF-16 or UTF-32 encoded" in failed(r)
    no_outputs(tmp_path / "o")
