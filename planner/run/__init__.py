"""A planning run step by step: prepare (scenario, data, warnings), forecast (train or load), plan
(policy, evaluation, verification). Nothing here writes files."""
