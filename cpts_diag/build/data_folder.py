"""Build the embedded data folder (data/) from the official-format open data files.

Run ``cpts-diag data build --source ../shared/opendata``. Every output is a plain file a user can open
(CSV, GeoPackage, the ARS JSON listing unchanged) and is described in data/SOURCES.md.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from cpts_diag import settings
from cpts_diag.build.commune_geometry import build_commune_geometry
from cpts_diag.build.cpam_example import build_cpam_example
from cpts_diag.build.open_data import (
    SOCIAL_COLUMNS,
    VINTAGE_PACKAGES,
    harmonise_vintage,
    read_vintage_package,
    social_indicator_table,
)
from cpts_diag.datasets import DATASETS
from cpts_diag.errors import InputError
from cpts_diag.io.atomic import atomic_path, atomic_write_text
from cpts_diag.io.open_data import POP_VINTAGES, SOCIAL_WEIGHT_VINTAGE
from cpts_diag.professions import AMELI_DENOMINATORS, AMELI_INHABITANTS, AMELI_PROFESSIONS

_UNIT_KINDS = ("commune-actuelle", "arrondissement-municipal")

# Source files, relative to the --source folder (layout of ../shared/opendata).
COMMUNES_JSON = "decoupage-administratif/communes.json"
EPCI_JSON = "decoupage-administratif/epci.json"
DEPARTEMENTS_JSON = "decoupage-administratif/departements.json"
REGIONS_JSON = "decoupage-administratif/regions.json"
PASSAGE_CSV = "cogugaison/passage_communes_2018_2024_insee.csv"
SUPRACOM_CSV = "cogugaison/table_supracom_2024.csv"
ADMIN_EXPRESS_LZMA = "contours-communes-admin-express/communes.csv.lzma"
GEOJSON_2018_DIR = "france-geojson/departements"
#: The ARS listing, copied unchanged under its own name.
CPTS_PACA_JSON = "cpts-paca/" + Path(DATASETS["paca_perimeters"].file).name
APL_XLSX = "drees-apl-mg/apl_generalistes.xlsx"
BV_HEALTH_CSV = "cartosante-insee-agreges/health.csv"
BV_SOCIAL_CSV = "cartosante-insee-agreges/social_determinants.csv"
DEP_INDICATORS_CSV = "cartosante-insee-agreges/health_anova_regression.csv"
VINTAGE_TGZ = "population-historique/etalab-decoupage-administratif-{}.tgz"  # {}: npm version of the vintage
FILOSOFI_CSV = "filosofi-2019/FILO2019_DISP_COM.csv"
AMELI_CSV = "ameli-demographie-ps/toutes_specialites_departement.csv"
ZONAGE_CSV = "zonage-infirmiers/zonage-raw.csv"
MORTALITY_EPCI_CSV = "mortalite-insee/insee_rp_evol_1968_epci_2018.csv"
MORTALITY_DEP_CSV = "mortalite-insee/insee_rp_evol_1968_departement_2018.csv"
MORTALITY_PERIOD = "2013-2018"
SOCIAL_DIR = "indicateurs-sociaux-communes"


def _source_file(source: Path, rel: str) -> Path:
    path = source / rel
    if not path.exists():
        raise InputError("fichier source introuvable pour la construction des données", path=path)
    return path


def _read_json(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def _write_csv(df: pd.DataFrame, out: Path, dataset: str) -> None:
    """Write ``df`` as the file of ``dataset`` (:data:`cpts_diag.datasets.DATASETS`) in ``out``."""
    with atomic_path(out / DATASETS[dataset].file) as tmp:
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
    _write_csv(df, out, "communes")
    return df


def build_admin_levels(source: Path, out: Path) -> None:
    """Départements, régions and EPCI names."""
    deps = pd.DataFrame(_read_json(_source_file(source, DEPARTEMENTS_JSON)), dtype=str)
    _write_csv(deps[["code", "nom", "region", "zone"]], out, "departements")
    regs = pd.DataFrame(_read_json(_source_file(source, REGIONS_JSON)), dtype=str)
    _write_csv(regs[["code", "nom", "zone"]], out, "regions")
    epci = _read_json(_source_file(source, EPCI_JSON))
    _write_csv(
        pd.DataFrame([{"siren": e["code"], "nom": e["nom"], "type": e["type"]} for e in epci], dtype=str), out, "epci"
    )


def build_code_changes(source: Path, out: Path) -> None:
    """INSEE commune code changes 2018 -> 2024 (fusions, défusions, changes of code)."""
    df = pd.read_csv(_source_file(source, PASSAGE_CSV), dtype=str)
    _write_csv(df, out, "code_changes")


def build_perimeters(source: Path, out: Path) -> None:
    """The ARS PACA listing of the 70 CPTS (01/2026), copied unchanged."""
    src = _source_file(source, CPTS_PACA_JSON)
    with atomic_path(out / "perimetres" / src.name) as tmp:
        shutil.copyfile(src, tmp)


def build_geometry(source: Path, out: Path, communes: pd.DataFrame) -> None:
    """National commune geometry (IGN ADMIN EXPRESS, COG 2026): areas, adjacency, display polygons."""
    notes = build_commune_geometry(
        _source_file(source, ADMIN_EXPRESS_LZMA), _source_file(source, GEOJSON_2018_DIR), communes, out
    )
    atomic_write_text(out / DATASETS["geometry_notes"].file, "\n".join(notes) + "\n")
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
        measures = ("apl_mg", "apl_mg_moins65", "pop_standardisee", "pop_totale")
        data.columns = ["code_insee", "commune", *(f"{m}_{year}" for m in measures)]
        frames.append(data[data["code_insee"].notna()].set_index("code_insee"))
    apl = frames[0].join(frames[1].drop(columns="commune"), how="outer")
    apl["commune"] = apl["commune"].fillna(frames[1]["commune"])
    apl = apl.reset_index().sort_values("code_insee")
    _write_csv(apl, out, "apl")


def _read_statistiques_locales(path: Path) -> pd.DataFrame:
    """CartoSanté / INSEE Statistiques locales export: `;`, UTF-8 BOM, 2 title lines."""
    df = pd.read_csv(path, sep=";", skiprows=2, dtype=str, encoding="utf-8-sig")
    return df.rename(columns={"Code": "code", "Libellé": "libelle"})


def build_bassins_de_vie(source: Path, out: Path, communes: pd.DataFrame) -> None:
    """BV 2022 indicators (tokens of masked values kept as published) and the commune -> BV table."""
    health = _read_statistiques_locales(_source_file(source, BV_HEALTH_CSV))
    social = _read_statistiques_locales(_source_file(source, BV_SOCIAL_CSV))
    bv = health.merge(social.drop(columns="libelle"), on="code", how="outer")
    _write_csv(bv, out, "bv_indicators")

    supra = pd.read_csv(_source_file(source, SUPRACOM_CSV), dtype=str)[["CODGEO", "BV2022"]]
    bv_of = dict(zip(supra["CODGEO"], supra["BV2022"]))
    current = communes[communes["type"] == "commune-actuelle"]
    rows = []
    for code, former in zip(current["code_insee"], current["anciens_codes"]):
        old = None if code in bv_of else next((o for o in former.split("|") if o in bv_of), None)
        bv_code = bv_of[old] if old else bv_of.get(code)
        rows.append({"code_insee": code, "bv2022": bv_code or "", "note": f"via l'ancien code {old}" if old else ""})
    _write_csv(pd.DataFrame(rows, dtype=str), out, "commune_bv")


def build_departement_indicators(source: Path, out: Path) -> None:
    """Département indicators (INSEE Statistiques locales): GP count BPE 2024 and population."""
    df = _read_statistiques_locales(_source_file(source, DEP_INDICATORS_CSV))
    _write_csv(df, out, "departement_indicators")


def build_population_history(source: Path, out: Path, communes: pd.DataFrame) -> None:
    """Populations municipales 2016, 2019-2022 harmonised to COG 2026 (see cpts_diag.io.open_data)."""
    from cpts_diag.reference import former_code_map

    changes = pd.read_csv(_source_file(source, PASSAGE_CSV), dtype=str)
    former = former_code_map(communes, changes)
    d = changes[(changes["typemodif"] == "d") & (changes["cod_from"] != changes["cod_to"])]
    splits = d.groupby("cod_from")["cod_to"].agg(list).to_dict()
    kept = communes["type"].isin(["commune-actuelle", "arrondissement-municipal"]) & (communes["zone"] != "com")
    units_2026 = set(communes.loc[kept, "code_insee"])
    table = pd.DataFrame(index=pd.Index(sorted(units_2026), name="code_insee"))
    group_rows = []
    for year in POP_VINTAGES:
        path = _source_file(source, VINTAGE_TGZ.format(VINTAGE_PACKAGES[year]))
        units, groups, _lost = harmonise_vintage(read_vintage_package(path), units_2026, former, splits)
        table[f"pop_{year}"] = pd.Series(units, dtype="Int64").reindex(table.index).astype(str).replace("<NA>", "")
        group_rows += [{"annee": year, "unites": "|".join(g), "population": str(pop)} for g, pop in groups]
    _write_csv(table.reset_index(), out, "population_history")
    _write_csv(pd.DataFrame(group_rows, columns=["annee", "unites", "population"]), out, "population_groups")


def build_filosofi(source: Path, out: Path) -> None:
    """Filosofi 2019 per commune: code as published, persons in fiscal households, median income (Q219)."""
    df = pd.read_csv(
        _source_file(source, FILOSOFI_CSV), sep=";", dtype=str, encoding="utf-8-sig", keep_default_na=False
    )
    _write_csv(df[["CODGEO", "NBPERS19", "Q219"]], out, "filosofi")


def build_ameli_professionals(source: Path, out: Path) -> None:
    """Assurance Maladie 2024: libéral professionals by département, région and France (kept professions), with
    the population each density is published for (per 100,000: inhabitants, or women aged 15 to 49...)."""
    df = pd.read_csv(_source_file(source, AMELI_CSV), dtype=str, encoding="utf-8-sig", keep_default_na=False)
    df = df[
        df["profession_sante"].isin(AMELI_PROFESSIONS)
        & (df["classe_age"] == "tout_age")
        & (df["libelle_sexe"] == "tout sexe")
    ]
    is_france = df["region"] == "99"
    is_region = (df["departement"] == "999") & ~is_france
    profession = df["profession_sante"].map(lambda p: AMELI_PROFESSIONS[p][0])
    table = df.assign(
        profession=profession,
        niveau=np.where(is_france, "france", np.where(is_region, "region", "departement")),
        code=np.where(is_france, "FR", np.where(is_region, df["region"], df["departement"])),
        population_reference=profession.map(AMELI_DENOMINATORS).fillna(AMELI_INHABITANTS),
    )[["annee", "profession", "niveau", "code", "effectif", "densite", "population_reference"]]
    _write_csv(table.sort_values(["profession", "niveau", "code"]), out, "ameli")


def build_nurse_zonage(source: Path, out: Path) -> None:
    """ARS nurse zonage per commune / arrondissement: published level number (1-5), empty when n.d."""
    df = _read_statistiques_locales(_source_file(source, ZONAGE_CSV))
    token = df["Zonage infirmiers"].astype(str)
    level = token.str.extract(r"^([1-5])_", expand=False).fillna("")
    _write_csv(pd.DataFrame({"code": df["code"], "niveau": level}), out, "nurse_zonage")


def build_mortality(source: Path, out: Path) -> None:
    """INSEE crude mortality rate of the latest period (2013-2018) by EPCI (~2020) and département."""
    columns = {"codgeo": "code", "libgeo": "nom", "an": "periode", "tx_morta": "taux"}
    frames = []
    for level, rel in (("epci", MORTALITY_EPCI_CSV), ("departement", MORTALITY_DEP_CSV)):
        df = pd.read_csv(_source_file(source, rel), sep=";", dtype=str, encoding="utf-8-sig", keep_default_na=False)
        df = df[df["an"] == MORTALITY_PERIOD]
        frames.append(df[list(columns)].rename(columns=columns).assign(niveau=level))
    _write_csv(pd.concat(frames, ignore_index=True)[["niveau", *columns.values()]], out, "mortality")


def build_social_indicators(source: Path, out: Path, communes: pd.DataFrame) -> None:
    """Share of residents aged 75+ and of single-parent families (census 2022), F-EDI 2021 score and national
    quintile, per COG 2026 commune and arrondissement, with the 2022 census population that weights them.

    Needs the harmonised population history of ``out`` (:func:`build_population_history` runs first).
    """
    from cpts_diag.reference import former_code_map

    published = {}
    for column, (name, field) in SOCIAL_COLUMNS.items():
        records = _read_json(_source_file(source, f"{SOCIAL_DIR}/{name}"))
        published[column] = {
            code: rec.get(field) for code, rec in records.items() if rec and rec.get(field) is not None
        }
    hist = pd.read_csv(out / DATASETS["population_history"].file, dtype={"code_insee": str}).set_index("code_insee")
    records = read_vintage_package(_source_file(source, VINTAGE_TGZ.format(VINTAGE_PACKAGES[SOCIAL_WEIGHT_VINTAGE])))
    code_weights = {code: pop for code, kind, pop, _p, _a in records if kind in _UNIT_KINDS and pop is not None}
    former = former_code_map(communes, pd.read_csv(_source_file(source, PASSAGE_CSV), dtype=str))
    table = social_indicator_table(published, hist[f"pop_{SOCIAL_WEIGHT_VINTAGE}"], code_weights, former)
    table["population_2022"] = table["population_2022"].astype("Int64")
    table["fedi_quintile"] = table["fedi_quintile"].astype("Int64")
    _write_csv(table.round(4), out, "social")


def build_all(source: Path | str, out: Path | str | None = None) -> list[Path]:
    """Build every embedded data file from ``source``; return the files written."""
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
    # the files of the deeper diagnostic
    build_population_history(source, out, communes)
    build_filosofi(source, out)
    build_ameli_professionals(source, out)
    build_nurse_zonage(source, out)
    build_mortality(source, out)
    build_social_indicators(source, out, communes)
    build_cpam_example(out)
    return sorted(p for p in out.rglob("*") if p.is_file() and before.get(p) != p.stat().st_mtime)
