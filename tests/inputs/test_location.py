"""Inputs given as URLs (fsspec): read the same as local files, and clear errors when unreachable.

fsspec's in-memory file system stands in for object storage (s3://, gs://): a real fsspec file
system, reached only through its URL.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import fsspec
import pandas as pd
import pytest
from factories import small_sample
from fsspec.registry import known_implementations

from planner.base.errors import DataError
from planner.inputs.data import load_dataset

QUICK = {"horizon_weeks": 6, "forecast": {"model": "baseline", "n_paths": 40}}


@pytest.fixture
def memory() -> Iterator[str]:
    """An empty folder of fsspec's in-memory file system, as a URL; removed after the test."""
    fs = fsspec.filesystem("memory")
    yield "memory://planner-test"
    if fs.exists("/planner-test"):
        fs.rm("/planner-test", recursive=True)


def _upload(folder: Path, url: str) -> None:
    fs, root = fsspec.core.url_to_fs(url)
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        fs.pipe(f"{root}/{path.relative_to(folder).as_posix()}", path.read_bytes())


def test_a_dataset_read_by_url_is_the_dataset_read_from_disk(sample_dataset: Path, memory: str) -> None:
    _upload(sample_dataset, f"{memory}/data")
    local, remote = load_dataset(sample_dataset), load_dataset(f"{memory}/data")
    for name in ("history", "items", "suppliers", "open_orders", "calendar"):
        pd.testing.assert_frame_equal(getattr(remote, name), getattr(local, name), check_exact=True)
    pd.testing.assert_series_equal(remote.on_hand, local.on_hand)
    assert str(remote.files["items"]) == f"{memory}/data/items.csv"


def test_a_bad_row_in_a_file_read_by_url_is_named_like_a_local_one(sample_dataset: Path, memory: str) -> None:
    items = sample_dataset / "items.csv"
    lines = items.read_text().splitlines()
    head = lines[0].split(",")
    row = lines[3].split(",")
    row[head.index("unit_cost")] = "-4"
    lines[3] = ",".join(row)
    items.write_text("\n".join(lines) + "\n")
    _upload(sample_dataset, f"{memory}/data")
    with pytest.raises(DataError) as remote:
        load_dataset(f"{memory}/data")
    with pytest.raises(DataError) as local:
        load_dataset(sample_dataset)
    assert "items.csv" in str(remote.value) and "line 4" in str(remote.value)
    remote_text = str(remote.value).replace(f"{memory}/data", "DATA")
    assert remote_text == str(local.value).replace(str(sample_dataset), "DATA")


def test_a_plan_from_urls_is_the_plan_from_local_files(
    sample_dataset: Path,
    write_scenario: Callable[..., Path],
    cli: Callable,
    tmp_path: Path,
    memory: str,
) -> None:
    """Data, then a saved model (--model), read by URL: the same plan, and the manifest names the URLs."""
    small_sample(sample_dataset, 12)
    _upload(sample_dataset, f"{memory}/data")
    local = write_scenario(file="local.yaml", **QUICK)
    remote = write_scenario(file="remote.yaml", data=f"{memory}/data", **QUICK)
    runs = {
        "local": cli("plan", local, "--out", tmp_path / "local"),
        "remote": cli("plan", remote, "--out", tmp_path / "remote"),
    }
    model = cli("forecast", local, "--out", tmp_path / "fc")
    assert model.exit_code == 0, model.output
    _upload(tmp_path / "fc" / "model", f"{memory}/model")
    runs["local model"] = cli("plan", local, "--out", tmp_path / "lm", "--model", tmp_path / "fc" / "model")
    runs["remote model"] = cli("plan", remote, "--out", tmp_path / "rm", "--model", f"{memory}/model")
    for name, run in runs.items():
        assert run.exit_code == 0, (name, run.output)
    for a, b in (("local", "remote"), ("lm", "rm")):
        for name in ("purchase_plan.csv", "projection.csv"):
            assert (tmp_path / a / name).read_bytes() == (tmp_path / b / name).read_bytes(), (a, name)
    local_inputs = json.loads((tmp_path / "local" / "manifest.json").read_text())["inputs"]
    remote_inputs = json.loads((tmp_path / "remote" / "manifest.json").read_text())["inputs"]
    assert remote_inputs["items"]["path"] == f"{memory}/data/items.csv"
    assert remote_inputs["items"]["sha256"] == local_inputs["items"]["sha256"]
    manifest = json.loads((tmp_path / "rm" / "manifest.json").read_text())
    assert manifest["scenario"]["forecast"]["load"] == f"{memory}/model"


def test_a_missing_url_is_a_clear_error(
    write_scenario: Callable[..., Path], cli: Callable, tmp_path: Path, memory: str
) -> None:
    scenario = write_scenario(data=f"{memory}/nothing", **QUICK)
    result = cli("plan", scenario, "--out", tmp_path / "out")
    assert result.exit_code == 1
    assert f"{memory}/nothing: dataset folder does not exist" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "out").exists()


def test_an_unknown_protocol_names_the_scenario_key(
    write_scenario: Callable[..., Path], cli: Callable, tmp_path: Path
) -> None:
    scenario = write_scenario(data="nosuchstore://bucket/data", **QUICK)
    result = cli("validate", scenario)
    assert result.exit_code == 1
    assert "data" in result.output and "'nosuchstore://' is not a storage protocol" in result.output
    bad_model = cli("plan", scenario, "--out", tmp_path / "o", "--model", "nosuchstore://m")
    assert bad_model.exit_code == 2 and "'nosuchstore://' is not a storage protocol" in bad_model.output


def _missing_backend() -> str | None:
    """A protocol fsspec knows whose package is not installed here (e.g. gcs without gcsfs)."""
    for protocol, impl in sorted(known_implementations.items()):
        module = impl["class"].split(".")[0]
        if "err" in impl and importlib.util.find_spec(module) is None:
            return protocol
    return None


def test_a_url_whose_storage_package_is_missing_says_what_to_install(
    write_scenario: Callable[..., Path], cli: Callable, tmp_path: Path
) -> None:
    protocol = _missing_backend()
    if protocol is None:
        pytest.skip("every fsspec backend is installed here")
    scenario = write_scenario(data=f"{protocol}://bucket/data", **QUICK)
    result = cli("plan", scenario, "--out", tmp_path / "out")
    assert result.exit_code == 1, result.output
    assert f"cannot read {protocol}:// locations here" in result.output
    assert "pip install" in result.output and "Traceback" not in result.output
