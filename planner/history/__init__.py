"""Run history: every command's run recorded in a SQL database (SQLite by default, PostgreSQL for teams)."""
