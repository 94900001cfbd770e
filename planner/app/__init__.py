"""The application layer: the command line, where work runs (in this process or on a Dask cluster) and
the outputs every command writes."""
