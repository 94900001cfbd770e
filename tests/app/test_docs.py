"""The front door keeps its promises: the commands the README shows exist, every command's help has an
example, and the README stays short."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from planner.app.cli import main

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text(encoding="utf-8")
COMMANDS = sorted(main.commands)


def test_the_readme_shows_both_commands_first_and_stays_short() -> None:
    first_block = README.split("```")[1]
    assert "make run" in first_block and "make test" in first_block
    assert len(README.splitlines()) <= 250


def test_every_command_the_readme_runs_exists() -> None:
    parts = README.split("```")
    code = " ".join(parts[1::2] + re.findall(r"`([^`\n]+)`", " ".join(parts[0::2])))
    used = set(re.findall(r"(?:\$P|\bplanner) ([a-z][a-z0-9-]+)", code))
    assert used, "the README shows no command"
    assert used <= set(COMMANDS), sorted(used - set(COMMANDS))


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_has_an_example_in_its_help(name: str) -> None:
    command = main.commands[name]
    with click.Context(command, info_name=name) as ctx:
        text = command.get_help(ctx)
    assert "Example:" in text and f"planner {name}" in text, text


def test_every_docs_page_the_readme_links_exists() -> None:
    links = re.findall(r"\]\((docs/[a-z-]+\.md)\)", README)
    assert links and all((REPO / link).exists() for link in links if link != "docs/benchmarks.md")
