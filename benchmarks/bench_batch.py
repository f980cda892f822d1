"""Benchmark of the batch of PACA diagnostic reports against its floor.

In one run:

a. the *floor*: papermill executing ``benchmarks/floor.ipynb`` (a notebook that only imports the
   libraries of ``notebooks/02_diagnostic_territorial.ipynb``), 3 times, median kept;
b. the batch of the 70 PACA reports (``cpts_diag.reports.batch.run_batch``) with 2 workers into a temporary
   folder, ``force=True`` (each worker keeps a warm kernel across its reports);
c. the same batch on a ``dask.distributed`` LocalCluster of as many single-threaded worker processes
   (``--cluster``-style execution: report files sent back as bytes), and its overhead over (b);
d. the peak memory of one worker (worker process + its kernel, sampled with psutil) in (b) and (c).

Printed: batch time, ratio batch / (N × floor / workers) (target ≤ 0.5), Dask overhead (target
≤ 10 %), peak memory per worker, failures, sizes of
``carte.html`` (max and median, ≤ 300 KB), of the regional map ``carte_regionale.html``
(≤ 1 MB) and of ``rapport.html`` (max, ≤ 3 MB), and the slowest notebook cells (papermill
durations recorded in each ``diagnostic.ipynb``) to show where the time goes.

Usage : ``python benchmarks/bench_batch.py [--opendata ../shared/opendata] [--subset N] [--keep DIR]
[--perimetres FICHIER | --epci-france | --epci-region CODE] [--no-cluster]``
``--subset N`` runs only N territories (spread over the listing) for a quick check; the floor is
scaled to N. ``--perimetres`` takes another perimeter file; ``--epci-france`` builds the national case
(the 1,255 EPCI of the COG 2026 as territories, as ``bench_check.py`` does) and runs it;
``--epci-region 84`` does the same for the EPCI of one région (Auvergne-Rhône-Alpes: regional map target
1.5 MB). Exit code 0 even when a target is missed ("objectif non atteint" is printed).
"""

from __future__ import annotations

import ast
import inspect
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C

FLOOR_NOTEBOOK = C.BENCH_DIR / "floor.ipynb"
TARGET_RATIO = 0.5
TARGET_DASK_OVERHEAD = 0.10
TARGET_CARTE_KB = 300.0
TARGET_REGION_KB = 1024.0  # PACA listing
TARGET_REGION_KB_OTHER = 1536.0  # a large région (issue 7: AuRA EPCI)
TARGET_RAPPORT_KB = 3 * 1024.0


# ----------------------------------------------------------------------------- imports


def _imports_in_source(src: str) -> set[str]:
    """Modules imported anywhere in ``src`` (also inside functions); relative imports skipped."""
    src = "\n".join(line for line in src.splitlines() if not line.lstrip().startswith(("%", "!")))
    try:
        tree = ast.parse(src)
    except SyntaxError:
        return set()
    mods: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            mods.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            mods.add(node.module)
            if node.module.split(".")[0] == "cpts_diag":  # from cpts_diag.outputs import maps
                mods.update(f"{node.module}.{a.name}" for a in node.names)
    return mods


def _imported_modules(nb_path: Path) -> set[str]:
    """Modules imported by the code cells of a notebook (magics skipped)."""
    import nbformat

    nb = nbformat.read(str(nb_path), as_version=4)
    mods: set[str] = set()
    for cell in nb.cells:
        if cell.cell_type == "code":
            mods |= _imports_in_source(cell.source)
    return mods


def _libraries(mods: set[str], expand: bool) -> set[str]:
    """Top-level third-party packages and cpts_diag modules of ``mods``; with ``expand``, also those
    imported (even lazily, inside functions) by the cpts_diag modules listed."""
    import importlib.util

    out: set[str] = set()
    todo = sorted(mods)
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        top = name.split(".")[0]
        if top in sys.stdlib_module_names or top == "__future__":
            continue
        if top != "cpts_diag":
            out.add(top)
            continue
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        if spec is None or not spec.origin or not spec.origin.endswith(".py"):
            continue  # an attribute (from cpts_diag.x import y) rather than a module
        out.add(name)
        if expand and name != "cpts_diag":
            todo.extend(_imports_in_source(Path(spec.origin).read_text(encoding="utf-8")))
    return out


def compare_imports(floor_nb: Path, report_nb: Path) -> list[str]:
    """Libraries loaded for the report notebook (following cpts_diag's lazy imports) that the floor
    notebook does not import."""
    if not report_nb.exists():
        return []
    wanted = _libraries(_imported_modules(report_nb), expand=True)
    have = _libraries(_imported_modules(floor_nb), expand=True)
    # Libraries only used by the batch/CLI machinery around the notebook are not the notebook's.
    ignore = {
        "click",
        "papermill",
        "nbconvert",
        "nbformat",
        "IPython",
        "cpts_diag",
        "cpts_diag.cli",
        "cpts_diag.reports.batch",
        "cpts_diag.reports.demo",
    }
    return sorted(wanted - have - ignore)


# ------------------------------------------------------------------------------- floor


def floor_cells(workdir: Path) -> list[float]:
    """Papermill durations of the code cells of the executed floor notebooks (median per cell)."""
    import nbformat

    per: dict[int, list[float]] = defaultdict(list)
    for path in sorted(workdir.glob("floor_*.ipynb")):
        nb = nbformat.read(str(path), as_version=4)
        for i, cell in enumerate(c for c in nb.cells if c.cell_type == "code"):
            d = cell.metadata.get("papermill", {}).get("duration")
            if d is not None:
                per[i].append(float(d))
    return [statistics.median(per[i]) for i in sorted(per)]


def run_floor(runs: int, workdir: Path) -> list[float]:
    """Execute the floor notebook ``runs`` times with papermill as a report is; seconds per run."""
    import papermill as pm

    try:
        from cpts_diag.reports.runner import _kernel_env

        _kernel_env()
    except ImportError:
        pass
    times = []
    for i in range(runs):
        out = workdir / f"floor_{i}.ipynb"
        t0 = time.perf_counter()
        pm.execute_notebook(
            str(FLOOR_NOTEBOOK),
            str(out),
            parameters={"dossier_sortie": str(workdir)},
            kernel_name="python3",
            language="python",
            progress_bar=False,
            log_output=False,
            request_save_on_cell_execute=False,
            cwd=str(workdir),
        )
        times.append(time.perf_counter() - t0)
    return times


_PARALLEL_FLOOR = r"""
import sys, time
sys.path.insert(0, {bench!r})
import bench_batch
from pathlib import Path
print(" ".join(f"{{t:.4f}}" for t in bench_batch.run_floor({runs}, Path({workdir!r}))))
"""


def run_floor_parallel(workers: int, runs: int, workdir: Path) -> tuple[float, list[float]]:
    """``workers`` processes each executing the floor ``runs`` times at the same time, as the batch
    workers do: (wall seconds per round of ``workers`` notebooks, all durations)."""
    import subprocess

    procs = []
    t0 = time.perf_counter()
    for w in range(workers):
        d = workdir / f"parallel_{w}"
        d.mkdir(parents=True, exist_ok=True)
        code = _PARALLEL_FLOOR.format(bench=str(C.BENCH_DIR), runs=runs, workdir=str(d))
        procs.append(
            subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        )
    durations = []
    for p in procs:
        out, _ = p.communicate()
        durations += [float(x) for x in out.split()]
    wall = time.perf_counter() - t0
    return wall / runs, durations


# ------------------------------------------------------------------------------- batch


def territory_names(perimeters=None) -> list[str]:
    from cpts_diag import settings
    from cpts_diag.io.perimeters import read_perimeters
    from cpts_diag.reference import load_reference

    table = read_perimeters(perimeters or settings.DEFAULT_PERIMETERS, names_by_code=load_reference().names).table
    return list(dict.fromkeys(table["cpts"].astype(str)))


def spread(names: list[str], n: int) -> list[str]:
    """``n`` names spread evenly over the listing (first and last included)."""
    if n >= len(names):
        return names
    if n == 1:
        return names[:1]
    step = (len(names) - 1) / (n - 1)
    return [names[round(i * step)] for i in range(n)]


class WorkerMemory:
    """Peak resident memory of one worker with its kernel, sampled every ``every`` seconds.

    A worker is the parent of a Jupyter kernel (``ipykernel_launcher``) below this process, whether a
    process of the local pool or a Dask worker; its figure is RSS(worker) + RSS(kernel), the highest
    sample over the run (RSS counts pages shared after fork twice: an upper bound).
    """

    def __init__(self, every: float = 0.5):
        import threading

        self.every = every
        self.peak: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _sample(self) -> None:
        import psutil

        me = psutil.Process()
        for proc in me.children(recursive=True):
            try:
                if "ipykernel_launcher" not in " ".join(proc.cmdline()):
                    continue
                parent = proc.parent()
                mb = (proc.memory_info().rss + parent.memory_info().rss) / 1024 / 1024
            except (psutil.Error, AttributeError):
                continue
            self.peak[parent.pid] = max(self.peak.get(parent.pid, 0.0), mb)

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            self._sample()

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    @property
    def max_mb(self) -> float | None:
        return max(self.peak.values()) if self.peak else None


def call_run_batch(batch_mod, out_dir: Path, only, workers: int, verbose: bool, perimeters=None, cluster=None):
    kwargs = {
        "out_dir": out_dir,
        "workers": workers,
        "cpam": "exemple" if perimeters is None else "aucun",
        "force": True,
        "progress": verbose,
    }
    if only is not None:
        kwargs["only"] = only
    if perimeters is not None:
        kwargs["perimeters"] = perimeters
    if cluster is not None:
        kwargs["cluster"] = cluster
    params = inspect.signature(batch_mod.run_batch).parameters
    kwargs = {k: v for k, v in kwargs.items() if k in params}
    return batch_mod.run_batch(**kwargs)


def _failures(result, out_dir: Path, expected: int) -> tuple[int, list[str]]:
    """Failures as reported by the batch result (``BatchResult.failed``), else by missing rapport.html."""
    failed = getattr(result, "failed", None)
    if failed is not None:
        examples = []
        for e in list(failed)[:5]:
            if isinstance(e, dict):
                name = e.get("name") or e.get("territory") or e.get("cpts") or "?"
                msg = e.get("error") or e.get("message") or ""
                examples.append(f"{name} : {msg}"[:200])
            else:
                examples.append(str(e)[:200])
        return len(failed), examples
    complete = len(list(out_dir.glob("*/rapport.html")))
    return max(expected - complete, 0), []


def entry_durations(result) -> list[float]:
    """Seconds per report as recorded by the batch (``entries[*].duration``), when present."""
    out = []
    for e in getattr(result, "entries", []) or []:
        d = e.get("duration_s", e.get("duration")) if isinstance(e, dict) else None
        if isinstance(d, (int, float)):
            out.append(float(d))
    return out


def sizes(out_dir: Path) -> dict:
    def kb(p):
        return p.stat().st_size / 1024

    carte_paths = sorted(out_dir.glob("*/carte.html"), key=lambda p: p.stat().st_size)
    cartes = [kb(p) for p in carte_paths]
    rapports = [kb(p) for p in out_dir.glob("*/rapport.html")]
    regional = sorted(out_dir.rglob("carte_regionale.html"))
    return {
        "n_cartes": len(cartes),
        "carte_max": max(cartes) if cartes else None,
        "carte_max_slug": carte_paths[-1].parent.name if carte_paths else None,
        "carte_median": statistics.median(cartes) if cartes else None,
        "rapport_max": max(rapports) if rapports else None,
        "rapport_median": statistics.median(rapports) if rapports else None,
        "regional": kb(regional[0]) if regional else None,
        "regional_path": str(regional[0]) if regional else None,
    }


def cell_durations(out_dir: Path, top: int = 8) -> list[tuple[float, float, str]]:
    """(median s, max s, first line) of the slowest cells of the executed report notebooks."""
    import nbformat

    per_cell: dict[int, list[float]] = defaultdict(list)
    first_line: dict[int, str] = {}
    for path in out_dir.glob("*/diagnostic.ipynb"):
        nb = nbformat.read(str(path), as_version=4)
        code_i = 0
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            d = cell.metadata.get("papermill", {}).get("duration")
            if d is not None:
                per_cell[code_i].append(float(d))
                lines = [ln for ln in cell.source.splitlines() if ln.strip()]
                first_line.setdefault(code_i, (lines[0] if lines else "")[:70])
            code_i += 1
    rows = [(statistics.median(v), max(v), f"cellule {i + 1} : {first_line.get(i, '')}") for i, v in per_cell.items()]
    rows.sort(reverse=True)
    return rows[:top]


def single_report(name: str, out_dir: Path, res, profile: bool, perimeters=None) -> None:
    """One report built alone, in this process, to split its time (papermill execution, HTML export)."""
    from cpts_diag.reports.runner import build_report

    try:
        result, dt, prof = C.timed(
            build_report,
            name,
            perimeters=perimeters,
            out_dir=out_dir,
            cpam="exemple" if perimeters is None else "aucun",
            profile=profile,
        )
    except Exception as exc:  # noqa: BLE001 - a benchmark reports, never crashes
        print(f"  rapport isolé impossible : {type(exc).__name__}: {exc}")
        return
    t = getattr(result, "timings", {}) or {}
    print(f"\n  Rapport isolé « {name} » : {dt:.2f} s, dont " + ", ".join(f"{k} {v:.2f} s" for k, v in t.items()))
    res.add("single_s", "un rapport seul (build_report, processus principal)", dt, "s")
    if "execution" in t:
        res.add("single_execution_s", "  dont exécution papermill du notebook 02", t["execution"], "s")
    if "export" in t:
        res.add("single_export_s", "  dont export HTML (nbconvert)", t["export"], "s")
    if prof:
        print(prof)


def run_regional(batch_mod, out_dir: Path, perimeters=None, region: str = "93"):
    """Produce the regional synthesis and map of ``region`` with run_synthesis when the batch did not."""
    fn = getattr(batch_mod, "run_synthesis", None)
    if fn is None:
        return None, None
    params = inspect.signature(fn).parameters
    wanted = {
        "out_dir": out_dir,
        "cpam": "exemple" if perimeters is None else "aucun",
        "progress": False,
        "perimeters": perimeters,
        "region": region,
    }
    kwargs = {k: v for k, v in wanted.items() if k in params}
    t0 = time.perf_counter()
    result = fn(**kwargs)
    return result, time.perf_counter() - t0


def run_on_cluster(batch_mod, out_dir: Path, only, args, perimeters, t_local: float, res) -> None:
    """The same batch on a LocalCluster of ``args.workers`` single-threaded worker processes."""
    try:
        from distributed import LocalCluster
    except ImportError:
        print('  dask.distributed absent (pip install "cpts_diag[cluster]") : lot sur cluster non mesuré')
        return
    t0 = time.perf_counter()
    cluster = LocalCluster(n_workers=args.workers, processes=True, threads_per_worker=1, dashboard_address=None)
    try:
        res.add(
            "cluster_start_s",
            f"démarrage du LocalCluster ({args.workers} workers, hors lot)",
            time.perf_counter() - t0,
            "s",
        )
        t1 = time.perf_counter()
        with WorkerMemory() as mem:
            result = call_run_batch(
                batch_mod, out_dir, only, args.workers, args.verbose, perimeters, cluster=cluster.scheduler_address
            )
        t_dask = time.perf_counter() - t1
    finally:
        cluster.close()
    n_failed, examples = _failures(result, out_dir, len(getattr(result, "entries", []) or []))
    res.add("batch_dask_s", f"même lot sur un LocalCluster Dask ({args.workers} workers)", t_dask, "s")
    res.add(
        "dask_overhead",
        "surcoût Dask / processus locaux (lot Dask / lot local − 1)",
        t_dask / t_local - 1,
        "",
        TARGET_DASK_OVERHEAD,
    )
    res.add("dask_failures", "échecs du lot Dask", n_failed, "nb", 0)
    durations = entry_durations(result)
    if durations:
        print(
            f"    durée d'un rapport dans le lot Dask : médiane {statistics.median(durations):.2f} s, "
            f"max {max(durations):.2f} s ({len(durations)} rapports)"
        )
        res.info["dask_report_durations"] = durations
    for e in examples:
        print(f"    échec : {e}")
    res.add("dask_worker_memory_mb", "mémoire maximale d'un worker Dask + son noyau", mem.max_mb, "Mo")


# -------------------------------------------------------------------------------- main


def main(argv=None) -> int:
    parser = C.base_parser(__doc__.splitlines()[0])
    parser.add_argument("--subset", type=int, default=None, help="ne traiter que N territoires (essai rapide)")
    parser.add_argument("--workers", type=int, default=2, help="processus du lot (défaut 2)")
    parser.add_argument("--floor-runs", type=int, default=3, help="exécutions du plancher (médiane ; défaut 3)")
    parser.add_argument("--keep", default=None, help="garder les rapports produits dans ce dossier")
    parser.add_argument(
        "--no-single",
        action="store_true",
        help="ne pas mesurer en plus un rapport isolé (décomposition exécution / export)",
    )
    parser.add_argument("--verbose", action="store_true", help="afficher la progression du lot")
    parser.add_argument(
        "--wait-import",
        type=float,
        default=0.0,
        help="attendre jusqu'à S secondes que cpts_diag.reports.batch soit importable",
    )
    parser.add_argument("--perimetres", default=None, help="fichier de périmètres (défaut : listing PACA embarqué)")
    parser.add_argument(
        "--epci-france",
        action="store_true",
        help="cas national : les 1 255 EPCI du COG 2026 comme territoires (CSV généré)",
    )
    parser.add_argument(
        "--epci-region",
        default=None,
        metavar="CODE",
        help="cas régional : les EPCI de la région CODE (p. ex. 84) comme territoires",
    )
    parser.add_argument("--no-cluster", action="store_true", help="ne pas mesurer le même lot sur un LocalCluster Dask")
    args = parser.parse_args(argv)
    res = C.Results("batch")
    print("== Benchmark du lot de rapports (papermill, noyaux chauds) ==", flush=True)
    C.print_load()

    from cpts_diag import settings

    missing = compare_imports(FLOOR_NOTEBOOK, settings.NOTEBOOKS_DIR / "02_diagnostic_territorial.ipynb")
    if missing:
        print(
            f"  attention : le plancher n'importe pas {', '.join(missing)} (importés par le notebook 02) ; "
            f"mettre à jour benchmarks/floor.ipynb"
        )
    res.info["floor_missing_imports"] = missing

    try:
        batch_mod = C.wait_import("cpts_diag.reports.batch", timeout=args.wait_import)
    except Exception as exc:  # noqa: BLE001 - a benchmark reports, never crashes
        print(f"  cpts_diag.reports.batch indisponible ({type(exc).__name__}: {exc}) : benchmark du lot non exécuté")
        res.info["error"] = f"{type(exc).__name__}: {exc}"
        res.dump(args.json_out)
        return 0

    tmp = Path(tempfile.mkdtemp(prefix="bench_batch_"))
    perimeters = Path(args.perimetres).resolve() if args.perimetres else None
    if args.epci_france:
        import bench_check

        from cpts_diag.reference import load_reference

        perimeters, n_epci, n_rows = bench_check.build_epci_case(load_reference(), tmp)
        print(f"  cas national : {n_epci} EPCI, {n_rows} lignes ({perimeters.name})")
    elif args.epci_region:
        import bench_check

        from cpts_diag.reference import load_reference

        perimeters, n_epci, n_rows = bench_check.build_epci_case(load_reference(), tmp, args.epci_region)
        print(f"  cas régional {args.epci_region} : {n_epci} EPCI, {n_rows} lignes ({perimeters.name})")
    names = territory_names(perimeters)
    only = spread(names, args.subset) if args.subset else None
    n = len(only) if only else len(names)
    res.info.update(n_territories=n, subset=only, perimeters=str(perimeters) if perimeters else None)
    shown = only if only and len(only) <= 10 else None
    print(f"  territoires : {n} sur {len(names)}" + (f" ({', '.join(shown)})" if shown else ""), flush=True)

    try:
        floor_dir = tmp / "floor"
        floor_dir.mkdir()
        floor_times = run_floor(args.floor_runs, floor_dir)
        floor = statistics.median(floor_times)
        print(f"    exécutions du plancher : {', '.join(f'{t:.2f}' for t in floor_times)} s")
        res.add("floor_s", f"plancher papermill (médiane de {len(floor_times)})", floor, "s")
        fcells = floor_cells(floor_dir)
        if fcells:
            res.add("floor_imports_s", "dont imports dans le noyau (cellules du plancher)", sum(fcells[1:]), "s")

        if args.workers > 1:
            per_round, durs = run_floor_parallel(args.workers, args.floor_runs, tmp / "floor_par")
            if durs:
                res.add(
                    "floor_parallel_s",
                    f"plancher à {args.workers} en parallèle (médiane d'une exécution)",
                    statistics.median(durs),
                    "s",
                )
                res.info["floor_parallel_round_s"] = per_round

        out_dir = tmp / "rapports"
        t0 = time.perf_counter()
        with WorkerMemory() as mem_local:
            result = call_run_batch(batch_mod, out_dir, only, args.workers, args.verbose, perimeters)
        t_batch = time.perf_counter() - t0
        res.add("batch_s", f"lot de {n} rapports, {args.workers} processus", t_batch, "s")
        ideal = n * floor / args.workers
        res.add("batch_ideal_s", f"plancher du lot ({n} × plancher / {args.workers})", ideal, "s")
        res.add("ratio", "ratio lot / plancher du lot", t_batch / ideal, "", TARGET_RATIO)
        fpar = next((f.value for f in res.figures if f.key == "floor_parallel_s"), None)
        if fpar:
            res.add(
                "ratio_parallel",
                f"ratio lot / (N × plancher à {args.workers} en parallèle / {args.workers}) "
                "[indicatif : contention CPU exclue]",
                t_batch / (n * fpar / args.workers),
                "",
            )
        res.add("per_report_s", "temps moyen par rapport (lot × processus / N)", t_batch * args.workers / n, "s")
        res.add(
            "worker_memory_mb", "mémoire maximale d'un worker + son noyau (processus locaux)", mem_local.max_mb, "Mo"
        )
        if not args.no_cluster:
            run_on_cluster(batch_mod, tmp / "rapports_dask", only, args, perimeters, t_batch, res)
        durations = entry_durations(result)
        if durations:
            print(
                f"    durée d'un rapport dans le lot : médiane {statistics.median(durations):.2f} s, "
                f"max {max(durations):.2f} s ({len(durations)} rapports)"
            )
            res.info["report_durations"] = durations
            entries = [e for e in getattr(result, "entries", []) if isinstance(e, dict) and "duration_s" in e]
            slow = sorted(entries, key=lambda e: -float(e["duration_s"] or 0))[:3]
            print("    les plus longs : " + ", ".join(f"{e.get('name')} {float(e['duration_s']):.1f} s" for e in slow))
        n_failed, examples = _failures(result, out_dir, n)
        res.add("failures", "échecs", n_failed, "nb", 0)
        for e in examples:
            print(f"    échec : {e}")
        if n_failed:
            print("    attention : un rapport en échec s'arrête tôt ; le ratio ci-dessus est alors sous-estimé")

        s = sizes(out_dir)
        if s["regional"] is None:
            try:
                _, t_syn = run_regional(batch_mod, out_dir, perimeters, args.epci_region or "93")
                if t_syn is not None:
                    res.add("synthesis_s", "synthèse régionale (run_synthesis)", t_syn, "s")
            except Exception as exc:  # noqa: BLE001 - a benchmark reports, never crashes
                print(f"  synthèse régionale impossible : {type(exc).__name__}: {exc}")
            s = sizes(out_dir)
        res.add(
            "carte_max_kb",
            f"carte.html d'une CPTS, maximum ({s['n_cartes']} cartes)",
            s["carte_max"],
            "Ko",
            TARGET_CARTE_KB,
        )
        if s["carte_max_slug"]:
            print(f"    la plus lourde : {s['carte_max_slug']}/carte.html")
        res.add("carte_median_kb", "carte.html d'une CPTS, médiane", s["carte_median"], "Ko", TARGET_CARTE_KB)
        res.add(
            "regional_kb",
            "carte régionale carte_regionale.html",
            s["regional"],
            "Ko",
            TARGET_REGION_KB_OTHER if args.epci_region or args.epci_france else TARGET_REGION_KB,
        )
        res.add("rapport_max_kb", "rapport.html, maximum", s["rapport_max"], "Ko", TARGET_RAPPORT_KB)
        res.add("rapport_median_kb", "rapport.html, médiane", s["rapport_median"], "Ko")
        res.add("memory_mb", "mémoire maximale (processus principal)", C.peak_rss_mb(), "Mo")
        res.add("children_memory_mb", "mémoire maximale d'un processus enfant", C.children_peak_rss_mb(), "Mo")

        cells = cell_durations(out_dir)
        if cells:
            print("\n  Cellules les plus lentes du notebook 02 (durées papermill, médiane / max sur les rapports) :")
            for med, mx, label in cells:
                print(f"    {med:6.2f} s / {mx:6.2f} s  {label}")
            res.info["slow_cells"] = [{"median_s": m, "max_s": x, "cell": lb} for m, x, lb in cells]
        if not args.no_single and n_failed < n:
            single_report(only[0] if only else names[0], tmp / "seul", res, args.profile, perimeters)
        if args.keep:
            dest = Path(args.keep)
            shutil.copytree(out_dir, dest, dirs_exist_ok=True)
            print(f"  rapports conservés dans {dest}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    return res.finish(f"Résumé du lot ({n} territoires)", args.json_out)


if __name__ == "__main__":
    sys.exit(main())
