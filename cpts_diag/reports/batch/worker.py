"""What runs in a worker (a local worker process or a Dask worker): one territory's report, in a kept kernel.

:func:`run_one` is the task function of both executors; it never raises for a report failure (the record says
« échec » with a French one-line message). A local worker ends with its batch: it sends itself SIGTERM when the
batch's process ends (:func:`worker_init`), kills its Jupyter kernels and exits; a kernel also exits by itself
when its worker is gone (ipykernel's parent poller, ``JPY_PARENT_PID``); the fork server and the resource
tracker then see their last pipe closed and exit.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import hashlib
import os
import select
import shutil
import signal
import tempfile
import threading
import time
from pathlib import Path

from cpts_diag import settings
from cpts_diag.errors import InputError, error_message
from cpts_diag.io.fingerprint import run_fingerprint
from cpts_diag.io.params import cpam_choice
from cpts_diag.outputs.html import json_ready
from cpts_diag.reports.batch.plan import Task
from cpts_diag.reports.batch.records import INTERRUPTED
from cpts_diag.reports.index_page import STATUS_FAILED, STATUS_OK

_STOP = None  # multiprocessing.Event set by the parent when the batch is interrupted
#: Scratch folders of the reports: ``cpts_diag_travail_<pid of the worker>_<random>`` in the temporary folder.
SCRATCH_PREFIX = "cpts_diag_travail_"


def _on_sigterm(signum, frame):  # pragma: no cover - runs in worker processes
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise SystemExit(128 + signum)


def _end_with_batch(batch_pid: int) -> None:  # pragma: no cover - runs in worker processes
    """SIGTERM to this worker as soon as the batch's process ends, however it ends (``kill -9`` included).

    The worker's parent is the fork server, which outlives the batch while a worker lives (each worker holds
    the fork server's "alive" pipe): so a thread waits on the batch's process itself (a pidfd on Linux, else a
    poll every second).
    """

    def watch() -> None:
        try:
            fd = os.pidfd_open(batch_pid)
        except (AttributeError, OSError):  # not Linux ≥ 5.3 (or the batch is already gone: the poll ends at once)
            while _alive(batch_pid):
                time.sleep(1.0)  # pragma: no cover - not Linux
        else:
            select.select([fd], [], [])  # readable when the process ends
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="fin-du-lot", daemon=True).start()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # alive, another user's
        pass
    return True


def worker_init(stop_event, log_path, batch_pid: int | None = None) -> None:  # pragma: no cover - in workers
    """Worker set-up. Ctrl-C is handled by the parent (ignored here); SIGTERM (from the batch, or sent to itself
    when the process ``batch_pid`` ends) unwinds the running report (its temporary folder is removed), kills its
    kernels and ends the worker. The technical messages of the worker and of its Jupyter kernels (stderr) go to
    ``batch.log`` instead of the user's terminal."""
    global _STOP
    _STOP = stop_event
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _on_sigterm)
    if batch_pid:
        _end_with_batch(batch_pid)
    # Imported before stderr moves to batch.log: an import error is written where the batch looks for the
    # cause of a worker that could not start (_START_LOG).
    import cpts_diag.reports.runner  # noqa: F401  (import once per worker, not per territory)

    if log_path:
        with contextlib.suppress(OSError):
            fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            os.dup2(fd, 2)
            os.close(fd)

    # The libraries imported by the fork server stay for the life of the worker: frozen, they are left out
    # of the garbage collector's full passes (~0.1 s each) and their pages stay shared with the server.
    gc.freeze()


def _end_worker(code: int) -> None:  # pragma: no cover - runs in worker processes
    """Kill this worker's Jupyter kernels and exit at once."""
    from cpts_diag.reports.runner import kill_kernels

    kill_kernels()
    os._exit(code)


_SESSIONS = threading.local()  # one warm kernel per worker thread
_ALL_SESSIONS: list = []


def close_sessions() -> None:  # pragma: no cover - runs in worker processes at exit
    while _ALL_SESSIONS:
        with contextlib.suppress(Exception):  # best effort at exit; kernels also exit with their parent
            _ALL_SESSIONS.pop().close()


def kernel_session():
    """This thread's kept kernel (:class:`cpts_diag.reports.runner.KernelSession`), created on first use."""
    session = getattr(_SESSIONS, "session", None)
    if session is None:
        from cpts_diag.reports.runner import KernelSession

        if not _ALL_SESSIONS:
            import atexit
            from multiprocessing import util

            atexit.register(close_sessions)
            util.Finalize(None, close_sessions, exitpriority=10)  # multiprocessing children skip atexit
            # A Dask worker imports the report libraries at its first territory: frozen there, as the local
            # workers do after the fork server's imports (the collector's full passes skip them).
            gc.freeze()
        session = _SESSIONS.session = KernelSession()
        _ALL_SESSIONS.append(session)
    return session


# Inputs of a Dask run: the client's files travel as bytes and are written once per worker machine.
_INPUT_ROLES = ("perimeters", "cpam", "insee_ages", "bpe", "notebook")


@functools.cache
def environment_hash() -> str:
    """Hash of the package source and the embedded data (a Dask worker must have the client's)."""
    return run_fingerprint()


def _file_inputs(task: Task) -> dict[str, Path]:
    """The input files of ``task`` (the CPAM choice when it is a file), resolved: role -> path."""
    files = {role: settings.user_path(getattr(task, role) or None) for role in _INPUT_ROLES}
    return {
        role: path
        for role, path in files.items()
        if path is not None and (role != "cpam" or cpam_choice(task.cpam).mode == "fichier")
    }


def input_files(task: Task) -> dict[str, tuple[str, str, bytes]]:
    """The client's input files of a batch: client path -> (sha256, file name, bytes)."""
    files = {}
    for path in _file_inputs(task).values():
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InputError("fichier illisible", path=path) from exc
        files[str(path)] = (hashlib.sha256(data).hexdigest(), path.name, data)
    return files


def _materialize_inputs(inputs: dict) -> dict[str, str]:
    """Write the client's input files on this machine (once per content); client path -> local path."""
    from cpts_diag.io.atomic import atomic_write_bytes

    uid = os.getuid() if hasattr(os, "getuid") else 0
    root = Path(tempfile.gettempdir()) / f"cpts_diag_entrees_{uid}"
    local = {}
    for client_path, (digest, name, data) in inputs.items():
        path = root / digest / name
        if not path.is_file():
            atomic_write_bytes(path, data)
        local[client_path] = str(path)
    return local


def entry(task: Task, status: str, duration_s: float | None, error: str | None, **fields) -> dict:
    """Record of ``task`` for ``batch.json``: name, slug, fingerprint, status, duration, error, then ``fields``."""
    return dict(
        name=task.name,
        slug=task.slug,
        fingerprint=task.fingerprint,
        status=status,
        duration_s=duration_s,
        error=error,
        **fields,
    )


def remove_stale_scratch() -> list[Path]:
    """Remove the scratch folders of workers that are gone (killed before their clean-up); return them."""
    removed = []
    for path in Path(tempfile.gettempdir()).glob(f"{SCRATCH_PREFIX}*_*"):
        pid = path.name[len(SCRATCH_PREFIX) :].split("_", 1)[0]
        if pid.isdigit() and path.is_dir() and not _alive(int(pid)):  # no such process: its folder is an orphan
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def run_one(task: Task, inputs: dict | None = None) -> dict:
    """Build one territory's report (in a worker process or on a Dask worker); never raises for a report failure.

    Locally (``task.deliver == "folder"``) the report is built and swapped into ``out_dir/<slug>`` by
    :func:`cpts_diag.reports.runner.build_report`. On a Dask worker (``"files"``), the input files come as bytes
    (``inputs``, see :func:`input_files`), the report is built in a scratch folder of the worker, and its files are
    returned as bytes in ``entry["files"]`` for the client to write atomically
    (:func:`cpts_diag.reports.batch.cluster.accept_files`): no shared file system.
    """
    t0 = time.perf_counter()
    if _STOP is not None and _STOP.is_set():
        return entry(task, INTERRUPTED, 0.0, "interrompu avant le début")
    from cpts_diag.reports.folder import REPORT_FILES
    from cpts_diag.reports.runner import build_report

    remote = task.deliver == "files"
    work = Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}_"))
    files = None
    try:
        args = {role: getattr(task, role) for role in _INPUT_ROLES}
        out_dir, shown = Path(task.out_dir), {}
        if remote:
            if task.environment != environment_hash():
                raise RuntimeError(
                    "ce worker Dask n'a pas la même version de cpts_diag ou des données embarquées "
                    "que le poste qui lance le lot : installez la même version partout"
                )
            local = _materialize_inputs(inputs or {})
            args.update({role: local[str(path)] for role, path in _file_inputs(task).items()})
            shown = {v: k for k, v in local.items()}
            out_dir = work / "rapports"
            shown[str(out_dir / task.slug)] = str(Path(task.out_dir) / task.slug)
        res = build_report(
            task.name,
            out_dir=out_dir,
            timeout=task.timeout,
            slug=task.slug,
            session=kernel_session(),
            shown_paths=shown,
            **args,
        )
        if remote:
            files = {name: (res.directory / name).read_bytes() for name in REPORT_FILES.values()}
    except SystemExit as exc:  # SIGTERM from the parent: the report folder was cleaned up by build_report
        if _STOP is None:
            raise
        _end_worker(exc.code if isinstance(exc.code, int) else 143)
    except Exception as exc:  # noqa: BLE001 - one failure must not stop the batch
        return entry(task, STATUS_FAILED, round(time.perf_counter() - t0, 3), error_message(exc))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    record = json_ready(
        entry(
            task,
            STATUS_OK,
            round(time.perf_counter() - t0, 3),
            None,
            # build_report's paths are out_dir/<slug>/<file>
            outputs={kind: path.relative_to(out_dir).as_posix() for kind, path in res.outputs.items()},
            **{k: getattr(res, k) for k in ("population", "population_min", "population_max", "tier")},
            **{k: res.summary.get(k) for k in ("tier_min", "tier_max")},
            key_figures=res.key_figures or {},
            fictitious=bool(res.fictitious),
            perimeter=res.summary.get("perimeter"),
        )
    )
    if files is not None:
        record["files"] = files
    return record
