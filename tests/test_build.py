"""The data build on a miniature source tree written in the official layouts."""

import csv
import json

import geopandas as gpd
import pytest
from openpyxl import Workbook

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
    for sub in ("decoupage-administratif", "cogugaison", "france-geojson/regions", "cpts-paca",
                "drees-apl-mg", "cartosante-insee-agreges"):
        (src / sub).mkdir(parents=True)
    communes = [
        {"code": "05001", "nom": "Abriès-Ristolas", "type": "commune-actuelle", "zone": "metro",
         "departement": "05", "region": "93", "population": 374, "anciensCodes": ["05120"]},
        {"code": "05120", "nom": "Ristolas", "type": "commune-deleguee", "chefLieu": "05001",
         "zone": "metro", "departement": "05", "region": "93"},
        {"code": "05002", "nom": "Aiguilles", "type": "commune-actuelle", "zone": "metro",
         "departement": "05", "region": "93", "population": 500},
    ]
    da = src / "decoupage-administratif"
    (da / "communes.json").write_text(json.dumps(communes), encoding="utf-8")
    (da / "epci.json").write_text(json.dumps([{"code": "200067437", "nom": "CC du Guillestrois", "type": "CC",
                                                 "membres": [{"code": "05001"}, {"code": "05002"}]}]))
    (da / "departements.json").write_text(json.dumps([{"code": "05", "nom": "Hautes-Alpes", "region": "93",
                                                         "zone": "metro"}]))
    (da / "regions.json").write_text(json.dumps([{"code": "93", "nom": "Provence-Alpes-Côte d'Azur",
                                                    "zone": "metro"}]))
    (src / "cogugaison/passage_communes_2018_2024_insee.csv").write_text(
        "from_year,to_year,cod_from,cod_to,annee,typemodif,ratio\n")
    (src / "cogugaison/table_supracom_2024.csv").write_text(
        "CODGEO,LIBGEO,DEP,REG,BV2022\n05001,Abriès-Ristolas,05,93,05023\n05002,Aiguilles,05,93,05023\n")
    features = [{"type": "Feature", "properties": {"code": c, "nom": n}, "geometry": _square(x, 45.0)}
                for c, n, x in (("05001", "Abriès", 6.90), ("05120", "Ristolas", 6.91), ("05002", "Aiguilles", 6.92))]
    (src / "france-geojson/regions/communes-provence-alpes-cote-d-azur.geojson").write_text(
        json.dumps({"type": "FeatureCollection", "features": features}))
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
        "05001": "05023", "05002": "05023"}
    gdf = gpd.read_file(out / "communes_paca_cog2026.gpkg", layer="communes")
    assert sorted(gdf["code_insee"]) == ["05001", "05002"]
    # Ristolas unioned into Abriès-Ristolas: two 0.01° squares
    areas = gdf.to_crs(2154).set_index("code_insee").area
    assert areas["05001"] == pytest.approx(2 * areas["05002"], rel=0.01)
    assert (out / "perimetres/cpts_paca_ars_2026-01.json").read_bytes() == (
        source / "cpts-paca/cpts_paca_ars_2026-01.json").read_bytes()
    text = (out / "exemple_cpam_FICTIF_paca.csv").read_text(encoding="utf-8").splitlines()
    assert text[0].startswith("code_commune;") and len(text) == 3  # the two PACA communes
    assert all(line.endswith(";1") for line in text[1:])  # donnees_fictives


def test_missing_source_file_is_a_clear_error(source, tmp_path):
    (source / "drees-apl-mg/apl_generalistes.xlsx").unlink()
    with pytest.raises(InputError, match="apl_generalistes.xlsx"):
        build_all(source, tmp_path / "data")
