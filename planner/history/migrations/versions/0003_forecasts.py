"""Forecasts and their scores: each forecast run's weekly quantiles (Parquet) and what the monitor
measured on them once the weeks were known.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "forecast_files",
        sa.Column("run_id", sa.String(40), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("body", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "forecast_scores",
        sa.Column("run_id", sa.String(40), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("dimension", sa.String(40), primary_key=True),
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("origin", sa.Date, nullable=False),
        sa.Column("scored_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("points", sa.Integer, nullable=False),
        sa.Column("actual", sa.Float, nullable=False),
        sa.Column("wql", sa.Float),
        sa.Column("bias", sa.Float),
        sa.Column("coverage80", sa.Float),
        sa.Column("coverage90", sa.Float),
    )


def downgrade() -> None:
    op.drop_table("forecast_scores")
    op.drop_table("forecast_files")
