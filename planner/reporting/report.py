"""The finance report: one self-contained HTML page for a comparison (and a service frontier).

:func:`render_report` turns a :class:`~planner.evaluation.compare.Comparison` (and optionally a
:class:`~planner.evaluation.compare.Frontier`) into text tables and PNG charts, and renders them
with the Jinja2 template ``templates/report.html.j2`` (autoescaped) into one HTML document that
opens offline: styles inline, charts drawn with matplotlib (Agg, no pyplot state) and embedded
as base64 PNG ``<img>`` tags, no scripts. Each chart sits in a ``<figure>`` whose id is in
:data:`FIGURE_IDS`:

- ``fig-costs``: expected purchase, ordering, holding and shortage cost per scenario
  (stacked), with the p90 total cost marked;
- ``fig-frontier``: expected cost excluding purchase against fill rate, per service level
  of the frontier, or per scenario when there is no frontier;
- ``fig-inventory``: inventory value per week, mean and p10-p90 band across demand paths;
- ``fig-storage``: storage use per week, mean and p90, against capacity ``Cap_t``;
- ``fig-spend``: purchase spend ``sum_s c_s x[s,t]`` by order week, stacked by supplier.

The simulation keeps per-SKU results as expectations only (no per-SKU path quantiles), so
the inventory fan is drawn for the total inventory value, and a table lists the top SKUs by
expected average inventory value ``c_s * E[mean_t I[s,t]]`` with their expected stock and
fill rate.

The page shows the plan start and input fingerprints from the runs' manifests, never the
wall clock, and PNGs are written without metadata: the same inputs give the same HTML.
Nothing here prints.
"""

from __future__ import annotations

import base64
import hashlib
import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from jinja2 import Environment, PackageLoader, StrictUndefined, Template
from matplotlib import rc_context
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from planner.evaluation.compare import Comparison, Frontier
from planner.evaluation.simulate import SimulationRun

__all__ = ["FIGURE_IDS", "TOP_SKUS", "frontier_comparison", "render_report"]

FIGURE_IDS = ("fig-costs", "fig-frontier", "fig-inventory", "fig-storage", "fig-spend")
TOP_SKUS = 10
COST_PARTS = ("purchase", "ordering", "holding", "shortage")
DPI = 100
RC = {
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "svg.hashsalt": "planner-report",
    "path.simplify": True,
}
PNG_METADATA = {"Software": None}  # no matplotlib version stamp: identical bytes for identical inputs


def template(name: str) -> Template:
    """A page template of ``planner/reporting/templates`` (autoescape on, undefined names an error)."""
    env = Environment(
        loader=PackageLoader("planner.reporting", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
    return env.get_template(name)


_TEMPLATE = template("report.html.j2")


# ---------------------------------------------------------------------------
# formatting


def _money(value: float | None) -> str:
    return "n/a" if value is None or pd.isna(value) else f"{value:,.0f}"


def _pct(value: float | None) -> str:
    return "n/a" if value is None or pd.isna(value) else f"{value:.1%}"


def _num(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None or pd.isna(value) else f"{value:,.{digits}f}"


@dataclass(frozen=True)
class Table:
    """A table for the template: cells are text; cells from column ``numeric_from`` on are right-aligned."""

    headers: Sequence[str]
    rows: Sequence[Sequence[str]]
    numeric_from: int = 1


@dataclass(frozen=True)
class Chart:
    """A chart for the template: a ``<figure>`` id, base64 PNG, alt text and caption."""

    id: str
    png: str
    alt: str
    caption: str


# ---------------------------------------------------------------------------
# figures


def _png(fig: Figure) -> str:
    """The figure as base64 PNG (Agg, no metadata)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata=PNG_METADATA)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def chart(fig_id: str, fig: Figure, alt: str, caption: str) -> Chart:
    """A figure for the template, as base64 PNG."""
    return Chart(fig_id, _png(fig), alt, caption)


def _money_axis(ax: Axes, axis: str = "y") -> None:
    fmt = lambda v, _pos: f"{v:,.0f}"  # noqa: E731
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt)


def _grid(n: int, height: float = 2.8) -> tuple[Figure, list[Axes]]:
    """A figure with one panel per scenario (up to three per row); unused panels hidden."""
    ncols = min(n, 3)
    nrows = math.ceil(n / ncols)
    fig = Figure(figsize=(3.8 * ncols, height * nrows + 0.4), layout="constrained")
    axes = list(np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False, sharey=True)).ravel())
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes[:n]


def _week_ticks(ax: Axes, weeks: Sequence[str]) -> None:
    step = max(1, math.ceil(len(weeks) / 6))
    ticks = list(range(0, len(weeks), step))
    ax.set_xticks(ticks, [weeks[i][5:] for i in ticks])  # MM-DD
    ax.set_xlabel(f"week (from {weeks[0]})" if weeks else "week")


def _cost_figure(costs: pd.DataFrame, names: list[str]) -> Figure:
    expected = costs.pivot(index="scenario", columns="category", values="expected").loc[names]
    p90 = costs.pivot(index="scenario", columns="category", values="p90").loc[names, "total"]
    fig = Figure(figsize=(max(5.0, 1.4 * len(names) + 3), 3.8), layout="constrained")
    ax = fig.subplots()
    x = np.arange(len(names))
    bottom = np.zeros(len(names))
    for i, part in enumerate(COST_PARTS):
        values = expected[part].fillna(0).to_numpy()
        ax.bar(x, values, 0.6, bottom=bottom, label=f"{part} (expected)", color=f"C{i}")
        bottom += values
    ax.scatter(
        x, p90.to_numpy(), marker="_", s=900, linewidths=2.5, color="black", label="p90 total", zorder=3
    )
    ax.set_xticks(x, names, rotation=15 if len(names) > 3 else 0)
    ax.set_ylabel("cost")
    _money_axis(ax)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return fig


def _frontier_figure(points: pd.DataFrame, label_fmt: Callable[[object], str], connect: bool) -> Figure:
    """``points``: label, fill (mean), fill_p10, fill_p90, cost (expected excluding purchase)."""
    fig = Figure(figsize=(6.5, 4.0), layout="constrained")
    ax = fig.subplots()
    fill = points["fill"].to_numpy(dtype=float)
    xerr = np.vstack([fill - points["fill_p10"].to_numpy(float), points["fill_p90"].to_numpy(float) - fill])
    ax.errorbar(
        fill,
        points["cost"].to_numpy(float),
        xerr=np.clip(np.nan_to_num(xerr), 0, None),
        fmt="o-" if connect else "o",
        color="C0",
        ecolor="#999",
        capsize=3,
    )
    for row in points.itertuples(index=False):
        ax.annotate(label_fmt(row.label), (row.fill, row.cost), xytext=(5, 5), textcoords="offset points")
    ax.set_xlabel("fill rate (mean; bars p10-p90 across paths)")
    ax.set_ylabel("expected cost excluding purchase")
    ax.xaxis.set_major_formatter(lambda v, _pos: f"{v:.0%}" if abs(v - round(v, 2)) < 1e-9 else f"{v:.1%}")
    _money_axis(ax)
    return fig


def _inventory_figure(weekly: pd.DataFrame, names: list[str]) -> Figure:
    fig, axes = _grid(len(names))
    for ax, name in zip(axes, names, strict=True):
        w = weekly[weekly["scenario"] == name]
        x = np.arange(len(w))
        ax.fill_between(
            x, w["inventory_value_p10"], w["inventory_value_p90"], color="C0", alpha=0.25, label="p10-p90"
        )
        ax.plot(x, w["inventory_value_mean"], color="C0", label="mean")
        ax.set_title(name)
        _week_ticks(ax, list(w["week"]))
        _money_axis(ax)
    axes[0].set_ylabel("inventory value")
    axes[0].legend(frameon=False, loc="best")
    return fig


def _storage_figure(weekly: pd.DataFrame, names: list[str]) -> Figure:
    fig, axes = _grid(len(names))
    for ax, name in zip(axes, names, strict=True):
        w = weekly[weekly["scenario"] == name]
        x = np.arange(len(w))
        ax.plot(x, w["storage_mean"], color="C0", label="mean")
        ax.plot(x, w["storage_p90"], color="C0", linestyle="--", label="p90")
        if w["capacity"].notna().any():
            ax.step(x, w["capacity"], where="mid", color="C3", label="capacity")
        ax.set_title(name)
        _week_ticks(ax, list(w["week"]))
        _money_axis(ax)
    top = np.nanmax(weekly[["storage_mean", "storage_p90", "capacity"]].to_numpy(dtype=float))
    axes[0].set_ylim(0, 1.05 * top if np.isfinite(top) and top > 0 else 1.0)  # shared by every panel
    axes[0].set_ylabel("storage volume")
    axes[0].legend(frameon=False, loc="best")
    return fig


def _spend_figure(spend: pd.DataFrame, names: list[str]) -> Figure:
    suppliers = sorted(spend["supplier"].unique())
    colours = {s: f"C{i % 10}" for i, s in enumerate(suppliers)}
    fig, axes = _grid(len(names))
    for ax, name in zip(axes, names, strict=True):
        table = spend[spend["scenario"] == name].pivot(index="week", columns="supplier", values="spend")
        table = table.reindex(columns=suppliers).fillna(0)
        x = np.arange(len(table))
        bottom = np.zeros(len(table))
        for sup in suppliers:
            ax.bar(x, table[sup].to_numpy(), 0.8, bottom=bottom, color=colours[sup], label=sup)
            bottom += table[sup].to_numpy()
        ax.set_title(name)
        _week_ticks(ax, list(table.index))
        _money_axis(ax)
    axes[0].set_ylabel("purchase spend (order week)")
    fig.legend(
        *axes[0].get_legend_handles_labels(), loc="outside right upper", frameon=False, title="supplier"
    )
    return fig


# ---------------------------------------------------------------------------
# tables


def _cost_table(costs: pd.DataFrame, names: list[str]) -> Table:
    by = costs.set_index(["scenario", "category"])
    cats = [*COST_PARTS, "total"]
    headers = ["scenario", *(f"{c} expected" for c in cats), "total p90"]
    rows = [
        [name, *(_money(by.loc[(name, c), "expected"]) for c in cats), _money(by.loc[(name, "total"), "p90"])]
        for name in names
    ]
    return Table(headers, rows)


SERVICE_COLUMNS = (
    ("fill_rate", "fill rate", _pct),
    ("cycle_service", "cycle service", _pct),
    ("stockout_weeks", "stockout SKU-weeks", _num),
    ("avg_inventory_value", "avg inventory value", _money),
    ("inventory_turnover", "turnover / year", _num),
    ("peak_storage", "peak storage", _money),
    ("overflow_weeks", "overflow weeks", _num),
)


def _service_table(service: pd.DataFrame, names: list[str]) -> Table:
    by = service.set_index(["scenario", "kpi"])
    headers = ["scenario", *(label for _, label, _ in SERVICE_COLUMNS)]
    rows = []
    for name in names:
        cells = [name]
        for kpi, _, fmt in SERVICE_COLUMNS:
            s = by.loc[(name, kpi)]
            cells.append(f"{fmt(s['mean'])} ({fmt(s['p10'])} to {fmt(s['p90'])})")
        rows.append(cells)
    return Table(headers, rows)


def top_skus(sim: SimulationRun, n: int = TOP_SKUS) -> pd.DataFrame:
    """The ``n`` SKUs with the highest expected average inventory value ``c_s * E[mean_t I[s,t]]``."""
    sku = sim.result.per_sku
    value = sim.plan.data.unit_cost * sku["expected_stock"].to_numpy(dtype=float)
    frame = sku.assign(avg_inventory_value=value)
    return frame.sort_values(["avg_inventory_value", "sku"], ascending=[False, True], kind="stable").head(n)


def _sku_table(sim: SimulationRun) -> Table:
    rows = [
        [
            str(r.sku),
            str(r.supplier),
            _money(r.avg_inventory_value),
            _num(r.expected_stock),
            _pct(r.fill_rate),
            _num(r.stockout_weeks, 2),
        ]
        for r in top_skus(sim).itertuples(index=False)
    ]
    headers = [
        "SKU",
        "supplier",
        "avg inventory value",
        "expected stock (units)",
        "fill rate",
        "stockout weeks",
    ]
    return Table(headers, rows, numeric_from=2)


def _frontier_table(frontier: Frontier) -> Table:
    t = frontier.table()
    headers = [
        "level",
        "expected total cost",
        "p90 total cost",
        "cost excl. purchase",
        "fill rate (p10 to p90)",
        "cycle service (p10 to p90)",
        "avg inventory value",
        "plan status",
    ]
    rows = [
        [
            f"{r.level:g}",
            _money(r.expected_total_cost),
            _money(r.p90_total_cost),
            _money(r.expected_cost_excluding_purchase),
            f"{_pct(r.fill_rate_mean)} ({_pct(r.fill_rate_p10)} to {_pct(r.fill_rate_p90)})",
            f"{_pct(r.cycle_service_mean)} ({_pct(r.cycle_service_p10)} to {_pct(r.cycle_service_p90)})",
            _money(r.avg_inventory_value),
            str(r.plan_status),
        ]
        for r in t.itertuples(index=False)
    ]
    return Table(headers, rows)


# ---------------------------------------------------------------------------
# the page


def frontier_comparison(frontier: Frontier) -> Comparison:
    """The frontier's runs as a :class:`Comparison`, each named ``"<scenario> @ <level>"``."""
    runs = []
    for level, sim in zip(frontier.levels, frontier.runs, strict=True):
        prep = sim.plan.prepared
        scenario = prep.scenario.model_copy(update={"name": f"{prep.scenario.name} @ {level:g}"})
        runs.append(replace(sim, plan=replace(sim.plan, prepared=replace(prep, scenario=scenario))))
    return Comparison(tuple(runs))


def _fingerprint(comparison: Comparison) -> str:
    """Short SHA-256 over every run's input file hashes (from the manifests)."""
    digest = hashlib.sha256()
    for entry in comparison.to_dict()["scenarios"]:
        for name, info in sorted(entry["manifest"]["inputs"].items()):
            digest.update(f"{name}:{info['sha256']};".encode())
    return digest.hexdigest()[:12]


def _frontier_points(comparison: Comparison, frontier: Frontier | None) -> pd.DataFrame:
    if frontier is not None:
        t = frontier.table()
        return pd.DataFrame(
            {
                "label": t["level"],
                "fill": t["fill_rate_mean"],
                "fill_p10": t["fill_rate_p10"],
                "fill_p90": t["fill_rate_p90"],
                "cost": t["expected_cost_excluding_purchase"],
            }
        )
    rows = []
    for name, sim in zip(comparison.names, comparison.runs, strict=True):
        paths = sim.result.paths
        fill = sim.result.summary.set_index("kpi").loc["fill_rate"]
        rows.append(
            {
                "label": name,
                "fill": fill["mean"],
                "fill_p10": fill["p10"],
                "fill_p90": fill["p90"],
                "cost": float((paths["total_cost"] - paths["purchase_cost"]).mean()),
            }
        )
    return pd.DataFrame(rows)


def render_report(comparison: Comparison, frontier: Frontier | None = None) -> str:
    """One self-contained HTML document: cost and service tables, five charts, top SKUs per scenario.

    With ``frontier``, the frontier chart plots its service levels and its table is added;
    without, the scenarios are plotted as points on the same axes.
    """
    names = comparison.names
    costs, service = comparison.costs(), comparison.service()
    weekly, spend = comparison.weekly(), comparison.spend_by_supplier()
    info = comparison.to_dict()["scenarios"]
    plan_starts = sorted({e["manifest"]["plan_start"] for e in info})
    policies = sorted({str(e["policy"]) for e in info})
    n_paths = sorted({int(e["n_paths"]) for e in info})
    title = (
        f"Service frontier: {frontier.prepared.scenario.name}"
        if frontier is not None
        else f"Scenario comparison: {', '.join(names)}"
    )

    with rc_context(RC):
        figures = [
            chart(
                "fig-costs",
                _cost_figure(costs, names),
                "stacked expected cost per scenario",
                "Expected cost per scenario by category (mean over demand paths), stacked; "
                "the black mark is the p90 of the total cost.",
            ),
            chart(
                "fig-frontier",
                _frontier_figure(
                    _frontier_points(comparison, frontier),
                    (lambda v: f"{v:g}") if frontier is not None else str,
                    connect=frontier is not None,
                ),
                "expected cost excluding purchase against fill rate",
                "Service against cost: expected ordering + holding + shortage cost against mean fill rate "
                + (
                    "at each service level (labels), all levels on the same demand paths."
                    if frontier is not None
                    else "per scenario (labels)."
                )
                + " Horizontal bars: fill rate p10 to p90 across paths.",
            ),
            chart(
                "fig-inventory",
                _inventory_figure(weekly, names),
                "inventory value fan chart per scenario",
                "Total inventory value at the end of each week: mean and p10-p90 band across demand "
                "paths. (Per-SKU fans need per-SKU path quantiles, which the simulation does not keep; "
                "see the top SKUs tables below.)",
            ),
            chart(
                "fig-storage",
                _storage_figure(weekly, names),
                "storage use against capacity per scenario",
                "Storage volume after receipts per week: mean (solid) and p90 (dashed) across paths, "
                "against the storage capacity (red) where the scenario has one.",
            ),
            chart(
                "fig-spend",
                _spend_figure(spend, names),
                "purchase spend by week and supplier per scenario",
                "Purchase spend (unit cost x units ordered) by order week, stacked by supplier.",
            ),
        ]

    scenario_rows = [
        [
            e["name"],
            str(e["description"] or ""),
            str(e["policy"]),
            str(e["plan"]["status"]),
            str(e["unmet_demand"]),
            f"{e['n_paths']:,}",
        ]
        for e in info
    ]
    return _TEMPLATE.render(
        title=title,
        plan_starts=", ".join(plan_starts),
        policies=", ".join(policies),
        n_paths=", ".join(f"{n:,}" for n in n_paths),
        fingerprint=_fingerprint(comparison),
        scenarios=Table(
            ["scenario", "description", "policy", "plan status", "unmet demand", "paths"],
            scenario_rows,
            numeric_from=5,
        ),
        costs=_cost_table(costs, names),
        service=_service_table(service, names),
        frontier=_frontier_table(frontier) if frontier is not None else None,
        figures=figures,
        top_n=TOP_SKUS,
        top_skus=[(name, _sku_table(sim)) for name, sim in zip(names, comparison.runs, strict=True)],
    )
