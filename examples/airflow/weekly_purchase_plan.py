"""The Monday routine as an Airflow DAG: validate, forecast, plan, export, monitor.

Every Monday at 06:00 (``schedule``), for the week of the run's logical date ``ds``:

1. ``validate`` the scenario and its data (a data problem fails here, before any training);
2. ``forecast``: train the scenario's forecaster and save the model;
3. ``plan`` with that model;
4. ``export`` the purchase plan to ``PLANNER_EXPORT_DIR`` as ``purchase_plan_<ds>.csv`` (copied, then
   renamed: a reader never sees half a file);
5. ``monitor`` every recorded forecast against the sales now known; drift exits 4 and fails the task,
   so Airflow's alerting tells someone (no retries for it: drift is not transient).

**Idempotent.** Every output folder is ``<PLANNER_OUT_ROOT>/<ds>/...`` and is replaced as a whole
by a rerun; every command runs with ``--run-key weekly-<ds>``, so a rerun of the same week replaces
its run records instead of adding new ones. ``catchup`` is off and one run at a time.

**Retries.** Two, ten minutes apart, doubling: a database or file share that is briefly away comes
back; a bad input fails again and stays failed (the planner's exit code 1 with the file, line and fix).

Configuration by environment (or Airflow Variables of the same names): ``PLANNER`` (the ``planner``
command, default ``planner``), ``PLANNER_SCENARIO`` (default ``scenarios/base.yaml``),
``PLANNER_OUT_ROOT`` (default ``out/weekly``), ``PLANNER_EXPORT_DIR`` (default ``out/export``),
``PLANNER_STORE`` (the run store; a PostgreSQL URL for a team). Without Airflow, a cron line does the
same (docs/operations.md).
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow import DAG

try:  # Airflow 3
    from airflow.providers.standard.operators.bash import BashOperator
except ImportError:  # Airflow 2
    from airflow.operators.bash import BashOperator

PLANNER = os.environ.get("PLANNER", "planner")
SCENARIO = os.environ.get("PLANNER_SCENARIO", "scenarios/base.yaml")
OUT = os.environ.get("PLANNER_OUT_ROOT", "out/weekly") + "/{{ ds }}"
EXPORT = os.environ.get("PLANNER_EXPORT_DIR", "out/export")
KEY = "--run-key weekly-{{ ds }}"

with DAG(
    dag_id="weekly_purchase_plan",
    description="Forecast, plan, export and monitor the weekly purchase plan",
    schedule="0 6 * * 1",
    start_date=datetime(2026, 1, 5),
    catchup=False,
    max_active_runs=1,
    default_args={
        "retries": 2,
        "retry_delay": timedelta(minutes=10),
        "retry_exponential_backoff": True,
    },
    tags=["purchase-planner"],
) as dag:
    validate = BashOperator(task_id="validate", bash_command=f"{PLANNER} validate {SCENARIO}")
    forecast = BashOperator(
        task_id="forecast", bash_command=f"{PLANNER} {KEY} forecast {SCENARIO} --out {OUT}/forecast"
    )
    plan = BashOperator(
        task_id="plan",
        bash_command=f"{PLANNER} {KEY} plan {SCENARIO} --out {OUT}/plan --model {OUT}/forecast/model",
    )
    export = BashOperator(
        task_id="export",
        bash_command=(
            f"mkdir -p {EXPORT} && cp {OUT}/plan/purchase_plan.csv {EXPORT}/.purchase_plan_{{{{ ds }}}}.tmp "
            f"&& mv {EXPORT}/.purchase_plan_{{{{ ds }}}}.tmp {EXPORT}/purchase_plan_{{{{ ds }}}}.csv"
        ),
    )
    monitor = BashOperator(
        task_id="monitor", bash_command=f"{PLANNER} monitor {SCENARIO} --out {OUT}/monitor", retries=0
    )
    validate >> forecast >> plan >> export >> monitor
