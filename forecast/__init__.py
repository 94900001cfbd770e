"""Demand forecasters behind one contract (:class:`Forecaster` -> :class:`Forecast`)."""

from forecast.base import Forecast, Forecaster, quantile_column
from forecast.registry import make_forecaster

__all__ = ["Forecast", "Forecaster", "make_forecaster", "quantile_column"]
