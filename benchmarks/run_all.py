"""Run every benchmark and print a summary table: figure / target / ratio / OK.

Each benchmark runs in its own Python process (so that its peak memory and caches are its own):
``bench_check.py``, ``bench_indicators.py``, ``bench_proposals.py`` then ``bench_batch.py``.

Usage : ``python benchmarks/run_all.py [--opendata ../shared/opendata] [--skip-batch] [--subset N]``
Exit code 0 even when a target is missed ("objectif non atteint" is printed).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C

BENCHES = [
    ("check", "bench_check.py", "Contrôle national des EPCI (issue 2)"),
    ("indicators", "bench_indicators.py", "Indicateurs des 70 CPTS de PACA (issue 3)"),
    ("proposals", "bench_proposals.py", "Propositions et simulation (issue 18)"),
    ("batch", "bench_batch.py", "Lot des rapports PACA (issue 4)"),
]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--opendata", default=str(C.DEFAULT_OPENDATA), help="dossier des données ouvertes (défaut : ../shared/opendata)"
    )
    parser.add_argument("--skip-batch", action="store_true", help="ne pas lancer le benchmark du lot (long)")
    parser.add_argument("--subset", type=int, default=None, help="lot : ne traiter que N territoires")
    parser.add_argument("--profile", action="store_true", help="profiler les étapes (cProfile)")
    args = parser.parse_args(argv)

    summary: list[tuple[str, C.Figure]] = []
    errors = []
    t_all = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench_all_") as tmp:
        for key, script, title in BENCHES:
            if key == "batch" and args.skip_batch:
                print(f"\n### {title} : ignoré (--skip-batch)")
                continue
            out = Path(tmp) / f"{key}.json"
            cmd = [sys.executable, str(C.BENCH_DIR / script), "--opendata", args.opendata, "--json", str(out)]
            if args.profile:
                cmd.append("--profile")
            if key == "batch" and args.subset:
                cmd += ["--subset", str(args.subset)]
            print(f"\n### {title}", flush=True)
            proc = subprocess.run(cmd, cwd=str(C.REPO_DIR), check=False)
            if proc.returncode != 0 or not out.exists():
                errors.append(f"{script} : code de sortie {proc.returncode}")
                continue
            doc = json.loads(out.read_text(encoding="utf-8"))
            for f in doc["figures"]:
                fig = C.Figure(f["key"], f["label"], f["value"], f["unit"], f["target"])
                summary.append((key, fig))

    print("\n" + "=" * 80)
    kept = [f for _, f in summary if f.target is not None]
    print(C.table(kept, f"Synthèse des benchmarks (durée totale {time.perf_counter() - t_all:.0f} s)"))
    missed = [f for f in kept if f.ok is False]
    if missed:
        print(f"\n{C.MISSED} : " + "; ".join(f"{f.label} ({C.fmt_value(f.value, f.unit)})" for f in missed))
    else:
        print("\nTous les objectifs mesurés sont atteints.")
    for e in errors:
        print(f"erreur : {e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
