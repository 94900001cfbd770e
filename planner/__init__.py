"""Purchase planner: probabilistic demand forecasts feeding an order optimiser."""
