"""Run keys: a scheduler's idempotency key, so a rerun of the same week replaces its record.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("run_key", sa.String(200)))
        batch.create_index("ix_runs_command_run_key", ["command", "run_key"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_index("ix_runs_command_run_key")
        batch.drop_column("run_key")
