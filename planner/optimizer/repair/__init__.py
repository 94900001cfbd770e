"""Repairs: plans brought within suppliers' minimum order values and improved where storage, budget
or shortfall allow. One heuristic per module, each stating its guarantee:

- :mod:`.short_orders`: :func:`raise_short_orders`;
- :mod:`.shortfall`: :func:`fill_shortfall`;
- :mod:`.storage_trades`: :func:`trade_storage`;
- :mod:`.merges`: :func:`merge_lines`;
- :mod:`.book`: the plan under repair and the line-level moves they share.
"""

from planner.optimizer.repair.book import TOL, supplier_cost
from planner.optimizer.repair.merges import merge_lines
from planner.optimizer.repair.short_orders import raise_short_orders
from planner.optimizer.repair.shortfall import fill_shortfall
from planner.optimizer.repair.storage_trades import trade_storage

__all__ = ["TOL", "fill_shortfall", "merge_lines", "raise_short_orders", "supplier_cost", "trade_storage"]
