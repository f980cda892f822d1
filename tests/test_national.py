"""Checks and reports outside PACA: every région, Corsica, the DROM, arrondissements, islands.

Territories are made of real communes (``docs/exemples/perimetres_illustratifs.csv``, an illustrative
file, and small hand-picked sets). Expectations are computed here from the raw embedded files, read
with the csv module or geopandas, never from the package's own results:

* populations from ``data/communes_cog2026.csv``;
* neighbours and pieces from the display polygons (``data/communes_contours_cog2026.gpkg``, a
  coverage simplification, so neighbours share their border): two units are neighbours when their
  polygons, grown by 50 m, intersect;
* areas from the display polygons in a local projected CRS, within ``AREA_TOLERANCE``.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from pathlib import Path

import pandas as pd
import pyogrio
import pytest
import shapely

from browser import browser_errors, chrome, layer_tooltips, open_page  # noqa: F401  (chrome is a fixture)
from cpts_diag.checks import check_perimeters
from cpts_diag.io.perimeters import read_perimeters
from geo_expect import AREA_TOLERANCE, AREA_TOLERANCE_KM2, DATA_DIR, display_area_km2, display_polygons, embedded_units

READY = "window.L && window.cptsDiag && window.cptsDiag.map"
EXAMPLE = Path(__file__).resolve().parent.parent / "docs" / "exemples" / "perimetres_illustratifs.csv"


# ----------------------------------------------------------------------------- raw data


@pytest.fixture(scope="module")
def cog():
    with open(DATA_DIR / "communes_cog2026.csv", encoding="utf-8", newline="") as fh:
        records = list(csv.DictReader(fh))
    current = {r["code_insee"]: r for r in records if r["type"] == "commune-actuelle"}
    arrondissements = {r["code_insee"]: r for r in records if r["type"] == "arrondissement-municipal"}
    return {"current": current, "arr": arrondissements}


@pytest.fixture(scope="module")
def example():
    """Territory -> list of units (arrondissement when given, else commune), from the CSV file."""
    units = defaultdict(list)
    with open(EXAMPLE, encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            units[row["cpts"]].append(row["arrondissement"] or row["code_insee"])
    return dict(units)


def _lambert(codes):
    gdf = display_polygons()
    sub = gdf[gdf["code_insee"].isin(set(codes))]
    return dict(zip(sub["code_insee"], sub.to_crs(2154).geometry))


def _pieces(codes) -> list[set[str]]:
    """Connected pieces of ``codes`` (display polygons grown by 50 m intersect), by hand."""
    geo = _lambert(codes)
    grown = {c: shapely.buffer(g, 50.0) for c, g in geo.items()}
    pieces: list[set[str]] = []
    for code in geo:
        touching = [p for p in pieces if any(grown[code].intersects(grown[o]) for o in p)]
        merged = {code}.union(*touching)
        pieces = [p for p in pieces if p not in touching] + [merged]
    return pieces


def _neighbours(code: str, candidates) -> set[str]:
    geo = _lambert(set(candidates) | {code})
    me = shapely.buffer(geo[code], 50.0)
    return {c for c, g in geo.items() if c != code and me.intersects(g)}


def _table(territories: dict[str, list[str]]) -> pd.DataFrame:
    rows = [
        {"cpts": t, "code_insee": c, "arrondissement": None, "infracommunal": False, "line": i}
        for t, codes in territories.items()
        for i, c in enumerate(codes, start=2)
    ]
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------- checks, national


@pytest.fixture(scope="module")
def example_check():
    return check_perimeters(read_perimeters(EXAMPLE))


def test_example_file_continuity_recomputed_from_polygons(example, example_check):
    r = example_check
    assert r.geometry_checks
    no_polygon = {u["code_insee"] for _, u in embedded_units().iterrows() if u["contour"] == "aucun"}
    disc = {d["territory"]: d for d in r.discontiguous}
    islands = {d["territory"]: d for d in r.island_territories}
    unverifiable = {u["territory"]: u for u in r.unverifiable if u["check"] == "continuité"}
    for territory, units in example.items():
        blind = sorted(set(units) & no_polygon)
        if blind:  # a member without polygon: never "discontinu"
            assert territory not in disc and territory not in islands
            assert unverifiable[territory]["communes"] == blind
            continue
        pieces = _pieces(units)
        if len(pieces) == 1:
            assert territory not in disc and territory not in islands and territory not in unverifiable
        else:
            found = disc.get(territory) or islands.get(territory)
            assert found is not None, territory
            assert sorted(map(sorted, found["pieces"])) == sorted(map(sorted, pieces))
    # what the recomputation says of these real territories
    assert set(disc) == {"Tarbes-Lourdes-Pyrénées (illustratif)"}  # Hautes-Pyrénées exclave in 64
    assert sorted(disc["Tarbes-Lourdes-Pyrénées (illustratif)"]["piece_names"][1:]) == [
        ["Gardères", "Luquet"],
        ["Séron"],
    ]
    assert set(islands) == {"Pays d'Iroise (illustratif)", "Île d'Oléron et Marennes (illustratif)"}
    assert set(unverifiable) == {"Hautes Terres du Cantal (illustratif)"}
    # the Drôme case: Vaucluse communes of the Enclave des Papes joined through Drôme communes
    drome = example["Drôme provençale et Enclave des Papes (illustratif)"]
    assert {c[:2] for c in drome} == {"26", "84"} and len(_pieces(drome)) == 1
    multi = {m["territory"]: m for m in r.multi_departement}
    assert multi["Drôme provençale et Enclave des Papes (illustratif)"]["regions"] == ["84", "93"]


def test_example_file_populations_from_the_cog(cog, example, example_check):
    pop = {
        **{c: int(r["population"]) for c, r in cog["current"].items() if r["population"]},
        **{c: int(r["population"]) for c, r in cog["arr"].items()},
    }
    got = {t["name"]: t for t in example_check.territories}
    for territory, units in example.items():
        assert got[territory]["population"] == sum(pop[u] for u in set(units)), territory


def test_islands_are_separated_by_the_sea_only():
    territories = {
        "Ouessant et Le Conquet": ["29155", "29040", "29084"],  # Ouessant, Le Conquet, Île-Molène
        "Bréhat et Ploubazlanec": ["22016", "22210"],
        "Belle-Île": ["56009", "56114", "56152", "56241"],  # Bangor, Locmaria, Le Palais, Sauzon
        "Groix et Lorient": ["56069", "56121"],
        "Yeu et Saint-Hilaire-de-Riez": ["85113", "85226"],
    }
    r = check_perimeters(_table(territories), departements=["22", "29", "56", "85"])
    islands = {d["territory"]: d for d in r.island_territories}
    assert set(islands) == {
        "Ouessant et Le Conquet",
        "Bréhat et Ploubazlanec",
        "Groix et Lorient",
        "Yeu et Saint-Hilaire-de-Riez",
    }
    assert r.discontiguous == []
    assert islands["Ouessant et Le Conquet"]["n_pieces"] == 3
    for name, codes in territories.items():  # recomputed: the pieces are the islands
        expected = sorted(map(sorted, _pieces(codes)))
        if name in islands:
            assert sorted(map(sorted, islands[name]["pieces"])) == expected
        else:
            assert len(expected) == 1


def test_mainland_gap_next_to_an_island_is_still_discontinuous():
    # Ouessant with Le Conquet and Brest: Brest does not touch Le Conquet (same land mass)
    codes = ["29155", "29040", "29019"]
    assert len(_pieces(codes)) == 3
    r = check_perimeters(_table({"Iroise et Brest": codes}), departements=["29"])
    assert [d["territory"] for d in r.discontiguous] == ["Iroise et Brest"]
    assert r.discontiguous[0]["n_pieces"] == 3 and r.island_territories == []


def test_enclave_inland_but_not_on_the_coast_or_a_border(cog):
    deps = {"26", "07"}
    around = [c for c, rec in cog["current"].items() if rec["departement"] in deps]
    ring = sorted(_neighbours("26198", around))  # Montélimar, inland (the Rhône lies between communes)
    r = check_perimeters(_table({"Autour de Montélimar": ring}), departements=sorted(deps))
    found = {e["communes"][0]: e for e in r.enclaves if len(e["communes"]) == 1}
    assert found["26198"]["territory"] == "Autour de Montélimar"
    assert found["26198"]["population"] == int(cog["current"]["26198"]["population"])
    for e in r.enclaves:  # every enclave found is, recomputed by hand, surrounded by the ring alone
        group = set(e["communes"])
        for code in group:
            assert _neighbours(code, around) <= set(ring) | group, code
    # La Rochelle surrounded on land by one territory still faces the sea: not an enclave
    coast = [c for c, rec in cog["current"].items() if rec["departement"] == "17"]
    ring = sorted(_neighbours("17300", coast))
    r = check_perimeters(_table({"Autour de La Rochelle": ring}), departements=["17"])
    assert "17300" in {o["code_insee"] for o in r.orphans} and r.enclaves == []
    # Saint-Louis (Haut-Rhin) on the Swiss and German borders: not an enclave either
    border = [c for c, rec in cog["current"].items() if rec["departement"] == "68"]
    ring = sorted(_neighbours("68297", border))
    r = check_perimeters(_table({"Autour de Saint-Louis": ring}), departements=["68"])
    assert "68297" in {o["code_insee"] for o in r.orphans} and r.enclaves == []


def test_partial_geometry_is_never_discontinuous():
    # Neussargues-Moissac with two of the communes restored in 2025, which have no polygon
    r = check_perimeters(_table({"Cantal": ["15141", "15031", "15035", "15013"]}), departements=["15"])
    assert r.discontiguous == [] and r.island_territories == []
    assert [(u["check"], u["territory"], u["communes"]) for u in r.unverifiable if u["check"] == "continuité"] == [
        ("continuité", "Cantal", ["15031", "15035"])
    ]
    # the other restored communes (orphans without polygon) may be enclaved: undecided, not claimed
    assert r.enclaves == []
    undecided = {c for u in r.unverifiable if u["check"] == "enclave" for c in u["communes"]}
    assert undecided <= {"15047", "15171"}


def test_check_cli_outside_paca_json(tmp_path):
    from click.testing import CliRunner

    from cpts_diag.cli import cli

    result = CliRunner().invoke(cli, ["check", str(EXAMPLE), "--json", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["geometry_checks"] is True and doc["summary"]["n_discontiguous"] == 1
    assert doc["summary"]["n_island_territories"] == 2 and doc["summary"]["n_unverifiable"] == 1
    layers = dict(pyogrio.list_layers(tmp_path / "controle_perimetres.gpkg"))
    assert set(layers) == {"territoires", "communes", "hors_fichier"}
    # an illustrative file covers a small part of each département (Paris: 4 arrondissements of 20): no orphan
    # nor uncovered arrondissement; the rest of the départements is « hors fichier »
    assert doc["study_area"] == [] and doc["orphans"] == [] and doc["uncovered_arrondissements"] == []
    assert {"75105", "75120", "69381"} <= {o["code_insee"] for o in doc["outside_file"]}
    outside = pyogrio.read_dataframe(tmp_path / "controle_perimetres.gpkg", layer="hors_fichier")
    assert sorted(outside["code_insee"]) == [o["code_insee"] for o in doc["outside_file"]]
    communes = pyogrio.read_dataframe(tmp_path / "controle_perimetres.gpkg", layer="communes")
    # Paris and Lyon drawn by arrondissement
    assert {"75101", "75104", "69383"} <= set(communes["code_insee"]) and "75056" not in set(communes["code_insee"])


# ------------------------------------------------------------------------- reports, national

REPORTS = {
    "Pays ajaccien (illustratif)": "94",  # Corse
    "Petite-Terre de Mayotte (illustratif)": "06",  # DROM
    "Côte Ouest de La Réunion (illustratif)": "04",  # DROM
    "Drôme provençale et Enclave des Papes (illustratif)": "84",  # across AuRA and PACA
    "Paris Centre (illustratif)": "11",  # arrondissements
    "Lyon rive gauche (illustratif)": "84",  # arrondissements and communes
    "Eurométropole de Strasbourg (illustratif)": "44",  # Grand Est
    "Région dieppoise (illustratif)": "28",  # Normandie
}


def _folder(batch, territory: str) -> Path:
    entry = next(e for e in batch.entries if e["name"] == territory)
    assert "rapport" in entry.get("outputs", {}), (territory, entry.get("status"), entry.get("error"))
    return batch.out_dir / Path(entry["outputs"]["rapport"]).parent


@pytest.fixture(scope="module")
def national_batch(tmp_path_factory):
    from cpts_diag.reports.batch import run_batch

    out = tmp_path_factory.mktemp("national")
    result = run_batch(EXAMPLE, only=list(REPORTS), workers=2, out_dir=out, cpam="aucun", progress=False)
    return result


@pytest.mark.slow
def test_reports_in_every_kind_of_territory(national_batch, example, cog):
    result = national_batch
    assert result.exit_code == 0, [(e["name"], e.get("error")) for e in result.entries if e.get("error")]
    entries = {e["name"]: e for e in result.entries}
    pop = {
        **{c: int(r["population"]) for c, r in cog["current"].items() if r["population"]},
        **{c: int(r["population"]) for c, r in cog["arr"].items()},
    }
    drawn = set(display_polygons()["code_insee"])
    with open(DATA_DIR / "indicateurs_sociaux_communes.csv", encoding="utf-8", newline="") as fh:
        social = {r["code_insee"]: r for r in csv.DictReader(fh)}
    checked = []
    for territory in REPORTS:
        entry = entries[territory]
        folder = result.out_dir / Path(entry["outputs"]["rapport"]).parent
        for name in ("rapport.html", "carte.html", "indicateurs.xlsx", "perimetre.gpkg", "diagnostic.ipynb"):
            assert (folder / name).is_file(), (territory, name)
        units = set(example[territory])
        assert entry["population"] == sum(pop[u] for u in units), territory
        # one shape per unit with a polygon (arrondissements of Paris and Lyon included)
        layer = pyogrio.read_dataframe(folder / "perimetre.gpkg", layer="communes")
        assert sorted(layer["code_insee"]) == sorted(units & drawn), territory
        # the share of residents aged 75+, weighted by the 2022 population, when every unit has it; absent
        # unknown (never 0) when none has it (Mayotte)
        figures = {f["indicator"]: f for f in entry["key_figures"].values()}
        if any(u in cog["arr"] for u in units):
            continue  # arrondissements: the source gives Paris, Lyon and Marseille whole
        rows = [social.get(u) for u in units]
        if all(r and r["part_75_plus"] for r in rows):
            weights = [float(r["population_2022"]) for r in rows]
            expected = sum(w * float(r["part_75_plus"]) for w, r in zip(weights, rows)) / sum(weights)
            assert figures["part_75_plus"]["value"] == pytest.approx(expected, abs=0.05), territory
            assert figures["part_75_plus"]["fictitious"] is False
            checked.append(territory)
        elif not any(r and r["part_75_plus"] for r in rows):
            unknown = figures["part_75_plus"]
            assert (unknown["value"], unknown["low"], unknown["high"]) == (None, None, None), territory
            checked.append(territory)
    whole = {
        "Pays ajaccien (illustratif)",
        "Eurométropole de Strasbourg (illustratif)",
        "Région dieppoise (illustratif)",
    }
    assert whole | {"Petite-Terre de Mayotte (illustratif)"} <= set(checked)


@pytest.mark.slow
def test_report_areas_and_densities(national_batch, example):
    from openpyxl import load_workbook

    for territory in REPORTS:
        folder = _folder(national_batch, territory)
        wb = load_workbook(folder / "indicateurs.xlsx", read_only=True)
        sheet = list(wb["Territoire"].iter_rows(values_only=True))
        header = next(r for r in sheet if r and r[0] == "Indicateur")
        rows = {r[0]: dict(zip(header, r)) for r in sheet if r and r[0] in ("Superficie", "Densité de population")}
        area = rows["Superficie"]["Territoire"]
        expected = display_area_km2(example[territory])
        assert area == pytest.approx(expected, rel=AREA_TOLERANCE, abs=AREA_TOLERANCE_KM2), territory
        # France: known for all but 4 communes (a lower bound), the density is given
        assert str(rows["Superficie"]["France"]).startswith("≥ 637")
        assert rows["Densité de population"]["France"] == pytest.approx(107.2, abs=0.1)
        for label in header[5 : header.index("France")]:  # départements and régions: areas known...
            value = rows["Superficie"][label]
            if label in ("Cantal (15)", "Auvergne-Rhône-Alpes (84)"):  # ...but Cantal and its région: lower bound
                assert str(value).startswith("≥ "), (territory, label)
            else:
                assert isinstance(value, float), (territory, label)


@pytest.mark.slow
def test_mayotte_report_says_why_values_are_missing(national_batch):
    folder = _folder(national_batch, "Petite-Terre de Mayotte (illustratif)")
    text = (folder / "rapport.html").read_text(encoding="utf-8")
    assert (
        "APL aux médecins généralistes 2023 : la source (DREES, APL) ne fournit aucune donnée pour Mayotte (976)"
        in text
    )
    # the map shows Petite-Terre, in the Indian Ocean, not the world
    layer = pyogrio.read_dataframe(folder / "perimetre.gpkg", layer="territoire")
    x0, y0, x1, y1 = layer.total_bounds
    assert 45.1 < x0 < x1 < 45.4 and -12.9 < y0 < y1 < -12.7


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.parametrize(
    "territory, bounds",
    [
        ("Paris Centre (illustratif)", (2.2, 48.8, 2.45, 48.9)),  # lon/lat box around central Paris
        ("Petite-Terre de Mayotte (illustratif)", (45.1, -12.9, 45.4, -12.7)),  # Petite-Terre, Indian Ocean
    ],
)
def test_carte_outside_paca_offline(chrome, national_batch, example, territory, bounds):  # noqa: F811
    folder = _folder(national_batch, territory)
    open_page(chrome, folder / "carte.html", ready=READY)
    assert browser_errors(chrome) == []
    counts = chrome.execute_script(
        "return Object.fromEntries(Object.entries(window.cptsDiag.layers).map(([k, v]) => [k, v.getLayers().length]));"
    )
    drawn = set(display_polygons()["code_insee"])
    assert counts["communes"] == len(set(example[territory]) & drawn)
    assert counts["outline"] == 1
    codes = layer_tooltips(chrome)
    assert len(codes) == counts["communes"] and all("Population 2023" in t for t in codes)
    # the view is fitted to the territory: Paris, or Petite-Terre in the Indian Ocean, not the world
    view = chrome.execute_script(
        "var b = window.cptsDiag.map.getBounds();return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()];"
    )
    x0, y0, x1, y1 = bounds
    centre = ((view[0] + view[2]) / 2, (view[1] + view[3]) / 2)
    assert x0 < centre[0] < x1 and y0 < centre[1] < y1, view
    assert view[2] - view[0] < 1.0, view  # a local view (less than one degree wide)


def test_outline_of_simplified_polygons_is_valid_and_drawable(cog):
    """CC de la Haute Ariège: the union of its display polygons left a zero-area hole (invalid outline)
    that GEOS refused to coverage-simplify for the map; every report of this EPCI failed."""
    from cpts_diag.geometry import territory_outlines
    from cpts_diag.outputs.maps.geometry import simplify_array

    codes = [c for c, rec in cog["current"].items() if rec["epci_siren"] == "200066363"]
    assert len(codes) == 51  # COG 2026, raw file
    polygons = display_polygons()
    polygons = polygons[polygons["code_insee"].isin(codes)]  # EPSG:4326, as the maps use them
    raw = shapely.union_all(polygons.to_crs(2154).geometry.to_numpy())
    outline = territory_outlines(polygons, pd.DataFrame({"cpts": "Haute Ariège", "code_insee": codes}))
    assert outline.geometry.iloc[0].is_valid
    geom = outline.to_crs(2154).geometry.iloc[0]
    assert geom.geom_type == "Polygon"
    assert geom.area == pytest.approx(raw.area, rel=1e-6)  # only collapsed rings dropped
    simplified = simplify_array(outline.to_crs(2154).geometry.to_numpy(), 80.0)
    assert simplified[0].is_valid and simplified[0].area == pytest.approx(geom.area, rel=0.02)
