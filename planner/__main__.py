"""``python -m planner``."""

from planner.app.cli import main

main()
