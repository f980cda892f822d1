"""Benchmark of the proposals of a check and of ``cpts-diag simulate`` (issue 18).

* The national case of ``bench_check.py`` (the 1 255 EPCI of France as territories over the COG 2026 communes):
  ``check_perimeters`` with the embedded adjacency, with its proposals and with them switched off; the difference
  is what the proposals cost (target < 0,5 s). The same on a harder national case: the first commune (by code) of
  every tenth EPCI left out (about 125 orphans, each with candidates), and one commune in every fiftieth EPCI
  claimed by a neighbouring EPCI too (conflicts).
* ``cpts-diag simulate --ajouter 04013=CPTS Alpes Bléone Durance`` on the embedded PACA listing, in a new process
  as a user runs it (imports included; median of 3, target < 3 s), and in this process (the two checks, the
  indicators of the territory touched, the corrected file written in a temporary folder and read back).

Usage : ``python benchmarks/bench_proposals.py [--repeat 3] [--profile]``
Exit code 0 even when a target is missed ("objectif non atteint" is printed).
"""

from __future__ import annotations

import csv
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C
from bench_check import build_epci_case

TARGET_PROPOSALS_S = 0.5
TARGET_SIMULATE_S = 3.0
CHANGE = "04013=CPTS Alpes Bléone Durance"


def median_time(n: int, fn, *args, **kwargs):
    times, result = [], None
    for _ in range(max(n, 1)):
        result, dt, _ = C.timed(fn, *args, **kwargs)
        times.append(dt)
    return result, statistics.median(times)


def harder_case(reference, path: Path, out: Path) -> tuple[Path, int]:
    """The national EPCI file with orphans (first commune of every tenth EPCI left out) and conflicts (a commune of
    every fiftieth EPCI also claimed by a neighbouring EPCI)."""
    from cpts_diag.commune_geo import load_commune_geo

    rows = list(csv.reader(path.open(encoding="utf-8")))
    header, body = rows[0], rows[1:]
    by_epci: dict[str, list[str]] = {}
    for name, code in body:
        by_epci.setdefault(name, []).append(code)
    names = sorted(by_epci)
    left_out = {by_epci[n][0] for n in names[::10]}
    owner = {code: name for name, codes in by_epci.items() for code in codes}
    contact = load_commune_geo().links("contact")
    extra = []
    for name in names[5::50]:
        code = by_epci[name][-1]
        around = set(contact.loc[contact["a"] == code, "b"]) | set(contact.loc[contact["b"] == code, "a"])
        other = next((owner[c] for c in sorted(around) if owner.get(c) not in (None, name)), None)
        if other:
            extra.append([other, code])
    kept = [r for r in body if r[1] not in left_out] + extra
    with out.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([header, *kept])
    return out, len(left_out)


def measure_check(perims, reference, res, key: str, label: str, repeat: int) -> None:
    from cpts_diag import checks

    report, t_with = median_time(repeat, checks.check_perimeters, perims, reference)
    original = checks.build_proposals
    checks.build_proposals = lambda *args, **kwargs: []
    try:
        _, t_without = median_time(repeat, checks.check_perimeters, perims, reference)
    finally:
        checks.build_proposals = original
    s = report.summary
    print(
        f"  {label} : {s['n_orphans']} orphelines, {s['n_conflicts']} conflits, {s['n_enclaves']} enclaves, "
        f"{s['n_proposals']} propositions ; {sum(len(p['candidates']) for p in report.proposals)} options"
    )
    res.add(f"{key}_check_s", f"check_perimeters avec propositions ({label})", t_with, "s")
    res.add(f"{key}_without_s", f"le même sans propositions ({label})", t_without, "s")
    res.add(
        f"{key}_proposals_s", f"coût des propositions ({label})", max(t_with - t_without, 0.0), "s", TARGET_PROPOSALS_S
    )


def main(argv=None) -> int:
    parser = C.base_parser(__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="exécutions de chaque mesure (médiane ; défaut 3)")
    args = parser.parse_args(argv)
    res = C.Results("proposals")
    print("== Benchmark « propositions et simulation » (issue 18) ==", flush=True)
    C.print_load()

    from cpts_diag.io.perimeters import read_perimeters
    from cpts_diag.reference import load_reference

    reference = load_reference()
    with tempfile.TemporaryDirectory(prefix="bench_proposals_") as tmp:
        path, n_epci, n_rows = build_epci_case(reference, Path(tmp))
        print(f"  fichier national : {n_epci} EPCI, {n_rows} lignes")
        measure_check(read_perimeters(path), reference, res, "national", "EPCI de France", args.repeat)
        harder, n_left = harder_case(reference, path, Path(tmp) / "epci_orphelines.csv")
        measure_check(read_perimeters(harder), reference, res, "harder", "EPCI, orphelines et conflits", args.repeat)

        # simulate, as a user runs it: a new process
        cli = [sys.executable, "-m", "cpts_diag.cli", "simulate", "--ajouter", CHANGE]
        times = []
        for _ in range(max(args.repeat, 1)):
            t0 = time.perf_counter()
            proc = subprocess.run(cli, cwd=tmp, capture_output=True, text=True, check=False)
            times.append(time.perf_counter() - t0)
            if proc.returncode != 0:
                print(f"  erreur de simulate : {proc.stderr.strip()}")
        print(f"    {len(times)} exécutions : {', '.join(f'{t:.2f}' for t in times)} s (médiane retenue)")
        res.add(
            "simulate_cli_s",
            "cpts-diag simulate, une modification, PACA (processus neuf)",
            statistics.median(times),
            "s",
            TARGET_SIMULATE_S,
        )

        from cpts_diag import settings
        from cpts_diag.simulation import parse_change, simulate

        perims = read_perimeters(settings.DEFAULT_PERIMETERS, names_by_code=reference.names)
        change = [parse_change(CHANGE, "ajouter")]
        _, t_sim = median_time(args.repeat, simulate, perims, change, reference, out_dir=Path(tmp) / "corrige")
        res.add("simulate_s", "simulate() dans le processus (deux contrôles, indicateurs, fichier corrigé)", t_sim, "s")
    res.add("memory_mb", "mémoire maximale du processus (ru_maxrss)", C.peak_rss_mb(), "Mo")
    return res.finish("Résumé « propositions et simulation »", args.json_out)


if __name__ == "__main__":
    sys.exit(main())
