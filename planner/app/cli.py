"""Command line: a thin layer over the library. Only this module prints.

Exit codes: 0 success; 1 a problem with the inputs or the outputs' folder (data, scenario, model
folder, infeasibility, memory; a message naming the file, line or key, no traceback); 2 a usage
error (unknown option, missing argument, unusable --out); 3 an internal error (a bug: a one-line
message, the traceback only with PLANNER_DEBUG=1); 4 ``monitor`` flagged forecast drift; 130
interrupted (Ctrl-C); 143 stopped by SIGTERM. Whatever the exit, an output folder holds the
previous run's files or this run's, never a mix (:mod:`planner.base.io`).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click
import pandas as pd
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from planner.base.errors import PlannerError, Problem
from planner.inputs.location import PathOrURL, is_url, parse_location

if TYPE_CHECKING:
    from planner.run.compute import Compute

log = logging.getLogger(__name__)
err = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)
out = Console(highlight=False, soft_wrap=True, emoji=False, markup=False)


class LocalFile(click.ParamType):
    """An existing, readable local file; the message says why not (missing, a folder, a looping link,
    no permission)."""

    name = "file"

    def __init__(self, what: str):
        self.what = what

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from planner.base.textio import local_problem

        problem = local_problem(Path(value), str(value), self.what)
        if problem is not None:
            self.fail(f"{value}: {problem.message}", param, ctx)
        return Path(value)


SCENARIO = click.argument("scenario", type=LocalFile("scenario file"))


def _writable(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    from planner.base.io import output_problem

    problem = None if value is None else output_problem(value)
    if problem is not None:
        raise click.BadParameter(problem.removeprefix(f"--out {value}").lstrip(": ") or problem)
    return value


OUT = click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    callback=_writable,
    help="Folder for the outputs (created if missing; the files of a run are published together).",
)


class LocalOrURL(click.ParamType):
    """An existing local file or folder (like ``click.Path(exists=True)``), or a URL read through
    fsspec (checked when it is read)."""

    name = "path_or_url"

    def __init__(self, folder: bool):
        self.folder = folder
        self.local = click.Path(exists=True, file_okay=not folder, dir_okay=folder, path_type=Path)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and is_url(value):
            try:
                return parse_location(value)
            except ValueError as exc:
                self.fail(str(exc), param, ctx)
        if not self.folder:
            return LocalFile("file").convert(value, param, ctx)
        return self.local.convert(value, param, ctx)


MODEL = click.option(
    "--model",
    "model_dir",
    type=LocalOrURL(folder=True),
    default=None,
    help="Use the forecast model saved by 'planner forecast' (its model/ folder, a path or a URL) "
    "instead of training one.",
)

POLICY = click.option(
    "--policy",
    type=click.Choice(["optimizer", "classical"]),
    default=None,
    help="Planning policy (default: the scenario's 'policy').",
)

SCHEDULER = click.option(
    "--scheduler",
    default=None,
    metavar="ADDRESS",
    help="Run on this Dask scheduler (e.g. tcp://host:8786; default: the scenario's compute.scheduler). "
    "compare's workers read each scenario's data (and model) themselves: they must reach them at the "
    "same path or URL.",
)
WORKERS = click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Run on a local Dask cluster of N worker processes (default: the scenario's compute.workers).",
)


def cluster_options(command: Callable) -> Callable:
    """``--scheduler`` and ``--workers`` (passed as ``scheduler`` and ``workers``)."""
    return SCHEDULER(WORKERS(command))


@contextmanager
def _compute(scheduler: str | None, workers: int | None, *scenarios: Path) -> Iterator:
    """Where the work runs: --scheduler / --workers, else the scenarios' ``compute:``, else in this
    process. Prints the dashboard's address on a cluster."""
    from planner.run.compute import ComputeSpec, open_compute, scenario_compute

    spec = ComputeSpec(scheduler, workers) if scheduler or workers else scenario_compute(scenarios)
    with open_compute(spec) as compute:
        if compute.dashboard:
            err.print(f"Dask dashboard: {compute.dashboard}")
        yield compute


class Terminated(BaseException):
    """SIGTERM arrived: unwinds like Ctrl-C, so staged outputs are removed on the way out."""


def _terminate(signum: int, frame: object) -> None:
    raise Terminated


def _fail(code: int, message: str) -> NoReturn:
    err.print(f"[bold red]error:[/] {escape(message)}")
    sys.exit(code)


@contextmanager
def _user_errors() -> Iterator[None]:
    """Every failure as a message and an exit code (see the module docstring)."""
    try:
        yield
    except PlannerError as exc:
        _fail(1, str(exc))
    except MemoryError:
        _fail(
            1,
            "out of memory; nothing was written. Fix: lower forecast.n_paths or horizon_weeks, "
            "or plan fewer SKUs at once",
        )
    except OSError as exc:
        where = f" {exc.filename}" if exc.filename else ""
        _fail(1, f"cannot read or write{where}: {exc.strerror or exc}; nothing was written")
    except KeyboardInterrupt:
        _fail(130, "interrupted; nothing was written")
    except Terminated:
        _fail(143, "stopped by SIGTERM; nothing was written")
    except Exception as exc:
        if os.environ.get("PLANNER_DEBUG"):
            raise
        log.debug("internal error", exc_info=True)
        _fail(
            3,
            f"internal error ({type(exc).__name__}: {exc}); nothing was written. This is a bug: "
            "please report it with the command; PLANNER_DEBUG=1 shows the traceback",
        )


def _warn(warnings: Sequence[Problem]) -> None:
    for w in warnings:
        err.print(f"[yellow]warning:[/] {escape(str(w))}")


@contextmanager
def _progress(compute: Compute | None = None) -> Iterator[Callable[[str], None]]:
    """A step reporter on a status line; with a cluster's ``compute``, the line also counts the
    finished tasks of the step running there."""
    with err.status("starting", spinner="dots") as status:
        current = ["starting"]

        def step(msg: str) -> None:
            current[0] = msg
            status.update(msg)

        if compute is not None:
            compute.progress = lambda done, total: status.update(
                f"{current[0]} ({done}/{total} tasks done on the cluster)"
            )
        yield step


def _root(name: str) -> str | None:
    """An option of the ``planner`` group (``store``, ``run_key``); None when not given."""
    ctx = click.get_current_context(silent=True)
    root = ctx.find_root() if ctx is not None else None
    return (root.params.get(name) if root is not None else None) or None


def _store() -> str | None:
    """The ``--store`` option (None: the environment or the default)."""
    return _root("store")


def _record(
    command: str,
    out_dir: Path,
    written: Sequence[Path],
    manifest_file: str,
    key: tuple[str | int, ...] = (),
    **fields: Any,
) -> tuple[str, str] | None:
    """Record the run in the run store from its published manifest (``key``: where the manifest sits
    in that JSON file); ``(run id, store)``, or None when recording is off."""
    import json

    from planner.app.history import build_record, record

    manifest = json.loads((Path(out_dir) / manifest_file).read_text(encoding="utf-8"))
    for k in key:
        manifest = manifest[k]
    rec = build_record(command, manifest, Path(out_dir), written, run_key=_root("run_key"), **fields)
    return record(_store(), rec)


def _wrote(written: Sequence[Path], recorded: tuple[str, str] | None = None) -> None:
    for path in written:
        out.print(f"wrote {path}")
    if recorded is not None:
        out.print(f"recorded run {recorded[0]} in {recorded[1]}")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
@click.option(
    "--store",
    metavar="URL",
    help="Run history: a database URL (sqlite:///PATH, postgresql+psycopg://...), or 'off'. "
    "Default: $PLANNER_STORE, else runs.db in $PLANNER_DATA_DIR or the user data folder.",
)
@click.option(
    "--run-key",
    metavar="KEY",
    help="Idempotency key for the run history: a later run of the same command with the same key "
    "replaces this one's record (e.g. weekly-2026-12-07 from a scheduler).",
)
@click.version_option(package_name="purchase-planner")
def main(verbose: int, store: str | None, run_key: str | None) -> None:
    """Purchase planner: forecast demand, plan orders, compare what-ifs.

    \b
    Example:
      planner plan scenarios/base.yaml --out out/base
    """
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminate)


@main.command()
@SCENARIO
def validate(scenario: Path) -> None:
    """Check a scenario and its data; list every problem found.

    \b
    Example:
      planner validate scenarios/base.yaml
    """
    from planner.run.prepare import prepare

    with _user_errors(), _progress() as step:
        prep = prepare(scenario, step)
    ds = prep.dataset
    _warn(prep.warnings)
    out.print(
        f"ok: scenario '{prep.scenario.name}', {len(ds.items)} SKUs, {len(ds.suppliers)} suppliers, "
        f"{ds.history['week'].nunique()} weeks of history to {ds.last_week.date()}, "
        f"{len(ds.open_orders)} open orders; plan starts {prep.plan_start.date()} "
        f"for {prep.scenario.horizon_weeks} weeks"
    )


@main.command()
@SCENARIO
@OUT
@POLICY
@MODEL
@cluster_options
def plan(
    scenario: Path,
    out_dir: Path,
    policy: str | None,
    model_dir: PathOrURL | None,
    scheduler: str | None,
    workers: int | None,
) -> None:
    """Plan weekly purchases and write purchase_plan.csv, projection.csv, summary.json, manifest.json.

    \b
    Example:
      planner plan scenarios/base.yaml --out out/base
      planner plan scenarios/supplier_delay.yaml --out out/delay --policy classical
    """
    from planner.app.history import plan_kpis
    from planner.app.outputs import write_plan
    from planner.run.planning import run_plan

    with _user_errors(), _compute(scheduler, workers, scenario) as compute, _progress(compute) as step:
        run = run_plan(scenario, policy, step, model_dir=model_dir)
        step("writing outputs")
        written = write_plan(run, out_dir)
        recorded = _record(
            "plan", out_dir, written, "manifest.json", kpis=plan_kpis(run.summary), lines=run.lines
        )
    _warn(run.warnings)
    s = run.summary
    c = s["costs_expected"]
    out.print(
        f"{s['policy']} plan ({s['status']}) for {s['horizon']['start']}..{s['horizon']['end']}: "
        f"{s['counts']['order_lines']} order lines, {s['counts']['purchase_orders']} purchase orders"
    )
    if s["objective"] is not None:
        out.print(
            f"model objective {s['objective']:,.0f}, lower bound {s['bound']:,.0f}: gap {s['gap']:.2%} "
            "on the costs above the purchase floor"
        )
        if s["time_limit_cut"]:
            err.print(
                f"[yellow]note:[/] the time limit cut short: {escape(', '.join(s['time_limit_cut']))}; "
                "a rerun may give a different plan (raise solver.time_limit_s for a reproducible one)"
            )
    out.print(
        f"expected costs: purchase {c['purchase']:,.0f}, ordering {c['ordering']:,.0f}, "
        f"holding {c['holding']:,.0f}, shortage {c['shortage']:,.0f}, total {c['total']:,.0f}"
    )
    sv = s["service"]
    out.print(
        f"expected fill rate {sv['expected_fill_rate']:.1%}, "
        f"cycle service {sv['expected_cycle_service']:.1%}; "
        f"{sv['skus_below_target_count']} SKUs below their service target in some week a new order can "
        f"reach, {sv['skus_below_target_unavoidable_count']} below it before one can"
    )
    st = s["storage"]
    if st["overflow_probability_max"] is not None:
        out.print(
            f"storage: simulated overflow probability at most {st['overflow_probability_max']:.1%} in a week "
            f"({len(st['weeks_overflow_above_quantile'])} weeks above the storage quantile "
            f"{st['basis_quantile']:g}); expected stock above capacity in "
            f"{len(st['weeks_expected_over'])} weeks"
        )
    _wrote(written, recorded)


@main.command()
@SCENARIO
@OUT
@cluster_options
def forecast(scenario: Path, out_dir: Path, scheduler: str | None, workers: int | None) -> None:
    """Fit the scenario's forecast model on history before plan_start; write its forecast.

    Writes forecasts.csv (sku, week, horizon, mean, q...: the 'model: file' format),
    cumulative.csv (quantiles of demand summed from the first week), paths.parquet
    (sample paths), model/ (the trained model; reuse it with forecast.load) and
    forecast_manifest.json. Scenario what-ifs (demand_scale) are not applied.

    \b
    Example:
      planner forecast scenarios/base.yaml --out out/forecast
    """
    from planner.app.outputs import write_forecast
    from planner.run.forecasting import run_forecast

    with _user_errors(), _compute(scheduler, workers, scenario) as compute, _progress(compute) as step:
        run = run_forecast(scenario, step)
        step("writing outputs")
        written = write_forecast(run, out_dir)
        recorded = _record(
            "forecast",
            out_dir,
            written,
            "forecast_manifest.json",
            forecast=run.forecast.weekly_frame(),
            kpis={
                "skus": len(run.forecast.skus),
                "weeks": run.forecast.horizon,
                "mean_units": float(run.forecast.mean.sum()),
            },
        )
    _warn(run.prepared.warnings)
    fc = run.forecast
    out.print(
        f"{run.model.name} forecast for {len(fc.skus)} SKUs, {fc.weeks[0].date()}..{fc.weeks[-1].date()}: "
        f"mean {fc.mean.sum():,.0f} units in total; fit {run.prepared.timings.get('fit', 0):.1f} s"
    )
    _wrote(written, recorded)


@main.command("backtest-forecast")
@SCENARIO
@OUT
@click.option("--origins", "n_origins", type=click.IntRange(min=1), default=4, show_default=True)
@click.option("--horizon", type=click.IntRange(min=1), default=13, show_default=True, help="Weeks ahead.")
@click.option(
    "--models",
    default="seasonal_naive,baseline,croston,lightgbm,lstm,ensemble",
    show_default=True,
    help="Comma-separated forecast models to compare.",
)
@cluster_options
def backtest_forecast(
    scenario: Path,
    out_dir: Path,
    n_origins: int,
    horizon: int,
    models: str,
    scheduler: str | None,
    workers: int | None,
) -> None:
    """Rolling-origin backtest of forecast models on the scenario's history.

    Every model is refitted at every origin on the weeks before it. Scored twice: the weekly
    quantiles, and demand over each SKU's lead time + 1 week against the cumulative quantiles
    (beside the empirical quantiles of rolling lead-time sums). Writes backtest_metrics.csv (per
    model, target and demand class: WQL, scaled pinball, pinball per level, coverage 50/80/90
    with ties split, MASE, MAE, RMSE, MSE), backtest_timings.csv and backtest_points.parquet.

    \b
    Example:
      planner backtest-forecast scenarios/base.yaml --out out/backtest --origins 4 --horizon 13
    """
    from forecast.segments import DEMAND_CLASSES
    from planner.app.outputs import write_forecast_backtest
    from planner.evaluation.forecasts import backtest_forecasts

    names = [m.strip() for m in models.split(",") if m.strip()]
    with _user_errors(), _compute(scheduler, workers, scenario) as compute, _progress(compute) as step:
        prep, result = backtest_forecasts(scenario, names, n_origins, horizon, step)
        step("writing outputs")
        written = write_forecast_backtest(prep, result, out_dir)
        recorded = _record(
            "backtest-forecast",
            out_dir,
            written,
            "backtest_manifest.json",
            kpis={"weekly": result.table("all", "weekly").to_dict(orient="records")},
        )
    present = result.metrics["class"].unique()
    for target, what in (
        ("weekly", f"weekly, {horizon} weeks"),
        ("lead_time", "demand over lead time + 1 week"),
    ):
        for klass in ("all", *(c for c in DEMAND_CLASSES if c in present)):
            table = result.table(klass, target)
            if table.empty:
                continue
            if klass != "all" or target != "weekly":
                table = table.drop(columns=[c for c in table.columns if c.startswith(("fit", "predict"))])
            out.print(f"\n{klass} SKUs, {what} ({n_origins} origins):")
            out.print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    _wrote(written, recorded)


@main.command()
@SCENARIO
@OUT
@MODEL
@cluster_options
def kpis(
    scenario: Path, out_dir: Path, model_dir: PathOrURL | None, scheduler: str | None, workers: int | None
) -> None:
    """Write kpis.csv: EOQ, safety stock, reorder point, turnover and holding cost per SKU.

    \b
    Example:
      planner kpis scenarios/base.yaml --out out/base
    """
    from planner.app.outputs import write_kpis
    from planner.run.planning import run_kpis

    with _user_errors(), _compute(scheduler, workers, scenario) as compute, _progress(compute) as step:
        prep, table = run_kpis(scenario, step, model_dir=model_dir)
        written = write_kpis(prep, table, out_dir)
        recorded = _record("kpis", out_dir, written, "kpis_manifest.json", kpis={"skus": len(table)})
    _warn(prep.warnings)
    out.print(
        f"{len(table)} SKUs: median EOQ {table['eoq'].median():.1f} units, median turnover "
        f"{table['inventory_turnover'].median():.1f}/year, annual holding cost "
        f"{table['annual_holding_cost'].sum():,.0f}"
    )
    _wrote(written, recorded)


SIMULATION_ROWS = (
    ("total_cost", "total cost", "{:,.0f}"),
    ("fill_rate", "fill rate", "{:.1%}"),
    ("cycle_service", "cycle service", "{:.1%}"),
    ("stockout_weeks", "stockout SKU-weeks", "{:,.1f}"),
    ("avg_inventory_value", "avg inventory value", "{:,.0f}"),
    ("inventory_turnover", "turnover (per year)", "{:.2f}"),
    ("overflow_weeks", "storage overflow weeks", "{:.1f}"),
)


@main.command()
@SCENARIO
@OUT
@POLICY
@MODEL
@click.option(
    "--actuals",
    type=LocalOrURL(folder=False),
    default=None,
    help="CSV of actual weekly demand (sku, week, demand) to replay instead of the forecast's paths.",
)
@cluster_options
def simulate(
    scenario: Path,
    out_dir: Path,
    policy: str | None,
    model_dir: PathOrURL | None,
    actuals: PathOrURL | None,
    scheduler: str | None,
    workers: int | None,
) -> None:
    """Plan, then replay the plan week by week against demand; write cost and service KPIs.

    Demand is the forecast's sample paths (the first simulation.n_paths) or, with
    --actuals, one actual path. Unmet demand is lost or backordered
    (simulation.unmet_demand). Writes simulation_summary.csv (mean, p10, p50, p90 per
    KPI), simulation_paths.csv, simulation_weekly.csv, simulation_sku.csv and
    simulation.json.

    \b
    Example:
      planner simulate scenarios/base.yaml --out out/base/sim --model out/base/forecast/model
      planner simulate scenarios/base.yaml --out out/sim --policy classical --actuals actuals.csv
    """
    from planner.app.outputs import write_simulation
    from planner.evaluation.simulate import run_simulation

    with _user_errors(), _compute(scheduler, workers, scenario) as compute, _progress(compute) as step:
        run = run_simulation(scenario, policy, step, model_dir=model_dir, actuals=actuals)
        step("writing outputs")
        written = write_simulation(run, out_dir)
        recorded = _record(
            "simulate", out_dir, written, "simulation.json", ("manifest",), kpis=run.result.summary_dict()
        )
    _warn(run.plan.warnings)
    res = run.result
    source = f"actual demand in {actuals.name}" if actuals is not None else f"{res.n_paths} forecast paths"
    table = Table(title=f"{run.plan.result.policy} plan against {source} ({res.unmet_demand})")
    for col in ("KPI", "mean", "p10", "p90"):
        table.add_column(col, justify="left" if col == "KPI" else "right")
    stats = res.summary.set_index("kpi")
    for kpi, label, fmt in SIMULATION_ROWS:
        row = stats.loc[kpi]
        table.add_row(
            label, *("n/a" if pd.isna(row[c]) else fmt.format(row[c]) for c in ("mean", "p10", "p90"))
        )
    out.print(table)
    _wrote(written, recorded)


def _fmt(value: float, fmt: str) -> str:
    return "n/a" if pd.isna(value) else fmt.format(value)


@main.command()
@click.argument("scenarios", nargs=-1, required=True, type=LocalFile("scenario file"))
@OUT
@POLICY
@MODEL
@cluster_options
def compare(
    scenarios: tuple[Path, ...],
    out_dir: Path,
    policy: str | None,
    model_dir: PathOrURL | None,
    scheduler: str | None,
    workers: int | None,
) -> None:
    """Plan and simulate several scenarios; write their costs and service side by side.

    Each scenario is planned and simulated as 'planner simulate' does. Writes costs.csv
    (expected and p90 cost per category), service.csv (mean, p10, p50, p90 per KPI),
    weekly.csv (spend, inventory value, storage), spend_by_supplier.csv and compare.json.
    Scenario names must be unique.

    \b
    Example:
      planner compare scenarios/base.yaml scenarios/tight_storage.yaml --out out/compare \\
        --model out/base/forecast/model
    """
    from planner.app.outputs import write_comparison
    from planner.evaluation.compare import compare_scenarios

    with _user_errors(), _compute(scheduler, workers, *scenarios) as compute, _progress(compute) as step:
        comparison = compare_scenarios(scenarios, policy, step, model_dir=model_dir, compute=compute)
        step("writing outputs")
        written = write_comparison(comparison, out_dir)
        info = comparison.to_dict()["scenarios"]
        recorded = _record(
            "compare",
            out_dir,
            written,
            "compare.json",
            ("scenarios", 0, "manifest"),
            kpis={i["name"]: {"costs": i["costs"], "service": i["service"]} for i in info},
            scenario_name=" vs ".join(i["name"] for i in info),
        )
    costs = comparison.costs().set_index(["scenario", "category"])
    service = comparison.service().set_index(["scenario", "kpi"])
    table = Table(title=f"{len(scenarios)} scenarios: simulated cost and service")
    for col in (
        "scenario",
        "expected total cost",
        "p90 total cost",
        "fill rate",
        "cycle service",
        "avg inventory value",
    ):
        table.add_column(col, justify="left" if col == "scenario" else "right")
    for name in comparison.names:
        table.add_row(
            name,
            _fmt(costs.loc[(name, "total"), "expected"], "{:,.0f}"),
            _fmt(costs.loc[(name, "total"), "p90"], "{:,.0f}"),
            _fmt(service.loc[(name, "fill_rate"), "mean"], "{:.1%}"),
            _fmt(service.loc[(name, "cycle_service"), "mean"], "{:.1%}"),
            _fmt(service.loc[(name, "avg_inventory_value"), "mean"], "{:,.0f}"),
        )
    out.print(table)
    _wrote(written, recorded)


def _levels(ctx: click.Context, param: click.Parameter, value: str) -> tuple[float, ...]:
    from planner.evaluation.compare import parse_levels

    try:
        return parse_levels(value)
    except PlannerError as exc:
        raise click.BadParameter(str(exc).removeprefix("--levels: ")) from None


@main.command()
@SCENARIO
@click.option(
    "--levels",
    default="0.8,0.9,0.95,0.98,0.99",
    show_default=True,
    callback=_levels,
    help="Comma-separated service levels, increasing, each strictly between 0 and 1.",
)
@OUT
@POLICY
@MODEL
@cluster_options
def frontier(
    scenario: Path,
    levels: tuple[float, ...],
    out_dir: Path,
    policy: str | None,
    model_dir: PathOrURL | None,
    scheduler: str | None,
    workers: int | None,
) -> None:
    """Plan and simulate one scenario at several service levels: the cost of service.

    Each level replaces the scenario's service_level and every per-SKU target (items.csv
    column and scenario item overrides). The forecast is made once and planned at every
    level. Writes frontier.csv (one row per level) and frontier.json.

    \b
    Example:
      planner frontier scenarios/base.yaml --levels 0.8,0.9,0.95,0.98,0.99 --out out/frontier
    """
    from planner.app.outputs import write_frontier
    from planner.evaluation.compare import service_frontier

    with _user_errors(), _compute(scheduler, workers, scenario) as compute, _progress(compute) as step:
        result = service_frontier(scenario, levels, policy, step, model_dir=model_dir, compute=compute)
        step("writing outputs")
        written = write_frontier(result, out_dir)
        recorded = _record(
            "frontier",
            out_dir,
            written,
            "frontier.json",
            ("manifest",),
            kpis={"points": result.table().to_dict(orient="records")},
        )
    frame = result.table()
    policy_name = result.runs[0].plan.result.policy
    table = Table(title=f"'{result.prepared.scenario.name}' ({policy_name}): cost against service level")
    columns = (
        ("level", "level", "{:g}"),
        ("expected_total_cost", "expected total cost", "{:,.0f}"),
        ("p90_total_cost", "p90 total cost", "{:,.0f}"),
        ("expected_cost_excluding_purchase", "cost excl. purchase", "{:,.0f}"),
        ("fill_rate_mean", "fill rate", "{:.1%}"),
        ("cycle_service_mean", "cycle service", "{:.1%}"),
        ("avg_inventory_value", "avg inventory value", "{:,.0f}"),
    )
    for _, label, _ in columns:
        table.add_column(label, justify="right")
    for row in frame.itertuples(index=False):
        table.add_row(*(_fmt(getattr(row, col), fmt) for col, _, fmt in columns))
    out.print(table)
    _wrote(written, recorded)


BACKTEST_FORMATS = {
    "fill rate": "{:.1%}",
    "fill vs target": "{:+.1%}",
    "cycle service": "{:.1%}",
    "turnover": "{:.2f}",
    "gap total": "{:+.1%}",
    "gap operating": "{:+.1%}",
}


def _policies(ctx: click.Context, param: click.Parameter, value: str | None) -> list[str] | None:
    from typing import get_args

    from planner.inputs.scenario import BacktestPolicy

    if value is None:
        return None
    names = [v.strip() for v in value.split(",") if v.strip()]
    known = get_args(BacktestPolicy)
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        raise click.BadParameter(f"{', '.join(unknown) or 'nothing given'}; choose from {', '.join(known)}")
    return names


@main.command()
@SCENARIO
@OUT
@click.option(
    "--origins", type=click.IntRange(min=1), default=None, help="Weekly origins (default: backtest.origins)."
)
@click.option(
    "--policies",
    callback=_policies,
    default=None,
    help="Comma-separated: optimizer, classical, base_stock, perfect_foresight, textbook "
    "(one run per backtest.textbook_z; default: backtest.policies).",
)
@click.option(
    "--refit-every",
    type=click.IntRange(min=1),
    default=None,
    help="Weeks between forecaster trainings (default: backtest.refit_every).",
)
@click.option(
    "--time-limit",
    "time_limit_s",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Optimiser seconds per origin (default: backtest.time_limit_s, else solver.time_limit_s).",
)
@cluster_options
def backtest(
    scenario: Path,
    out_dir: Path,
    origins: int | None,
    policies: list[str] | None,
    refit_every: int | None,
    time_limit_s: float | None,
    scheduler: str | None,
    workers: int | None,
) -> None:
    """Rolling policy backtest over the last weeks of history: plan every Monday, commit
    that week's orders, replay the actual week.

    At each origin the forecaster sees only the history before it. Policies run side by
    side from the same stock: the optimiser, the classical policy, a base-stock policy on
    empirical quantiles, and perfect foresight (the deterministic optimum on the actual
    demand). Writes backtest_summary.csv (cost by category, fill rate, cycle service,
    inventory value, turnover, gap to perfect foresight), backtest_weekly.csv,
    backtest_origins.csv, backtest_orders.csv and backtest.json. The forecasts of all
    origins are made first; each policy is then a task (--workers, --scheduler).

    \b
    Example:
      planner backtest scenarios/base.yaml --origins 12 --out out/backtest
    """
    from planner.app.outputs import write_policy_backtest
    from planner.evaluation.backtest import run_backtest

    with _user_errors(), _compute(scheduler, workers, scenario) as compute, _progress(compute) as step:
        result = run_backtest(
            scenario,
            step,
            origins=origins,
            policies=policies,
            refit_every=refit_every,
            time_limit_s=time_limit_s,
            compute=compute,
        )
        step("writing outputs")
        written = write_policy_backtest(result, out_dir)
        recorded = _record(
            "backtest",
            out_dir,
            written,
            "backtest.json",
            ("manifest",),
            kpis=result.summary.set_index("policy").to_dict(orient="index"),
        )
    w = result.window.weeks
    table = Table(
        title=f"'{result.prepared.scenario.name}': {len(w)} origins, {w[0].date()}..{w[-1].date()}, "
        f"fill rate target {result.prepared.scenario.service_level:.1%}"
    )
    frame = result.table().set_index("policy")
    table.add_column("KPI")
    for policy in frame.index:
        table.add_column(policy.replace("_", " "), justify="right")
    for kpi in frame.columns:
        fmt = BACKTEST_FORMATS.get(kpi, "{:,.0f}")
        table.add_row(kpi, *(_fmt(v, fmt) for v in frame[kpi]))
    out.print(table)
    _wrote(written, recorded)


@main.command("import-m5")
@click.argument("m5_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@OUT
@click.option(
    "--assumptions",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="YAML with suppliers, lead times and costs (default: the bundled m5.yaml).",
)
@click.option("--max-series", type=click.IntRange(min=1), default=None, help="Keep only the first N series.")
def import_m5_cmd(m5_dir: Path, out_dir: Path, assumptions: Path | None, max_series: int | None) -> None:
    """Convert M5-format files (sales, calendar, sell prices) into a dataset folder.

    \b
    Example:
      planner import-m5 ../shared/data/m5_tiny --out data/m5
    """
    from planner.inputs.m5 import find_m5_files, import_m5, load_assumptions

    with _user_errors(), _progress() as step:
        step("reading M5 files")
        sales, calendar, prices = find_m5_files(m5_dir)
        info = import_m5(
            sales, calendar, prices, out_dir, load_assumptions(assumptions), max_series=max_series
        )
    out.print(f"imported {info.get('series', '?')} series into {out_dir}")
    for key, value in info.items():
        if key != "files":
            out.print(f"  {key}: {value}")


@main.command()
@OUT
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--skus", type=click.IntRange(min=1), default=240, show_default=True)
def sample(out_dir: Path, seed: int, skus: int) -> None:
    """Generate the sample company dataset (the bundled one is seed 7, 240 SKUs).

    \b
    Example:
      planner sample --out planner/sample_data
    """
    from planner.inputs.sample import generate_sample, write_sample

    with _user_errors():
        written = write_sample(generate_sample(seed=seed, n_skus=skus), out_dir)
    _wrote(written)


@contextmanager
def _opened_store() -> Iterator[Any]:
    """The run store named by --store, $PLANNER_STORE or the default; a usage error when off."""
    from planner.history.store import RunStore, store_url

    url = store_url(_store())
    if url is None:
        _fail(2, "the run store is off (--store off or PLANNER_STORE=off): there is no run history to read")
    store = RunStore(url)
    try:
        yield store
    finally:
        store.close()


@main.group()
def runs() -> None:
    """The run history: every forecast, plan, simulate, compare and backtest run, recorded.

    \b
    Example:
      planner runs list --scenario base
      planner runs show 20261207-063700-a1b2c3
      planner runs diff RUN_A RUN_B
    """


@runs.command("list")
@click.option("--scenario", help="Only runs of this scenario (its name).")
@click.option("--command", "command_name", help="Only runs of this command (plan, forecast, ...).")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
def runs_list(scenario: str | None, command_name: str | None, limit: int) -> None:
    """The latest runs, newest first."""
    with _user_errors(), _opened_store() as store:
        frame = store.runs(scenario=scenario, command=command_name, limit=limit)
        where = store.url
    if frame.empty:
        out.print(f"no runs recorded in {where}")
        return
    frame = frame.assign(
        created_at=frame["created_at"].map(lambda t: f"{t:%Y-%m-%d %H:%M:%S}"),
        gap=frame["gap"].map(lambda g: "" if g is None or pd.isna(g) else f"{g:.2%}"),
    ).fillna("")
    frame.columns = ["run", "time (UTC)", "command", "scenario", "policy", "status", "gap", "outputs"]
    out.print(f"runs in {where}, newest first:")
    out.print(frame.to_string(index=False))


@runs.command("show")
@click.argument("run_id", metavar="RUN")
def runs_show(run_id: str) -> None:
    """Everything recorded about one run: scenario, inputs, versions, figures, outputs."""
    import json

    with _user_errors(), _opened_store() as store:
        run = store.run(run_id)
    out.print(
        f"run {run['id']}: {run['command']} of '{run['scenario_name']}' "
        f"at {run['created_at']:%Y-%m-%d %H:%M:%S} UTC"
    )
    out.print(f"scenario {run['scenario_path']} (sha256 {run['scenario_sha256'][:12]})")
    out.print(
        f"input data fingerprint {run['data_sha256'][:12]}; forecast model {run['forecast_model'] or '-'}"
    )
    if run["plan_start"] is not None:
        out.print(f"plan start {run['plan_start']}")
    out.print(f"planner {run['code_version']}; " + ", ".join(f"{k} {v}" for k, v in run["versions"].items()))
    if run["solver_status"] is not None:
        gap = "" if run["gap"] is None else f", gap {run['gap']:.2%}"
        out.print(f"{run['policy']}: {run['solver_status']}, objective {run['objective']}{gap}")
    out.print("figures: " + json.dumps(run["kpis"], indent=1, sort_keys=True))
    out.print("timings (s): " + ", ".join(f"{k} {v:.2f}" for k, v in run["timings"].items()))
    for w in run["warnings"]:
        out.print(f"warning: {w}")
    for o in run["outputs"]:
        out.print(f"output {o['name']}: {o['path']} ({o['bytes']} bytes, sha256 {(o['sha256'] or '-')[:12]})")


@runs.command("diff")
@click.argument("run_a", metavar="RUN_A")
@click.argument("run_b", metavar="RUN_B")
@click.option(
    "--lines",
    "show_lines",
    type=click.IntRange(min=0),
    default=20,
    show_default=True,
    help="Changed lines to print (all are in --out).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Also write plan_diff_lines.csv, plan_diff_suppliers.csv and plan_diff_weeks.csv here.",
)
def runs_diff(run_a: str, run_b: str, show_lines: int, out_dir: Path | None) -> None:
    """What changed from plan RUN_A to plan RUN_B: lines, spend by supplier and week, and why."""
    from planner.history.diff import diff_plans

    with _user_errors(), _opened_store() as store:
        a, b = store.run(run_a), store.run(run_b)
        diff = diff_plans(a, b, store.plan_lines(run_a), store.plan_lines(run_b))
        written = _write_diff(diff, out_dir) if out_dir is not None else []
    n = diff.counts()
    out.print(
        f"plan {run_a} -> {run_b}: {n['added']} lines added, {n['removed']} removed, {n['changed']} changed; "
        f"spend {diff.by_supplier['before'].sum():,.0f} -> {diff.by_supplier['after'].sum():,.0f}"
    )
    out.print("why: " + "; ".join(diff.drivers))
    if show_lines and len(diff.lines):
        out.print(diff.lines.head(show_lines).to_string(index=False))
    moved = diff.by_supplier[diff.by_supplier["change"].abs() > 1e-6]
    if len(moved):
        out.print("spend by supplier:")
        out.print(moved.to_string(index=False, float_format=lambda v: f"{v:,.0f}"))
    _wrote(written)


def _write_diff(diff: Any, out_dir: Path) -> list[Path]:
    from planner.base.io import StagedOutputs

    with StagedOutputs(out_dir) as staged:
        staged.csv("plan_diff_lines.csv", diff.lines)
        staged.csv("plan_diff_suppliers.csv", diff.by_supplier)
        staged.csv("plan_diff_weeks.csv", diff.by_week)
        return staged.commit()


@main.command()
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to bind (another than loopback needs --token).",
)
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option(
    "--scenarios",
    "scenarios_dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=Path("scenarios"),
    show_default=True,
    help="The allow-listed scenarios: POST /scenarios/NAME/plan runs NAME.yaml from here.",
)
@click.option(
    "--out-root",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where plan runs started over the API write (default: api-runs in the data folder).",
)
@click.option("--token", envvar="PLANNER_API_TOKEN", default=None, help="Bearer token ($PLANNER_API_TOKEN).")
def serve(host: str, port: int, scenarios_dir: Path, out_root: Path | None, token: str | None) -> None:
    """Serve the HTTP API over the run store (docs/api.md; the OpenAPI schema at /openapi.json).

    \b
    Example:
      planner serve --port 8000
      PLANNER_API_TOKEN=... planner serve --host 0.0.0.0 --port 8000
    """
    import ipaddress

    import uvicorn

    from planner.app.api import create_app
    from planner.history.store import data_dir, display_url, store_url

    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback and not token:
        _fail(
            2, f"binding to {host} exposes the API: give --token (or PLANNER_API_TOKEN), or bind to 127.0.0.1"
        )
    url = store_url(_store())
    if url is None:
        _fail(2, "the run store is off (--store off or PLANNER_STORE=off): the API serves what it records")
    with _user_errors():
        app = create_app(url, scenarios_dir, out_root or data_dir() / "api-runs", token=token or None)
    out.print(f"serving the run store {display_url(url)} on http://{host}:{port} (Ctrl-C stops)")
    uvicorn.run(app, host=host, port=port, log_level="warning")


def _band(ctx: click.Context, param: click.Parameter, value: str) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in value.split(","))
    except ValueError:
        raise click.BadParameter("give two shares, e.g. 0.7,0.9") from None
    if not 0 <= lo < hi <= 1:
        raise click.BadParameter("need 0 <= low < high <= 1, e.g. 0.7,0.9")
    return lo, hi


@main.command()
@SCENARIO
@OUT
@click.option(
    "--band", default="0.7,0.9", show_default=True, callback=_band, help="Drift band of 80 % coverage."
)
@click.option(
    "--max-bias", type=click.FloatRange(min=0), default=0.2, show_default=True, help="Drift: |bias| above."
)
@click.option(
    "--weeks", type=click.IntRange(min=1), default=3, show_default=True, help="Drift: at this many origins."
)
def monitor(scenario: Path, out_dir: Path, band: tuple[float, float], max_bias: float, weeks: int) -> None:
    """Score every recorded forecast of the scenario against the demand now known; flag drift.

    Writes monitor.csv, monitor.json and monitor.html (accuracy over time) and stores the scores in
    the run store. Exit 4 when drift is flagged, so a scheduler can alert.

    \b
    Example:
      planner monitor scenarios/base.yaml --out out/monitor
    """
    from planner.app.outputs import write_monitor
    from planner.evaluation.monitor import DriftRule
    from planner.evaluation.monitor import monitor as monitor_forecasts

    with _user_errors(), _opened_store() as store:
        result = monitor_forecasts(scenario, store, DriftRule(band=band, max_bias=max_bias, weeks=weeks))
        written = write_monitor(result, out_dir)
    overall = result.overall() if not result.scores.empty else pd.DataFrame()
    out.print(
        f"'{result.scenario}': {len(overall)} recorded forecasts scored on demand up to {result.last_week}, "
        f"{len(result.pending)} with no known week yet"
    )
    if len(overall):
        last = overall.iloc[-1]
        out.print(
            f"latest scored forecast (origin {last['origin']}, {int(last['weeks_known'])} weeks known): "
            f"WQL {_fmt(last['wql'], '{:.3f}')}, bias {_fmt(last['bias'], '{:+.1%}')}, "
            f"80 % coverage {_fmt(last['coverage80'], '{:.1%}')}, "
            f"90 % coverage {_fmt(last['coverage90'], '{:.1%}')}"
        )
    _wrote(written)
    if result.drift:
        for message in result.drift:
            err.print(f"[bold red]drift:[/] {escape(message)}")
        sys.exit(4)
