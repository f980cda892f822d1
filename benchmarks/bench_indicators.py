"""Benchmark of the indicators: loading the embedded data, then ``diagnose_all`` for the 70 PACA CPTS.

* loading the embedded data (COG 2026 reference + indicator data), measured in fresh
  subprocesses so that no cache (``lru_cache``) helps: target < 1 s (median of 3 processes;
  imports are timed apart);
* ``diagnose_all`` for all PACA CPTS at once, after loading: target < 2 s, without and with the
  fictitious CPAM table (``cpts_diag.settings.DEFAULT_CPAM``).

Usage : ``python benchmarks/bench_indicators.py [--opendata ../shared/opendata] [--profile]``
(the open data are not read: the embedded ``data/`` is what is measured).
Exit code 0 even when a target is missed ("objectif non atteint" is printed).
"""

from __future__ import annotations

import inspect
import json
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C

TARGET_LOAD_S = 1.0
TARGET_DIAGNOSE_S = 2.0
REPEATS = 3

# Run in a fresh interpreter: times imports, then the loading of the embedded data.
_LOAD_SCRIPT = r"""
import json, resource, sys, time
sys.path.insert(0, {repo!r})
t0 = time.perf_counter()
import pandas, numpy
t1 = time.perf_counter()
from cpts_diag.reference import load_reference
from cpts_diag.indicator_data import load_indicator_data
t2 = time.perf_counter()
data = load_indicator_data()          # reference + indicator data, as a report loads them
t3 = time.perf_counter()
ref = load_reference()                # should come from the cache
t4 = time.perf_counter()
out = {{"import_pandas": t1 - t0, "import_cpts": t2 - t1, "load": t3 - t2, "reference_again": t4 - t3,
        "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}
try:
    from cpts_diag.settings import DEFAULT_CPAM
    from cpts_diag.io.userfiles import read_cpam_table
    t5 = time.perf_counter()
    read_cpam_table(DEFAULT_CPAM)
    out["cpam"] = time.perf_counter() - t5
except Exception as exc:  # noqa: BLE001 - a benchmark reports, never crashes
    out["cpam_error"] = f"{{type(exc).__name__}}: {{exc}}"
print(json.dumps(out))
"""


def fresh_load_times(repeats: int = REPEATS) -> list[dict]:
    runs = []
    for _ in range(repeats):
        proc = subprocess.run(
            [sys.executable, "-c", _LOAD_SCRIPT.format(repo=str(C.REPO_DIR))],
            capture_output=True,
            text=True,
            cwd=str(C.REPO_DIR),
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "échec")
        runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    return runs


def _call_diagnose(diagnose_all, perims, reference, cpam):
    params = inspect.signature(diagnose_all).parameters
    kwargs = {}
    if "reference" in params:
        kwargs["reference"] = reference
    if "cpam" in params:
        kwargs["cpam"] = cpam
    return diagnose_all(perims, **kwargs)


def _describe(result) -> str:
    """Short description of what diagnose_all returned (sanity check)."""
    import pandas as pd

    if isinstance(result, pd.DataFrame):
        terr = result["cpts"].nunique() if "cpts" in result.columns else None
        return f"{len(result)} lignes" + (f", {terr} territoires" if terr is not None else "")
    if isinstance(result, dict):
        return f"{len(result)} territoires"
    parts = []
    for attr in ("indicators", "rows", "table", "communes", "territories"):
        value = getattr(result, attr, None)
        if isinstance(value, pd.DataFrame):
            extra = f", {value['cpts'].nunique()} territoires" if "cpts" in value.columns else ""
            parts.append(f"{attr} : {len(value)} lignes{extra}")
    return " ; ".join(parts) or type(result).__name__


def main(argv=None) -> int:
    parser = C.base_parser(__doc__.splitlines()[0])
    parser.add_argument(
        "--wait-import",
        type=float,
        default=0.0,
        help="attendre jusqu'à S secondes que cpts_diag.indicators soit importable",
    )
    args = parser.parse_args(argv)
    res = C.Results("indicators")
    print("== Benchmark des indicateurs (70 CPTS de PACA) ==", flush=True)
    C.print_load()

    # 1. Loading, in fresh processes.
    try:
        C.wait_import("cpts_diag.indicator_data", timeout=args.wait_import)
        runs = fresh_load_times()
    except Exception as exc:  # noqa: BLE001 - a benchmark reports, never crashes
        print(f"  chargement impossible : {type(exc).__name__}: {exc}")
        runs = []
    if runs:

        def med(k):
            return statistics.median(r[k] for r in runs)

        load = [r["load"] for r in runs]
        res.add(
            "import_s", "imports pandas + cpts_diag (processus neuf)", med("import_pandas") + med("import_cpts"), "s"
        )
        print(
            f"    load_indicator_data() (référentiel compris) dans {len(runs)} processus neufs : "
            f"{', '.join(f'{x:.2f}' for x in load)} s"
        )
        res.add("load_s", "chargement des données embarquées (médiane)", statistics.median(load), "s", TARGET_LOAD_S)
        res.add("reference_again_s", "load_reference() rappelé ensuite (cache ?)", med("reference_again"), "s")
        if med("reference_again") > 0.03:
            print(
                "    remarque : load_reference() relit le référentiel après load_indicator_data() "
                "(clés de cache différentes : load_reference() ≠ load_reference(None))"
            )
        if "cpam" in runs[0]:
            res.add("load_cpam_s", "lecture de la table CPAM fictive (médiane)", med("cpam"), "s")
        elif "cpam_error" in runs[0]:
            print(f"  table CPAM : {runs[0]['cpam_error']}")
        res.add("load_memory_mb", "mémoire maximale du processus de chargement", med("maxrss_mb"), "Mo")

    # 2. diagnose_all, after loading (in this process).
    try:
        indicators = C.wait_import("cpts_diag.indicators", timeout=args.wait_import)
        diagnose_all = indicators.diagnose_all
    except Exception as exc:  # noqa: BLE001 - a benchmark reports, never crashes
        print(f"  cpts_diag.indicators.diagnose_all indisponible ({type(exc).__name__}: {exc})")
        diagnose_all = None
    if diagnose_all is not None:
        from cpts_diag import settings
        from cpts_diag.indicator_data import load_indicator_data
        from cpts_diag.io.perimeters import read_perimeters
        from cpts_diag.reference import load_reference

        reference = load_reference()
        load_indicator_data()
        perims = read_perimeters(settings.DEFAULT_PERIMETERS, names_by_code=reference.names)
        n_terr = perims.table["cpts"].nunique()
        for label, key, cpam in (
            ("sans table CPAM", "diagnose_s", None),
            ("avec la table CPAM fictive", "diagnose_cpam_s", settings.DEFAULT_CPAM),
        ):
            times = []
            result = None
            for i in range(REPEATS):
                try:
                    result, dt, prof = C.timed(
                        _call_diagnose, diagnose_all, perims, reference, cpam, profile=args.profile and i == 0
                    )
                except Exception as exc:  # noqa: BLE001 - a benchmark reports, never crashes
                    print(f"  diagnose_all {label} : échec {type(exc).__name__}: {exc}")
                    break
                times.append(dt)
                if prof:
                    print(prof)
            if not times:
                continue
            print(f"    diagnose_all {label} : appels successifs {', '.join(f'{t:.2f}' for t in times)} s")
            res.add(key, f"diagnose_all, {n_terr} CPTS, {label} (1er appel)", times[0], "s", TARGET_DIAGNOSE_S)
            print(f"    résultat : {_describe(result)}")
        res.add("memory_mb", "mémoire maximale du processus (diagnose_all)", C.peak_rss_mb(), "Mo")

    return res.finish("Résumé des indicateurs", args.json_out)


if __name__ == "__main__":
    sys.exit(main())
