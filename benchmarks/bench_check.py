"""Benchmark of ``check`` on a national case built from real data.

The 1 255 EPCI à fiscalité propre of France are used as territories over the communes of the
COG 2026 (``epci_siren`` of ``data/communes_cog2026.csv``, names from ``data/epci.csv``), written
as a long CSV perimeter file (one row per EPCI × commune) in a temporary folder. Timed:

* reading that CSV with ``read_perimeters``;
* ``check_perimeters`` without geometric checks (``geometries=None``, target < 3 s);
* the same with a commune-name column (the COG names typed in upper case, accents dropped): every name
  compared with its code (target < 3 s);
* ``check_perimeters`` with contiguity and enclaves from the embedded national adjacency only
  (``geometries="default"``, no polygon read, target < 2 s; issue 7);
* with ``--build``: building the national geometry files from ``<opendata>`` (ADMIN EXPRESS) in a
  temporary folder, and the size of ``data/`` and of its geometry files;
* reading the national polygons (COG 2018, ``<opendata>/france-geojson/departements/*.geojson``)
  and aligning them on the COG 2026, apart;
* ``check_perimeters`` with these polygons (target < 10 s);
* the size guard (issue 16): refusing a zip of about 500 KB that holds a 280 MB CSV (one repeated line), time
  (target < 1 s) and memory traced while refusing (target < 50 MB): nothing is decompressed;
* peak memory of the process (target < 2 GB).

Usage : ``python benchmarks/bench_check.py [--opendata ../shared/opendata] [--build] [--profile]``
Exit code 0 even when a target is missed ("objectif non atteint" is printed).
"""

from __future__ import annotations

import csv
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C

TARGET_CHECK_S = 3.0
TARGET_CHECK_EMBEDDED_S = 2.0
TARGET_DATA_MB = 25.0
TARGET_CHECK_GEO_S = 10.0
TARGET_MEMORY_MB = 2048.0
TARGET_REFUSE_S = 1.0
TARGET_REFUSE_MB = 50.0


def measure_size_guard(folder: Path, res) -> None:
    """Time and traced memory of refusing a small zip that holds a 280 MB CSV (issue 16)."""
    import tracemalloc
    import zipfile

    from cpts_diag.errors import InputError
    from cpts_diag.io.perimeters import read_perimeters

    path, chunk = folder / "liste_enorme.zip", b"CPTS A;01053\n" * 80_000
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        with zf.open("liste.csv", "w", force_zip64=True) as fh:
            fh.write(b"cpts;code_insee\n")
            for _ in range(280_000_000 // len(chunk)):
                fh.write(chunk)
    print(f"  archive de {path.stat().st_size / 1024:.0f} Ko contenant un CSV de 280 Mo")
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        read_perimeters(path)
        refused = False
    except InputError:
        refused = True
    elapsed = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    if not refused:
        print("  ERREUR : l'archive a été acceptée")
    res.add("refuse_zip_s", "refus d'un zip de 280 Mo décompressés (périmètres)", elapsed, "s", TARGET_REFUSE_S)
    res.add("refuse_zip_mb", "mémoire allouée pendant ce refus (tracemalloc)", peak, "Mo", TARGET_REFUSE_MB)


def build_epci_case(reference, out_dir: Path, region: str | None = None) -> tuple[Path, int, int]:
    """Write the EPCI perimeter file (France, or the EPCI with a commune in ``region``).

    Returns (path, n territories, n rows).
    """
    communes = reference.communes
    members = communes[communes["epci_siren"].astype(str).str.len() > 0]
    if region:
        sirens = set(members.loc[members["region"].astype(str) == region, "epci_siren"])
        members = members[members["epci_siren"].isin(sirens)]
    epci = reference.epci
    names = epci["nom"].to_dict()
    # EPCI names are not guaranteed unique: suffix the SIREN when a name repeats.
    counts = epci["nom"].value_counts()
    label = {s: (n if counts[n] == 1 else f"{n} ({s})") for s, n in names.items()}
    path = out_dir / (f"epci_region_{region}_cog2026.csv" if region else "epci_france_cog2026.csv")
    n_rows = 0
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["Nom CPTS", "Code INSEE"])
        for siren, group in members.groupby("epci_siren", sort=True):
            name = label.get(siren, f"EPCI {siren}")
            for code in group.index:
                writer.writerow([name, code])
                n_rows += 1
    return path, members["epci_siren"].nunique(), n_rows


def read_national_polygons(opendata: Path):
    """Concatenate the per-département commune polygons (COG 2018) of france-geojson."""
    import geopandas as gpd
    import pandas as pd

    from cpts_diag.geometry import read_commune_polygons

    files = sorted((opendata / "france-geojson" / "departements").glob("*.geojson"))
    if not files:
        raise FileNotFoundError(f"aucun fichier *.geojson dans {opendata / 'france-geojson' / 'departements'}")
    parts = [read_commune_polygons(f) for f in files]
    gdf = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs=parts[0].crs)
    return gdf, len(files)


def build_geometry_files(opendata: Path, res) -> None:
    """Time the national geometry build (ADMIN EXPRESS) in a temporary folder; sizes of ``data/``."""
    from cpts_diag.build.data_folder import build_communes, build_geometry
    from cpts_diag.commune_geo import ADJACENCY_FILE, ATTRIBUTES_FILE, DISPLAY_FILE
    from cpts_diag.settings import DATA_DIR

    with tempfile.TemporaryDirectory(prefix="bench_geo_") as tmp:
        out = Path(tmp)
        communes = build_communes(opendata, out)
        _, t_build, _ = C.timed(build_geometry, opendata, out, communes)
        res.add("build_geometry_s", "construction de la géométrie nationale (data build)", t_build, "s")
        for name in (ATTRIBUTES_FILE, ADJACENCY_FILE, DISPLAY_FILE):
            print(f"    {name} : {(out / name).stat().st_size / 1e6:.1f} Mo")
    size = sum(p.stat().st_size for p in DATA_DIR.rglob("*") if p.is_file()) / 1e6
    res.add("data_mb", "taille de data/ (tous les fichiers embarqués)", size, "Mo", TARGET_DATA_MB)


def sanity(report) -> dict:
    s = report.summary
    return {
        "territoires": s["n_territories"],
        "communes couvertes": s["n_communes"],
        "communes de la zone d'étude": s["n_study_area_communes"],
        "orphelines": s["n_orphans"],
        "hors fichier": s["n_outside_file"],
        "noms discordants": s["n_name_mismatches"],
        "chevauchements": s["n_overlaps"],
        "codes périmés": s["n_outdated_codes"],
        "codes inconnus": s["n_unknown_codes"],
        "EPCI discontinus": s["n_discontiguous"] if report.geometry_checks else None,
        "enclaves": s["n_enclaves"] if report.geometry_checks else None,
        "multi-départements": s["n_multi_departement"],
    }


def print_sanity(title: str, counts: dict) -> None:
    shown = ", ".join(f"{k} {v}" for k, v in counts.items() if v is not None)
    print(f"  contrôle de cohérence ({title}) : {shown}", flush=True)


def repeat(n: int, fn, *args, profile=False, **kwargs):
    """Run ``fn`` n times (the first one profiled if asked); return (result, median seconds, profile)."""
    times, prof = [], None
    for i in range(max(n, 1)):
        result, dt, p = C.timed(fn, *args, profile=profile and i == 0, **kwargs)
        times.append(dt)
        prof = prof or p
    if len(times) > 1:
        print(f"    {len(times)} exécutions : {', '.join(f'{t:.2f}' for t in times)} s (médiane retenue)")
    return result, statistics.median(times), prof


def main(argv=None) -> int:
    parser = C.base_parser(__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="exécutions de chaque contrôle (médiane ; défaut 3)")
    parser.add_argument(
        "--build",
        action="store_true",
        help="chronométrer aussi la construction de la géométrie nationale depuis --opendata",
    )
    args = parser.parse_args(argv)
    opendata = Path(args.opendata).resolve()
    res = C.Results("check")
    print("== Benchmark « check » : les EPCI de France comme territoires (COG 2026) ==", flush=True)
    C.print_load()

    t0 = time.perf_counter()
    from cpts_diag.reference import load_reference

    checks = C.wait_import("cpts_diag.checks", timeout=0)
    from cpts_diag.io.perimeters import read_perimeters

    t_import = time.perf_counter() - t0
    reference, t_ref, _ = C.timed(load_reference)
    res.add("import_s", "import des modules", t_import, "s")
    res.add("reference_s", "chargement du référentiel COG 2026", t_ref, "s")

    with tempfile.TemporaryDirectory(prefix="bench_check_") as tmp:
        path, n_epci, n_rows = build_epci_case(reference, Path(tmp))
        size_kb = path.stat().st_size / 1024
        print(f"  fichier de périmètres : {n_epci} EPCI, {n_rows} lignes, {size_kb:.0f} Ko")
        res.info.update(n_epci=n_epci, n_rows=n_rows)

        perims, t_read, prof = C.timed(read_perimeters, path, profile=args.profile)
        res.add("read_csv_s", f"lecture du CSV ({n_rows} lignes) par read_perimeters", t_read, "s")
        if prof:
            print(prof)
        measure_size_guard(Path(tmp), res)

    # Warm-up of lazily cached pieces is part of the first call: measure the first call as a user sees it.
    report, t_check, prof = repeat(
        args.repeat, checks.check_perimeters, perims, reference, geometries=None, profile=args.profile
    )
    res.add("check_s", "check_perimeters sans contours", t_check, "s", TARGET_CHECK_S)
    counts = sanity(report)
    print_sanity("sans contours", counts)
    res.info["sans_contours"] = counts
    if prof:
        print(prof)
    from cpts_diag.text import strip_accents

    names = perims.table["code_insee"].map(reference.names).map(lambda n: strip_accents(n).upper())
    named = perims.table.assign(nom_commune=names)
    report_named, t_named, prof = repeat(
        args.repeat, checks.check_perimeters, named, reference, geometries=None, profile=args.profile
    )
    res.add("check_names_s", "check_perimeters sans contours, avec les noms de communes", t_named, "s", TARGET_CHECK_S)
    print_sanity("avec les noms", sanity(report_named))
    if prof:
        print(prof)
    report_emb, t_emb, prof = repeat(
        args.repeat, checks.check_perimeters, perims, reference, geometries="default", profile=args.profile
    )
    res.add(
        "check_embedded_s",
        "check_perimeters avec contiguïté et enclaves (données embarquées)",
        t_emb,
        "s",
        TARGET_CHECK_EMBEDDED_S,
    )
    counts = sanity(report_emb)
    counts["séparés par la mer"] = report_emb.summary["n_island_territories"]
    counts["non vérifiables"] = report_emb.summary["n_unverifiable"]
    print_sanity("données embarquées", counts)
    res.info["donnees_embarquees"] = counts
    if report_emb.discontiguous:
        shown = ", ".join(f"{d['territory']} ({d['n_pieces']})" for d in report_emb.discontiguous)
        print(f"  EPCI discontinus : {shown}")
    if prof:
        print(prof)
    if args.build:
        build_geometry_files(opendata, res)
    mem_before_geo = C.peak_rss_mb()
    res.add("mem_no_geo_mb", "mémoire maximale après le contrôle sans contours", mem_before_geo, "Mo")

    # Polygons: reading and alignment, apart from the check.
    try:
        (raw, n_files), t_poly, prof = C.timed(read_national_polygons, opendata, profile=args.profile)
    except FileNotFoundError as exc:
        print(f"  contours nationaux absents : {exc}")
        raw = None
    if raw is not None:
        res.add(
            "read_polygons_s", f"lecture des contours COG 2018 ({n_files} fichiers, {len(raw)} communes)", t_poly, "s"
        )
        if prof:
            print(prof)
        from cpts_diag.geometry import align_to_cog

        (aligned, notes), t_align, _ = C.timed(align_to_cog, raw, reference.former)
        res.add(
            "align_s", f"alignement sur le COG 2026 ({len(notes)} changements, {len(aligned)} communes)", t_align, "s"
        )
        wanted = perims.table["code_insee"].unique()
        missing = sorted(set(wanted) - set(aligned["code_insee"]))
        if missing:
            print(
                f"  {len(missing)} commune(s) membre(s) d'un EPCI sans polygone dans les contours 2018 "
                f"(communes rétablies après 2018) : {', '.join(missing[:8])}" + (" …" if len(missing) > 8 else "")
            )
        res.info["communes_sans_polygone"] = missing
        del raw

        report_geo, t_geo, prof = repeat(
            args.repeat, checks.check_perimeters, perims, reference, geometries=aligned, profile=args.profile
        )
        res.add("check_geo_s", "check_perimeters avec contours nationaux", t_geo, "s", TARGET_CHECK_GEO_S)
        counts = sanity(report_geo)
        print_sanity("avec contours", counts)
        res.info["avec_contours"] = counts
        if report_geo.discontiguous:
            shown = ", ".join(f"{d['territory']} ({d['n_pieces']})" for d in report_geo.discontiguous[:5])
            print(f"  exemples d'EPCI discontinus : {shown}")
        if prof:
            print(prof)

    res.add("memory_mb", "mémoire maximale du processus (ru_maxrss)", C.peak_rss_mb(), "Mo", TARGET_MEMORY_MB)
    return res.finish("Résumé « check » national", args.json_out)


if __name__ == "__main__":
    sys.exit(main())
