"""The bottom layer: one family of user errors, YAML configuration reading and pydantic error messages,
reading untrusted text, and outputs published as one set. It imports nothing else from the planner."""
