"""Build the embedded data folder (data/) from the official-format open data files.

Run ``cpts-diag data build --source ../shared/opendata``. Every output is a plain file a user can open
(CSV, GeoPackage, the ARS JSON listing unchanged) and is described in data/SOURCES.md.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd

from cpts_diag.atomic import atomic_path
from cpts_diag.errors import InputError

__all__ = ["build_all"]

# Source files, relative to the --source folder (layout of ../shared/opendata).
COMMUNES_JSON = "decoupage-administratif/communes.json"
EPCI_JSON = "decoupage-administratif/epci.json"
DEPARTEMENTS_JSON = "decoupage-administratif/departements.json"
REGIONS_JSON = "decoupage-administratif/regions.json"
PASSAGE_CSV = "cogugaison/passage_communes_2018_2024_insee.csv"
SUPRACOM_CSV = "cogugaison/table_supracom_2024.csv"
ADMIN_EXPRESS_LZMA = "contours-communes-admin-express/communes.csv.lzma"
GEOJSON_2018_DIR = "france-geojson/departements"
CPTS_PACA_JSON = "cpts-paca/cpts_paca_ars_2026-01.json"
APL_XLSX = "drees-apl-mg/apl_generalistes.xlsx"
BV_HEALTH_CSV = "cartosante-insee-agreges/health.csv"
BV_SOCIAL_CSV = "cartosante-insee-agreges/social_determinants.csv"
DEP_INDICATORS_CSV = "cartosante-insee-agreges/health_anova_regression.csv"


def _source_file(source: Path, rel: str) -> Path:
    path = source / rel
    if not path.exists():
        raise InputError("fichier source introuvable pour la construction des données", path=path)
    return path


def _read_json(path: Path):
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def _write_csv(df: pd.DataFrame, path: Path) -> None:
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False, encoding="utf-8", lineterminator="\n")


def build_communes(source: Path, out: Path) -> pd.DataFrame:
    """COG 2026 commune reference: every record (communes, déléguées, associées, arrondissements)."""
    records = _read_json(_source_file(source, COMMUNES_JSON))
    epci = _read_json(_source_file(source, EPCI_JSON))
    epci_of = {m["code"]: e["code"] for e in epci for m in e["membres"]}
    rows = []
    for r in records:
        kind = r["type"]
        parent = r.get("chefLieu") if kind in ("commune-deleguee", "commune-associee") else r.get("commune")
        pop = r.get("population")
        rows.append(
            {
                "code_insee": r["code"],
                "type": kind,
                "nom": r["nom"],
                "commune_parente": parent or "",
                "departement": r.get("departement", ""),
                "region": r.get("region", ""),
                "zone": r.get("zone", ""),
                "epci_siren": epci_of.get(r["code"], "") if kind == "commune-actuelle" else "",
                "population": "" if pop is None else str(int(pop)),
                "anciens_codes": "|".join(r.get("anciensCodes", [])),
            }
        )
    df = pd.DataFrame(rows, dtype=str)
    _write_csv(df, out / "communes_cog2026.csv")
    return df


def build_admin_levels(source: Path, out: Path) -> None:
    """Départements, régions and EPCI names."""
    deps = pd.DataFrame(_read_json(_source_file(source, DEPARTEMENTS_JSON)), dtype=str)
    _write_csv(deps[["code", "nom", "region", "zone"]], out / "departements.csv")
    regs = pd.DataFrame(_read_json(_source_file(source, REGIONS_JSON)), dtype=str)
    _write_csv(regs[["code", "nom", "zone"]], out / "regions.csv")
    epci = _read_json(_source_file(source, EPCI_JSON))
    _write_csv(
        pd.DataFrame(
            [{"siren": e["code"], "nom": e["nom"], "type": e["type"]} for e in epci], dtype=str
        ),
        out / "epci.csv",
    )


def build_code_changes(source: Path, out: Path) -> None:
    """INSEE commune code changes 2018 -> 2024 (fusions, défusions, changes of code)."""
    df = pd.read_csv(_source_file(source, PASSAGE_CSV), dtype=str)
    _write_csv(df, out / "changements_codes_2018_2024.csv")


def build_perimeters(source: Path, out: Path) -> None:
    """The ARS PACA listing of the 70 CPTS (01/2026), copied unchanged."""
    src = _source_file(source, CPTS_PACA_JSON)
    dest = out / "perimetres" / src.name
    dest.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(dest) as tmp:
        shutil.copyfile(src, tmp)


def build_geometry(source: Path, out: Path, communes: pd.DataFrame) -> None:
    """National commune geometry (IGN ADMIN EXPRESS, COG 2026): areas, adjacency, display polygons."""
    from cpts_diag.commune_geo import build_commune_geometry

    notes = build_commune_geometry(_source_file(source, ADMIN_EXPRESS_LZMA),
                                   _source_file(source, GEOJSON_2018_DIR), communes, out)
    with atomic_path(out / "communes_contours_cog2026.notes.txt") as tmp:
        tmp.write_text("\n".join(notes) + "\n", encoding="utf-8")
    for stale in ("communes_paca_cog2026.gpkg", "communes_paca_cog2026.notes.txt"):
        (out / stale).unlink(missing_ok=True)


def build_apl(source: Path, out: Path) -> None:
    """DREES APL to GPs per commune (arrondissements for Paris, Lyon, Marseille), 2022 and 2023."""
    path = _source_file(source, APL_XLSX)
    frames = []
    for year in ("2022", "2023"):
        raw = pd.read_excel(path, sheet_name=f"APL {year}", header=None, dtype=str)
        header_row = raw.index[raw.iloc[:, 0].astype(str).str.startswith("Code commune")][0]
        data = raw.iloc[header_row + 2 :, :6]  # skip header and units rows
        data.columns = [
            "code_insee",
            "commune",
            f"apl_mg_{year}",
            f"apl_mg_moins65_{year}",
            f"pop_standardisee_{year}",
            f"pop_totale_{year}",
        ]
        data = data[data["code_insee"].notna()].set_index("code_insee")
        frames.append(data)
    apl = frames[0].join(frames[1].drop(columns="commune"), how="outer")
    apl["commune"] = apl["commune"].fillna(frames[1]["commune"])
    apl = apl.reset_index().sort_values("code_insee")
    _write_csv(apl, out / "apl_mg_communes_2022_2023.csv")


def _read_statistiques_locales(path: Path) -> pd.DataFrame:
    """CartoSanté / INSEE Statistiques locales export: `;`, UTF-8 BOM, 2 title lines."""
    df = pd.read_csv(path, sep=";", skiprows=2, dtype=str, encoding="utf-8-sig")
    return df.rename(columns={"Code": "code", "Libellé": "libelle"})


def build_bassins_de_vie(source: Path, out: Path, communes: pd.DataFrame) -> None:
    """BV 2022 indicators (tokens of masked values kept as published) and the commune -> BV table."""
    health = _read_statistiques_locales(_source_file(source, BV_HEALTH_CSV))
    social = _read_statistiques_locales(_source_file(source, BV_SOCIAL_CSV))
    bv = health.merge(social.drop(columns="libelle"), on="code", how="outer")
    _write_csv(bv, out / "bv2022_indicateurs.csv")

    supra = pd.read_csv(_source_file(source, SUPRACOM_CSV), dtype=str)[["CODGEO", "BV2022"]]
    bv_of = dict(zip(supra["CODGEO"], supra["BV2022"]))
    current = communes[communes["type"] == "commune-actuelle"]
    rows = []
    for code, former in zip(current["code_insee"], current["anciens_codes"]):
        bv_code = bv_of.get(code)
        note = ""
        if bv_code is None:
            for old in filter(None, former.split("|")):
                if old in bv_of:
                    bv_code, note = bv_of[old], f"via l'ancien code {old}"
                    break
        rows.append({"code_insee": code, "bv2022": bv_code or "", "note": note})
    _write_csv(pd.DataFrame(rows, dtype=str), out / "communes_bv2022.csv")


def build_departement_indicators(source: Path, out: Path) -> None:
    """Département indicators (INSEE Statistiques locales): GP count BPE 2024 and population."""
    df = _read_statistiques_locales(_source_file(source, DEP_INDICATORS_CSV))
    _write_csv(df, out / "departements_indicateurs.csv")


def build_all(source: Path | str, out: Path | str | None = None) -> list[Path]:
    """Build every embedded data file from ``source``; return the files written."""
    from cpts_diag import settings

    source = Path(source)
    out = Path(out) if out else settings.DATA_DIR
    if not source.is_dir():
        raise InputError("dossier source introuvable", path=source)
    out.mkdir(parents=True, exist_ok=True)
    before = {p: p.stat().st_mtime for p in out.rglob("*") if p.is_file()}
    communes = build_communes(source, out)
    build_admin_levels(source, out)
    build_code_changes(source, out)
    build_perimeters(source, out)
    build_geometry(source, out, communes)
    build_apl(source, out)
    build_bassins_de_vie(source, out, communes)
    build_departement_indicators(source, out)
    from cpts_diag.cpam_example import build_cpam_example

    build_cpam_example(out)
    return sorted(p for p in out.rglob("*") if p.is_file() and before.get(p) != p.stat().st_mtime)
