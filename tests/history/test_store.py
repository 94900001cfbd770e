"""The run store against real databases: SQLite always, PostgreSQL when ``PLANNER_TEST_POSTGRES`` names
one (``.ci/run`` starts a server on localhost and sets it)."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, text

from planner.history.diff import diff_plans
from planner.history.schema import Base
from planner.history.store import MIGRATIONS, RunRecord, RunStore, StoreError, store_url

PG = os.environ.get("PLANNER_TEST_POSTGRES")


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RunStore]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'deep' / 'runs.db'}"
    else:
        if not PG:
            pytest.skip("PLANNER_TEST_POSTGRES not set (.ci/run starts a PostgreSQL server and sets it)")
        schema_db = f"t_{uuid.uuid4().hex[:10]}"
        admin = create_engine(PG, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {schema_db}"))
        url = PG.rsplit("/", 1)[0] + f"/{schema_db}"
    st = RunStore(url)
    yield st
    st.close()
    if request.param == "postgresql":
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE {schema_db} WITH (FORCE)"))
        admin.dispose()


def lines(*rows: tuple[str, str, str, float, float]) -> pd.DataFrame:
    """Plan lines (sku, supplier, order week, units, unit cost)."""
    frame = pd.DataFrame(rows, columns=["sku", "supplier", "order_week", "units", "unit_cost"])
    return frame.assign(
        packs=frame["units"],
        arrival_week=(pd.to_datetime(frame["order_week"]) + pd.Timedelta(weeks=4)).dt.date.astype(str),
        order_value=frame["units"] * frame["unit_cost"],
    )


def record(
    when: int = 0, *, inventory: str = "i1", service: float = 0.95, plan: pd.DataFrame | None = None, **kw
) -> RunRecord:
    created = dt.datetime(2026, 12, 7, 6, 0, tzinfo=dt.UTC) + dt.timedelta(minutes=when)
    return RunRecord(
        command=kw.pop("command", "plan"),
        scenario_name=kw.pop("scenario_name", "base"),
        scenario_path="/s/base.yaml",
        scenario_sha256="a" * 64,
        scenario_yaml=f"name: base\nservice_level: {service}\nforecast:\n  model: baseline\n",
        data_sha256="b" * 64,
        inputs={"demand": {"path": "/d/demand.csv", "sha256": "d1"}, "inventory": {"sha256": inventory}},
        code_version="0.1.0",
        versions={"python": "3.11"},
        out_dir="/out/base",
        outputs=[
            {
                "name": "purchase_plan.csv",
                "path": "/out/base/purchase_plan.csv",
                "sha256": "c" * 64,
                "bytes": 10,
            }
        ],
        created_at=created,
        policy="optimizer",
        solver_status="optimal",
        objective=100.0,
        bound=99.0,
        gap=0.01,
        kpis={"fill_rate": 0.95, "lost": None},
        lines=plan,
        **kw,
    )


def test_a_run_reads_back_as_recorded(store: RunStore) -> None:
    plan = lines(("A", "S1", "2026-12-07", 10, 2.0), ("B", "S2", "2026-12-14", 5, 4.0))
    run_id = store.record(record(plan=plan))
    got = store.run(run_id)
    assert got["command"] == "plan" and got["scenario_name"] == "base" and got["gap"] == 0.01
    assert got["kpis"] == {"fill_rate": 0.95, "lost": None}
    assert got["inputs"]["inventory"]["sha256"] == "i1"
    assert got["plan_start"] is None and got["outputs"][0]["name"] == "purchase_plan.csv"
    back = store.plan_lines(run_id)
    assert back["sku"].tolist() == ["A", "B"] and back["order_value"].tolist() == [20.0, 20.0]
    assert [str(d) for d in back["order_week"]] == ["2026-12-07", "2026-12-14"]


def test_runs_are_listed_newest_first_and_filtered(store: RunStore) -> None:
    first = store.record(record(0))
    second = store.record(record(5))
    other = store.record(record(9, scenario_name="tight", command="forecast"))
    assert store.runs()["id"].tolist() == [other, second, first]
    assert store.runs(scenario="base")["id"].tolist() == [second, first]
    assert store.runs(command="forecast")["id"].tolist() == [other]
    assert store.runs(limit=1)["id"].tolist() == [other]
    assert store.latest("base") == second and store.latest("nothing") is None


def test_a_failed_record_leaves_nothing(store: RunStore) -> None:
    bad = lines(("A", "S1", "2026-12-07", 10, 2.0)).assign(units=None)  # units NOT NULL
    with pytest.raises(StoreError, match="cannot be recorded"):
        store.record(record(plan=bad))
    assert store.runs().empty
    with pytest.raises(StoreError, match="cannot write the run store"):
        store.record(record(scenario_name=None))  # NOT NULL in the database
    assert store.runs().empty


def test_a_rerun_with_the_same_key_replaces_the_record(store: RunStore) -> None:
    plan = lines(("A", "S1", "2026-12-07", 10, 2.0))
    first = store.record(record(0, plan=plan, run_key="weekly-2026-12-07"))
    other = store.record(record(1, plan=plan, run_key="weekly-2026-12-14"))
    forecast = store.record(record(2, command="forecast", run_key="weekly-2026-12-07"))  # another command
    again = store.record(
        record(3, plan=lines(("A", "S1", "2026-12-07", 11, 2.0)), run_key="weekly-2026-12-07")
    )
    assert store.runs()["id"].tolist() == [again, forecast, other]
    assert store.plan_lines(again)["units"].tolist() == [11.0]
    with pytest.raises(StoreError, match=f"no run '{first}'"):
        store.plan_lines(first)


def test_an_old_store_is_upgraded_in_place(tmp_path: Path) -> None:
    """A store at the first migration (no run keys, plans as rows) is upgraded when a newer planner
    opens it: its plans move to files, line for line."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
        conn.execute(
            text(
                "INSERT INTO runs (id, created_at, command, scenario_name, scenario_path, "
                "scenario_sha256, scenario_yaml, data_sha256, inputs, code_version, versions, kpis, "
                "timings, warnings, out_dir) "
                "VALUES ('20261130-060000-abcdef', '2026-11-30 06:00:00', 'plan', 'base', '-', '-', '', '-', "
                "'{}', '0.1.0', '{}', '{}', '{}', '[]', '-')"
            )
        )
        for line, (sku, units) in enumerate((("B", 5.0), ("A", 12.0))):
            conn.execute(
                text(
                    "INSERT INTO plan_lines (run_id, line, order_week, sku, supplier, units, packs, "
                    "arrival_week, unit_cost, order_value) VALUES ('20261130-060000-abcdef', :line, "
                    "'2026-11-30', :sku, 'S1', :units, :units, '2026-12-28', 2.0, :value)"
                ),
                {"line": line, "sku": sku, "units": units, "value": 2 * units},
            )
    engine.dispose()
    store = RunStore(url)
    assert store.runs()["id"].tolist() == ["20261130-060000-abcdef"]
    assert store.run("20261130-060000-abcdef")["run_key"] is None
    moved = store.plan_lines("20261130-060000-abcdef")
    assert moved["sku"].tolist() == ["B", "A"] and moved["units"].tolist() == [5.0, 12.0]
    assert moved["order_week"].tolist() == ["2026-11-30", "2026-11-30"]
    store.record(record(0, run_key="k"))
    store.close()


def test_an_unknown_run_is_named_with_the_fix(store: RunStore) -> None:
    with pytest.raises(StoreError, match=r"no run 'nope'.*planner runs list"):
        store.run("nope")
    run_id = store.record(record(command="forecast"))
    with pytest.raises(StoreError, match="only plan runs have plan lines"):
        store.plan_lines(run_id)


def test_the_migrations_build_the_schema_the_code_uses(store: RunStore) -> None:
    with store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    again = RunStore(store.engine.url.render_as_string(hide_password=False))  # at head: nothing to do
    again.close()


def test_bad_urls_and_off() -> None:
    with pytest.raises(StoreError, match="not a database URL"):
        RunStore("nonsense://x")
    assert store_url("off") is None and store_url("OFF ") is None
    assert store_url("sqlite:///x.db") == "sqlite:///x.db"


def test_default_store_lives_in_the_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("PLANNER_STORE", raising=False)
    monkeypatch.setenv("PLANNER_DATA_DIR", str(tmp_path))
    assert store_url() == f"sqlite:///{tmp_path / 'runs.db'}"
    monkeypatch.setenv("PLANNER_STORE", "off")
    assert store_url() is None


def test_diff_names_lines_spend_and_drivers(store: RunStore) -> None:
    old = lines(
        ("A", "S1", "2026-12-07", 10, 2.0),
        ("B", "S2", "2026-12-07", 5, 4.0),
        ("C", "S1", "2026-12-14", 1, 1.0),
    )
    new = lines(
        ("A", "S1", "2026-12-07", 12, 2.0),
        ("B", "S2", "2026-12-07", 5, 4.0),
        ("D", "S2", "2026-12-21", 3, 10.0),
    )
    a = store.record(record(0, plan=old))
    b = store.record(record(1, plan=new, inventory="i2", service=0.98))
    diff = diff_plans(store.run(a), store.run(b), store.plan_lines(a), store.plan_lines(b))
    assert diff.counts() == {"added": 1, "removed": 1, "changed": 1}
    changed = diff.lines.set_index("sku")
    assert changed.loc["A", "units_before"] == 10 and changed.loc["A", "units_after"] == 12
    assert changed.loc["C", "change"] == "removed" and changed.loc["D", "change"] == "added"
    spend = diff.by_supplier.set_index("supplier")
    assert spend.loc["S1", "before"] == 21 and spend.loc["S1", "after"] == 24  # 20 + 1 -> 24
    assert spend.loc["S2", "change"] == 30
    assert diff.by_week["change"].sum() == pytest.approx(33.0)
    assert diff.drivers == ["stock on hand changed", "scenario settings changed: service_level"]
    same = diff_plans(store.run(a), store.run(a), old, old)
    assert same.lines.empty and "no input" in same.drivers[0]
