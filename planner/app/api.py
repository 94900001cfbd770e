"""The HTTP API (FastAPI, served by uvicorn with ``planner serve``): read what the run store knows,
start plan runs of allow-listed scenarios.

Read-only endpoints: ``/runs`` (filter by scenario and command), ``/runs/{id}``, a plan run's lines
(``/runs/{id}/plan`` JSON, ``/runs/{id}/plan.csv``), a forecast run's weekly quantiles
(``/runs/{id}/forecast``, ``.csv``), the latest plan of a scenario (``/scenarios/{name}/plan``,
``.csv``), its headline figures (``/scenarios/{name}/kpis``), its latest forecast and the monitor's
scores (``/scenarios/{name}/forecast``, ``/scenarios/{name}/scores``), the scenarios that may be
run (``/scenarios``). ``POST /scenarios/{name}/plan`` queues a plan run of
that scenario as a background job (one at a time); ``/jobs/{id}`` says where it is and, when done,
its run id. The OpenAPI schema is at ``/openapi.json``.

Secure by default: the server binds to 127.0.0.1 unless told otherwise and then needs a token;
with a token every endpoint but ``/health`` wants ``Authorization: Bearer TOKEN``. Requests never
carry file paths: a scenario is a name in the allow-listed folder, a run an id in the store, and
only what the store records is served.
"""

from __future__ import annotations

import io
import logging
import re
import secrets
import threading
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response

from planner.base.errors import PlannerError
from planner.history.store import RunStore

log = logging.getLogger(__name__)

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
RUN_ID = re.compile(r"[0-9]{8}-[0-9]{6}-[0-9a-f]{6}")
MAX_JOBS = 100  # finished jobs remembered
CACHE_BYTES = 256 * 2**20  # serialised plans kept in memory


@dataclass
class Job:
    id: str
    scenario: str
    status: str = "queued"  # queued, running, done, failed
    run_id: str | None = None
    error: str | None = None
    out_dir: str | None = None


@dataclass
class Jobs:
    """Plan runs started over the API: run one at a time, in order; the last ``MAX_JOBS`` remembered."""

    executor: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(max_workers=1))
    jobs: dict[str, Job] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, job: Job) -> None:
        with self.lock:
            self.jobs[job.id] = job
            while len(self.jobs) > MAX_JOBS:
                oldest = next(iter(self.jobs))
                if self.jobs[oldest].status in ("queued", "running"):
                    break
                del self.jobs[oldest]


class ResponseCache:
    """Serialised responses of recorded runs, which never change: least recently used first out
    beyond ``budget`` bytes; concurrent requests for the same key build it once (the others wait)."""

    def __init__(self, budget: int = CACHE_BYTES):
        self.budget = budget
        self.items: OrderedDict[tuple[str, str], bytes] = OrderedDict()
        self.lock = threading.Lock()
        self.building: dict[tuple[str, str], threading.Lock] = {}

    def get(self, key: tuple[str, str], build: Callable[[], bytes]) -> bytes:
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
            gate = self.building.setdefault(key, threading.Lock())
        with gate:
            with self.lock:
                if key in self.items:
                    return self.items[key]
            body = build()
            with self.lock:
                self.items[key] = body
                self.building.pop(key, None)
                size = sum(len(v) for v in self.items.values())
                while size > self.budget and len(self.items) > 1:
                    size -= len(self.items.popitem(last=False)[1])
            return body


def create_app(store_url: str, scenarios_dir: Path, out_root: Path, token: str | None = None) -> FastAPI:
    """The API over the run store at ``store_url``; plan runs of the ``*.yaml`` files in
    ``scenarios_dir`` write under ``out_root`` and are recorded in the same store."""
    store = RunStore(store_url)
    scenarios_dir = Path(scenarios_dir).resolve()
    jobs = Jobs()
    cache = ResponseCache()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        jobs.executor.shutdown(wait=False, cancel_futures=True)
        store.close()

    app = FastAPI(
        title="Purchase planner",
        version=_version(),
        description="Recorded runs, the latest purchase plan of each scenario, plan runs on request.",
        lifespan=lifespan,
    )

    def authorised(request: Request) -> None:
        if token is None:
            return
        given = request.headers.get("authorization", "")
        if not secrets.compare_digest(given.encode(), f"Bearer {token}".encode()):
            raise HTTPException(401, "missing or wrong token: send 'Authorization: Bearer TOKEN'")

    guard = [Depends(authorised)]

    def allowed() -> dict[str, Path]:
        return {p.stem: p for p in sorted(scenarios_dir.glob("*.yaml")) if NAME.fullmatch(p.stem)}

    def scenario_file(name: str) -> Path:
        path = allowed().get(name) if NAME.fullmatch(name) else None
        if path is None:
            raise HTTPException(404, f"no scenario '{name[:100]}' here; GET /scenarios lists them")
        return path

    def known_run(run_id: str) -> dict[str, Any]:
        if not RUN_ID.fullmatch(run_id):
            raise HTTPException(404, "no such run (run ids look like 20261207-063700-a1b2c3)")
        try:
            return store.run(run_id)
        except PlannerError:
            raise HTTPException(404, f"no run '{run_id}'") from None

    def latest(name: str, command: str = "plan") -> str:
        if not NAME.fullmatch(name):
            raise HTTPException(404, "no such scenario")
        run_id = store.latest(name, command)
        if run_id is None:
            raise HTTPException(404, f"no {command} run of scenario '{name}' recorded yet")
        return run_id

    def stored(run_id: str, what: str, csv: bool) -> Response:
        """A run's plan lines (``what="plan"``) or forecast (``"forecast"``) as JSON or CSV, built once."""
        if not RUN_ID.fullmatch(run_id) or not store.has_run(run_id):  # a replaced run is gone, cached or not
            raise HTTPException(404, f"no run '{run_id[:40]}' (run ids look like 20261207-063700-a1b2c3)")
        read = store.plan_lines if what == "plan" else store.forecast
        key = "lines" if what == "plan" else "forecast"

        def build() -> bytes:
            try:
                frame = read(run_id)
            except PlannerError as exc:
                raise HTTPException(404, str(exc).split(". Fix")[0]) from None
            if csv:
                return _csv(frame)
            rows = frame.to_json(orient="records", double_precision=6)
            return f'{{"run_id":"{run_id}","{key}":{rows}}}'.encode()

        body = cache.get((run_id, f"{what}.{'csv' if csv else 'json'}"), build)
        return Response(
            body, media_type="text/csv" if csv else "application/json", headers={"X-Run-Id": run_id}
        )

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/runs", dependencies=guard)
    def runs(
        scenario: str | None = None,
        command: str | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 20,
    ) -> list[dict[str, Any]]:
        frame = store.runs(scenario=scenario, command=command, limit=limit)
        frame["created_at"] = frame["created_at"].astype(str)
        return frame.astype(object).where(frame.notna(), None).to_dict(orient="records")

    @app.get("/runs/{run_id}", dependencies=guard)
    def run(run_id: str) -> JSONResponse:
        rec = known_run(run_id)
        return JSONResponse(
            {
                k: (str(v) if k in ("created_at", "plan_start") and v is not None else v)
                for k, v in rec.items()
            }
        )

    @app.get("/runs/{run_id}/plan", dependencies=guard)
    def run_plan_lines(run_id: str) -> Response:
        return stored(run_id, "plan", csv=False)

    @app.get("/runs/{run_id}/plan.csv", dependencies=guard)
    def run_plan_csv(run_id: str) -> Response:
        return stored(run_id, "plan", csv=True)

    @app.get("/runs/{run_id}/forecast", dependencies=guard)
    def run_forecast(run_id: str) -> Response:
        return stored(run_id, "forecast", csv=False)

    @app.get("/runs/{run_id}/forecast.csv", dependencies=guard)
    def run_forecast_csv(run_id: str) -> Response:
        return stored(run_id, "forecast", csv=True)

    @app.get("/scenarios/{name}/forecast", dependencies=guard)
    def scenario_forecast(name: str) -> Response:
        return stored(latest(name, "forecast"), "forecast", csv=False)

    @app.get("/scenarios/{name}/scores", dependencies=guard)
    def scenario_scores(name: str, dimension: str = "all") -> list[dict[str, Any]]:
        """The monitor's stored scores of the scenario's forecasts (``planner monitor``)."""
        if not NAME.fullmatch(name):
            raise HTTPException(404, "no such scenario")
        ids = store.runs(scenario=name, command="forecast", limit=100_000)["id"].tolist()
        frame = store.scores(ids)
        frame = frame[frame["dimension"] == dimension].sort_values(["origin", "key"])
        frame = frame.assign(origin=frame["origin"].astype(str), scored_at=frame["scored_at"].astype(str))
        return frame.astype(object).where(frame.notna(), None).to_dict(orient="records")

    @app.get("/scenarios", dependencies=guard)
    def scenarios() -> list[str]:
        return list(allowed())

    @app.get("/scenarios/{name}/plan", dependencies=guard)
    def scenario_plan(name: str) -> Response:
        return stored(latest(name), "plan", csv=False)

    @app.get("/scenarios/{name}/plan.csv", dependencies=guard)
    def scenario_plan_csv(name: str) -> Response:
        return stored(latest(name), "plan", csv=True)

    @app.get("/scenarios/{name}/kpis", dependencies=guard)
    def scenario_kpis(name: str) -> dict[str, Any]:
        rec = known_run(latest(name))
        keys = ("policy", "solver_status", "objective", "bound", "gap")
        return {
            "run_id": rec["id"],
            "created_at": str(rec["created_at"]),
            "kpis": rec["kpis"],
            **{k: rec[k] for k in keys},
        }

    @app.post("/scenarios/{name}/plan", status_code=202, dependencies=guard)
    def start_plan(name: str) -> dict[str, Any]:
        path = scenario_file(name)
        job = Job(id=uuid.uuid4().hex[:12], scenario=name)
        jobs.add(job)
        jobs.executor.submit(_plan_job, job, path, out_root, store_url)
        return {"job": job.id, "status": job.status, "status_url": f"/jobs/{job.id}"}

    @app.get("/jobs/{job_id}", dependencies=guard)
    def job_status(job_id: str) -> dict[str, Any]:
        job = jobs.jobs.get(job_id) if re.fullmatch(r"[0-9a-f]{12}", job_id) else None
        if job is None:
            raise HTTPException(404, "no such job")
        return {
            "job": job.id,
            "scenario": job.scenario,
            "status": job.status,
            "run_id": job.run_id,
            "error": job.error,
        }

    return app


def _csv(frame: pd.DataFrame) -> bytes:
    """RFC 4180 CSV (text in quotes), written by Arrow: a 520,000-line plan in about 0.1 s."""
    buf = io.BytesIO()
    pa_csv.write_csv(
        pa.Table.from_pandas(frame, preserve_index=False), buf, pa_csv.WriteOptions(quoting_style="needed")
    )
    return buf.getvalue()


def _plan_job(job: Job, scenario: Path, out_root: Path, store_url: str) -> None:
    """One plan run of an allow-listed scenario: plan, publish, record (a background job)."""
    import json

    from planner.app.history import build_record, plan_kpis, record
    from planner.app.outputs import write_plan
    from planner.run.planning import run_plan

    job.status = "running"
    try:
        out_dir = Path(out_root) / job.scenario / job.id
        result = run_plan(scenario)
        written = write_plan(result, out_dir)
        manifest = json.loads((out_dir / "manifest.json").read_text(encoding="utf-8"))
        rec = build_record(
            "plan", manifest, out_dir, written, kpis=plan_kpis(result.summary), lines=result.lines
        )
        done = record(store_url, rec)
        job.run_id = done[0] if done else None
        job.out_dir = str(out_dir)
        job.status = "done"
    except PlannerError as exc:
        job.error, job.status = str(exc), "failed"
    except Exception as exc:  # a bug: the job fails, the server goes on
        log.exception("plan job %s failed", job.id)
        job.error, job.status = f"internal error ({type(exc).__name__}: {exc})", "failed"


def _version() -> str:
    from importlib.metadata import version

    return version("purchase-planner")
