"""Failure histories (plain and importance-sampled), the Monte Carlo driver, and where histories
run (this process, a local pool, a Dask cluster)."""
