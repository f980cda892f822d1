"""Build-time code: everything that makes data/ from the official open data (`cpts-diag data build`).

Nothing of the run time imports it; only the CLI command `data build` and the benchmarks do.
"""
