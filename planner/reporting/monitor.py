"""The forecast monitor's HTML page (``monitor.html``): accuracy over time, in the report's style.

Charts: the weighted quantile loss and the bias of every scored forecast against its origin;
the 80 % and 90 % interval coverage against the nominal levels and the drift band; the loss by
demand class over time; the loss by weeks ahead. Tables: per forecast run, and the latest run by
demand class and by supplier. A drift banner leads the page when drift is flagged.
"""

from __future__ import annotations

import pandas as pd
from matplotlib import rc_context
from matplotlib.figure import Figure

from planner.evaluation.monitor import Monitoring
from planner.reporting.report import RC, Table, chart, template

_TEMPLATE = template("monitor.html.j2")
FIGURE_IDS = ("fig-loss", "fig-coverage", "fig-class", "fig-horizon")


def _fmt(value: object, spec: str) -> str:
    return "n/a" if value is None or pd.isna(value) else format(value, spec)


def _over_time(overall: pd.DataFrame) -> Figure:
    fig = Figure(figsize=(10, 3.2), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    x = pd.to_datetime(overall["origin"])
    ax1.plot(x, overall["wql"], marker="o")
    ax1.set_title("weighted quantile loss (lower is better)")
    ax2.plot(x, overall["bias"], marker="o", color="tab:orange")
    ax2.axhline(0.0, color="black", lw=0.8)
    ax2.yaxis.set_major_formatter(lambda v, _pos: f"{v:+.0%}")
    ax2.set_title("bias: forecast / actual - 1")
    for ax in (ax1, ax2):
        ax.tick_params(axis="x", labelrotation=30)
    return fig


def _coverage(overall: pd.DataFrame, band: tuple[float, float]) -> Figure:
    fig = Figure(figsize=(10, 3.2), layout="constrained")
    ax = fig.subplots()
    x = pd.to_datetime(overall["origin"])
    ax.axhspan(*band, color="tab:green", alpha=0.12, label=f"drift band {band[0]:.0%}-{band[1]:.0%}")
    ax.plot(x, overall["coverage80"], marker="o", label="80 % interval")
    ax.plot(x, overall["coverage90"], marker="s", label="90 % interval")
    for level in (0.8, 0.9):
        ax.axhline(level, color="grey", lw=0.8, ls="--")
    ax.set_ylim(0, 1)
    ax.yaxis.set_major_formatter(lambda v, _pos: f"{v:.0%}")
    ax.legend(loc="lower left", fontsize=8)
    ax.set_title("interval coverage (dashed: nominal)")
    ax.tick_params(axis="x", labelrotation=30)
    return fig


def _by_class(scores: pd.DataFrame) -> Figure:
    fig = Figure(figsize=(10, 3.2), layout="constrained")
    ax = fig.subplots()
    for key, g in scores[scores["dimension"] == "class"].groupby("key"):
        g = g.sort_values("origin")
        ax.plot(pd.to_datetime(g["origin"]), g["wql"], marker="o", label=str(key))
    ax.legend(fontsize=8, ncols=3)
    ax.set_title("weighted quantile loss by demand class")
    ax.tick_params(axis="x", labelrotation=30)
    return fig


def _by_horizon(scores: pd.DataFrame) -> Figure:
    fig = Figure(figsize=(10, 3.2), layout="constrained")
    ax = fig.subplots()
    h = scores[scores["dimension"] == "horizon"].assign(h=lambda f: f["key"].astype(int))
    for _, g in h.groupby("run_id"):
        g = g.sort_values("h")
        ax.plot(g["h"], g["wql"], marker=".", alpha=0.7, label=str(g["origin"].iloc[0]))
    ax.set_xlabel("weeks ahead")
    ax.set_title("weighted quantile loss by weeks ahead, one line per forecast origin")
    if h["run_id"].nunique() <= 8:
        ax.legend(fontsize=8)
    return fig


def _table(frame: pd.DataFrame, first: str) -> Table:
    rows = [
        [str(r[first]), _fmt(r["weeks_known"], "d") if "weeks_known" in r else "", _fmt(r["points"], ",d"),
         _fmt(r["actual"], ",.0f"), _fmt(r["wql"], ".3f"), _fmt(r["bias"], "+.1%"),
         _fmt(r["coverage80"], ".1%"), _fmt(r["coverage90"], ".1%")]
        for r in frame.to_dict(orient="records")
    ]  # fmt: skip
    headers = [
        first,
        "weeks known",
        "points",
        "actual units",
        "WQL",
        "bias",
        "80 % coverage",
        "90 % coverage",
    ]
    return Table(headers, rows)


def render_monitor(result: Monitoring) -> str:
    """One self-contained HTML page for the monitoring of ``result.scenario``."""
    scores = result.scores
    overall = result.overall() if not scores.empty else pd.DataFrame()
    figures, tables = [], []
    if not overall.empty:
        latest = overall["run_id"].iloc[-1]
        band = result.rule.band
        with rc_context(RC):
            specs = [
                ("fig-loss", _over_time(overall), "loss and bias over forecast origins",
                 "Weighted quantile loss and bias of each recorded forecast, at its origin, over its weeks "
                 "known so far."),
                ("fig-coverage", _coverage(overall, band), "interval coverage over forecast origins",
                 "Share of known weeks inside the forecast's 80 % and 90 % intervals; drift is flagged when "
                 "the 80 % coverage leaves the band at consecutive origins."),
                ("fig-class", _by_class(scores), "loss by demand class over origins",
                 "Weighted quantile loss per demand class (the SKU's class at each origin)."),
                ("fig-horizon", _by_horizon(scores), "loss by weeks ahead",
                 "Weighted quantile loss by weeks ahead: how fast accuracy decays with the horizon."),
            ]  # fmt: skip
            figures = [chart(*spec) for spec in specs]
        named = overall.assign(origin=overall["origin"].astype(str) + " (" + overall["run_id"] + ")")
        tables = [("Every scored forecast", _table(named, "origin"))]
        for dim in ("class", "supplier"):
            part = scores[(scores["run_id"] == latest) & (scores["dimension"] == dim)]
            tables.append((f"Latest forecast by {dim}", _table(part.rename(columns={"key": dim}), dim)))
    return _TEMPLATE.render(
        title=f"Forecast monitor: {result.scenario}",
        last_week=str(result.last_week),
        rule=result.rule,
        drift=result.drift,
        pending=result.pending,
        figures=figures,
        tables=tables,
    )
