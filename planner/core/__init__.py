"""The planning problem as arrays (PlanningData), its accounting (receipts, stock, costs), uncertain
lead times, service targets and planning levels, the plan verifier and the tables a plan is shipped
as."""
