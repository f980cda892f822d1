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
    # without a territory column a file is one territory: only the code column is missing
    f = write(tmp_path / "cols.csv", "Commune;Population\nDigne;16000\n")
    with pytest.raises(InputError) as info:
        read_perimeters(f)
    msg = str(info.value)
    assert msg.startswith(f"fichier « {f} » : colonne des codes communes introuvable (noms acceptés : code_insee")
    assert msg.endswith("; colonnes trouvées : « Commune », « Population »")
    assert "colonne du nom de la CPTS" not in msg
    g = write(tmp_path / "cols2.csv", "cpts;commune\nA;Digne\n")
    with pytest.raises(InputError) as info:
        read_perimeters(g)
    assert "colonne du nom de la CPTS" not in str(info.value)
    assert "colonne des codes communes introuvable" in str(info.value)
    # a list of codes per row needs the name of each territory
    h = write(tmp_path / "cols3.csv", "Numéro;Communes\n1;04001 04009\n")
    with pytest.raises(InputError) as info:
        read_perimeters(h)
    assert str(info.value).startswith(f"fichier « {h} » : colonne du nom de la CPTS introuvable (noms acceptés : cpts")
    assert str(info.value).endswith("colonnes trouvées : « Numéro », « Communes »")


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


# --------------------------------------------------------------------------- one-territory files, typed names


def _cog(raw_communes, **where):
    """(code, name) of the current communes of the COG matching ``where`` (raw file, csv module)."""
    return [
        (r["code_insee"], r["nom"])
        for r in raw_communes
        if r["type"] == "commune-actuelle" and all(r[k] == v for k, v in where.items())
    ]


def test_one_territory_xlsx_title_line_and_codes_that_lost_their_zero(tmp_path, raw_communes):
    # the Ain: communes of the Grand Bourg agglomeration whose codes Excel turned into numbers (01053 -> 1053)
    communes = _cog(raw_communes, epci_siren="200071751")[:6]
    assert all(code.startswith("01") for code, _ in communes)
    f = tmp_path / "Bassin burgien.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["CPTS du Bassin Burgien – liste des communes"])
    ws.merge_cells("A1:B1")  # a title over both columns: read once
    ws.append([])
    ws.append(["Commune", "Code INSEE"])
    for code, name in communes:
        ws.append([name, int(code)])
    wb.save(f)
    p = read_perimeters(f)
    assert rows(p) == [("CPTS du Bassin Burgien", code, None, False, i) for i, (code, _) in enumerate(communes, 4)]
    assert p.table["nom_commune"].tolist() == [name for _, name in communes]
    assert p.territory_source == "ligne de titre"
    examples = ", ".join(f"{int(code)} → {code}" for code, _ in communes[:3])
    assert p.warnings == [
        f"fichier « {f} » : pas de colonne du nom de la CPTS : le fichier est lu comme un seul territoire, nommé "
        "« CPTS du Bassin Burgien » d'après la ligne de titre (--territoire pour le nommer autrement)",
        f"fichier « {f} » : zéro initial restauré pour 6 codes (lignes 4 à 9 ; ex. {examples}…)",
    ]
    # --territoire names it, without a note
    named = read_perimeters(f, territory="  CPTS Bresse  ")
    assert set(named.table["cpts"]) == {"CPTS Bresse"} and named.territory_source == "--territoire"
    assert len(named.warnings) == 1 and "zéro initial restauré pour 6 codes" in named.warnings[0]


def test_one_territory_cp1252_csv_named_from_its_file_name(tmp_path, raw_communes):
    # Bretagne (Finistère): names with accents, Windows-1252 as Excel writes it, no title line
    communes = _cog(raw_communes, epci_siren="242900835")  # Morlaix Communauté
    assert len(communes) > 20 and any(set(name) & set("éèêëâîôûç") for _, name in communes)
    lines = ["Nom de la commune;Code commune"] + [f"{name};{code}" for code, name in communes]
    f = write(tmp_path / "cpts_pays_de_morlaix.csv", "\r\n".join(lines) + "\r\n", "cp1252")
    p = read_perimeters(f)
    assert set(p.table["cpts"]) == {"CPTS pays de morlaix"} and p.territory_source == "nom du fichier"
    assert p.table["code_insee"].tolist() == [code for code, _ in communes]
    assert p.table["nom_commune"].tolist() == [name for _, name in communes]
    assert p.table["line"].tolist() == list(range(2, len(communes) + 2))
    assert p.warnings == [
        f"fichier « {f} » : pas de colonne du nom de la CPTS : le fichier est lu comme un seul territoire, nommé "
        "« CPTS pays de morlaix » d'après le nom du fichier (--territoire pour le nommer autrement)"
    ]


@pytest.mark.parametrize(
    "titles, expected",
    [
        ("Liste des communes de la CPTS Pays de Morlaix (mise à jour 2024)\n", "CPTS Pays de Morlaix"),
        ("Périmètre : CPTS Bresse - Revermont\nMise à jour le 12/03/2025\n", "CPTS Bresse - Revermont"),
        ("Source : ARS Grand Est\nTerritoire de santé Strasbourg Eurométropole\n", None),
        ("Liste des communes\n\n", None),
        ("CPTS du Grand Auch — communes du territoire (mise à jour 2026)\n\n", "CPTS du Grand Auch"),
        ("Périmètre validé de la CPTS Sud Gironde (arrêté du 12/03/2024)\n", "CPTS Sud Gironde"),
        ("CPTS Territoire de Belfort - liste des communes\n", "CPTS Territoire de Belfort"),
    ],
)
def test_title_lines_name_the_territory_without_generic_words(tmp_path, titles, expected):
    f = write(tmp_path / "liste_sud.csv", titles + "Commune;Code INSEE\nStrasbourg;67482\n")
    p = read_perimeters(f)
    if expected is None:  # « Source : … » names nothing; a title of generic words neither: the file name
        expected = "Territoire de santé Strasbourg Eurométropole" if "Territoire" in titles else "liste sud"
    assert p.table["cpts"].tolist() == [expected]
    assert p.table["code_insee"].tolist() == ["67482"] and p.table["line"].tolist() == [titles.count("\n") + 2]


@pytest.mark.parametrize(
    "name, expected",
    [
        ("Liste_communes_CPTS_Bresse_Revermont.csv", "CPTS Bresse Revermont"),
        ("cpts-du-gier.csv", "CPTS du gier"),
        ("périmètre.csv", "périmètre"),  # only generic words: the file name as it is
    ],
)
def test_file_names_made_readable(tmp_path, name, expected):
    p = read_perimeters(write(tmp_path / name, "Code INSEE\n42186\n"))
    assert p.table["cpts"].tolist() == [expected] and p.territory_source == "nom du fichier"


def test_files_with_a_territory_column_are_unchanged(tmp_path):
    f = write(tmp_path / "p.csv", "Titre\nCPTS;Code INSEE\nCPTS A;04001\n")
    p = read_perimeters(f, territory="ignoré")
    assert rows(p) == [("CPTS A", "04001", None, False, 3)]
    assert p.territory_source is None and p.table["nom_commune"].tolist() == [None]
    wide = read_perimeters(write(tmp_path / "w.csv", "cpts;communes\nA;04001 04009\n"))
    assert wide.territory_source is None and wide.table["nom_commune"].tolist() == [None, None]


def test_two_territories_with_a_commune_name_column(tmp_path, raw_communes):
    # Grand Est and Occitanie, names typed as users do (one wrong: kept as typed, checked elsewhere)
    names = {code: name for code, name in _cog(raw_communes)}
    f = write(
        tmp_path / "deux.csv",
        "CPTS;Nom;Code\n"
        f"CPTS Strasbourg;{names['67482'].upper()};67482\n"
        f"CPTS Strasbourg;{names['67043']};67043\n"
        f"CPTS Tarbes;St-Pé-de-Bigorre;65440\n",
    )
    p = read_perimeters(f)
    assert rows(p) == [
        ("CPTS Strasbourg", "67482", None, False, 2),
        ("CPTS Strasbourg", "67043", None, False, 3),
        ("CPTS Tarbes", "65440", None, False, 4),
    ]
    assert p.table["nom_commune"].tolist() == [names["67482"].upper(), names["67043"], "St-Pé-de-Bigorre"]
    assert p.territory_source is None


def test_a_column_headed_nom_holds_communes_or_territories_by_its_values(tmp_path, raw_communes):
    # La Réunion: « Nom;Code » listing the COG names of the codes (two typed in capitals) is one territory
    communes = _cog(raw_communes, departement="974")[:5]
    typed = [name.upper() if i < 2 else name for i, (_, name) in enumerate(communes)]
    text = "Nom;Code\n" + "".join(f"{t};{code}\n" for t, (code, _) in zip(typed, communes))
    p = read_perimeters(write(tmp_path / "cpts_ouest_reunion.csv", text))
    assert set(p.table["cpts"]) == {"CPTS ouest reunion"} and p.table["nom_commune"].tolist() == typed
    # the same header over territory names: a listing of two territories, no typed commune name
    codes = [code for code, _ in communes]
    text = "Nom;Code\n" + "".join(f"{'CPTS Nord' if i < 2 else 'CPTS Sud'};{c}\n" for i, c in enumerate(codes))
    q = read_perimeters(write(tmp_path / "deux.csv", text))
    assert q.table["cpts"].tolist() == ["CPTS Nord"] * 2 + ["CPTS Sud"] * 3
    assert q.table["nom_commune"].tolist() == [None] * 5 and q.territory_source is None


def test_one_territory_blank_and_total_rows(tmp_path):
    f = write(tmp_path / "cpts_x.csv", "Commune;Code INSEE;Population\nDigne;04070;16000\n\nTotal;;16000\n")
    p = read_perimeters(f)
    assert rows(p) == [("CPTS x", "04070", None, False, 2)]
    assert p.warnings[-1] == f"fichier « {f} », ligne 4 : ligne ignorée : pas de code commune"


def test_title_line_is_never_taken_for_the_columns(tmp_path):
    f = write(tmp_path / "t.csv", "CPTS du Bassin Burgien – liste des communes\n\nVille;Numéro\nBourg;01053\n")
    with pytest.raises(InputError) as info:
        read_perimeters(f)
    assert str(info.value).endswith("colonnes trouvées : « Ville », « Numéro »")
    g = tmp_path / "t.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(["CPTS du Bassin Burgien – liste des communes"])
    wb.active.merge_cells("A1:C1")
    wb.active.append(["Ville", "Numéro", "Population"])
    wb.active.append(["Bourg", 1053, 42372])
    wb.save(g)
    with pytest.raises(InputError) as info:
        read_perimeters(g)
    assert str(info.value).endswith("colonnes trouvées : « Ville », « Numéro », « Population »")


def test_workbook_prefers_a_sheet_with_territories_and_names_other_lists(tmp_path):
    f = _workbook(
        tmp_path / "p.xlsx",
        {
            "Codes": [["Code", "Libellé"], ["01053", "Bourg-en-Bresse"]],
            "Périmètres": [["CPTS", "Code INSEE"], ["CPTS A", "04001"]],
        },
    )
    assert rows(read_perimeters(f)) == [("CPTS A", "04001", None, False, 2)]
    g = _workbook(
        tmp_path / "q.xlsx",
        {
            "Bresse": [["Commune", "Code INSEE"], ["Boz", 1057]],
            "Revermont": [["Commune", "Code INSEE"], ["Cize", 1106]],
        },
    )
    p = read_perimeters(g)
    assert rows(p) == [("q", "01057", None, False, 2)]
    assert p.warnings[0] == (
        f"fichier « {g} » : seule la feuille « Bresse » est lue, comme un seul territoire ; les feuilles « Revermont » "
        "ont aussi des codes communes (--feuille pour en choisir une)"
    )


# --------------------------------------------------------------------------- grouped warnings


def test_repeated_warnings_are_one_line_with_count_lines_and_examples(tmp_path, raw_communes):
    ain = [code for code, _ in _cog(raw_communes, departement="01")][:24]
    body = "".join(f"CPTS Bugey;{int(c)}\n" for c in ain[:20]) + "\n;;x\nCPTS Bugey;2A004\n"
    body += "".join(f"CPTS Bugey;{int(c)}\n" for c in ain[20:]) + ";;y\n"
    f = write(tmp_path / "p.csv", "cpts;code;note\n" + body)
    p = read_perimeters(f)
    assert len(p.table) == 25
    assert p.warnings == [
        f"fichier « {f} » : zéro initial restauré pour 24 codes (lignes 2 à 21, 25 à 28 ; ex. "
        f"{int(ain[0])} → {ain[0]}, {int(ain[1])} → {ain[1]}, {int(ain[2])} → {ain[2]}…)",
        f"fichier « {f} » : ligne ignorée : ni nom de CPTS ni code commune (2 fois : lignes 23, 29)",
    ]


# --------------------------------------------------------------------------- size guard


def _streamed_zip(path, member, size, line=b"CPTS A;01053\n"):
    """A zip holding ``member``, a CSV of ``size`` bytes made of one repeated line, written in chunks."""
    import zipfile

    chunk = line * 80_000
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        with zf.open(member, "w", force_zip64=True) as fh:
            fh.write(b"cpts;code_insee\n")
            for _ in range(size // len(chunk) + 1):
                fh.write(chunk)
    return path


_LIMIT_RULE = (
    "(limite : 100 Mo une fois décompressé ou 1 million de lignes ; une liste de toutes les communes de France en a "
    "moins de 40 000) ; vérifiez qu'il s'agit du bon fichier"
)


def test_a_zip_holding_a_huge_csv_is_refused_from_its_directory(tmp_path):
    import tracemalloc

    f = _streamed_zip(tmp_path / "liste.zip", "liste.csv", 110_000_000)
    assert f.stat().st_size < 1_000_000
    tracemalloc.start()
    try:
        with pytest.raises(InputError) as info:
            read_perimeters(f)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    size = 16 + 13 * 80_000 * (110_000_000 // (13 * 80_000) + 1)
    assert str(info.value) == (
        f"fichier « {f} » : fichier trop volumineux pour une liste de périmètres : {round(size / 1e6)} Mo "
        f"{_LIMIT_RULE} (valeur « liste.csv »)"
    )
    assert peak < 5_000_000  # nothing decompressed


def test_too_many_lines_and_oversized_files_are_refused(tmp_path):
    f = _streamed_zip(tmp_path / "lignes.zip", "lignes.csv", 13_000_013)  # 1,000,081 lines, 13 MB
    with pytest.raises(InputError) as info:
        read_perimeters(f)
    assert str(info.value) == (
        f"fichier « {f} » : fichier trop volumineux pour une liste de périmètres : plus de 1 000 000 lignes "
        f"{_LIMIT_RULE} (valeur « lignes.csv »)"
    )
    for name in ("gros.csv", "gros.json"):  # sparse files: refused from their size, never read
        big = tmp_path / name
        with open(big, "wb") as fh:
            fh.truncate(100_000_001)
        with pytest.raises(InputError) as info:
            read_perimeters(big)
        assert str(info.value) == (
            f"fichier « {big} » : fichier trop volumineux pour une liste de périmètres : 100 Mo {_LIMIT_RULE}"
        )
