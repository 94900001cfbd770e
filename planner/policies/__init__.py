"""Rule-based policies: the classical reorder point with EOQ lots, base stock on empirical quantiles,
the textbook reorder point, and the per-SKU KPIs they use."""
