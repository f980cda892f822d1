"""Tests of cpts_diag.outputs.check_outputs: check workbook and GeoPackage, on the fake COG of tests/fake_cog.py."""

import re

import geopandas as gpd
import openpyxl
import pyogrio
import pytest

from cpts_diag.io.perimeters import read_perimeters
from cpts_diag.outputs.check_outputs import GEOPACKAGE_NAME, PROPOSAL_MAP_NAME, WORKBOOK_NAME, write_check_outputs
from cpts_diag.reference import load_reference
from fake_cog import CURRENT_13, GRID, check, grid_rows, polys, write_cog


@pytest.fixture(scope="module")
def ref(tmp_path_factory):
    return load_reference(write_cog(tmp_path_factory.mktemp("cog")))


def test_write_check_outputs(ref, tmp_path):
    # Marseille (13055) has no polygon here and is split by arrondissement between T3 and T4.
    cells = {k: v for k, v in GRID.items() if k != "13055"}
    rows = [r for r in grid_rows() if r[1] != "13055"] + [
        ("T4", "13055", "13201"),
        ("T3", "13055", "13202"),
        ("T1", "13021"),
        ("T1", "13999"),
    ]
    r = check(ref, *rows, geometries=polys(cells), departements=["13"])
    written = write_check_outputs(r, tmp_path / "out")
    assert [p.name for p in written] == [WORKBOOK_NAME, GEOPACKAGE_NAME, PROPOSAL_MAP_NAME]
    wb = openpyxl.load_workbook(written[0])
    assert wb.sheetnames == [
        "Synthèse",
        "Territoires",
        "Chevauchements",
        "Noms et codes",
        "Orphelines",
        "Hors fichier",
        "Arr. non couverts",
        "Codes périmés",
        "Codes inconnus",
        "Doublons",
        "Discontinuités",
        "Enclaves",
        "Séparés par la mer",
        "Non vérifiable",
        "Multi-départements",
        "Propositions",
        "Sources",
    ]

    def records(name):
        values = list(wb[name].iter_rows(values_only=True))
        start = next(
            i
            for i, row in enumerate(values)
            if row[0] in ("Code INSEE", "Code arrondissement", "Code donné", "Territoire", "Contrôle")
        )
        header = values[start]
        return [dict(zip(header, row)) for row in values[start + 1 :]]

    orph = records("Orphelines")
    # 13006 touches only T1 polygons, but Marseille (no polygon, in T3/T4) touches its corner: undecided
    assert [(o["Code INSEE"], o["Commune"], o["Population"], o["Enclavée dans"]) for o in orph] == [
        ("13006", "Foxtrot", 600, None)
    ]
    undecided = records("Non vérifiable")
    assert [(u["Contrôle"], u["Territoire"], u["Codes INSEE"]) for u in undecided] == [
        ("continuité", "T3", "13055"),
        ("continuité", "T4", "13055"),
        ("enclave", "T1", "13006"),
    ]
    arr = records("Arr. non couverts")
    assert [(a["Code arrondissement"], a["Code commune"]) for a in arr] == [("13203", "13055")]
    unknown = records("Codes inconnus")
    assert unknown == [{"Code donné": "13999", "Territoire": "T1", "Ligne": 16}]
    outdated = records("Codes périmés")
    assert (outdated[0]["Code donné"], outdated[0]["Code actuel"]) == ("13021", "13020")
    terr = {t["Territoire"]: t for t in records("Territoires")}
    assert terr["T2"]["Départements"] == "84" and isinstance(terr["T2"]["Départements"], str)
    assert terr["T2"]["Population"] == 1500
    disc = records("Discontinuités")
    assert {(d["Territoire"], d["Codes INSEE"]) for d in disc} == {("T2", "84001"), ("T2", "84002")}
    assert records("Enclaves") == []
    layers = dict(pyogrio.list_layers(written[1]))
    assert set(layers) == {"territoires", "communes", "orphelines"}
    terr_layer = gpd.read_file(written[1], layer="territoires")
    assert sorted(terr_layer["territoire"]) == ["T1", "T2", "T3"]  # T4 has no polygon
    communes = gpd.read_file(written[1], layer="communes")
    # T1: 7 squares (13021 is 13020, already there) ; T2: 2 ; T3: 2 ; Marseille has no polygon
    assert len(communes) == 7 + 2 + 2
    assert communes["code_insee"].map(type).eq(str).all()
    assert set(communes.loc[communes["territoire"] == "T3", "code_insee"]) == {"13030", "26001"}
    ov = records("Chevauchements")
    assert [(o["Code INSEE"], o["Type"]) for o in ov] == [("13055", "découpage par arrondissement municipal")]
    orphans = gpd.read_file(written[1], layer="orphelines")
    assert list(orphans["code_insee"]) == ["13006"] and list(orphans["enclavee_dans"]) == [""]


def _table(ws) -> tuple[tuple, list[tuple]]:
    """(header, rows) of a sheet whose table starts after its notes and a blank row."""
    values = list(ws.iter_rows(values_only=True))
    start = next(i for i, row in enumerate(values) if row[0] in ("Code INSEE", "Niveau", "Territoire"))
    return values[start], values[start + 1 :]


def test_write_check_outputs_without_geometry(ref, tmp_path):
    r = check(ref, ("T1", "13001"), geometries=None, departements=["13"])
    written = write_check_outputs(r, tmp_path)
    assert [p.name for p in written] == [WORKBOOK_NAME]
    wb = openpyxl.load_workbook(written[0])
    assert wb["Enclaves"]["A1"].value.startswith("Contrôle non effectué")
    header, rows = _table(wb["Orphelines"])
    assert header[0] == "Code INSEE"
    codes = [row[0] for row in rows]
    assert codes == sorted(set(CURRENT_13) - {"13001"})
    assert all(isinstance(c, str) for c in codes)
    assert wb["Hors fichier"]["A1"].value == "Aucun constat."


def test_outside_file_sheet_when_the_file_covers_a_small_part_of_its_departement(ref, tmp_path):
    """One commune of the ten of département 13, no declared study area: the other nine are « hors fichier »,
    listed in their own sheet, and the « Orphelines » sheet is empty."""
    r = check(ref, ("T1", "13001"), geometries=None)
    wb = openpyxl.load_workbook(write_check_outputs(r, tmp_path)[0])
    assert wb["Orphelines"]["A1"].value == "Aucun constat."
    header, rows = _table(wb["Hors fichier"])
    assert header[:4] == ("Code INSEE", "Commune", "Population", "Département")
    assert [row[0] for row in rows] == sorted(set(CURRENT_13) - {"13001"})
    values = {row[0]: row[1] for row in wb["Synthèse"].iter_rows(values_only=True)}
    assert values["Communes orphelines"] == 0
    assert values["Communes hors fichier (information, pas des orphelines)"] == 9


def test_geopackage_layer_of_the_communes_outside_the_file(ref, tmp_path):
    """T1 lists 13001 only (one commune of ten): the nine others are outside the file, in their own layer, with
    the territory they touch (13020 east and 13002 north of 13001 on the unit-square grid)."""
    r = check(ref, ("T1", "13001"), geometries=polys(GRID))
    assert r.orphans == [] and len(r.outside_file) == 9
    written = write_check_outputs(r, tmp_path)
    outside = gpd.read_file(written[1], layer="hors_fichier")
    assert sorted(outside["code_insee"]) == sorted(set(CURRENT_13) - {"13001"})
    near = dict(zip(outside["code_insee"], outside["territoires_voisins"]))
    assert near["13020"] == near["13002"] == "T1" and near["13005"] == ""
    assert "orphelines" not in dict(pyogrio.list_layers(written[1]))


# ------------------------------------------------------------------ the PACA check: proposals sheet and map


@pytest.fixture(scope="module")
def paca_outputs(tmp_path_factory):
    from cpts_diag import settings
    from cpts_diag.checks import check_perimeters

    report = check_perimeters(read_perimeters(settings.DEFAULT_PERIMETERS))
    out = tmp_path_factory.mktemp("paca")
    return report, write_check_outputs(report, out)


def test_proposals_sheet_lists_every_option(paca_outputs):
    report, written = paca_outputs
    wb = openpyxl.load_workbook(written[0], read_only=True)
    values = list(wb["Propositions"].iter_rows(values_only=True))
    start = next(i for i, row in enumerate(values) if row and row[0] == "Type")
    header, rows = values[start], [dict(zip(values[start], r)) for r in values[start + 1 :]]
    assert header[:7] == (
        "Type",
        "Code(s) INSEE",
        "Commune(s)",
        "Population",
        "Département",
        "Rang",
        "Territoire proposé",
    )
    expected = [
        (p["code_insee"], c["rank"], c["territory"], c["population_after"])
        for p in report.proposals
        for c in p["candidates"]
    ]
    got = [(r["Code(s) INSEE"], r["Rang"], r["Territoire proposé"], r["Population du territoire après"]) for r in rows]
    assert got == expected and len(got) == sum(len(p["candidates"]) for p in report.proposals)
    notes = [row[0] for row in values[:start] if row and row[0]]
    assert any(n.startswith("Règle : candidats classés") for n in notes)
    tiers = {r["Territoire"]: r for r in _sheet_records(wb, "Territoires")}
    cerebellum = tiers["CPTS Cerebellum Pays des Sorgues et Luberon"]
    assert (cerebellum["Écart au seuil le plus proche (hab.)"], cerebellum["Proche d'un seuil (5 %)"]) == (1461, "oui")


def _sheet_records(wb, name):
    values = list(wb[name].iter_rows(values_only=True))
    start = next(i for i, row in enumerate(values) if row and row[0] == "Territoire")
    return [dict(zip(values[start], r)) for r in values[start + 1 :]]


def test_proposal_map_is_written_offline(paca_outputs):
    report, written = paca_outputs
    page = next(p for p in written if p.name == PROPOSAL_MAP_NAME).read_text(encoding="utf-8")
    assert "Propositions de rattachement — cpts_paca_ars_2026-01.json" in page
    assert "Orpheline proposée à CPTS Alpes Bléone Durance (12)" in page
    assert "CPTS à moins de 5 % d" in page and "(8)" in page
    assert not re.search(r"""<(script|link)\b[^>]*(src|href)=["']https?://""", page)


def test_dissolved_territories_keep_no_sliver_next_to_the_arrondissements(paca_outputs):
    # the arrondissements of Marseille are not simplified with the communes around them (not one coverage): the
    # other communes are still simplified together, so that dissolving a territory leaves no sliver
    import shapely

    from cpts_diag.outputs.check_outputs import check_layers
    from cpts_diag.outputs.maps.geometry import web_geometry

    report, _ = paca_outputs
    communes = check_layers(report, report.map_polygons())["communes"]
    shapes = web_geometry(communes.drop_duplicates("code_insee").reset_index(drop=True), 120, 4)
    holes = 0
    for _, part in communes.groupby("territoire"):
        if part["code_insee"].str.startswith("132").any():
            continue
        union = shapely.union_all(shapes[shapes["code_insee"].isin(part["code_insee"])].geometry.to_numpy())
        holes += sum(len(p.interiors) for p in shapely.get_parts(union))
    assert holes < 10  # 212 when every commune was simplified on its own


# ------------------------------------------------------------------ a real Finistère file: the GeoPackage layers


@pytest.fixture(scope="module")
def finistere(tmp_path_factory):
    from cpts_diag.checks import check_perimeters
    from finistere_check import communes, members, write_file

    folder = tmp_path_factory.mktemp("finistere")
    report = check_perimeters(read_perimeters(write_file(folder)), departements=["29"])
    written = write_check_outputs(report, folder / "out")
    cog = communes()
    return written, cog, members(cog)


def test_finistere_outputs_and_territory_layer(finistere):
    written, cog, mine = finistere
    assert [p.name for p in written] == [WORKBOOK_NAME, GEOPACKAGE_NAME, PROPOSAL_MAP_NAME]
    assert dict(pyogrio.list_layers(written[1])).keys() == {"territoires", "communes", "orphelines", "hors_fichier"}
    terr = gpd.read_file(written[1], layer="territoires").set_index("territoire")
    assert sorted(terr.index) == sorted(mine)
    for name, codes in mine.items():
        population = int(cog.loc[codes, "population"].sum())
        row = terr.loc[name]
        assert (row["n_communes"], row["population"], row["population_min"], row["population_max"]) == (
            len(codes),
            population,
            population,
            population,
        )
        assert row["taille"] == 1 + sum(population >= t for t in (40_000, 80_000, 175_000))
        assert not row["approximatif"]
    assert terr.geometry.notna().all() and not terr.geometry.is_empty.any()


def test_finistere_commune_layer(finistere):
    written, cog, mine = finistere
    layer = gpd.read_file(written[1], layer="communes")
    expected = sorted((c, t) for t, codes in mine.items() for c in codes)
    assert sorted(zip(layer["code_insee"], layer["territoire"])) == expected
    assert list(layer["nom"]) == list(cog.loc[layer["code_insee"], "nom"])
    assert list(layer["population_commune"]) == list(cog.loc[layer["code_insee"], "population"])
    given = dict(zip(zip(layer["code_insee"], layer["territoire"]), layer["code_donne"]))
    assert given[("29046", "CPTS Pays de Douarnenez")] == "29283"  # listed by its former code
    assert given[("29046", "CPTS Pays Fouesnantais")] == "29046"
    overlap = layer[layer["chevauchement"] != ""]
    assert set(overlap["code_insee"]) == {"29046"} and set(overlap["chevauchement"]) == {"conflit"}
    assert not layer["infracommunal"].any() and set(layer["arrondissements"]) == {""}


def test_finistere_orphan_and_outside_layers(finistere):
    written, cog, mine = finistere
    covered = {c for codes in mine.values() for c in codes}
    orphans = gpd.read_file(written[1], layer="orphelines")
    expected = cog[(cog["departement"] == "29") & ~cog.index.isin(covered)]
    assert sorted(orphans["code_insee"]) == sorted(expected.index) and len(orphans) == 265
    assert list(orphans["population"]) == list(expected.loc[orphans["code_insee"], "population"])
    assert set(orphans["departement"]) == {"29"} and set(orphans["enclavee_dans"]) == {""}
    outside = gpd.read_file(written[1], layer="hors_fichier")
    expected = cog[(cog["departement"] == "56") & ~cog.index.isin(covered)]
    assert sorted(outside["code_insee"]) == sorted(expected.index) and len(outside) == 248
    assert list(outside["nom"]) == list(expected.loc[outside["code_insee"], "nom"])
    assert orphans.crs == outside.crs and orphans.geometry.notna().all() and outside.geometry.notna().all()
