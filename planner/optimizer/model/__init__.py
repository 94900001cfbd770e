"""Optimisation models (Pyomo) for purchase planning."""

from planner.optimizer.model.monolithic import build_model, orders_from_model
from planner.optimizer.model.params import ModelParams, model_params

__all__ = ["ModelParams", "build_model", "model_params", "orders_from_model"]
