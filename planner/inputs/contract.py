"""The data contract: which files a dataset folder holds and what their columns mean.

A dataset is a folder of CSV files (``.parquet`` accepted instead of ``.csv``).
Every table is described once here; :mod:`planner.inputs.data` reads and validates
against these specs and docs/data-contract.md mirrors them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["str", "float", "int", "flag", "date"]
MAX_PER_UNIT = 1e9  # per-unit costs, volumes, pack sizes: larger values are typos or wrong units
MAX_UNITS = 1e12  # quantities and amounts


@dataclass(frozen=True)
class Column:
    """One column: its type, whether it is required, and its bounds."""

    name: str
    kind: Kind
    required: bool = True
    min: float | None = 0.0
    min_exclusive: bool = False
    max: float | None = None
    doc: str = ""


@dataclass(frozen=True)
class Table:
    """One file of the dataset."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    required: bool = True
    doc: str = ""

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


DEMAND = Table(
    "demand",
    (
        Column("sku", "str", doc="SKU identifier"),
        Column("date", "date", doc="day or week of the sale; summed into ISO weeks labelled by Monday"),
        Column("units", "float", max=MAX_UNITS, doc="units sold (>= 0)"),
        Column("price", "float", required=False, max=MAX_PER_UNIT, doc="average selling price"),
        Column("promo", "flag", required=False, doc="1 if on promotion"),
        Column("stockout", "flag", required=False, doc="1 if sales were censored by a stockout"),
    ),
    key=("sku", "date"),
    doc="sales history",
)

ITEMS = Table(
    "items",
    (
        Column("sku", "str"),
        Column("supplier", "str", doc="must appear in suppliers"),
        Column("unit_cost", "float", max=MAX_PER_UNIT, doc="purchase cost per unit"),
        Column("unit_volume", "float", max=MAX_PER_UNIT, doc="storage volume per unit"),
        Column("moq", "int", max=MAX_PER_UNIT, doc="minimum order quantity in units (0 = none)"),
        Column("pack_size", "int", min=0.0, min_exclusive=True, max=MAX_PER_UNIT, doc="units per pack (> 0)"),
        Column(
            "holding_rate",
            "float",
            required=False,
            max=100.0,
            doc="annual holding cost as a fraction of unit cost",
        ),
        Column(
            "holding_cost",
            "float",
            required=False,
            max=MAX_PER_UNIT,
            doc="holding cost per unit-week; overrides holding_rate",
        ),
        Column("shortage_cost", "float", required=False, max=MAX_PER_UNIT, doc="penalty per unit short"),
        Column(
            "service_level",
            "float",
            required=False,
            min=0.0,
            min_exclusive=True,
            max=0.9999,
            doc="target probability of covering cumulative demand, in (0, 1)",
        ),
        Column("order_cost", "float", required=False, max=MAX_PER_UNIT, doc="fixed cost per order line"),
        Column("category", "str", required=False),
    ),
    key=("sku",),
    doc="item master",
)

SUPPLIERS = Table(
    "suppliers",
    (
        Column("supplier", "str"),
        Column("lead_time_weeks", "int", max=520.0, doc="weeks from order to arrival (whole weeks >= 0)"),
        Column("order_cost", "float", max=MAX_PER_UNIT, doc="fixed cost per purchase order"),
        Column(
            "min_order_value", "float", required=False, max=MAX_UNITS, doc="minimum value of a purchase order"
        ),
        Column(
            "lead_time_sd_weeks",
            "float",
            required=False,
            max=104.0,
            doc="standard deviation of the lead time",
        ),
    ),
    key=("supplier",),
    doc="supplier master",
)

INVENTORY = Table(
    "inventory",
    (Column("sku", "str"), Column("on_hand", "float", max=MAX_UNITS, doc="units on hand at plan start")),
    key=("sku",),
    doc="stock on hand",
)

OPEN_ORDERS = Table(
    "open_orders",
    (
        Column("sku", "str"),
        Column("arrival_date", "date", doc="expected arrival; counted in the ISO week containing it"),
        Column("units", "float", max=MAX_UNITS),
    ),
    key=(),
    required=False,
    doc="orders already placed and not yet received",
)

CALENDAR = Table(
    "calendar",
    (
        Column("date", "date", doc="a day of the event"),
        Column("event", "str", doc="event or holiday name"),
    ),
    key=(),
    required=False,
    doc="holidays and events (optional; used as forecast features)",
)

TABLES: tuple[Table, ...] = (DEMAND, ITEMS, SUPPLIERS, INVENTORY, OPEN_ORDERS, CALENDAR)

ACTUALS = Table(
    "actuals",
    (
        Column("sku", "str", doc="SKU identifier (one of the scenario's items)"),
        Column("week", "date", doc="a day of the week; counted in its ISO week (Monday)"),
        Column("demand", "float", max=MAX_UNITS, doc="actual demand in units (>= 0)"),
    ),
    key=("sku", "week"),
    required=True,
    doc="actual weekly demand to simulate a plan against (planner simulate --actuals); not a dataset file",
)
