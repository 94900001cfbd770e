"""The run store: where runs are recorded and read back.

The store is a SQLAlchemy URL. Where it is, first match wins:

1. ``--store URL`` on the command line;
2. the environment variable ``PLANNER_STORE`` (e.g. ``postgresql+psycopg://user@host/planner``);
3. ``sqlite:///<data dir>/runs.db``, the data dir being ``PLANNER_DATA_DIR`` or the user's data
   folder (``platformdirs``; ``~/.local/share/purchase-planner`` on Linux).

``off`` (either way) records nothing. The schema is created and migrated (Alembic) when the store
is opened, so a new version of the planner upgrades an old store in place.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, delete, event, insert, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.orm import Session

from planner.base.errors import PlannerError
from planner.history.schema import ForecastFile, ForecastScore, PlanFile, Run, RunOutput

STORE_ENV = "PLANNER_STORE"
DATA_DIR_ENV = "PLANNER_DATA_DIR"
OFF = "off"
MIGRATIONS = Path(__file__).parent / "migrations"
RUN_COLUMNS = [c.key for c in Run.__table__.columns]
LINE_COLUMNS = ["order_week", "sku", "supplier", "units", "packs", "arrival_week", "unit_cost", "order_value"]


class StoreError(PlannerError):
    """The run store cannot be opened, read or written, or has no such run."""


def data_dir() -> Path:
    """The planner's data folder: ``PLANNER_DATA_DIR`` or the user's data folder."""
    from platformdirs import user_data_dir

    return Path(os.environ.get(DATA_DIR_ENV) or user_data_dir("purchase-planner"))


def store_url(option: str | None = None) -> str | None:
    """The store's URL (module docstring); None when recording is off."""
    url = option or os.environ.get(STORE_ENV) or f"sqlite:///{data_dir() / 'runs.db'}"
    return None if url.strip().lower() == OFF else url


def new_run_id(now: dt.datetime) -> str:
    """A sortable, unique run id: UTC time and 6 random hex digits (``20261207-063700-a1b2c3``)."""
    return f"{now.astimezone(dt.UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


@dataclass(frozen=True)
class RunRecord:
    """What a command run records (``runs``, ``run_outputs``; a plan's lines, a forecast's quantiles)."""

    command: str
    scenario_name: str
    scenario_path: str
    scenario_sha256: str
    scenario_yaml: str
    data_sha256: str
    inputs: dict[str, Any]
    code_version: str
    versions: dict[str, Any]
    out_dir: str
    outputs: list[dict[str, Any]]
    created_at: dt.datetime
    forecast_model: str | None = None
    plan_start: dt.date | None = None
    policy: str | None = None
    solver_status: str | None = None
    objective: float | None = None
    bound: float | None = None
    gap: float | None = None
    kpis: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, Any] = field(default_factory=dict)
    warnings: list[Any] = field(default_factory=list)
    lines: pd.DataFrame | None = None
    run_key: str | None = None
    forecast: pd.DataFrame | None = None


class RunStore:
    """Runs in a SQL database (SQLite or PostgreSQL), its schema kept at the latest migration."""

    def __init__(self, url: str):
        try:
            parsed = make_url(url)
            if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            self.engine: Engine = create_engine(
                parsed, connect_args=_connect_args(parsed.get_backend_name()), pool_size=10, max_overflow=40
            )
        except (ArgumentError, NoSuchModuleError, ValueError) as exc:
            raise StoreError(
                f"run store '{display_url(url)}' is not a database URL this planner can use: {exc}. "
                "Fix: a sqlite:///PATH or postgresql+psycopg://USER@HOST/DB URL, or 'off'"
            ) from None
        except OSError as exc:
            raise StoreError(f"cannot create the folder of run store '{display_url(url)}': {exc}") from None
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self.url = display_url(url)
        with self._errors("open"):
            self._migrate()

    def _migrate(self) -> None:
        """Bring the schema to the latest migration (nothing to do when it is there)."""
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        head = ScriptDirectory.from_config(cfg).get_current_head()
        with self.engine.connect() as conn:
            if MigrationContext.configure(conn).get_current_revision() == head:
                return
        with self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        try:
            yield
        except SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
            raise StoreError(f"cannot {action} the run store {self.url}: {reason}") from None

    def record(self, rec: RunRecord) -> str:
        """Store one run (all of it or nothing); its new id. A run with the same ``run_key`` and
        command replaces the earlier one (a scheduler's rerun of the same week)."""
        run_id = new_run_id(rec.created_at)
        values = {k: getattr(rec, k) for k in RUN_COLUMNS if k != "id"}
        with self._errors("write"), Session(self.engine) as session, session.begin():
            if rec.run_key is not None:
                old = session.scalars(
                    select(Run).where(Run.command == rec.command, Run.run_key == rec.run_key)
                ).all()
                for run in old:
                    for table in (PlanFile, ForecastFile, ForecastScore):
                        session.execute(delete(table).where(table.run_id == run.id))
                    session.delete(run)
                session.flush()
            session.add(Run(id=run_id, **values))
            session.flush()
            if rec.outputs:
                session.execute(insert(RunOutput), [{"run_id": run_id, **o} for o in rec.outputs])
            if rec.lines is not None:
                session.add(PlanFile(run_id=run_id, body=_parquet(_plan_frame(rec.lines))))
            if rec.forecast is not None:
                session.add(ForecastFile(run_id=run_id, body=_parquet(rec.forecast)))
        return run_id

    def runs(
        self, *, scenario: str | None = None, command: str | None = None, limit: int = 20
    ) -> pd.DataFrame:
        """The latest ``limit`` runs (newest first), optionally of one scenario and command."""
        cols = [
            Run.id,
            Run.created_at,
            Run.command,
            Run.scenario_name,
            Run.policy,
            Run.solver_status,
            Run.gap,
            Run.out_dir,
        ]
        query = select(*cols).order_by(Run.created_at.desc(), Run.id.desc()).limit(limit)
        if scenario is not None:
            query = query.where(Run.scenario_name == scenario)
        if command is not None:
            query = query.where(Run.command == command)
        with self._errors("read"), self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return pd.DataFrame(rows, columns=[c.key for c in cols])

    def run(self, run_id: str) -> dict[str, Any]:
        """Everything recorded about one run, its outputs included."""
        with self._errors("read"), Session(self.engine) as session:
            run = session.get(Run, run_id)
            if run is None:
                raise StoreError(
                    f"no run '{run_id}' in the run store {self.url}. Fix: 'planner runs list' shows the runs"
                )
            out = {c: getattr(run, c) for c in RUN_COLUMNS}
            out["outputs"] = [
                {"name": o.name, "path": o.path, "sha256": o.sha256, "bytes": o.bytes} for o in run.outputs
            ]
        return out

    def has_run(self, run_id: str) -> bool:
        """Whether the store holds run ``run_id`` (a replaced run no longer is)."""
        with self._errors("read"), self.engine.connect() as conn:
            return conn.execute(select(Run.id).where(Run.id == run_id)).scalar() is not None

    def latest(self, scenario: str, command: str = "plan") -> str | None:
        """The id of the newest ``command`` run of ``scenario`` (None without one)."""
        query = (
            select(Run.id)
            .where(Run.scenario_name == scenario, Run.command == command)
            .order_by(Run.created_at.desc(), Run.id.desc())
            .limit(1)
        )
        with self._errors("read"), self.engine.connect() as conn:
            return conn.execute(query).scalar()

    def plan_lines(self, run_id: str) -> pd.DataFrame:
        """The recorded purchase plan of a ``plan`` run (the columns of purchase_plan.csv; weeks as
        ISO dates)."""
        with self._errors("read"), self.engine.connect() as conn:
            command = conn.execute(select(Run.command).where(Run.id == run_id)).scalar()
            if command is None:
                self.run(run_id)  # names the missing run and the fix
            if command != "plan":
                raise StoreError(f"run '{run_id}' is a '{command}' run; only plan runs have plan lines")
            body = conn.execute(select(PlanFile.body).where(PlanFile.run_id == run_id)).scalar()
        if body is None:
            return pd.DataFrame(columns=LINE_COLUMNS)
        return pd.read_parquet(io.BytesIO(body))

    def forecast(self, run_id: str) -> pd.DataFrame:
        """The weekly quantiles a ``forecast`` run recorded (the columns of forecasts.csv)."""
        with self._errors("read"), self.engine.connect() as conn:
            body = conn.execute(select(ForecastFile.body).where(ForecastFile.run_id == run_id)).scalar()
        if body is None:
            self.run(run_id)  # names a missing run
            raise StoreError(f"run '{run_id}' recorded no forecast")
        return pd.read_parquet(io.BytesIO(body))

    def save_scores(self, run_id: str, scores: pd.DataFrame) -> None:
        """Replace the monitor's scores of forecast run ``run_id`` (columns of ``forecast_scores``)."""
        rows = scores.astype(object).where(scores.notna(), None).to_dict(orient="records")
        with self._errors("write"), Session(self.engine) as session, session.begin():
            session.execute(delete(ForecastScore).where(ForecastScore.run_id == run_id))
            if rows:
                session.execute(insert(ForecastScore), [{"run_id": run_id, **r} for r in rows])

    def scores(self, run_ids: list[str]) -> pd.DataFrame:
        """The stored scores of these forecast runs."""
        cols = [c for c in ForecastScore.__table__.columns]
        with self._errors("read"), self.engine.connect() as conn:
            rows = conn.execute(select(*cols).where(ForecastScore.run_id.in_(run_ids))).all()
        return pd.DataFrame(rows, columns=[c.key for c in cols])

    def close(self) -> None:
        self.engine.dispose()


def _plan_frame(lines: pd.DataFrame) -> pd.DataFrame:
    """Plan lines as stored: the columns of purchase_plan.csv, weeks as ISO dates, ids as text,
    quantities as floats (a line without them is refused)."""
    frame = lines[LINE_COLUMNS].copy()
    for week in ("order_week", "arrival_week"):
        frame[week] = pd.to_datetime(frame[week]).dt.strftime("%Y-%m-%d")
    for col in ("sku", "supplier"):
        frame[col] = frame[col].astype(str)
    numbers = ["units", "packs", "unit_cost", "order_value"]
    frame[numbers] = frame[numbers].astype(float)
    if frame[numbers].isna().any().any():
        raise StoreError("a plan line without units, packs, unit cost or value cannot be recorded")
    return frame.reset_index(drop=True)


def _parquet(frame: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    return buf.getvalue()


def _connect_args(backend: str) -> dict[str, Any]:
    return (
        {"timeout": 30} if backend == "sqlite" else {"connect_timeout": 10} if backend == "postgresql" else {}
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def display_url(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return "<unparseable URL>"
