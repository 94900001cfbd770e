"""Alembic environment: migrations run on the connection the run store hands over
(``config.attributes["connection"]``); ``alembic`` on the command line is not needed."""

from __future__ import annotations

from alembic import context

from planner.history.schema import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
