"""Batch of territory reports: parallel runs, ``batch.json``, ``index.html``, incremental re-runs; one module per
job (docs/ARCHITECTURE.md)."""

from cpts_diag.reports.batch.plan import Task
from cpts_diag.reports.batch.records import refresh_index
from cpts_diag.reports.batch.run import run_batch, run_synthesis
from cpts_diag.reports.batch.terminal import run_batch_cli
from cpts_diag.reports.index_page import STATUS_FAILED, STATUS_OK, STATUS_UNCHANGED

__all__ = [
    "STATUS_FAILED",
    "STATUS_OK",
    "STATUS_UNCHANGED",
    "Task",
    "refresh_index",
    "run_batch",
    "run_batch_cli",
    "run_synthesis",
]
