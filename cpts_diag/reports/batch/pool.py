"""The local executor: a pool of worker processes forked from a fork server, its failures, its interruption.

Ctrl-C (SIGINT) or SIGTERM stops cleanly: no new report is started, running ones are stopped (their temporary
folders removed; a report folder is only ever swapped in complete). When a worker dies (the pool is then
broken), :func:`pool_failure` says why: the exception of a worker that could not start, else the signal that
killed it, else its exit code.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import multiprocessing as mp
import os
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from cpts_diag.errors import error_message
from cpts_diag.reports.batch.plan import Task
from cpts_diag.reports.batch.records import LOG_FILE
from cpts_diag.reports.batch.worker import entry, run_one, worker_init
from cpts_diag.reports.index_page import STATUS_FAILED


def mp_context():
    """forkserver (POSIX) or spawn; fork when the main script cannot be re-imported (e.g. read from stdin)."""
    methods = mp.get_all_start_methods()
    main_file = getattr(sys.modules.get("__main__"), "__file__", None)
    if main_file and not Path(main_file).is_file() and "fork" in methods:
        return mp.get_context("fork")
    if "forkserver" not in methods:
        return mp.get_context("spawn")
    ctx = mp.get_context("forkserver")
    # Workers fork from a server that has imported these once, instead of importing them each.
    ctx.set_forkserver_preload(["cpts_diag.reports.runner", "papermill", "nbconvert"])
    _ensure_fork_server()
    return ctx


#: The fork server's stderr, and so that of every worker until its set-up is done (see _ensure_fork_server).
_START_LOG = None


def _ensure_fork_server() -> None:
    """Start this process's fork server, unless it runs, with a safe ``sys.path`` and a private stderr.

    The server is started as ``python -c …``, which puts the current folder first on ``sys.path`` (Python 3.11
    does not give it the parent's), so a folder named ``cpts_diag`` there (a clone of the project, say) was
    imported instead of the installed package and no worker could start. ``PYTHONSAFEPATH=1`` keeps the
    current folder out of the server, of the workers it forks and of the Jupyter kernels they start. Its stderr
    goes to a private anonymous file (:data:`_START_LOG`): a worker that fails before its set-up writes its
    traceback there (:func:`pool_failure` reads the cause back), never on the user's terminal.
    """
    from multiprocessing import forkserver

    global _START_LOG
    if _START_LOG is None:
        _START_LOG = tempfile.TemporaryFile(prefix="cpts_diag-demarrage-")  # no name: nothing to clean up
    saved_env = os.environ.get("PYTHONSAFEPATH")
    sys.stderr.flush()
    saved_stderr = os.dup(2)
    try:
        os.environ["PYTHONSAFEPATH"] = "1"
        os.dup2(_START_LOG.fileno(), 2)
        forkserver.ensure_running()  # does nothing when the server runs
    finally:
        os.dup2(saved_stderr, 2)
        os.close(saved_stderr)
        if saved_env is None:
            os.environ.pop("PYTHONSAFEPATH", None)
        else:
            os.environ["PYTHONSAFEPATH"] = saved_env


def _start_log_size() -> int:
    return os.fstat(_START_LOG.fileno()).st_size if _START_LOG is not None else 0


def _start_log_since(since: int) -> bytes:
    """What the fork server and starting workers wrote after byte ``since`` (read without moving the offset
    they write at)."""
    if _START_LOG is None:
        return b""
    return os.pread(_START_LOG.fileno(), max(0, _start_log_size() - since), since)


def _exception_line(text: str) -> str | None:
    """The exception of the last traceback in ``text`` as ``Type : message`` (message on one line), else None.

    Examples
    --------
    >>> tb = "Traceback (most recent call last):\\n  File \\"x.py\\", line 1\\n"
    >>> _exception_line(tb + "mod.KeyError: 'a'\\n")
    "KeyError : 'a'"
    >>> _exception_line(tb + "RuntimeError: \\n   Two\\n   lines.\\n\\n  More.")
    'RuntimeError : Two lines.'
    """
    _, found, last = text.rpartition("Traceback (most recent call last):")
    if not found:
        return None
    lines = last.splitlines()
    at = next((i for i, ln in enumerate(lines) if ln.strip() and not ln[0].isspace()), None)
    if at is None:
        return None
    kind, _, message = lines[at].partition(":")
    words = message.split()
    if not words:  # a message on the following lines (e.g. multiprocessing's RuntimeError)
        following = lines[at + 1 :]
        end = next((i for i, ln in enumerate(following) if ln.strip() == "" and i > 0), len(following))
        words = " ".join(following[:end]).split()
    kind = kind.strip().rsplit(".", 1)[-1]
    return f"{kind} : {' '.join(words)}" if words else kind


class Interrupt(Exception):
    """SIGTERM received by the parent (treated like Ctrl-C)."""


def _stop_workers(executor, stop_event, futures, grace: float = 20.0) -> None:
    """Stop a pool after an interruption: nothing new starts, running reports unwind, then the pool closes."""
    stop_event.set()
    for fut in futures:
        fut.cancel()
    processes = list((getattr(executor, "_processes", None) or {}).values())
    for p in processes:
        with contextlib.suppress(OSError, ValueError, AttributeError):
            p.terminate()  # SIGTERM: the worker unwinds (temporary report folder removed)
    deadline = time.monotonic() + grace
    for p in processes:
        with contextlib.suppress(OSError, ValueError, AttributeError, AssertionError):
            p.join(max(0.0, deadline - time.monotonic()))
            if p.is_alive():
                p.kill()
                p.join(2)
    executor.shutdown(wait=False, cancel_futures=True)


@dataclass
class PoolFailure:
    """Why a process pool broke: French ``message``; ``at_start``: a worker failed before its set-up ended."""

    message: str
    at_start: bool


def pool_failure(processes, log_from: int, log_path) -> PoolFailure:
    """Why the workers of a broken pool ended: the exception of a worker that could not start, written in
    :data:`_START_LOG` since byte ``log_from`` (copied into ``batch.log``), else the signal that killed one,
    else its exit code."""
    for p in processes:
        with contextlib.suppress(OSError, ValueError, AssertionError):
            p.join(5)
    written = _start_log_since(log_from)
    cause = _exception_line(written.decode("utf-8", errors="replace"))
    if cause:
        if log_path:
            with contextlib.suppress(OSError), open(log_path, "ab") as log:
                log.write(written)
        return PoolFailure(f"le processus de calcul n'a pas pu démarrer : {cause}", True)
    codes = [code for p in processes if (code := getattr(p, "exitcode", None)) is not None]
    killed = next((-code for code in codes if code < 0), None)
    if killed is not None or not codes:
        try:
            how = f"a été arrêté par le signal {signal.Signals(killed or 0).name}"
        except ValueError:
            how = "s'est arrêté brutalement"
        message = f"le processus de calcul {how} (mémoire insuffisante ou arrêt forcé ?) ; relancez ce territoire seul"
        return PoolFailure(message, False)
    return PoolFailure(
        f"le processus de calcul s'est arrêté sans message (code de sortie {codes[0]}) ; voir {LOG_FILE}", False
    )


def run_pool(tasks, n_workers, ctx, stop_event, on_result, log_path=None) -> tuple[list, PoolFailure | None]:
    """Run ``tasks`` in one process pool; return the tasks lost because the pool broke, and why it broke. Raises
    KeyboardInterrupt / Interrupt after stopping the pool cleanly."""
    log_from = _start_log_size()
    executor = cf.ProcessPoolExecutor(
        max_workers=n_workers, mp_context=ctx, initializer=worker_init, initargs=(stop_event, log_path, os.getpid())
    )
    futures: dict[cf.Future, Task] = {}
    broken: list[Task] = []
    try:
        for i, task in enumerate(tasks):
            try:
                futures[executor.submit(run_one, task)] = task
            except cf.process.BrokenProcessPool:  # a worker already failed to start
                broken.extend(tasks[i:])
                break
        # The pool's own table of its worker processes, kept to read their exit codes once it broke.
        processes = getattr(executor, "_processes", None)
        for fut in cf.as_completed(futures):
            task = futures[fut]
            try:
                record = fut.result()
            except cf.process.BrokenProcessPool:
                broken.append(task)
                continue
            except Exception as exc:  # noqa: BLE001 - e.g. an unpicklable result
                record = entry(task, STATUS_FAILED, None, error_message(exc))
            on_result(record)
        executor.shutdown(wait=True)
    except (KeyboardInterrupt, Interrupt):
        try:
            _stop_workers(executor, stop_event, futures)
        except (KeyboardInterrupt, Interrupt):  # second Ctrl-C: stop at once
            for p in list((getattr(executor, "_processes", None) or {}).values()):
                p.kill()
            executor.shutdown(wait=False, cancel_futures=True)
        for fut in futures:  # reports finished just before the interruption
            if fut.done() and not fut.cancelled() and fut.exception() is None:
                on_result(fut.result())
        raise
    return broken, (pool_failure(list((processes or {}).values()), log_from, log_path) if broken else None)


@contextlib.contextmanager
def sigterm_interrupts():
    """Within the block, SIGTERM raises :class:`Interrupt` in the main thread (handled like Ctrl-C)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _term(signum, frame):
        raise Interrupt()

    old_term = signal.signal(signal.SIGTERM, _term)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old_term)
