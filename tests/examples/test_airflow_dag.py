"""The Airflow DAG of the Monday routine, tested as Airflow users test DAGs (needs the ``airflow`` extra;
skipped without Airflow)."""

from __future__ import annotations

from pathlib import Path

import pytest

airflow = pytest.importorskip("airflow", reason="Airflow not installed (pip install -e '.[airflow]')")

FOLDER = Path(__file__).resolve().parents[2] / "examples" / "airflow"


def test_the_dag_imports_with_the_tasks_in_order() -> None:
    from airflow.models import DagBag

    try:
        bag = DagBag(dag_folder=str(FOLDER), include_examples=False)  # Airflow 2
    except TypeError:
        bag = DagBag(dag_folder=str(FOLDER))  # Airflow 3: no bundled examples here
    assert bag.import_errors == {}
    dag = bag.dags.get("weekly_purchase_plan")  # parsed, no metadata database needed
    assert dag is not None
    order = ["validate", "forecast", "plan", "export", "monitor"]
    assert sorted(dag.task_ids) == sorted(order)
    for before, after in zip(order, order[1:], strict=False):
        assert dag.get_task(before).downstream_task_ids == {after}
    assert dag.catchup is False and dag.max_active_runs == 1
    for task_id in ("forecast", "plan"):
        assert "--run-key weekly-{{ ds }}" in dag.get_task(task_id).bash_command  # reruns replace records
    assert dag.get_task("plan").retries == 2 and dag.get_task("monitor").retries == 0
