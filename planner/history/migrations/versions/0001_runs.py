"""The run store: runs, their output files and the lines of plans.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("command", sa.String(40), nullable=False),
        sa.Column("scenario_name", sa.String(200), nullable=False),
        sa.Column("scenario_path", sa.Text, nullable=False),
        sa.Column("scenario_sha256", sa.String(64), nullable=False),
        sa.Column("scenario_yaml", sa.Text, nullable=False),
        sa.Column("data_sha256", sa.String(64), nullable=False),
        sa.Column("inputs", sa.JSON, nullable=False),
        sa.Column("forecast_model", sa.String(200)),
        sa.Column("plan_start", sa.Date),
        sa.Column("code_version", sa.String(40), nullable=False),
        sa.Column("versions", sa.JSON, nullable=False),
        sa.Column("policy", sa.String(40)),
        sa.Column("solver_status", sa.String(40)),
        sa.Column("objective", sa.Float),
        sa.Column("bound", sa.Float),
        sa.Column("gap", sa.Float),
        sa.Column("kpis", sa.JSON, nullable=False),
        sa.Column("timings", sa.JSON, nullable=False),
        sa.Column("warnings", sa.JSON, nullable=False),
        sa.Column("out_dir", sa.Text, nullable=False),
    )
    op.create_index("ix_runs_created_at", "runs", ["created_at"])
    op.create_index("ix_runs_command", "runs", ["command"])
    op.create_index("ix_runs_scenario_name", "runs", ["scenario_name"])
    op.create_index("ix_runs_scenario_command_created", "runs", ["scenario_name", "command", "created_at"])
    op.create_table(
        "run_outputs",
        sa.Column("run_id", sa.String(40), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("sha256", sa.String(64)),
        sa.Column("bytes", sa.Integer),
    )
    op.create_table(
        "plan_lines",
        sa.Column("run_id", sa.String(40), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("line", sa.Integer, primary_key=True),
        sa.Column("order_week", sa.Date, nullable=False),
        sa.Column("sku", sa.String(200), nullable=False),
        sa.Column("supplier", sa.String(200), nullable=False),
        sa.Column("units", sa.Float, nullable=False),
        sa.Column("packs", sa.Float, nullable=False),
        sa.Column("arrival_week", sa.Date, nullable=False),
        sa.Column("unit_cost", sa.Float, nullable=False),
        sa.Column("order_value", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("plan_lines")
    op.drop_table("run_outputs")
    op.drop_table("runs")
