"""The optimiser: the Pyomo model and its pieces (model/), exact per-SKU lot sizing, the decomposition
and its heuristics (plan), repair steps and solving."""
