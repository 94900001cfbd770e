"""The run store's tables (SQLAlchemy 2). Alembic migrations (``migrations/``) create and evolve them.

- ``runs``: one row per command run: what ran (command, scenario as resolved YAML and its hash),
  on what (a fingerprint of the input files, each file's hash, the forecast model), with what code
  (package versions), what came out (solver status, objective, bound, gap, headline KPIs, timings)
  and where the outputs went; ``run_key``, a scheduler's idempotency key (a rerun with the same
  key and command replaces the earlier record);
- ``run_outputs``: each output file's path, SHA-256 and size;
- ``plan_files``: the purchase plan of ``plan`` runs (Parquet bytes, the columns of
  purchase_plan.csv), kept so that a later run that overwrites the output folder loses nothing and
  two plans can be compared (``planner runs diff``);
- ``forecast_files``: the weekly quantiles of ``forecast`` runs (Parquet bytes);
- ``forecast_scores``: what ``planner monitor`` measured on a forecast once its weeks were known,
  per dimension (all, horizon, demand class, supplier) and key.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Date, DateTime, Float, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class Run(Base):
    __tablename__ = "runs"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    command: Mapped[str] = mapped_column(String(40), index=True)
    scenario_name: Mapped[str] = mapped_column(String(200), index=True)
    scenario_path: Mapped[str] = mapped_column(Text)
    scenario_sha256: Mapped[str] = mapped_column(String(64))
    scenario_yaml: Mapped[str] = mapped_column(Text)
    data_sha256: Mapped[str] = mapped_column(String(64))
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON)
    forecast_model: Mapped[str | None] = mapped_column(String(200))
    plan_start: Mapped[dt.date | None] = mapped_column(Date)
    code_version: Mapped[str] = mapped_column(String(40))
    versions: Mapped[dict[str, Any]] = mapped_column(JSON)
    policy: Mapped[str | None] = mapped_column(String(40))
    solver_status: Mapped[str | None] = mapped_column(String(40))
    objective: Mapped[float | None] = mapped_column(Float)
    bound: Mapped[float | None] = mapped_column(Float)
    gap: Mapped[float | None] = mapped_column(Float)
    kpis: Mapped[dict[str, Any]] = mapped_column(JSON)
    timings: Mapped[dict[str, Any]] = mapped_column(JSON)
    warnings: Mapped[list[Any]] = mapped_column(JSON)
    out_dir: Mapped[str] = mapped_column(Text)
    run_key: Mapped[str | None] = mapped_column(String(200))

    outputs: Mapped[list[RunOutput]] = relationship(
        back_populates="run", cascade="all, delete-orphan", order_by="RunOutput.name"
    )


class RunOutput(Base):
    __tablename__ = "run_outputs"

    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    path: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str | None] = mapped_column(String(64))
    bytes: Mapped[int | None] = mapped_column(Integer)

    run: Mapped[Run] = relationship(back_populates="outputs")


class PlanFile(Base):
    __tablename__ = "plan_files"

    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    body: Mapped[bytes] = mapped_column(LargeBinary)


class ForecastFile(Base):
    __tablename__ = "forecast_files"

    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    body: Mapped[bytes] = mapped_column(LargeBinary)


class ForecastScore(Base):
    __tablename__ = "forecast_scores"

    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    dimension: Mapped[str] = mapped_column(String(40), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    origin: Mapped[dt.date] = mapped_column(Date)
    scored_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    points: Mapped[int] = mapped_column(Integer)
    actual: Mapped[float] = mapped_column(Float)
    wql: Mapped[float | None] = mapped_column(Float)
    bias: Mapped[float | None] = mapped_column(Float)
    coverage80: Mapped[float | None] = mapped_column(Float)
    coverage90: Mapped[float | None] = mapped_column(Float)


Index("ix_runs_scenario_command_created", Run.scenario_name, Run.command, Run.created_at)
Index("ix_runs_command_run_key", Run.command, Run.run_key, unique=True)
