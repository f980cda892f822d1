"""One territory's diagnostic report: papermill execution, HTML export, the report folder written atomically.

:func:`build_report` runs ``notebooks/02_diagnostic_territorial.ipynb`` for one territory with papermill
(parameters passed through the Python API, so codes stay strings) and writes, into ``out_dir/<slug>/`` (built
beside it and swapped in complete: :func:`cpts_diag.reports.folder.building`):

* ``rapport.html`` — the executed notebook without code, self-contained (images embedded, no script,
  no external style sheet), French, printable;
* ``carte.html``, ``indicateurs.xlsx``, ``perimetre.gpkg`` — written by the notebook itself
  (parameter ``dossier_sortie``) so the data are loaded once per report;
* ``diagnostic.ipynb`` — the executed notebook.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import json
import os
import re
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cpts_diag import fr_format as fr
from cpts_diag import settings
from cpts_diag.errors import InputError
from cpts_diag.io.params import cpam_choice
from cpts_diag.outputs.html import html_page
from cpts_diag.outputs.templating import css
from cpts_diag.reports.display import PAGE_STYLE_SHEETS, exported_html
from cpts_diag.reports.folder import REPORT_FILES, SUMMARY_MIMETYPE, building, slugify

if TYPE_CHECKING:
    from jupyter_client import KernelClient, KernelManager

# jsonschema, imported by nbformat, compiles about 40 grammars of the optional package rfc3987-syntax
# when it is installed (about 1 s in every process that runs or exports a notebook); notebook
# validation does not use it, so it is kept out of this process.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]  # None blocks the import (import system)

#: The template notebook of a territory report.
NOTEBOOK = settings.NOTEBOOKS_DIR / "02_diagnostic_territorial.ipynb"


# ------------------------------------------------------------------------------------------ result
@dataclass
class ReportResult:
    """What :func:`build_report` produced for one territory.

    ``territory`` is the name as in the perimeter file, ``slug`` its folder name and ``directory``
    ``out_dir/<slug>``; ``outputs`` maps each file kind (``rapport``, ``carte``, ``indicateurs``, ``perimetre``,
    ``notebook``) to its path. ``population`` is the population légale (None when approximate),
    ``population_min`` and ``population_max`` its bounds; ``tier`` the ACI tier (None when the bounds straddle
    two tiers); ``key_figures`` the key indicator values of the territory (APL 2023, GP density, share 75+,
    share without a médecin traitant...), None when unknown. ``fictitious``: the report uses fictitious data
    (example CPAM table). ``duration`` is in seconds, end to end; ``timings`` in seconds per step
    (``execution``, ``export``, ``swap``).
    """

    territory: str
    slug: str
    directory: Path
    outputs: dict[str, Path]
    population: float | None
    population_min: float | None
    population_max: float | None
    tier: int | None
    key_figures: dict[str, Any]
    fictitious: bool
    duration: float
    timings: dict[str, float] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict, repr=False)


# ------------------------------------------------------------------------------------- HTML export
#: Cells with one of these tags stay in the notebook but not in rapport.html.
_REMOVED_TAGS = {"remove-cell", "remove_cell", "notebook-only"}


@functools.cache
def _exporter():
    """HTMLExporter of the ``basic`` template (body only: no script, no CDN), built once."""
    from nbconvert import HTMLExporter

    return HTMLExporter(
        template_name="basic",
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        anchor_link_text="",
    )


def _report_cells(nb):
    """Copy of ``nb`` keeping what a reader sees: markdown, and displayed outputs (no stderr)."""
    nb = copy.deepcopy(nb)
    nb.cells = [c for c in nb.cells if not set(c.get("metadata", {}).get("tags", [])) & _REMOVED_TAGS]
    for cell in nb.cells:
        if cell.cell_type == "code":
            for o in cell.get("outputs", []):
                data = o.get("data") or {}
                data.pop(SUMMARY_MIMETYPE, None)
                if "text/html" in data:  # the page carries the style sheets once, in its head
                    data["text/html"] = exported_html(data["text/html"])
            cell.outputs = [
                o
                for o in cell.get("outputs", [])
                if o.get("data")
                or o.get("output_type") == "error"
                or (o.get("output_type") == "stream" and o.get("name") != "stderr")
            ]
    nb.cells = [c for c in nb.cells if c.cell_type == "markdown" or (c.cell_type == "code" and c.outputs)]
    return nb


_EXTERNAL_RE = re.compile(
    r"""<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.IGNORECASE
)


def notebook_to_html(nb, title: str) -> str:
    """Self-contained French HTML page of an executed notebook, without its code.

    ``title`` is escaped here. The page is ``<html lang="fr">``: markdown and outputs only (no code, no
    prompts, no stderr), the project's print-friendly CSS inlined once (:data:`PAGE_STYLE_SHEETS`), no script
    and no external resource.
    """
    body, _ = _exporter().from_notebook_node(_report_cells(nb))
    style = "".join(css(name) for name in PAGE_STYLE_SHEETS)
    page = html_page(title, f"<main>\n{body}\n</main>", style)
    ext = _EXTERNAL_RE.search(page)
    if ext:  # pragma: no cover - guard: the notebook displays only embedded content
        raise ValueError(f"le rapport référence une ressource externe : {ext.group(0)[:120]}")
    return page


# ------------------------------------------------------------------------------------------- build
def _kernel_env() -> None:
    """Make papermill's ``python3`` kernel the current interpreter.

    jupyter_client replaces a kernelspec's ``python`` by ``sys.executable``; a user-level ``python3``
    kernelspec pointing elsewhere would win over the environment's, so the environment's kernels folder
    is put first on ``JUPYTER_PATH`` when it exists.
    """
    env_kernels = Path(sys.prefix) / "share" / "jupyter"
    if (env_kernels / "kernels" / "python3").is_dir():
        current = os.environ.get("JUPYTER_PATH", "")
        parts = current.split(os.pathsep) if current else []
        if str(env_kernels) not in parts:
            os.environ["JUPYTER_PATH"] = os.pathsep.join([str(env_kernels), *parts])


# ignore_cwd: the kernel does not put its working folder on sys.path, so a folder named cpts_diag there (a
# clone of the project, say) cannot shadow the installed package.
_KERNEL_ARGS = ["--IPKernelApp.log_level=CRITICAL", "--IPKernelApp.ignore_cwd=True"]
_WARM_ENGINE = "cpts-diag-warm"

# Run in a kept kernel before each notebook: fresh user namespace (and execution count), no figure,
# warning registries and filters as at kernel start, working directory of this report.
# The previous report's objects are collected once the namespace is cleared; what survives (imported
# modules, caches of embedded data) is then frozen (gc.freeze) so that the next full collections, two
# per report, skip it: they cost ~0.08 s each over a warm kernel's ~170,000 objects, ~0.01 s frozen.
# Frozen objects are still freed when their reference count drops; only reference cycles among them are
# never collected, which the kernel replacement every max_runs reports bounds.
_RESET_CODE = """\
import gc as _gc, os as _os, sys as _sys, warnings as _warnings
_state = _sys.modules.get("__cpts_diag_warm__")
if _state is None:
    import types as _types
    _state = _sys.modules["__cpts_diag_warm__"] = _types.ModuleType("__cpts_diag_warm__")
    _state.filters = list(_warnings.filters)
_warnings.filters[:] = _state.filters
getattr(_warnings, "_filters_mutated", lambda: None)()
if "matplotlib.pyplot" in _sys.modules:
    _sys.modules["matplotlib.pyplot"].close("all")
_os.chdir({cwd!r})
get_ipython().reset(new_session=True)
__import__("gc").collect()
__import__("gc").freeze()
"""


class KernelSession:
    """A Jupyter kernel kept alive across notebook runs (warm: libraries imported once).

    :func:`execute_notebook` with ``session=`` runs a notebook in this kernel after resetting it: the
    user namespace is emptied (``InteractiveShell.reset(new_session=True)``, which also restarts the
    execution count), matplotlib figures are closed, the warning filters are restored and the working
    directory is set. Imported modules stay loaded: that is the point (no start-up, no re-import per
    report). A kernel that died, timed out or was interrupted is discarded and the next run starts a
    new one; after ``max_runs`` notebooks the kernel is replaced too, bounding the memory it keeps.
    ``startup_timeout`` is the number of seconds to wait for a new kernel.

    One session serves one thread at a time (a batch keeps one per worker thread).
    """

    def __init__(self, max_runs: int = 100, startup_timeout: int = 60):
        self.max_runs = max_runs
        self.startup_timeout = startup_timeout
        self.km: KernelManager | None = None
        self.kc: KernelClient | None = None
        self.runs = 0  # notebooks run by the current kernel
        self.kernels_started = 0

    @property
    def alive(self) -> bool:
        """The kernel exists and its process is running."""
        if self.km is None:
            return False
        from jupyter_core.utils import ensure_async, run_sync

        try:
            return bool(run_sync(ensure_async)(self.km.is_alive()))
        except Exception:  # noqa: BLE001 - a broken manager counts as dead
            return False

    def kernel_pid(self) -> int | None:
        """Process id of the current kernel (None when there is none)."""
        prov = getattr(self.km, "provisioner", None)
        proc = getattr(prov, "process", None)
        return getattr(proc, "pid", None)

    def _start(self, cwd: Path) -> None:
        import nbformat
        from nbclient import NotebookClient

        client = NotebookClient(
            nbformat.v4.new_notebook(),
            kernel_name="python3",
            extra_arguments=list(_KERNEL_ARGS),
            startup_timeout=self.startup_timeout,
        )
        client.km = client.create_kernel_manager()
        try:
            client.start_new_kernel(cwd=str(cwd))
            client.start_new_kernel_client()
        except BaseException:
            self.km, self.kc = client.km, client.kc
            self.discard()
            raise
        self.km, self.kc = client.km, client.kc
        self.runs = 0
        self.kernels_started += 1

    def ready(self, cwd: Path) -> None:
        """Make sure a usable kernel runs (start or replace it)."""
        if self.km is not None and (self.runs >= self.max_runs or not self.alive):
            self.discard()
        if self.km is None:
            self._start(cwd)

    def discard(self) -> None:
        """Stop the kernel (at once) and forget it; the next run starts a new one."""
        km, kc, pid = self.km, self.kc, self.kernel_pid()
        self.km = self.kc = None
        if km is None:
            return
        from jupyter_core.utils import ensure_async, run_sync

        async def _stop():
            try:
                if kc is not None:
                    kc.stop_channels()  # synchronous in every jupyter_client kernel client
            finally:
                try:
                    if await ensure_async(km.is_alive()):
                        await ensure_async(km.shutdown_kernel(now=True))
                finally:
                    await ensure_async(km.cleanup_resources())

        try:
            run_sync(_stop)()
        except Exception:  # noqa: BLE001 - the polite shutdown failed: kill the kernel process
            if pid:
                with contextlib.suppress(OSError):
                    os.kill(pid, 9)

    close = discard

    def __enter__(self) -> KernelSession:
        return self

    def __exit__(self, *exc) -> None:
        self.discard()


def _warm_engine():
    """Papermill engine running notebooks in a :class:`KernelSession` (registered once)."""
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, logger, papermill_engines

    if _WARM_ENGINE in papermill_engines._engines:
        return

    class _WarmClient(PapermillNotebookClient):
        def __init__(self, nb_man, session: KernelSession, cwd: str, **kw):
            super().__init__(nb_man, km=session.km, **kw)
            self.kc = session.kc
            self._cwd = cwd

        def papermill_execute_cells(self):
            if self.kc is None:  # KernelSession.ready starts a kernel before each run
                raise RuntimeError("aucun noyau Jupyter démarré")
            msg_id = self.kc.execute(
                _RESET_CODE.format(cwd=self._cwd), silent=True, store_history=False, allow_stdin=False
            )
            reply = self.wait_for_reply(msg_id)
            if not reply or reply.get("content", {}).get("status") != "ok":
                raise RuntimeError("réinitialisation du noyau Jupyter impossible")
            return super().papermill_execute_cells()

    class _WarmEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, *, session, kernel_cwd, execution_timeout, **_unused):
            # the kernel runs already (no start-up timeout); execute_notebook logs no output, sets no stdout/stderr file
            client = _WarmClient(
                nb_man, session, kernel_cwd, timeout=execution_timeout, kernel_name=kernel_name, log=logger
            )
            return client.execute()

    papermill_engines.register(_WARM_ENGINE, _WarmEngine)


def execute_notebook(
    notebook: Path, output: Path, parameters: dict, timeout: int, cwd: Path, session: KernelSession | None = None
):
    """Execute ``notebook`` with papermill into ``output`` in the environment's ``python3`` kernel.

    Parameters are passed through the Python API (codes stay strings) and injected as papermill does
    (cell tagged ``injected-parameters``); the kernel's own log is kept to errors; a failing cell
    raises a one-line French :class:`InputError`-like error, a dead kernel or a timed-out cell a
    French :class:`RuntimeError`.

    With ``session`` (:class:`KernelSession`), the notebook runs in that kept kernel, reset first,
    instead of a new kernel; a kernel that dies or times out is discarded (the next run starts a new
    one).
    """
    import papermill as pm

    _kernel_env()
    options = dict(
        parameters=parameters,
        kernel_name="python3",
        language="python",
        progress_bar=False,
        log_output=False,
        request_save_on_cell_execute=False,
        execution_timeout=timeout,
    )
    try:
        if session is None:
            return pm.execute_notebook(
                str(notebook), str(output), cwd=str(cwd), extra_arguments=list(_KERNEL_ARGS), **options
            )
        _warm_engine()
        session.ready(Path(cwd))
        session.runs += 1
        # cwd is set inside the kernel: papermill's own chdir would move the whole (threaded) worker.
        return pm.execute_notebook(
            str(notebook), str(output), engine_name=_WARM_ENGINE, session=session, kernel_cwd=str(cwd), **options
        )
    except pm.PapermillExecutionError as exc:  # a failing cell; an InputError raised in the kernel stays one
        if exc.ename == "InputError":
            raise InputError(str(exc.evalue)) from None
        raise RuntimeError(f"échec de l'exécution du notebook : {exc.ename} : {exc.evalue}") from None
    except BaseException as exc:
        if session is not None:
            session.discard()  # dead, hung or interrupted: never reuse it
        elif isinstance(exc, KeyboardInterrupt):
            kill_kernels()  # one may still be starting: its folder is removed next
        from nbclient.exceptions import CellTimeoutError, DeadKernelError

        if isinstance(exc, DeadKernelError):
            raise RuntimeError(
                "le noyau Jupyter s'est arrêté pendant l'exécution du notebook (mémoire insuffisante ou arrêt forcé ?)"
            ) from None
        if isinstance(exc, (CellTimeoutError, TimeoutError)):
            raise RuntimeError(f"délai dépassé : une cellule du notebook a duré plus de {timeout} s") from None
        raise


def kill_kernels() -> None:
    """SIGKILL the Jupyter kernels this process started (Linux: read from /proc; elsewhere nothing to read).

    A kernel still starting when its runner unwinds (Ctrl-C) would find its working folder removed and print a
    traceback in the user's terminal; a batch worker that ends leaves no kernel behind.
    """
    me = str(os.getpid())
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = stat.read_text().rsplit(")", 1)[1].split()[1]
            launcher = b"ipykernel_launcher" in (stat.parent / "cmdline").read_bytes()
        except (OSError, IndexError):  # a process that ended meanwhile
            continue
        if parent == me and launcher:
            with contextlib.suppress(OSError):
                os.kill(int(stat.parent.name), signal.SIGKILL)


def file_parameter(path) -> str:
    """A notebook file parameter: the absolute path, ``""`` when not given."""
    path = settings.user_path(path)
    return "" if path is None else str(path)


def _territory_names(perimeters_path: Path, territory: str | None = None) -> list[str]:
    """Territory names of a perimeter file (cached per file content: a batch reads it once per process);
    ``territory`` names a file without territory column."""
    from cpts_diag.io.atomic import file_sha256

    try:
        content = file_sha256(perimeters_path)
    except OSError:  # unreadable: read_perimeters raises the French message; nothing is cached without a hash
        return _read_names(perimeters_path, territory)
    return _cached_names(perimeters_path, content, territory)


def _read_names(perimeters_path: Path, territory: str | None) -> list[str]:
    from cpts_diag.io.perimeters import read_perimeters

    return list(dict.fromkeys(read_perimeters(perimeters_path, territory=territory).table["cpts"].astype(str)))


@functools.lru_cache(maxsize=1)
def _cached_names(perimeters_path: Path, content: str, territory: str | None) -> list[str]:
    return _read_names(perimeters_path, territory)


def _resolve_territory(territory: str | None, perimeters=None) -> str:
    """The name of ``territory`` in the perimeter file (default the embedded PACA listing): exact, close (case,
    accents, see :func:`cpts_diag.indicators.find_territory`), or the file's only territory when None; else an
    InputError naming the file and listing close (or all) names."""
    path = settings.user_path(perimeters) or settings.DEFAULT_PERIMETERS
    from cpts_diag.indicators import find_territory

    return find_territory(_territory_names(path, territory), territory, path)


def _summary_of(nb) -> dict:
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            data = o.get("data") or {}
            if SUMMARY_MIMETYPE in data:
                value = data[SUMMARY_MIMETYPE]
                return json.loads(value) if isinstance(value, str) else dict(value)
    return {}


def _retarget(nb, nb_path: Path, paths: dict[str, str]) -> None:
    """Point the executed notebook's path parameters at the final locations (``paths``: used -> shown).

    The report is built in a temporary folder (``dossier_sortie``), possibly on another machine with
    copies of the input files (Dask workers); the saved notebook shows the final paths.
    """
    import nbformat
    from papermill.translators import PythonTranslator

    paths = {old: new for old, new in paths.items() if old and new and old != new}
    pairs = [(PythonTranslator.translate_str(old), PythonTranslator.translate_str(new)) for old, new in paths.items()]
    for cell in nb.cells:
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            for old, new in pairs:
                cell.source = cell.source.replace(old, new)
    params = nb.metadata.get("papermill", {}).get("parameters", {})
    params.update({key: paths[value] for key, value in params.items() if isinstance(value, str) and value in paths})
    nbformat.write(nb, str(nb_path))


def build_report(
    territory: str | None,
    perimeters=None,
    out_dir=None,
    cpam=None,
    insee_ages=None,
    bpe=None,
    timeout: int = 600,
    *,
    slug: str | None = None,
    progress: Callable[[str], None] | None = None,
    session: KernelSession | None = None,
    notebook=None,
    shown_paths: dict[str, str] | None = None,
) -> ReportResult:
    """Build the diagnostic report of one territory into ``out_dir/<slug>/``.

    ``territory`` is the name as written in the perimeter file (None: the file's only territory; it names the
    territory of a file without territory column); ``perimeters`` the perimeter file (CSV, XLSX,
    JSON ARS, GeoJSON, GPKG), by default the embedded PACA listing; ``out_dir`` the parent folder of the
    report folder, by default :data:`settings.REPORTS_DIR`. ``cpam`` is the CPAM / Rézone table:
    ``"exemple"`` (embedded FICTITIOUS table), ``"aucun"`` (none), a path, or None / ``""`` for the default
    (:func:`cpts_diag.io.params.cpam_choice`: the example with the embedded PACA listing only); ``insee_ages``
    and ``bpe`` the INSEE age-structure file and the BPE file (official layouts); ``timeout`` the maximum
    number of seconds per notebook cell.

    ``slug`` is the folder name (default :func:`slugify` of the name; batches pass :func:`unique_slugs`'s);
    ``progress`` is called with French progress lines; ``session`` runs the notebook in this kept (warm)
    kernel instead of a new one (batches); ``notebook`` is the template notebook (default :data:`NOTEBOOK`).
    ``shown_paths`` maps paths used for this run to the paths the saved notebook shows instead (e.g. a Dask
    worker's copies of the input files -> the client's files; the report folder is named by its final path,
    ``out_dir/<slug>``, and mapped from there).

    Relative paths are taken from the current folder (:func:`settings.user_path`), before the kernel starts in
    a folder of its own.

    Raises :class:`InputError` for an unknown territory (close names listed) or an unreadable input file (also
    when raised in the notebook), :class:`RuntimeError` for any other failure of the notebook (no report folder
    is left behind).
    """
    t0 = time.perf_counter()
    say = progress or (lambda _msg: None)
    territory = _resolve_territory(territory, perimeters)
    slug = slug or slugify(territory)
    out_dir = settings.user_path(out_dir) or settings.REPORTS_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / slug
    timings: dict[str, float] = {}
    with building(out_dir, slug) as tmp:
        params = {
            "perimetres": file_parameter(perimeters),
            "territoire": territory,
            "fichier_cpam": cpam_choice(cpam, perimeters).parameter,
            "fichier_ages_insee": file_parameter(insee_ages),
            "fichier_bpe": file_parameter(bpe),
            "dossier_sortie": str(tmp),
        }
        say(f"Exécution du notebook de diagnostic pour « {territory} »…")
        t1 = time.perf_counter()
        nb_path = tmp / REPORT_FILES["notebook"]
        nb = execute_notebook(notebook or NOTEBOOK, nb_path, params, timeout, tmp, session=session)
        timings["execution"] = time.perf_counter() - t1
        say("Export du rapport HTML…")
        t2 = time.perf_counter()
        shown = dict(shown_paths or {})
        shown[str(tmp)] = shown.pop(str(target), str(target))
        _retarget(nb, nb_path, shown)
        summary = _summary_of(nb)
        html = notebook_to_html(nb, f"Diagnostic territorial — {territory}")
        (tmp / REPORT_FILES["rapport"]).write_text(html, encoding="utf-8")
        timings["export"] = time.perf_counter() - t2
        missing = [name for name in REPORT_FILES.values() if not (tmp / name).is_file()]
        if missing:
            raise RuntimeError(f"fichiers manquants après exécution : {', '.join(missing)}")
        t3 = time.perf_counter()  # the folder is swapped in as the block ends
    timings["swap"] = time.perf_counter() - t3
    tier = summary.get("tier")
    return ReportResult(
        territory=territory,
        slug=slug,
        directory=target,
        outputs={k: target / v for k, v in REPORT_FILES.items()},
        **{k: summary.get(k) for k in ("population", "population_min", "population_max")},
        tier=int(tier) if tier is not None else None,
        key_figures=summary.get("key_figures", {}),
        fictitious=bool(summary.get("fictitious", False)),
        duration=time.perf_counter() - t0,
        timings=timings,
        summary=summary,
    )


# ------------------------------------------------------------------------------------ command line
def run_report_cli(perimeters, territory, out_dir=None, cpam=None, insee_ages=None, bpe=None) -> int:
    """``cpts-diag report``: build one report, print French progress lines and the paths; return 0.

    ``cpam`` accepts a path, ``"exemple"`` (embedded fictitious table), ``"aucun"`` or None (the default). Errors
    are raised (:class:`InputError` for unusable input) for the CLI to turn into exit codes.
    """
    import click

    from cpts_diag.tiers import tier_label

    say = click.echo
    territory = _resolve_territory(territory, perimeters)
    say(f"Rapport de diagnostic : « {territory} »")
    result = build_report(
        territory, perimeters=perimeters, out_dir=out_dir, cpam=cpam, insee_ages=insee_ages, bpe=bpe, progress=say
    )
    pop = fr.population(result.population, result.population_min, result.population_max, missing=None)
    pop = "population inconnue" if pop is None else f"{pop} habitants"
    say(f"Terminé en {fr.number(result.duration, 1)} s — {pop}, {tier_label(result.tier)}.")
    if result.fictitious:
        say("Attention : le rapport utilise des données FICTIVES (exemple CPAM) ; elles y sont signalées.")
    perimeter = result.summary.get("perimeter") or {}
    counts = [f"{perimeter[k]} {k}" for k in ("bloquant", "à vérifier") if perimeter.get(k)]
    if counts:
        say(f"Périmètre : {', '.join(counts)} — voir « Périmètre du territoire » en tête du rapport.")
    say(f"Dossier : {result.directory}")
    labels = {
        "rapport": "Rapport",
        "carte": "Carte interactive",
        "indicateurs": "Indicateurs (Excel)",
        "perimetre": "Périmètre (GeoPackage)",
        "notebook": "Notebook exécuté",
    }
    for kind, path in result.outputs.items():
        say(f"  {labels.get(kind, kind)} : {path}")
    return 0
