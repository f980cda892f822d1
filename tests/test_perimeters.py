"""Tests of cpts_diag.io.perimeters (and the InputError format of cpts_diag.errors).

Every fixture is written byte by byte in tmp_path; expected tables are written by hand.
"""

import json
import sys
import types

import geopandas as gpd
import openpyxl
import pandas as pd
import pytest
from shapely.geometry import Point

from cpts_diag.errors import InputError
from cpts_diag.io.perimeters import COLUMNS, read_perimeters


def rows(perimeters):
    """Table as a list of tuples (cpts, code, arrondissement or None, infra, line)."""
    t = perimeters.table
    assert list(t.columns) == COLUMNS
    return [
        (
            r.cpts,
            r.code_insee,
            None if pd.isna(r.arrondissement) else r.arrondissement,
            bool(r.infracommunal),
            int(r.line),
        )
        for r in t.itertuples(index=False)
    ]


def write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


# --------------------------------------------------------------------------- CSV


def test_csv_cp1252_semicolon(tmp_path):
    f = write(
        tmp_path / "périmètres.csv",
        "CPTS;Code INSEE\r\n"
        "CPTS Santé Cœur d’Azur;04001\r\nCPTS Santé Cœur d’Azur;1001\r\n"
        ";\r\n\r\nCPTS Bléone;13214\r\n",
        "cp1252",
    )
    p = read_perimeters(f)
    assert rows(p) == [
        ("CPTS Santé Cœur d’Azur", "04001", None, False, 2),
        ("CPTS Santé Cœur d’Azur", "01001", None, False, 3),
        ("CPTS Bléone", "13055", "13214", True, 6),
    ]
    assert p.warnings == [f"fichier « {f} », ligne 3 : zéro initial restauré (1001 → 01001)"]
    assert p.source == f
    assert p.table["code_insee"].dtype == "str"
    assert p.table["infracommunal"].dtype == bool


def test_csv_utf8_bom_comma_names_kept_and_code_insee_preferred(tmp_path):
    # real ARS layout: code_insee (as given) and code_insee_cog2026 (updated): use code_insee
    f = write(
        tmp_path / "membres.csv",
        "\ufeffcode_insee_cog2026,cpts_nom,code_insee,arrondissement_municipal,"
        "perimetre_infracommunal\n"
        '05001,"  CPTS ""Alpes"" / <script>alert(1)</script>  ",05120,,0\n'
        "13055,CPTS d'Œ & Co,13055,13201,1\n"
        "06088,CPTS d'Œ & Co,06088,,1\n",
    )
    assert rows(read_perimeters(f)) == [
        ('CPTS "Alpes" / <script>alert(1)</script>', "05120", None, False, 2),
        ("CPTS d'Œ & Co", "13055", "13201", True, 3),
        ("CPTS d'Œ & Co", "06088", None, True, 4),
    ]


def test_csv_tab_txt_and_title_rows(tmp_path):
    f = write(
        tmp_path / "export.txt",
        "Périmètres des CPTS\n\nSource : ARS\nterritoire\tdepcom\nCPTS T\t2a004\nCPTS T\t 2B 033 \n",
    )
    assert rows(read_perimeters(f)) == [("CPTS T", "2A004", None, False, 5), ("CPTS T", "2B033", None, False, 6)]


def test_csv_utf16_excel_unicode_text(tmp_path):
    f = tmp_path / "unicode.txt"
    f.write_bytes("nom\tinsee\r\nCPTS Évian\t74119\r\n".encode("utf-16"))
    assert rows(read_perimeters(f)) == [("CPTS Évian", "74119", None, False, 2)]


def test_csv_latin1_undefined_in_cp1252(tmp_path):
    # 0x81 is undefined in cp1252: falls back to latin-1, never a UnicodeDecodeError
    f = tmp_path / "x.csv"
    f.write_bytes(b"cpts;code\nCPTS \x81\xe9;04001\n")
    assert rows(read_perimeters(f)) == [("CPTS \x81é", "04001", None, False, 2)]


def test_csv_wide_lists(tmp_path):
    f = write(
        tmp_path / "wide.csv",
        "Nom de la CPTS;Communes;Arrondissements;Infra\n"
        "CPTS A;04001, 04009|4017;;\n"
        "CPTS B;13055 06088;13202,13201;nice\n"
        "CPTS C;75113\n",
    )
    p = read_perimeters(f, names_by_code={"06088": "Nice", "04001": "Aiglun"})
    assert rows(p) == [
        ("CPTS A", "04001", None, False, 2),
        ("CPTS A", "04009", None, False, 2),
        ("CPTS A", "04017", None, False, 2),
        ("CPTS B", "13055", "13202", True, 3),
        ("CPTS B", "13055", "13201", True, 3),
        ("CPTS B", "06088", None, True, 3),
        ("CPTS C", "75056", "75113", True, 4),
    ]
    assert p.warnings == [f"fichier « {f} », ligne 2 : zéro initial restauré (4017 → 04017)"]


def test_csv_wide_overflowing_cells_are_more_codes(tmp_path):
    f = write(tmp_path / "wide.csv", "cpts;communes\nCPTS A;04001;04009\n")
    assert rows(read_perimeters(f)) == [("CPTS A", "04001", None, False, 2), ("CPTS A", "04009", None, False, 2)]


@pytest.mark.parametrize(
    "territory, code",
    [
        ("cpts", "code_insee"),
        ("Nom CPTS", "Code INSEE"),
        ("cpts_nom", "CODGEO"),
        ("Nom de la CPTS", "code commune"),
        ("Territoire", "code_commune"),
        ("nom territoire", "insee"),
        ("Nom", "DEPCOM"),
        ("NOM_CPTS", "com"),
        (" CPTS ", "Code"),
        ("Nom  de  la  CPTS", "Code INSEE (2024)"),
    ],
)
def test_header_variants_territory_and_code(tmp_path, territory, code):
    f = write(tmp_path / "h.csv", f"{territory};{code};population\nCPTS X;06088;340000\n")
    assert rows(read_perimeters(f)) == [("CPTS X", "06088", None, False, 2)]


@pytest.mark.parametrize(
    "arr, infra",
    [
        ("arrondissement", "infracommunal"),
        ("Arrondissement municipal", "Infra"),
        ("code arrondissement", "périmètre_infracommunal"),
        ("ARM", "infra-communal"),
        ("arm", "Découpage infracommunal"),
    ],
)
def test_header_variants_arrondissement_and_infra(tmp_path, arr, infra):
    f = write(tmp_path / "h.csv", f"cpts;code_insee;{arr};{infra}\nA;13055;13201;\nA;83137;;oui\n")
    assert rows(read_perimeters(f)) == [("A", "13055", "13201", True, 2), ("A", "83137", None, True, 3)]


@pytest.mark.parametrize(
    "yes, no",
    [("1", "0"), ("oui", "non"), ("Vrai", "Faux"), ("TRUE", "false"), ("x", ""), ("X", " ")],
)
def test_infra_flag_values(tmp_path, yes, no):
    f = write(tmp_path / "i.csv", f"cpts;code_insee;infra\nA;06088;{yes}\nA;06011;{no}\n")
    assert [r[3] for r in rows(read_perimeters(f))] == [True, False]


def test_explicit_non_infra_arrondissement_kept(tmp_path):
    f = write(tmp_path / "i.csv", "cpts;code_insee;arrondissement;infra\nA;13055;13201;non\n")
    assert rows(read_perimeters(f)) == [("A", "13055", "13201", False, 2)]


# --------------------------------------------------------------------------- XLSX


def _workbook(path, sheets):
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, data in sheets.items():
        ws = wb.create_sheet(name)
        for row in data:
            ws.append(row)
    wb.save(path)
    return path


def test_xlsx_two_sheets_integer_code(tmp_path):
    f = _workbook(
        tmp_path / "p.xlsx",
        {
            "PACA": [["CPTS", "Code INSEE"], ["CPTS Var", "83137"], ["CPTS Var", 83126]],
            "Ain": [
                ["Titre du tableau"],
                [],
                ["Nom CPTS", "code_commune", "Arrondissement"],
                ["CPTS Bugey", 1001, None],
                [None, None, None],
                ["CPTS Lyon", "69123", 69383],
            ],
        },
    )
    assert rows(read_perimeters(f)) == [("CPTS Var", "83137", None, False, 2), ("CPTS Var", "83126", None, False, 3)]
    p = read_perimeters(f, sheet="Ain")
    assert rows(p) == [("CPTS Bugey", "01001", None, False, 4), ("CPTS Lyon", "69123", "69383", True, 6)]
    assert p.warnings == [f"fichier « {f} », ligne 4 : zéro initial restauré (1001 → 01001)"]
    assert rows(read_perimeters(f, sheet=1)) == rows(p)


def test_xlsx_unknown_sheet_lists_sheets(tmp_path):
    f = _workbook(
        tmp_path / "p.xlsx", {"PACA": [["cpts", "code"], ["A", "04001"]], "Ain": [["cpts", "code"], ["B", "01001"]]}
    )
    with pytest.raises(InputError) as info:
        read_perimeters(f, sheet="Bretagne")
    msg = str(info.value)
    assert str(f) in msg and "« PACA », « Ain »" in msg and "Bretagne" in msg


def test_xlsx_readme_first_sheet_and_merged_cells(tmp_path):
    f = tmp_path / "p.xlsm"
    wb = openpyxl.Workbook()
    wb.active.title = "Lisez-moi"
    wb.active.append(["Ce classeur liste les CPTS"])
    ws = wb.create_sheet("Périmètres")
    for row in [["cpts", "insee"], ["CPTS A", "04001"], [None, "04009"], ["CPTS B", "05001"]]:
        ws.append(row)
    ws.merge_cells("A2:A3")
    wb.save(f)
    p = read_perimeters(f)
    assert rows(p) == [
        ("CPTS A", "04001", None, False, 2),
        ("CPTS A", "04009", None, False, 3),
        ("CPTS B", "05001", None, False, 4),
    ]
    assert len(p.warnings) == 1 and "Périmètres" in p.warnings[0]


def test_xlsx_corrupt(tmp_path):
    f = write(tmp_path / "faux.xlsx", "cpts;code\nA;04001\n")
    with pytest.raises(InputError) as info:
        read_perimeters(f)
    assert str(info.value) == (f"fichier « {f} » : fichier Excel illisible ou corrompu (attendu : classeur .xlsx)")


# --------------------------------------------------------------------------- JSON / GeoJSON / GPKG


ARS = {
    "meta": {"source": "ARS test"},
    "cpts": [
        {
            "nom": "CPTS Marseille Nord",
            "statut": "",
            "communes": ["13055", "13001"],
            "arrondissements": ["13215", "13214"],
        },
        {"nom": "CPTS Nice Est", "statut": "", "communes": ["06011", "06088"], "infra": ["NICE"]},
        {"nom": " CPTS Golfe ", "statut": "", "communes": ["83119", "83068"], "infra": ["St-Tropez", "83068"]},
        {"nom": "CPTS Bugey", "statut": "", "communes": [1001, {"code_insee": "01004"}]},
    ],
}
NAMES = {
    "06088": "Nice",
    "06011": "Beaulieu-sur-Mer",
    "83119": "Saint-Tropez",
    "83068": "Grimaud",
    "13001": "Aix-en-Provence",
}


def test_ars_json(tmp_path):
    f = write(tmp_path / "ars.json", json.dumps(ARS, ensure_ascii=False))
    p = read_perimeters(f, names_by_code=NAMES)
    assert rows(p) == [
        ("CPTS Marseille Nord", "13055", "13215", True, 1),
        ("CPTS Marseille Nord", "13055", "13214", True, 1),
        ("CPTS Marseille Nord", "13001", None, False, 1),
        ("CPTS Nice Est", "06011", None, False, 2),
        ("CPTS Nice Est", "06088", None, True, 2),
        ("CPTS Golfe", "83119", None, True, 3),
        ("CPTS Golfe", "83068", None, True, 3),
        ("CPTS Bugey", "01001", None, False, 4),
        ("CPTS Bugey", "01004", None, False, 4),
    ]
    assert p.warnings == [f"fichier « {f} », territoire 4 : zéro initial restauré (1001 → 01001)"]


def test_ars_json_infra_name_not_in_territory(tmp_path):
    data = {"cpts": [{"nom": "A", "communes": ["04001"]}, {"nom": "B", "communes": ["06088"], "infra": ["Toulon"]}]}
    f = write(tmp_path / "ars.json", json.dumps(data))
    with pytest.raises(InputError) as info:
        read_perimeters(f, names_by_code={"06088": "Nice", "83137": "Toulon"})
    assert str(info.value) == (
        f"fichier « {f} », territoire 2 : commune déclarée infracommunale absente des "
        "communes de la CPTS (valeur « Toulon »)"
    )


def test_reference_loaded_lazily(tmp_path, monkeypatch):
    calls = []

    def fake_load_reference():
        calls.append(1)
        return types.SimpleNamespace(names={"06088": "Nice"})

    fake = types.ModuleType("cpts_diag.reference")
    fake.load_reference = fake_load_reference
    monkeypatch.setitem(sys.modules, "cpts_diag.reference", fake)
    f = write(tmp_path / "a.json", json.dumps({"cpts": [{"nom": "A", "communes": ["06088"]}]}))
    read_perimeters(f)
    assert calls == []  # no infra name: reference not needed
    g = write(tmp_path / "b.json", json.dumps({"cpts": [{"nom": "A", "communes": ["06088"], "infra": ["Nice"]}]}))
    assert rows(read_perimeters(g)) == [("A", "06088", None, True, 1)]
    assert calls == [1]


def test_geojson_per_territory(tmp_path):
    square = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}
    fc = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "geometry": square, "properties": {"nom": "CPTS A", "communes": ["04001", "04009"]}},
            {
                "type": "Feature",
                "geometry": None,
                "properties": {"nom": "CPTS B", "communes": "05001;05002", "arrondissements": None},
            },
            {
                "type": "Feature",
                "geometry": None,
                "properties": {"nom": "CPTS C", "communes": "06088,06011", "infra": "Nice"},
            },
        ],
    }
    f = write(tmp_path / "t.geojson", json.dumps(fc))
    assert rows(read_perimeters(f, names_by_code={"06088": "Nice"})) == [
        ("CPTS A", "04001", None, False, 1),
        ("CPTS A", "04009", None, False, 1),
        ("CPTS B", "05001", None, False, 2),
        ("CPTS B", "05002", None, False, 2),
        ("CPTS C", "06088", None, True, 3),
        ("CPTS C", "06011", None, False, 3),
    ]


def test_geojson_of_a_single_feature(tmp_path):
    """A GeoJSON holding one Feature (one territory), not a FeatureCollection: read from its properties."""
    feature = {"type": "Feature", "geometry": None, "properties": {"nom": "CPTS A", "communes": ["29019", "29075"]}}
    f = write(tmp_path / "une.geojson", json.dumps(feature))
    assert rows(read_perimeters(f)) == [("CPTS A", "29019", None, False, 1), ("CPTS A", "29075", None, False, 1)]


def test_geojson_per_commune_and_json_extension(tmp_path):
    fc = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "geometry": None, "properties": {"CPTS": "A", "CODE_INSEE": "04001", "Infra": 0}},
            {"type": "Feature", "geometry": None, "properties": {"CPTS": "A", "CODE_INSEE": 4009, "Infra": 1}},
        ],
    }
    expected = [("A", "04001", None, False, 1), ("A", "04009", None, True, 2)]
    assert rows(read_perimeters(write(tmp_path / "c.geojson", json.dumps(fc)))) == expected
    p = read_perimeters(write(tmp_path / "c.json", json.dumps(fc)))
    assert rows(p) == expected
    shown = tmp_path / "c.json"
    assert p.warnings == [f"fichier « {shown} », entité 2 : zéro initial restauré (4009 → 04009)"]


def test_gpkg_layers(tmp_path):
    f = tmp_path / "p.gpkg"
    long = gpd.GeoDataFrame(
        {"nom_cpts": ["CPTS A", "CPTS A", "CPTS B"], "code_insee": ["04001", "2A004", "13203"]},
        geometry=[Point(0, 0), Point(1, 0), Point(2, 0)],
        crs="EPSG:2154",
    )
    long.to_file(f, layer="communes", driver="GPKG")
    wide = gpd.GeoDataFrame({"cpts": ["CPTS C"], "communes": ["05001,05002"]}, geometry=[Point(0, 0)], crs="EPSG:2154")
    wide.to_file(f, layer="territoires", driver="GPKG")
    assert rows(read_perimeters(f)) == [
        ("CPTS A", "04001", None, False, 1),
        ("CPTS A", "2A004", None, False, 2),
        ("CPTS B", "13055", "13203", True, 3),
    ]
    assert rows(read_perimeters(f, sheet="territoires")) == [
        ("CPTS C", "05001", None, False, 1),
        ("CPTS C", "05002", None, False, 1),
    ]
    with pytest.raises(InputError, match="« communes », « territoires »"):
        read_perimeters(f, sheet="autre")


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "content, message",
    [
        ("cpts;code\nA;04001\nB;\n", ", ligne 3 : nom de CPTS sans code commune (valeur « B »)"),
        ("cpts;code\nA;04001\n;04009\n", ", ligne 3 : code commune sans nom de CPTS (valeur « 04009 »)"),
        (
            "cpts;code\nA;04001\nA;ABCDE\n",
            ", ligne 3 : code commune invalide : 5 chiffres attendus (ou 2A/2B pour la Corse) (valeur « ABCDE »)",
        ),
        (
            "cpts;code\n\nA;20999\n",
            ", ligne 3 : code commune invalide : la Corse s'écrit 2A ou 2B depuis 1976, pas 20 (valeur « 20999 »)",
        ),
        (
            "cpts;code;infra\nA;04001;peut-être\n",
            ", ligne 2 : valeur infracommunale non reconnue (attendu : oui/non, 1/0, vrai/faux, x ou "
            "vide) (valeur « peut-être »)",
        ),
        (
            "cpts;code;arrondissement\nA;13055;75101\n",
            ", ligne 2 : arrondissement municipal hors de la commune 13055 (valeur « 75101 »)",
        ),
        (
            "cpts;code;arrondissement\nA;13055;13\n",
            ", ligne 2 : arrondissement municipal invalide : 2 caractères au lieu de 5 (valeur « 13 »)",
        ),
        ("cpts;communes\nA;04001\nB;\n", ", ligne 3 : CPTS sans aucune commune (valeur « B »)"),
        ("cpts;code\n", " : aucune commune trouvée dans le fichier"),
    ],
)
def test_row_errors_name_file_line_value(tmp_path, content, message):
    f = write(tmp_path / "err.csv", content)
    with pytest.raises(InputError) as info:
        read_perimeters(f)
    # a message about one line: "fichier « F », ligne N : ..."; about the whole file: "fichier « F » : ..."
    assert str(info.value) == f"fichier « {f} »{message}"


def test_missing_columns_listed(tmp_path):
    f = write(tmp_path / "cols.csv", "Commune;Population\nDigne;16000\n")
    with pytest.raises(InputError) as info:
        read_perimeters(f)
    msg = str(info.value)
    assert msg.startswith(f"fichier « {f} » : colonne du nom de la CPTS introuvable")
    assert "colonne des codes communes introuvable" in msg
    assert "colonnes trouvées : « Commune », « Population »" in msg
    assert "nom de la cpts" in msg and "code_insee" in msg
    g = write(tmp_path / "cols2.csv", "cpts;commune\nA;Digne\n")
    with pytest.raises(InputError) as info:
        read_perimeters(g)
    assert "colonne du nom de la CPTS" not in str(info.value)
    assert "colonne des codes communes introuvable" in str(info.value)


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("absent.csv", None, "fichier introuvable"),
        ("p.xls", b"whatever", "format de fichier non pris en charge"),
        ("p.json", b"{not json", "fichier JSON illisible"),
        ("p.json", b'{"meta": {}}', "structure JSON non reconnue"),
        ("p.geojson", b'{"type": "FeatureCollection"}', "GeoJSON invalide"),
        ("p.gpkg", b"not a geopackage", "GeoPackage illisible"),
        ("p.csv", b"", "fichier vide"),
        ("p.csv", b"PK\x03\x04rest", "classeur Excel"),
    ],
)
def test_file_errors(tmp_path, name, content, message):
    f = tmp_path / name
    if content is not None:
        f.write_bytes(content)
    with pytest.raises(InputError) as info:
        read_perimeters(f)
    assert str(info.value).startswith(f"fichier « {f} »")
    assert message in str(info.value)


def test_unsupported_extension_lists_formats(tmp_path):
    f = write(tmp_path / "p.ods", "x")
    with pytest.raises(InputError) as info:
        read_perimeters(f)
    msg = str(info.value)
    for fmt in (".csv", ".xlsx", ".json", ".geojson", ".gpkg"):
        assert fmt in msg
    assert "(valeur « .ods »)" in msg


def test_json_record_error_names_territory(tmp_path):
    f = write(
        tmp_path / "ars.json",
        json.dumps({"cpts": [{"nom": "A", "communes": ["04001"]}, {"nom": "B", "communes": ["4OO1"]}]}),
    )
    with pytest.raises(InputError) as info:
        read_perimeters(f)
    assert str(info.value).startswith(f"fichier « {f} », territoire 2 : code commune invalide")
    assert "(valeur « 4OO1 »)" in str(info.value)


def test_ignored_row_warns(tmp_path):
    f = write(tmp_path / "t.csv", "cpts;code;population\nA;04001;10\n;;total 10\n")
    p = read_perimeters(f)
    assert rows(p) == [("A", "04001", None, False, 2)]
    assert p.warnings == [f"fichier « {f} », ligne 3 : ligne ignorée : ni nom de CPTS ni code commune"]
