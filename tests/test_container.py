"""The container files, checked without building an image (nothing here can build one): a
multi-stage Dockerfile whose install step is the package's own pip install, a non-root user, the CLI
as entry point, and a compose file whose API is local-only and needs a token."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    return [(ln.split(None, 1)[0].upper(), ln.split(None, 1)[1] if " " in ln else "") for ln in lines]


def test_dockerfile_builds_in_two_stages_and_runs_the_cli_as_a_user() -> None:
    steps = instructions()
    assert [a for op, a in steps if op == "FROM"][0].endswith("AS build") and sum(
        op == "FROM" for op, _ in steps
    ) == 2
    install = next(a for op, a in steps if op == "RUN" and "pip install" in a)
    extra = re.search(r'"\.\[(\w+)\]"', install).group(1)
    assert extra in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    ops = [op for op, _ in steps]
    assert ops.index("USER") < ops.index("ENTRYPOINT")
    assert next(a for op, a in steps if op == "USER") != "root"
    assert next(a for op, a in steps if op == "ENTRYPOINT") == '["planner"]'
    for op, arg in steps:
        if op == "COPY" and "--from" not in arg:
            source = [p for p in arg.split() if not p.startswith("--")][0]
            assert (ROOT / source).exists(), source


def test_bundled_scenarios_find_their_data_inside_the_image() -> None:
    """/work/scenarios and /work/planner/sample_data in the image: the same relative layout."""
    for path in (ROOT / "scenarios").glob("*.yaml"):
        data = yaml.safe_load(path.read_text()).get("data")
        if data is not None:
            assert (path.parent / data).resolve().is_relative_to(ROOT / "planner" / "sample_data"), path.name


def test_compose_keeps_the_api_local_and_behind_a_token() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    api = compose["services"]["api"]
    assert all(str(p).startswith("127.0.0.1:") for p in api["ports"])
    assert "?" in api["environment"]["PLANNER_API_TOKEN"]  # compose refuses to start without it
    assert api["environment"]["PLANNER_STORE"].startswith("postgresql+psycopg://")
    assert api["command"][0] == "serve" and "db" in api["depends_on"]
    assert "--run-key" in compose["services"]["weekly"]["command"][0]
