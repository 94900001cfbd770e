"""How plans and forecasts are judged: the simulator and simulation runs, policy backtests, forecast
backtests, scenario comparisons and service frontiers."""
