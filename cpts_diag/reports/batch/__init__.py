"""Batch of territory reports: parallel runs, ``batch.json``, ``index.html``, incremental re-runs.

One module per job: :mod:`.plan` (selection, fingerprints, one :class:`~.plan.Task` per report), :mod:`.worker`
(what a worker runs), :mod:`.pool` (local worker processes), :mod:`.cluster` (Dask), :mod:`.records`
(``batch.json``, the index, the result), :mod:`.run` (:func:`run_batch`, :func:`run_synthesis`) and
:mod:`.terminal` (what ``cpts-diag batch`` prints).
"""

from cpts_diag.errors import error_message
from cpts_diag.reports.batch.plan import Task, select_territories, territory_fingerprint
from cpts_diag.reports.batch.records import (
    BATCH_FILE,
    LOG_FILE,
    BatchResult,
    refresh_index,
)
from cpts_diag.reports.batch.run import run_batch, run_synthesis
from cpts_diag.reports.batch.terminal import run_batch_cli
from cpts_diag.reports.index_page import INDEX_FILE, STATUS_FAILED, STATUS_OK, STATUS_UNCHANGED

__all__ = [
    "BATCH_FILE",
    "INDEX_FILE",
    "LOG_FILE",
    "STATUS_FAILED",
    "STATUS_OK",
    "STATUS_UNCHANGED",
    "BatchResult",
    "Task",
    "error_message",
    "refresh_index",
    "run_batch",
    "run_batch_cli",
    "run_synthesis",
    "select_territories",
    "territory_fingerprint",
]
