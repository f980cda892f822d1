"""The files of ``cpts-diag check --out DIR`` (:func:`write_check_outputs`): the check workbook
``controle_perimetres.xlsx`` (:mod:`cpts_diag.outputs.check_workbook`), the GeoPackage ``controle_perimetres.gpkg``
for QGIS (:func:`check_layers`) and the proposal map ``carte_propositions.html`` (:func:`proposal_web_map`)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from cpts_diag.checks import CheckReport
from cpts_diag.outputs.check_text import KIND_LABELS, proposal_text, threshold_text
from cpts_diag.outputs.check_workbook import check_workbook_sheets, enclosing_territory
from cpts_diag.outputs.export import write_geopackage, write_workbook
from cpts_diag.reference import Reference, load_reference
from cpts_diag.territories import unit_population

WORKBOOK_NAME = "controle_perimetres.xlsx"
GEOPACKAGE_NAME = "controle_perimetres.gpkg"
PROPOSAL_MAP_NAME = "carte_propositions.html"


def check_layers(report: CheckReport, polygons) -> dict:
    """The layers of the check GeoPackage: "territoires" (outlines with name, population and ACI tier), "communes"
    (member communes with their territory; Paris, Lyon and Marseille by arrondissement when listed so),
    "orphelines" (orphan communes and uncovered arrondissements) and "hors_fichier" (communes outside the file,
    with the territories they touch)."""
    import geopandas as gpd

    from cpts_diag.geometry import territory_outlines

    polygons = polygons[~polygons["code_insee"].astype(str).duplicated()]
    geo = polygons.set_index(polygons["code_insee"].astype(str).to_numpy()).geometry
    members = report.members
    assert members is not None  # the callers check it
    known = members[members["code_insee"].notna()].copy()
    known["code_insee"] = known["code_insee"].astype(str)
    # Units drawn: the arrondissement municipal when listed and drawn (embedded polygons), else the commune.
    arr = known["arrondissement"].astype(object)
    known["unit"] = arr.where(arr.notna() & arr.isin(geo.index), known["code_insee"])

    outlines = territory_outlines(polygons, known.assign(code_insee=known["unit"]))
    outlines = outlines[outlines.geometry.notna() & (outlines["n_communes"] > 0)]
    by_name = {t["name"]: t for t in report.territories}
    records = [by_name[t] for t in outlines["territory"]]

    def ints(key: str):
        return pd.array([r[key] for r in records], dtype="Int64")

    terr = gpd.GeoDataFrame(
        {
            "territoire": outlines["territory"].to_numpy(),
            "n_communes": [r["n_communes"] for r in records],
            "population": ints("population"),
            "population_min": ints("population_min"),
            "population_max": ints("population_max"),
            "taille": ints("tier"),
            "taille_min": ints("tier_min"),
            "taille_max": ints("tier_max"),
            "approximatif": [bool(r["approximate"]) for r in records],
        },
        geometry=outlines.geometry.to_numpy(),
        crs=polygons.crs,
    )

    kind_of = {o["code_insee"]: KIND_LABELS[o["kind"]] for o in report.overlaps}
    units = (
        known.groupby(["cpts", "unit"], sort=False)
        .agg(
            code_commune=("code_insee", "first"),
            code_donne=("code_given", lambda s: ", ".join(sorted(set(s)))),
            arrondissements=("arrondissement", lambda s: ", ".join(sorted(set(s.dropna())))),
            infracommunal=("infracommunal", "any"),
        )
        .reset_index()
    )
    units = units[units["unit"].isin(geo.index)]
    ref = report.reference if isinstance(report.reference, Reference) else load_reference()
    population = unit_population(ref)
    communes = gpd.GeoDataFrame(
        {
            "code_insee": units["unit"].to_numpy(),
            "nom": units["unit"].map(ref.names).to_numpy(),
            "territoire": units["cpts"].to_numpy(),
            "population_commune": pd.array(units["unit"].map(population).round(), dtype="Int64"),
            "arrondissements": units["arrondissements"].tolist(),
            "infracommunal": units["infracommunal"].astype(bool).to_numpy(),
            "code_donne": units["code_donne"].to_numpy(),
            "chevauchement": units["code_commune"].map(kind_of).astype(object).fillna("").to_numpy(),
        },
        geometry=geo.reindex(units["unit"]).to_numpy(),
        crs=polygons.crs,
    )

    enclave_of = enclosing_territory(report)
    orph = [o for o in report.orphans if o["code_insee"] in geo.index]
    orph += [
        {
            "code_insee": a["code"],
            "name": a["name"],
            "population": a["population"],
            "departement": ref.communes["departement"].get(a["commune"], ""),
        }
        for a in report.uncovered_arrondissements
        if a["code"] in geo.index
    ]

    def commune_layer(items: list[dict], **columns) -> gpd.GeoDataFrame:
        """Communes (code, name, population, département) and ``columns``, with their polygons."""
        return gpd.GeoDataFrame(
            {
                "code_insee": [o["code_insee"] for o in items],
                "nom": [o["name"] for o in items],
                "population": pd.array([o["population"] for o in items], dtype="Int64"),
                "departement": [o["departement"] for o in items],
                **columns,
            },
            geometry=geo.reindex([o["code_insee"] for o in items]).to_numpy(),
            crs=polygons.crs,
        )

    orphans = commune_layer(orph, enclavee_dans=[enclave_of.get(o["code_insee"], "") for o in orph])
    out = [o for o in report.outside_file if o["code_insee"] in geo.index]
    touching = report.touching or {}
    outside = commune_layer(out, territoires_voisins=[" ; ".join(touching.get(o["code_insee"], ())) for o in out])
    return {"territoires": terr, "communes": communes, "orphelines": orphans, "hors_fichier": outside}


def proposal_web_map(report: CheckReport, layers: dict | None = None):
    """The proposal map of a check (folium, offline; :func:`cpts_diag.outputs.maps.web.proposal_map`): orphans coloured
    by their first candidate, conflicts hatched, territories near an ACI threshold outlined; None without polygons
    (``layers``: :func:`check_layers` of the check, computed when not given)."""
    from cpts_diag.commune_geo import MAP_SOURCE
    from cpts_diag.outputs.maps.spec import MapSpec
    from cpts_diag.outputs.maps.web import proposal_map

    polygons = report.map_polygons()
    if polygons is None or report.members is None:
        return None
    layers = layers if layers is not None else check_layers(report, polygons)
    orphans = layers["orphelines"].copy()
    first = {
        p["code_insee"]: (p["candidates"][0]["territory"] if p["candidates"] else None, proposal_text(p))
        for p in report.proposals
        if p["kind"] == "orphan"
    }
    orphans["candidate"] = orphans["code_insee"].map(lambda c: first.get(c, (None, ""))[0])
    orphans["proposal"] = orphans["code_insee"].map(lambda c: first.get(c, (None, "sans proposition"))[1])
    overlaps = [p for p in report.proposals if p["kind"] == "overlap"]
    conflicts = pd.DataFrame(
        {"code_insee": [p["code_insee"] for p in overlaps], "proposal": [proposal_text(p) for p in overlaps]}
    )
    near_of = {t["name"]: threshold_text(t) for t in report.territories if t["near_threshold"]}
    terr = layers["territoires"]
    near = terr[terr["territoire"].isin(near_of)].rename(columns={"territoire": "cpts"})
    near = near.assign(proposal=near["cpts"].map(near_of))
    communes = layers["communes"].rename(columns={"territoire": "cpts"})[["code_insee", "nom", "cpts", "geometry"]]
    source = (
        f"INSEE, COG 2026 et populations légales 2023 ; {MAP_SOURCE} ; périmètres : "
        f"{report.source or 'table fournie'} — niveau commune. Propositions à décider par le chargé de mission"
    )
    title = "Propositions de rattachement" + (f" — {report.source}" if report.source else "")
    return proposal_map(MapSpec(communes, orphans=orphans, title=title, source=source), conflicts, near)


def write_check_outputs(report: CheckReport, out_dir) -> list[Path]:
    """Write the check workbook and, when polygons are available, the check GeoPackage and the proposal map.

    The GeoPackage and the map draw :meth:`CheckReport.map_polygons`: the user's polygons as the check read and
    aligned them (never read again), or the embedded display polygons. Returns the files written, workbook first.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    sheets, notes = check_workbook_sheets(report)
    written = [write_workbook(out_dir / WORKBOOK_NAME, sheets, notes=notes)]
    polygons = report.map_polygons()
    if polygons is not None and report.members is not None:
        layers = check_layers(report, polygons)
        if any(len(layer) for layer in layers.values()):
            written.append(write_geopackage(out_dir / GEOPACKAGE_NAME, layers))
        if len(layers["communes"]):
            from cpts_diag.outputs.maps.offline import save_offline_map

            written.append(save_offline_map(proposal_web_map(report, layers), out_dir / PROPOSAL_MAP_NAME))
    return written
