"""The HTTP API on a real uvicorn server on 127.0.0.1: reads, tokens, bad names and ids, a plan job,
concurrent readers."""

from __future__ import annotations

import datetime as dt
import io
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import httpx
import pandas as pd
import pytest
import uvicorn
from click.testing import CliRunner

from planner.app.api import create_app
from planner.app.cli import main
from planner.history.store import RunRecord, RunStore

REPO = Path(__file__).resolve().parents[2]
TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def plan_record(minute: int, units: float) -> RunRecord:
    lines = pd.DataFrame(
        {
            "order_week": ["2026-12-07", "2026-12-14"],
            "sku": ["A", "B"],
            "supplier": ["S1", "S2"],
            "units": [units, 5.0],
            "packs": [units, 5.0],
            "arrival_week": ["2027-01-04", "2027-01-11"],
            "unit_cost": [2.0, 4.0],
            "order_value": [2 * units, 20.0],
        }
    )
    return RunRecord(
        command="plan",
        scenario_name="base",
        scenario_path="/s/base.yaml",
        scenario_sha256="a" * 64,
        scenario_yaml="name: base\n",
        data_sha256="b" * 64,
        inputs={},
        code_version="0.1.0",
        versions={},
        out_dir="/out",
        outputs=[],
        created_at=dt.datetime(2026, 12, 7, 6, minute, tzinfo=dt.UTC),
        policy="optimizer",
        kpis={"fill_rate": 0.95},
        lines=lines,
    )


@contextmanager
def serving(app: object) -> Iterator[str]:
    """``app`` on a real uvicorn server on a free port of 127.0.0.1; its base URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.started
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(timeout=30)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[str]]]:
    root = tmp_path_factory.mktemp("api")
    url = f"sqlite:///{root / 'runs.db'}"
    store = RunStore(url)
    ids = [store.record(plan_record(0, 10.0)), store.record(plan_record(1, 12.0))]
    forecast = pd.DataFrame(
        {"sku": ["A"], "week": ["2026-12-07"], "horizon": [1], "mean": [3.0], "q0.5": [3.0]}
    )
    fc = store.record(replace(plan_record(2, 1.0), command="forecast", lines=None, forecast=forecast))
    scores = pd.DataFrame(
        {"dimension": ["all"], "key": ["all"], "origin": [dt.date(2026, 12, 7)],
         "scored_at": [dt.datetime(2026, 12, 21, tzinfo=dt.UTC)], "points": [1], "actual": [4.0],
         "wql": [0.1], "bias": [-0.25], "coverage80": [1.0], "coverage90": [None]}
    )  # fmt: skip
    store.save_scores(fc, scores)
    ids.append(fc)
    store.close()
    scenarios = root / "scenarios"
    scenarios.mkdir()
    shutil.copytree(REPO / "planner" / "sample_data", root / "data")
    (scenarios / "tiny.yaml").write_text(
        f"name: tiny\ndata: {root / 'data'}\nhorizon_weeks: 8\nforecast: {{model: baseline, n_paths: 50}}\n"
    )
    with serving(create_app(url, scenarios, root / "api-runs", token=TOKEN)) as base:
        yield base, ids


def test_health_is_open_and_everything_else_wants_the_token(server: tuple[str, list[str]]) -> None:
    base, _ = server
    assert httpx.get(f"{base}/health").json() == {"status": "ok"}
    assert httpx.get(f"{base}/runs").status_code == 401
    assert httpx.get(f"{base}/runs", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert httpx.post(f"{base}/scenarios/tiny/plan").status_code == 401
    assert httpx.get(f"{base}/runs", headers=AUTH).status_code == 200


def test_forecasts_and_scores(server: tuple[str, list[str]]) -> None:
    base, ids = server
    got = httpx.get(f"{base}/scenarios/base/forecast", headers=AUTH)
    assert got.headers["x-run-id"] == ids[2] and got.json()["forecast"][0]["mean"] == 3.0
    csv = pd.read_csv(io.StringIO(httpx.get(f"{base}/runs/{ids[2]}/forecast.csv", headers=AUTH).text))
    assert list(csv.columns) == ["sku", "week", "horizon", "mean", "q0.5"] and csv["mean"].tolist() == [3.0]
    scores = httpx.get(f"{base}/scenarios/base/scores", headers=AUTH).json()
    assert (
        scores[0]["bias"] == -0.25 and scores[0]["coverage90"] is None and scores[0]["origin"] == "2026-12-07"
    )
    assert httpx.get(f"{base}/runs/{ids[0]}/forecast", headers=AUTH).status_code == 404  # a plan run


def test_runs_and_the_latest_plan(server: tuple[str, list[str]]) -> None:
    base, ids = server
    runs = httpx.get(f"{base}/runs", params={"scenario": "base", "command": "plan"}, headers=AUTH).json()
    assert [r["id"] for r in runs] == ids[1::-1]
    one = httpx.get(f"{base}/runs/{ids[0]}", headers=AUTH).json()
    assert one["kpis"] == {"fill_rate": 0.95} and one["policy"] == "optimizer"
    latest = httpx.get(f"{base}/scenarios/base/plan", headers=AUTH)
    ids = ids[:2]
    assert latest.headers["x-run-id"] == ids[1]
    body = latest.json()
    assert body["run_id"] == ids[1] and [r["units"] for r in body["lines"]] == [12.0, 5.0]
    csv = httpx.get(f"{base}/scenarios/base/plan.csv", headers=AUTH)
    assert csv.headers["content-type"].startswith("text/csv")
    frame = pd.read_csv(io.StringIO(csv.text))
    assert frame["units"].tolist() == [12.0, 5.0] and frame["order_week"].tolist() == [
        "2026-12-07",
        "2026-12-14",
    ]
    older = httpx.get(f"{base}/runs/{ids[0]}/plan", headers=AUTH).json()
    assert [r["units"] for r in older["lines"]] == [10.0, 5.0]
    kpis = httpx.get(f"{base}/scenarios/base/kpis", headers=AUTH).json()
    assert kpis["run_id"] == ids[1] and kpis["kpis"] == {"fill_rate": 0.95}
    assert "/scenarios/{name}/plan" in httpx.get(f"{base}/openapi.json").json()["paths"]


@pytest.mark.parametrize(
    "path",
    [
        "/runs/not-a-run",
        "/runs/20261207-000000-abcdef",
        "/runs/20261207-000000-abcdef/plan",
        "/scenarios/nothing/plan",
        "/scenarios/..%2F..%2Fetc%2Fpasswd/plan",
        "/scenarios/" + "x" * 300 + "/plan.csv",
        "/jobs/zzz",
    ],
)
def test_bad_ids_and_names_are_404(server: tuple[str, list[str]], path: str) -> None:
    base, _ = server
    got = httpx.get(base + path, headers=AUTH)
    assert got.status_code == 404, got.text
    assert "root:" not in got.text


def test_only_allow_listed_scenarios_run(server: tuple[str, list[str]]) -> None:
    base, _ = server
    assert httpx.get(f"{base}/scenarios", headers=AUTH).json() == ["tiny"]
    for name in ("base", "..", "tiny.yaml", "%2Fetc%2Fpasswd"):
        assert httpx.post(f"{base}/scenarios/{name}/plan", headers=AUTH).status_code == 404, name


def test_a_plan_job_runs_and_its_plan_is_served(server: tuple[str, list[str]]) -> None:
    base, _ = server
    started = httpx.post(f"{base}/scenarios/tiny/plan", headers=AUTH)
    assert started.status_code == 202
    job = started.json()["job"]
    deadline = time.monotonic() + 300
    status = {}
    while time.monotonic() < deadline:
        status = httpx.get(f"{base}/jobs/{job}", headers=AUTH).json()
        if status["status"] in ("done", "failed"):
            break
        time.sleep(0.5)
    assert status["status"] == "done", status
    plan = httpx.get(f"{base}/scenarios/tiny/plan", headers=AUTH)
    assert plan.headers["x-run-id"] == status["run_id"] and len(plan.json()["lines"]) > 0
    assert httpx.get(f"{base}/scenarios/tiny/kpis", headers=AUTH).json()["kpis"]["counts"]["skus"] == 240


def test_a_replaced_run_is_not_served_from_the_cache(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    store = RunStore(url)
    first = store.record(replace(plan_record(0, 10.0), run_key="weekly-1"))
    with serving(create_app(url, tmp_path, tmp_path / "out")) as base:
        assert httpx.get(f"{base}/runs/{first}/plan").status_code == 200  # now cached
        second = store.record(replace(plan_record(1, 11.0), run_key="weekly-1"))  # a rerun replaces it
        assert httpx.get(f"{base}/runs/{first}/plan").status_code == 404
        assert httpx.get(f"{base}/scenarios/base/plan").headers["x-run-id"] == second
    store.close()


def test_concurrent_readers_get_the_same_plan(server: tuple[str, list[str]]) -> None:
    base, _ = server

    def read(_: int) -> tuple[int, str]:
        got = httpx.get(f"{base}/scenarios/base/plan", headers=AUTH, timeout=30)
        return got.status_code, got.text

    with ThreadPoolExecutor(max_workers=30) as pool:
        results = list(pool.map(read, range(60)))
    assert {code for code, _ in results} == {200}
    assert len({text for _, text in results}) == 1


def test_serve_refuses_to_expose_the_api_without_a_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PLANNER_API_TOKEN", raising=False)
    result = CliRunner().invoke(main, ["serve", "--host", "0.0.0.0", "--scenarios", str(REPO / "scenarios")])
    assert result.exit_code == 2 and "--token" in result.output
