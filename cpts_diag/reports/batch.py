"""Batch of territory reports: parallel runs, ``batch.json``, ``index.html``, incremental re-runs.

:func:`run_batch` builds the diagnostic report of many territories (all of a perimeter file, the
``only`` ones, or those with a commune in a ``region``) with :func:`cpts_diag.reports.runner.build_report`,
in worker processes (each keeps a warm Jupyter kernel across its reports), or with ``cluster=`` as
tasks on a ``dask.distributed`` cluster (report files sent back as bytes and written here atomically).
Both executors run the same task function (:func:`_run_one`) and result handling. One failure does
not stop the others: its French one-line message is recorded.

* ``out_dir/batch.json`` records, per territory: name, slug, status (``ok`` | ``échec`` |
  ``inchangé``), duration, outputs (paths relative to ``out_dir``), error message, fingerprint,
  population (and bounds), ACI tier and key figures. It is rewritten atomically as territories end
  (at most every :data:`STATE_EVERY_S` seconds: a national document is 3 MB) and at the end, also after
  an interruption, so an interrupted batch keeps what was done.
* ``out_dir/index.html`` (:mod:`cpts_diag.reports.index_page`) links every report, map and workbook.
* A re-run redoes only what changed or failed: each territory has a *fingerprint*, the SHA-256 of
  its member rows (name, codes, arrondissements, infra-communal flag; not the line numbers), of the
  embedded data files, of the user files used (CPAM table, INSEE ages, BPE), of the report notebook
  and of the package source. A territory is skipped (status ``inchangé``) when its fingerprint equals
  the recorded one, its previous status was ok and its outputs are all present; ``force=True``
  redoes everything. Limitation: a change in a *neighbouring* territory's perimeter (drawn on the
  maps) does not change the fingerprint; use ``force`` after such edits.
* Ctrl-C (SIGINT) or SIGTERM stops cleanly: no new report is started, running ones are stopped
  (their temporary folders removed; a report folder is only ever swapped in complete), and
  ``batch.json`` and ``index.html`` are written for what is done. The exit code is then 130.

Examples
--------
>>> result = run_batch(only=["CPTS Marseille-7"], out_dir="reports")  # skipped: writes reports/  # doctest: +SKIP
>>> result.exit_code, result.index  # skipped: needs the batch above  # doctest: +SKIP
(0, PosixPath('reports/index.html'))
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import datetime as _dt
import functools
import gc
import hashlib
import json
import multiprocessing as mp
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from cpts_diag import fr_format as fr
from cpts_diag import settings
from cpts_diag.errors import InputError, error_message, shown_paths
from cpts_diag.io.atomic import atomic_write_text, file_sha256
from cpts_diag.io.fingerprint import run_fingerprint
from cpts_diag.io.params import cpam_choice
from cpts_diag.outputs.html import json_ready
from cpts_diag.reports.index_page import (
    INDEX_FILE,
    STATUS_FAILED,
    STATUS_OK,
    STATUS_UNCHANGED,
    region_study_area_text,
    write_index,
)

__all__ = [
    "BATCH_FILE",
    "INDEX_FILE",
    "LOG_FILE",
    "STATUS_FAILED",
    "STATUS_OK",
    "STATUS_UNCHANGED",
    "BatchResult",
    "error_message",
    "refresh_index",
    "run_batch",
    "run_batch_cli",
    "run_synthesis",
    "select_territories",
    "territory_fingerprint",
]

BATCH_FILE = "batch.json"
_BATCH_FORMAT = 1
_INTERRUPTED = "interrompu"
#: Shortest interval between two writes of ``batch.json`` during a batch (seconds).
STATE_EVERY_S = 3.0


# ---------------------------------------------------------------------------
# result
# ---------------------------------------------------------------------------
@dataclass
class BatchResult:
    """What :func:`run_batch` did.

    ``entries`` are the records of the territories of this run, as written in ``batch.json``; ``out_dir``
    is the output folder, ``index`` and ``batch_json`` its ``index.html`` and ``batch.json``; ``duration``
    is in seconds, end to end; ``interrupted`` means the run was stopped by Ctrl-C / SIGTERM; ``regions`` are the
    records of the régions of the ARS view (:func:`cpts_diag.reports.regional_view.run_regional_views`).
    """

    entries: list[dict]
    out_dir: Path
    index: Path
    batch_json: Path
    duration: float
    interrupted: bool = False
    fictitious: bool = False
    counts: dict[str, int] = field(default_factory=dict)
    regions: list[dict] = field(default_factory=list)

    @property
    def failed(self) -> list[dict]:
        """Records of the territories whose report failed."""
        return [e for e in self.entries if e["status"] == STATUS_FAILED]

    @property
    def exit_code(self) -> int:
        """130 when interrupted, 1 when a territory or a regional view failed, else 0."""
        if self.interrupted:
            return 130
        return 1 if self.failed or any(r.get("status") == STATUS_FAILED for r in self.regions) else 0


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------
def _context_hash(cpam, insee_ages, bpe) -> str:
    """Hash of everything but the perimeter: data, user files, notebook, package."""
    from cpts_diag.reports.runner import NOTEBOOK

    # The perimeter listings are covered by each territory's member rows.
    return run_fingerprint(
        {"cpam": cpam, "insee_ages": insee_ages, "bpe": bpe},
        notebook=file_sha256(NOTEBOOK) if Path(NOTEBOOK).is_file() else None,
    )


def territory_fingerprint(table, name: str, context: str, findings: dict | None = None) -> str:
    """SHA-256 fingerprint of one territory: its member rows, the run context hash and its perimeter findings.

    ``table`` is the canonical perimeter table (``cpts``, ``code_insee``, ``arrondissement``,
    ``infracommunal``); ``context`` the hash of the data, user files, notebook and package (see the
    module docstring); ``findings`` the territory's check findings (:func:`cpts_diag.checks.territory_findings`),
    which other territories of the file change (an overlap, an orphan around it), shown by its report.
    """
    rows = table[table["cpts"].astype(str) == name]
    cols = [c for c in ("code_insee", "arrondissement", "infracommunal") if c in rows.columns]
    members = sorted(["" if fr.is_missing(v) else str(v) for v in rec] for rec in rows[cols].itertuples(index=False))
    doc = {"name": name, "members": members, "context": context, "perimeter": findings}
    return hashlib.sha256(json.dumps(doc, ensure_ascii=False, sort_keys=True).encode("utf-8")).hexdigest()


def select_territories(perimeters, only=None, region=None, reference=None) -> list[str]:
    """Names of the territories of a batch, in file order.

    ``perimeters`` are read by :func:`cpts_diag.io.perimeters.read_perimeters`. ``only`` keeps these names
    (resolved with :func:`cpts_diag.indicators.find_territory`: exact, or a unique close match); ``region``
    (a code) keeps the territories with at least one commune in that région. Raises :class:`InputError`
    for an unknown territory (close names listed) or région code, or when no territory is left.
    """
    from cpts_diag.indicators import find_territory
    from cpts_diag.reference import load_reference
    from cpts_diag.territories import territories_in_region

    names = list(dict.fromkeys(perimeters.table["cpts"].astype(str)))
    path = Path(perimeters.source) if getattr(perimeters, "source", None) else None
    selected = names
    if only:
        wanted = {q if q in names else find_territory(names, q) for q in map(str, only)}
        selected = [n for n in selected if n in wanted]
    if region not in (None, ""):
        reference = reference or load_reference()
        code = reference.region_code(region, "option --region")
        in_region = set(territories_in_region(perimeters, code, reference))
        selected = [n for n in selected if n in in_region]
        if not selected:
            raise InputError(f"aucun territoire n'a de commune dans la région {code}", path=path)
    return selected


def _read_doc(path: Path) -> dict:
    """A previous ``batch.json`` document (empty when absent or unreadable)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


def _read_previous(doc: dict) -> dict[str, dict]:
    """Records of a previous ``batch.json`` document by territory name."""
    entries = doc.get("territories")
    return {e["name"]: e for e in entries if isinstance(e, dict) and "name" in e} if isinstance(entries, list) else {}


# ---------------------------------------------------------------------------
# worker side
# ---------------------------------------------------------------------------
_STOP = None  # multiprocessing.Event set by the parent when the batch is interrupted
LOG_FILE = "batch.log"


def _on_sigterm(signum, frame):  # pragma: no cover - runs in worker processes
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise SystemExit(128 + signum)


def _worker_init(stop_event, log_path) -> None:  # pragma: no cover - runs in worker processes
    """Worker set-up.

    Ctrl-C is handled by the parent (ignored here); SIGTERM unwinds the running report (its temporary
    folder is removed) and ends the worker. The technical messages of the worker and of its Jupyter
    kernels (stderr) go to ``batch.log`` instead of the user's terminal.
    """
    global _STOP
    _STOP = stop_event
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _on_sigterm)
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
    """Kill this worker's children (Jupyter kernels) and exit at once."""
    with contextlib.suppress(ImportError):
        import psutil

        for child in psutil.Process().children(recursive=True):
            with contextlib.suppress(psutil.Error):
                child.kill()
    os._exit(code)


_SESSIONS = threading.local()  # one warm kernel per worker thread
_ALL_SESSIONS: list = []


def _close_sessions() -> None:  # pragma: no cover - runs in worker processes at exit
    while _ALL_SESSIONS:
        with contextlib.suppress(Exception):  # best effort at exit; kernels also exit with their parent
            _ALL_SESSIONS.pop().close()


def _kernel_session():
    """This thread's kept kernel (:class:`cpts_diag.reports.runner.KernelSession`), created on first use."""
    session = getattr(_SESSIONS, "session", None)
    if session is None:
        from cpts_diag.reports.runner import KernelSession

        if not _ALL_SESSIONS:
            import atexit
            from multiprocessing import util

            atexit.register(_close_sessions)
            util.Finalize(None, _close_sessions, exitpriority=10)  # multiprocessing children skip atexit
            # A Dask worker imports the report libraries at its first territory: frozen there, as the local
            # workers do after the fork server's imports (the collector's full passes skip them).
            gc.freeze()
        session = _SESSIONS.session = KernelSession()
        _ALL_SESSIONS.append(session)
    return session


#: Test-only hook (never documented for users): JSON ``{"territory": NAME, "action": ACTION,
#: "once_file": PATH}`` (or a list of them) makes the worker run NAME's report with a notebook whose
#: first cell after the parameters kills the kernel (``kill-kernel``), hangs (``hang``) or kills the
#: worker process running the kernel (``kill-worker``). With ``once_file``, only the attempt that
#: creates that file does so (deterministic "crash on the first attempt").
TEST_HOOK_ENV = "CPTS_DIAG_TEST_HOOK"
_HOOK_CELLS = {
    "kill-kernel": "import os\nos._exit(1)",
    "hang": "import time\ntime.sleep(3600)",
    "kill-worker": "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nos._exit(1)",
}


def _test_hook_notebook(name: str, workdir: Path) -> Path | None:
    """Notebook of the test hook for territory ``name`` (see :data:`TEST_HOOK_ENV`), else None."""
    try:
        hooks = json.loads(os.environ.get(TEST_HOOK_ENV) or "[]")
    except ValueError:
        return None
    hooks = hooks if isinstance(hooks, list) else [hooks]
    hook = next(
        (h for h in hooks if isinstance(h, dict) and h.get("territory") == name and h.get("action") in _HOOK_CELLS),
        None,
    )
    if hook is None:
        return None
    if hook.get("once_file"):
        try:
            os.close(os.open(hook["once_file"], os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return None
    import nbformat

    from cpts_diag.reports.runner import NOTEBOOK

    nb = nbformat.read(str(NOTEBOOK), as_version=4)
    at = next((i + 1 for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])), 0)
    nb.cells.insert(at, nbformat.v4.new_code_cell(_HOOK_CELLS[hook["action"]]))
    path = workdir / "test_hook.ipynb"
    nbformat.write(nb, str(path))
    return path


# Inputs of a Dask run: the client's files travel as bytes and are written once per worker machine.
_INPUT_ROLES = ("perimeters", "cpam", "insee_ages", "bpe")


@functools.cache
def _environment_hash() -> str:
    """Hash of the package source and the embedded data (a Dask worker must have the client's)."""
    return run_fingerprint()


def _file_inputs(task: dict) -> dict[str, Path]:
    """The input files of ``task`` (the CPAM choice when it is a file), resolved: role -> path."""
    return {
        role: settings.user_path(value)
        for role in _INPUT_ROLES
        if (value := task.get(role)) not in (None, "") and (role != "cpam" or cpam_choice(value).mode == "fichier")
    }


def _input_files(task: dict) -> dict[str, tuple[str, str, bytes]]:
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
    for client_path, (digest, name, data) in (inputs or {}).items():
        path = root / digest / name
        if not path.is_file():
            atomic_write_bytes(path, data)
        local[client_path] = str(path)
    return local


def _entry(task: dict, status: str, duration_s: float | None, error: str | None, **fields) -> dict:
    """Record of ``task`` for ``batch.json``: name, slug, fingerprint, status, duration, error, then ``fields``."""
    return dict(
        {k: task[k] for k in ("name", "slug", "fingerprint")},
        status=status,
        duration_s=duration_s,
        error=error,
        **fields,
    )


def _run_one(task: dict, inputs: dict | None = None) -> dict:
    """Build one territory's report (in a worker process or on a Dask worker); never raises for a
    report failure.

    The task is the same for both executors. Locally (``task["deliver"] == "folder"``) the report is
    built and swapped into ``out_dir/<slug>`` by :func:`cpts_diag.reports.runner.build_report`. On a Dask
    worker (``"files"``), the input files come as bytes (``inputs``, see :func:`_input_files`), the
    report is built in a scratch folder of the worker, and its files are returned as bytes in
    ``entry["files"]`` for the client to write atomically (:func:`_accept_files`): no shared file system.
    """
    t0 = time.perf_counter()
    if _STOP is not None and _STOP.is_set():
        return _entry(task, _INTERRUPTED, 0.0, "interrompu avant le début")
    from cpts_diag.reports.folder import REPORT_FILES
    from cpts_diag.reports.runner import build_report

    remote = task.get("deliver") == "files"
    work = Path(tempfile.mkdtemp(prefix="cpts_diag_travail_"))
    files = None
    try:
        args = {role: task.get(role) for role in _INPUT_ROLES}
        out_dir, shown = Path(task["out_dir"]), {}
        if remote:
            if task.get("environment") != _environment_hash():
                raise RuntimeError(
                    "ce worker Dask n'a pas la même version de cpts_diag ou des données embarquées "
                    "que le poste qui lance le lot : installez la même version partout"
                )
            local = _materialize_inputs(inputs)
            args.update({role: local[str(path)] for role, path in _file_inputs(task).items()})
            shown = {v: k for k, v in local.items()}
            out_dir = work / "rapports"
            shown[str(out_dir / task["slug"])] = str(Path(task["out_dir"]) / task["slug"])
        res = build_report(
            task["name"],
            out_dir=out_dir,
            timeout=task["timeout"],
            slug=task["slug"],
            session=_kernel_session(),
            notebook=_test_hook_notebook(task["name"], work),
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
        return _entry(task, STATUS_FAILED, round(time.perf_counter() - t0, 3), error_message(exc))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    entry = json_ready(
        _entry(
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
        entry["files"] = files
    return entry


# ---------------------------------------------------------------------------
# parent side
# ---------------------------------------------------------------------------
def _mp_context():
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
    traceback there (:func:`_pool_failure` reads the cause back), never on the user's terminal.
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


def _write_state(
    out_dir: Path, entries: dict[str, dict], meta: dict, *, index: bool, interrupted: bool = False
) -> None:
    """Write ``batch.json`` (and, with ``index``, ``index.html`` from the same document)."""
    done = [e for e in entries.values() if e.get("status") in (STATUS_OK, STATUS_FAILED, STATUS_UNCHANGED)]
    now = _dt.datetime.now().isoformat(timespec="seconds")
    doc = json_ready(dict(meta, interrupted=interrupted, updated=now, territories=done))
    atomic_write_text(out_dir / BATCH_FILE, json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
    if index:
        _write_index_of(out_dir, doc)


def _write_index_of(out_dir: Path, doc: dict) -> Path:
    """Write ``index.html`` of a ``batch.json`` document (perimeter file name, fictitious data, interruption)."""
    entries = [e for e in doc.get("territories", []) if isinstance(e, dict) and "name" in e]
    perimeters = doc.get("perimeters")
    regions = [r for r in doc.get("regions") or [] if isinstance(r, dict) and "code" in r]
    return write_index(
        out_dir,
        entries,
        perimeters_name=Path(perimeters).name if perimeters else None,
        interrupted=bool(doc.get("interrupted")),
        fictitious=doc.get("cpam") == "exemple" or any(e.get("fictitious") for e in entries),
        regions=regions,
    )


class _Interrupt(Exception):
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


def run_batch(
    perimeters=None,
    only=None,
    region=None,
    workers: int = 2,
    out_dir=None,
    cpam=None,
    force: bool = False,
    progress: bool = True,
    *,
    insee_ages=None,
    bpe=None,
    timeout: int = 600,
    cluster: str | None = None,
    territory: str | None = None,
    regional: bool | None = None,
) -> BatchResult:
    """Build the reports of many territories in parallel, and the ARS view; write ``batch.json`` and ``index.html``.

    ``perimeters`` defaults to the embedded PACA listing (:data:`settings.DEFAULT_PERIMETERS`), ``out_dir`` to
    :data:`settings.REPORTS_DIR`. ``only`` names the territories to build (the others of the file are left as
    they are); ``region``, a région code, keeps those with at least one commune in it. ``workers`` worker
    processes run the reports in parallel. ``cpam`` is the CPAM / Rézone table: a path, ``"exemple"``
    (embedded FICTITIOUS table), ``"aucun"``, or None for the default (the example with the embedded PACA
    listing only, :func:`cpts_diag.io.params.cpam_choice`); ``insee_ages`` and ``bpe`` are user files passed to every
    report; ``timeout`` is the maximum number of seconds per notebook cell. ``force`` rebuilds every selected
    territory even when unchanged; ``progress`` shows a progress bar (stderr).

    ``territory`` names the territory of a file without territory column (default: its title line, else its
    file name; ignored, with a remark on stderr, for a file with a territory column).

    ``cluster``, the address of a ``dask.distributed`` scheduler (``tcp://HOST:8786``), runs the territories
    as tasks on its workers (``workers`` is then ignored) instead of local worker processes; their report
    files come back as bytes and are written here atomically, so the workers need no access to this
    machine's files.

    ``regional`` (default: when ``only`` is not given) first writes the ARS view of the file, on this machine:
    for ``region`` (declared as study area), or for each région where the file has a commune (study area by
    :data:`cpts_diag.checks.REGION_VIEW_RULE`), the perimeter check, the regional
    synthesis and the regional map in a folder per région
    (:func:`cpts_diag.reports.regional_view.run_regional_views`), linked from the index; unchanged régions are
    kept. Without it, the régions of the last run stay as they are.

    Relative paths are taken from the current folder (:func:`settings.user_path`).

    The result's ``exit_code`` is 1 when a territory or a région failed, 130 when interrupted. Raises
    :class:`InputError` for an unreadable perimeter file, an unknown territory in ``only`` or an unknown région;
    with ``cluster``, when dask is not installed or the scheduler is unreachable.
    """
    from cpts_diag.checks import check_perimeters, territory_findings
    from cpts_diag.io.perimeters import ignored_name_note, read_perimeters
    from cpts_diag.reference import load_reference
    from cpts_diag.reports.folder import unique_slugs

    t0 = time.perf_counter()
    perimeters_path = settings.user_path(perimeters) or Path(settings.DEFAULT_PERIMETERS)
    out_dir = settings.user_path(out_dir) or Path(settings.REPORTS_DIR)
    choice = cpam_choice(cpam, perimeters_path)
    cpam, insee_ages, bpe = choice.value, settings.user_path(insee_ages), settings.user_path(bpe)
    reference = load_reference()
    perims = read_perimeters(perimeters_path, names_by_code=reference.names, territory=territory)
    if note := ignored_name_note(perims, territory):
        print(note, file=sys.stderr)
    names = select_territories(perims, only=only, region=region, reference=reference)
    all_names = list(dict.fromkeys(perims.table["cpts"].astype(str)))
    slugs = unique_slugs(all_names)
    context = _context_hash(cpam, insee_ages, bpe)
    out_dir.mkdir(parents=True, exist_ok=True)
    previous_doc = _read_doc(out_dir / BATCH_FILE)
    previous = _read_previous(previous_doc)
    # Keep the records of territories of the same file not selected this time (index stays complete).
    entries: dict[str, dict] = {n: previous[n] for n in all_names if n in previous and n not in names}
    same_file = previous_doc.get("perimeters") == str(perimeters_path)
    meta = {
        "format": _BATCH_FORMAT,
        "perimeters": str(perimeters_path),
        "cpam": None if choice.mode == "aucun" else choice.parameter,
        "workers": None if cluster else int(workers),
        "cluster": cluster or None,
        # the ARS view of the last run of the same file, until this run's replaces it
        "regions": (previous_doc.get("regions") or []) if same_file else [],
    }
    client = _connect(cluster) if cluster else None
    run_options = {
        "perimeters": str(perimeters_path),
        "out_dir": str(out_dir),
        "cpam": cpam,
        "insee_ages": insee_ages,
        "bpe": bpe,
        "timeout": timeout,
        "deliver": "files" if client else "folder",
    }
    check = check_perimeters(perims, reference)  # the reports' perimeter findings: a change re-runs the report
    tasks, this_run = [], {}
    for name in names:
        fp = territory_fingerprint(perims.table, name, context, territory_findings(check, name))
        prev = previous.get(name)
        if (
            not force
            and prev
            and prev.get("fingerprint") == fp
            and prev.get("status") in (STATUS_OK, STATUS_UNCHANGED)
            and prev.get("slug") == slugs[name]
            and prev.get("outputs")
            and all((out_dir / rel).is_file() for rel in prev["outputs"].values())
        ):
            entries[name] = this_run[name] = dict(prev, status=STATUS_UNCHANGED, duration_s=0.0, error=None)
            continue
        tasks.append({"name": name, "slug": slugs[name], "fingerprint": fp, **run_options})
        if prev:
            entries[name] = prev  # kept until the new result arrives
    interrupted, regions = False, []
    try:
        if regional if regional is not None else not only:
            from cpts_diag.reports.regional_view import run_regional_views

            try:
                with _sigterm_interrupts():
                    regions = run_regional_views(
                        perimeters_path,
                        region,
                        out_dir,
                        cpam,
                        force=force,
                        previous=meta["regions"],
                        timeout=timeout,
                        progress=progress,
                        territory=territory,
                    )
                meta["regions"] = regions
            except (KeyboardInterrupt, _Interrupt):
                print("Interruption : vue régionale en cours arrêtée, état enregistré.", file=sys.stderr)
                interrupted = True
        if tasks and not interrupted:
            with _sigterm_interrupts():
                interrupted = _execute(tasks, entries, this_run, out_dir, meta, workers, progress, client)
    finally:
        if client is not None:
            client.close()
    _write_state(
        out_dir, entries, dict(meta, duration_s=round(time.perf_counter() - t0, 3)), index=True, interrupted=interrupted
    )
    run_entries = [this_run[n] for n in names if n in this_run]
    counts = {s: sum(1 for e in run_entries if e["status"] == s) for s in (STATUS_OK, STATUS_UNCHANGED, STATUS_FAILED)}
    return BatchResult(
        entries=run_entries,
        out_dir=out_dir,
        index=out_dir / INDEX_FILE,
        batch_json=out_dir / BATCH_FILE,
        duration=time.perf_counter() - t0,
        interrupted=interrupted,
        fictitious=meta["cpam"] == "exemple",
        counts=counts,
        regions=regions,
    )


@dataclass
class _PoolFailure:
    """Why a process pool broke: French ``message``; ``at_start``: a worker failed before its set-up ended."""

    message: str
    at_start: bool


def _pool_failure(processes, log_from: int, log_path) -> _PoolFailure:
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
        return _PoolFailure(f"le processus de calcul n'a pas pu démarrer : {cause}", True)
    codes = [code for p in processes if (code := getattr(p, "exitcode", None)) is not None]
    killed = next((-code for code in codes if code < 0), None)
    if killed is not None or not codes:
        try:
            how = f"a été arrêté par le signal {signal.Signals(killed).name}"
        except ValueError:
            how = "s'est arrêté brutalement"
        message = f"le processus de calcul {how} (mémoire insuffisante ou arrêt forcé ?) ; relancez ce territoire seul"
        return _PoolFailure(message, False)
    return _PoolFailure(
        f"le processus de calcul s'est arrêté sans message (code de sortie {codes[0]}) ; voir {LOG_FILE}", False
    )


def _run_pool(tasks, n_workers, ctx, stop_event, on_result, log_path=None) -> tuple[list[dict], _PoolFailure | None]:
    """Run ``tasks`` in one process pool; return the tasks lost because the pool broke, and why it broke.

    Raises KeyboardInterrupt / _Interrupt after stopping the pool cleanly.
    """
    log_from = _start_log_size()
    executor = cf.ProcessPoolExecutor(
        max_workers=n_workers, mp_context=ctx, initializer=_worker_init, initargs=(stop_event, log_path)
    )
    futures: dict[cf.Future, dict] = {}
    broken: list[dict] = []
    try:
        for i, task in enumerate(tasks):
            try:
                futures[executor.submit(_run_one, task)] = task
            except cf.process.BrokenProcessPool:  # a worker already failed to start
                broken.extend(tasks[i:])
                break
        # The pool's own table of its worker processes, kept to read their exit codes once it broke.
        processes = getattr(executor, "_processes", None)
        for fut in cf.as_completed(futures):
            task = futures[fut]
            try:
                entry = fut.result()
            except cf.process.BrokenProcessPool:
                broken.append(task)
                continue
            except Exception as exc:  # noqa: BLE001 - e.g. an unpicklable result
                entry = _entry(task, STATUS_FAILED, None, error_message(exc))
            on_result(entry)
        executor.shutdown(wait=True)
    except (KeyboardInterrupt, _Interrupt):
        try:
            _stop_workers(executor, stop_event, futures)
        except (KeyboardInterrupt, _Interrupt):  # second Ctrl-C: stop at once
            for p in list((getattr(executor, "_processes", None) or {}).values()):
                p.kill()
            executor.shutdown(wait=False, cancel_futures=True)
        for fut in futures:  # reports finished just before the interruption
            if fut.done() and not fut.cancelled() and fut.exception() is None:
                on_result(fut.result())
        raise
    return broken, (_pool_failure(list((processes or {}).values()), log_from, log_path) if broken else None)


_CONNECT_TIMEOUT = 10  # seconds to reach a Dask scheduler
_ADDRESS_RE = re.compile(r"(tcp|tls|ws|wss|ucx)://[^\s/]+")
_KILLED_EVERY_TIME = (
    "le worker Dask s'est arrêté brutalement pendant ce territoire, à chaque essai (mémoire insuffisante ?) ; "
    "relancez ce territoire seul"
)


async def _probe_scheduler(address: str, timeout: float):
    """Identity of the Dask server at ``address`` (raises when it cannot be reached or read)."""
    import asyncio

    from distributed.comm import connect

    comm = await connect(address, timeout=timeout)
    try:
        await comm.write({"op": "identity", "reply": True})
        return await asyncio.wait_for(comm.read(), timeout)
    finally:
        comm.abort()


def _connect(address: str):
    """A ``distributed.Client`` on the scheduler at ``address``; InputError (French, one line) when dask
    is not installed or the scheduler cannot be reached.

    The address is probed first (connection and ``identity`` request, in a private event loop): a
    ``Client`` that fails to start would otherwise complain on the terminal when garbage-collected.
    """
    address = str(address).strip()
    try:
        from distributed import Client
    except ImportError:
        raise InputError(
            'l\'option --cluster demande dask.distributed, non installé : pip install "cpts_diag[cluster]"'
        ) from None
    if not _ADDRESS_RE.fullmatch(address):
        raise InputError("adresse d'ordonnanceur Dask invalide (attendu : tcp://HÔTE:PORT)", value=address)
    import asyncio
    import logging

    loggers = [logging.getLogger(f"distributed{n}") for n in ("", ".client", ".comm.core", ".protocol.core", ".core")]
    levels = {lg: lg.level for lg in loggers}
    for lg in loggers:  # connection retries would otherwise be logged on the user's terminal
        lg.setLevel(logging.CRITICAL)
    try:
        hint = f" ; lancez « dask scheduler » puis « dask worker {address} » sur les machines de calcul"
        try:
            identity = asyncio.run(_probe_scheduler(address, _CONNECT_TIMEOUT))
        except (OSError, TimeoutError):  # refused, no route, timed out
            raise InputError("ordonnanceur Dask injoignable" + hint, value=address) from None
        except Exception:  # noqa: BLE001 - something answers, but not Dask's protocol
            identity = None
        if not isinstance(identity, dict) or identity.get("type") != "Scheduler":
            raise InputError("cette adresse ne répond pas comme un ordonnanceur Dask" + hint, value=address)
        try:
            return Client(address, timeout=_CONNECT_TIMEOUT, set_as_default=False)
        except Exception as exc:  # noqa: BLE001
            raise InputError(
                f"connexion à l'ordonnanceur Dask impossible ({type(exc).__name__})", value=address
            ) from None
    finally:
        for lg, level in levels.items():
            lg.setLevel(level)


def _accept_files(out_dir: Path, entry: dict) -> dict:
    """Write the report files a Dask worker returned (``entry["files"]``) into ``out_dir/<slug>``,
    atomically; the entry without its bytes (failed when they cannot be written)."""
    from cpts_diag.reports.folder import write_report_folder

    files = entry.pop("files", None)
    if files is None or entry.get("status") != STATUS_OK:
        return entry
    try:
        write_report_folder(out_dir, entry["slug"], files)
    except (OSError, RuntimeError) as exc:
        return dict(
            entry, status=STATUS_FAILED, outputs={}, error=f"écriture du rapport impossible : {error_message(exc)}"
        )
    return entry


def _identity(value):
    """The value itself (a graph task that keeps the batch input files recomputable on a cluster)."""
    return value


def _run_cluster(client, tasks, on_result) -> None:
    """Run ``tasks`` on a Dask cluster; every result goes to ``on_result`` as it arrives.

    A worker that dies during a territory makes the scheduler run that task again on another worker
    (``distributed.scheduler.allowed-failures`` times); after that the task ends in
    :class:`distributed.KilledWorker`. The scheduler counts a death against every territory the worker
    held, the one that killed it and those waiting beside it: as the local executor does with a broken pool,
    such territories are run again at the end, one at a time, so that only the culprit fails. Raises
    KeyboardInterrupt / _Interrupt after cancelling the remaining tasks (a running task ends on its worker;
    its result is dropped, nothing is written).
    """
    import uuid

    from distributed import KilledWorker, as_completed

    inputs = _input_files(tasks[0])  # the same input files for every task (there is at least one)
    environment = _environment_hash()
    run_id = uuid.uuid4().hex[:8]
    # The input files are a task of the graph, not scattered data: when every worker holding them has
    # died, the scheduler computes them again instead of forgetting the territories that need them. Its key
    # is of another task group than the territories' ("fichiers-…" / "cpts-diag-…"): the territories then form
    # one large group with one small dependency, which Dask spreads over all workers ("root-ish" tasks)
    # instead of sending every territory to the one worker that holds the files.
    shared = client.submit(_identity, inputs, pure=False, key=f"fichiers-cpts-diag-{run_id}")
    futures = {}

    def submit(task: dict, key: str):
        fut = client.submit(_run_one, dict(task, environment=environment), shared, pure=False, key=key)
        futures[fut] = task
        return fut

    def entry_of(fut, task: dict) -> dict:
        try:
            return fut.result()
        except Exception as exc:  # noqa: BLE001 - e.g. a lost connection: this territory fails
            return _entry(task, STATUS_FAILED, None, error_message(exc))
        finally:
            fut.release()

    suspects = []
    try:
        for task in tasks:
            submit(task, f"cpts-diag-{run_id}-{task['slug']}")
        for fut in as_completed(list(futures), loop=client.loop):
            if isinstance(fut.exception(), KilledWorker):
                suspects.append(futures[fut])
                fut.release()
            else:
                on_result(entry_of(fut, futures[fut]))
        for task in suspects:  # alone on the cluster: a second KilledWorker is this territory's own
            fut = submit(task, f"cpts-diag-{run_id}-seul-{task['slug']}")
            if isinstance(fut.exception(), KilledWorker):
                fut.release()
                on_result(_entry(task, STATUS_FAILED, None, _KILLED_EVERY_TIME))
            else:
                on_result(entry_of(fut, task))
    except BaseException:
        client.cancel([*futures, shared])
        raise
    shared.release()


def _execute(tasks, entries, this_run, out_dir, meta, workers, progress, client=None) -> bool:
    """Run ``tasks`` in worker processes, or on the Dask cluster of ``client``; return True when interrupted.

    Both executors run :func:`_run_one` and hand its results to the same ``on_result``. Locally, when a
    worker dies (the pool is then broken), the territories it took down with it are retried one
    by one, each in a fresh single-worker pool, so that only the culprit fails, with the reason its worker
    ended (:func:`_pool_failure`). When that worker could not even start, no other will: the remaining
    territories fail with the same reason, without a retry each.
    """
    from tqdm import tqdm

    ctx = None if client is not None else _mp_context()  # before the bar: it may start the fork server
    bar = tqdm(
        total=len(tasks),
        desc="Rapports des CPTS",
        unit="territoire",
        disable=not progress,
        file=sys.stderr,
        dynamic_ncols=True,
    )
    failures = [0]
    last_write = [time.monotonic()]

    def on_result(entry: dict) -> None:
        if entry.get("status") not in (STATUS_OK, STATUS_FAILED) or entry["name"] in this_run:
            return
        entry = _accept_files(out_dir, entry)
        entry.setdefault("outputs", {})
        entries[entry["name"]] = this_run[entry["name"]] = entry
        failures[0] += entry["status"] == STATUS_FAILED
        if failures[0]:
            bar.set_postfix_str(f"{failures[0]} échec{'s' if failures[0] > 1 else ''}", refresh=False)
        bar.update(1)
        if time.monotonic() - last_write[0] >= STATE_EVERY_S:
            _write_state(out_dir, entries, meta, index=False)
            last_write[0] = time.monotonic()

    try:
        if client is not None:
            _run_cluster(client, tasks, on_result)
            return False
        stop_event = ctx.Event()
        log_path = str(out_dir / LOG_FILE)
        Path(log_path).write_text("", encoding="utf-8")  # one log per run
        broken, _ = _run_pool(tasks, max(1, min(int(workers), len(tasks))), ctx, stop_event, on_result, log_path)
        no_start = None  # a worker cannot start: the next ones would not either
        for task in broken:
            if no_start is not None:
                on_result(_entry(task, STATUS_FAILED, None, no_start.message))
                continue
            lost, failure = _run_pool([task], 1, ctx, stop_event, on_result, log_path)
            for t in lost:  # lost again: the culprit, or no worker can start
                on_result(_entry(t, STATUS_FAILED, None, failure.message))
            if failure is not None and failure.at_start:
                no_start = failure
    except (KeyboardInterrupt, _Interrupt):
        bar.write("Interruption : rapports en cours arrêtés, état enregistré.", file=sys.stderr)
        return True
    finally:
        bar.close()
    return False


@contextlib.contextmanager
def _sigterm_interrupts():
    """Within the block, SIGTERM raises :class:`_Interrupt` in the main thread (handled like Ctrl-C)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _term(signum, frame):
        raise _Interrupt()

    old_term = signal.signal(signal.SIGTERM, _term)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old_term)


# ---------------------------------------------------------------------------
# command line and regional synthesis
# ---------------------------------------------------------------------------
def run_batch_cli(perimeters=None, **options) -> int:
    """``cpts-diag batch``: run :func:`run_batch` with these options, print a French summary; return the exit code.

    Exit code 0 when every report is produced or unchanged, 1 when one failed, 130 when interrupted.
    :class:`InputError` (unreadable file, unknown name or région) is raised for the CLI to turn into
    exit code 2.
    """
    import click

    result = run_batch(perimeters, **options)
    c = result.counts
    n = len(result.entries)
    click.echo(
        f"{fr.integer(n)} territoire{'s' if n > 1 else ''} : {fr.integer(c.get(STATUS_OK, 0))} produit(s), "
        f"{fr.integer(c.get(STATUS_UNCHANGED, 0))} inchangé(s), {fr.integer(c.get(STATUS_FAILED, 0))} en échec "
        f"— {fr.number(result.duration, 1)} s"
    )
    for e in result.failed:
        click.echo(f"échec : {e['name']} : {shown_paths(e['error'])}", err=True)
    for r in result.regions:
        click.echo(_region_line(r, result.out_dir), err=r.get("status") == STATUS_FAILED)
    if result.interrupted:
        click.echo(
            "Traitement interrompu : les rapports terminés sont conservés ; relancez la même commande pour reprendre.",
            err=True,
        )
    if result.fictitious:
        click.echo("Attention : les indicateurs CPAM proviennent de l'exemple FICTIF (signalé dans chaque rapport).")
    click.echo(f"Index : {result.index.resolve()}")
    click.echo(f"Journal : {result.batch_json.resolve()}")
    return result.exit_code


def _region_line(record: dict, out_dir: Path) -> str:
    """One French line of the command's summary for a région of the ARS view."""
    region = f"{record['name']} ({record['code']})"
    status = record.get("status")
    if status == STATUS_FAILED:
        return f"échec : vue régionale {region} : {record.get('error')}"
    check = record.get("check") or {}
    n = len(record.get("territories") or [])
    counts = (
        f"{fr.integer(n)} territoire{'s' if n > 1 else ''}, {fr.integer(check.get('n_orphans', 0))} commune(s) "
        f"orpheline(s), {fr.integer(check.get('n_outside_file', 0))} commune(s) hors fichier, "
        f"{fr.integer(check.get('n_overlaps', 0))} chevauchement(s)"
    )
    if "study_area" in record:  # records of an earlier version lack it
        counts += f" ; {region_study_area_text(record)}"
    label = "produite" if status == STATUS_OK else "inchangée"
    line = f"Vue régionale {region} {label} ({counts}) : {(out_dir / record['folder']).resolve()}"
    if record.get("declared") and not record.get("mostly_covered"):
        line += (
            f" — attention, le fichier ne contient que {fr.integer(record['n_covered'])} de ses "
            f"{fr.integer(record['n_communes'])} communes : ses « orphelines » sont toutes ses communes hors du fichier"
        )
    return line


def refresh_index(out_dir=None) -> Path | None:
    """Rewrite ``out_dir/index.html`` from ``out_dir/batch.json`` (e.g. after adding the regional synthesis
    or the check outputs, which the index links when present). Returns None when there is no batch.json."""
    out_dir = settings.user_path(out_dir) or Path(settings.REPORTS_DIR)
    doc = _read_doc(out_dir / BATCH_FILE)
    return _write_index_of(out_dir, doc) if doc else None


def run_synthesis(
    perimeters=None, region: str = "93", out_dir=None, cpam=None, timeout: int = 600, *, declared: bool = False
) -> Path:
    """Execute the regional synthesis notebook (03) into ``out_dir``; return the path of its HTML page.

    ``perimeters`` defaults to the embedded PACA listing, ``region`` is a région code (string), ``cpam`` as
    for :func:`run_batch`; ``declared`` makes the région the study area of its orphans (else
    :data:`cpts_diag.checks.REGION_VIEW_RULE`). ``out_dir`` (default :data:`settings.REPORTS_DIR`) receives
    ``synthese_regionale.ipynb``, ``synthese_regionale.html`` (no code, self-contained) and
    ``carte_regionale.html`` (offline), written by :func:`cpts_diag.reports.regional_view.write_synthesis`; an
    existing batch index then links them. Relative paths are taken from the current folder. The ARS view of a
    batch (check, synthesis and map per région, in a folder each) is
    :func:`cpts_diag.reports.regional_view.run_regional_views`. Raises :class:`InputError` for unusable input
    (also when raised inside the notebook), :class:`RuntimeError` for any other failure.
    """
    from cpts_diag.reports.regional_view import write_synthesis

    out_dir = settings.user_path(out_dir) or Path(settings.REPORTS_DIR)
    target = write_synthesis(perimeters, region, out_dir, cpam, timeout, declared=declared)
    refresh_index(out_dir)  # link the synthesis from an existing batch index
    return target
