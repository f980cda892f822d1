"""The corrected copy of a perimeter file in its own format (cpts_diag.io.perimeter_writer), for the layouts not
covered by tests/test_simulation.py: a file of one row per territory listing its communes (CSV and ARS JSON with
an « infra » list), a UTF-16 CSV, a GeoJSON of one feature per commune. Real communes of the Ain and of the
Alpes-Maritimes; each copy is read back by the reader of the package and compared with the table expected here.
"""

from __future__ import annotations

import json

import pytest

from cpts_diag.io.perimeter_writer import Edit, corrected_copy
from cpts_diag.io.perimeters import perimeter_layout, read_perimeters


def _copy(path, edits):
    perimeters = read_perimeters(path)
    lines = perimeters.table.groupby("cpts", sort=False)["line"].agg(list).to_dict()
    return corrected_copy(path, perimeter_layout(path), edits, lines)


def _rows(path) -> set[tuple]:
    table = read_perimeters(path).table
    return set(zip(table["cpts"], table["code_insee"], table["arrondissement"].astype(object).fillna("")))


def test_wide_csv_list_cell(tmp_path):
    path = tmp_path / "src" / "larges.csv"
    path.parent.mkdir()
    path.write_text('cpts;communes\nCPTS A;"01053, 01344, 01451"\nCPTS B;01004 01202\n', encoding="utf-8")
    edits = [
        Edit("remove", "CPTS A", "01344", "Saint-Denis-lès-Bourg", (2,), ("01344",)),
        Edit("add", "CPTS B", "01244", "Meximieux"),
    ]
    out = tmp_path / "larges.csv"
    out.write_bytes(_copy(path, edits))
    assert out.read_text(encoding="utf-8") == "cpts;communes\nCPTS A;01053, 01451\nCPTS B;01004 01202 01244\n"
    assert _rows(out) == {
        ("CPTS A", "01053", ""),
        ("CPTS A", "01451", ""),
        ("CPTS B", "01004", ""),
        ("CPTS B", "01202", ""),
        ("CPTS B", "01244", ""),
    }


def test_utf16_csv_keeps_its_encoding(tmp_path):
    path = tmp_path / "src" / "unicode.csv"
    path.parent.mkdir()
    path.write_bytes("CPTS\tCode INSEE\tCommune\nCPTS de l'Ain\t01053\tBourg-en-Bresse\n".encode("utf-16"))
    out = tmp_path / "unicode.csv"
    out.write_bytes(_copy(path, [Edit("add", "CPTS de l'Ain", "01004", "Ambérieu-en-Bugey")]))
    assert out.read_bytes()[:2] in (b"\xff\xfe", b"\xfe\xff")
    assert out.read_bytes().decode("utf-16").splitlines()[-1] == "CPTS de l'Ain\t01004\tAmbérieu-en-Bugey"
    assert _rows(out) == {("CPTS de l'Ain", "01053", ""), ("CPTS de l'Ain", "01004", "")}


def test_ars_json_infra_list_follows_the_commune(tmp_path):
    # Nice (06088) declared split infra-communally in two territories: given up by one, its name leaves the
    # « infra » list too (else the reader would refuse the file)
    doc = {
        "cpts": [
            {"nom": "CPTS Nice Est", "communes": ["06088", "06083"], "infra": ["Nice"]},
            {"nom": "CPTS Nice Ouest", "communes": ["06088", "06033"], "infra": ["Nice"]},
        ]
    }
    path = tmp_path / "src" / "nice.json"
    path.parent.mkdir()
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    out = tmp_path / "nice.json"
    out.write_bytes(_copy(path, [Edit("remove", "CPTS Nice Est", "06088", "Nice", (1,), ("06088",))]))
    new = json.loads(out.read_text(encoding="utf-8"))
    assert new["cpts"][0] == {"nom": "CPTS Nice Est", "communes": ["06083"], "infra": []}
    assert new["cpts"][1] == doc["cpts"][1]
    table = read_perimeters(out).table
    assert table.loc[table["code_insee"] == "06088", "cpts"].tolist() == ["CPTS Nice Ouest"]
    assert table.loc[table["code_insee"] == "06088", "infracommunal"].tolist() == [True]


def test_a_territory_left_without_commune_leaves_the_file(tmp_path):
    doc = {"cpts": [{"nom": "A", "communes": ["01053"]}, {"nom": "B", "communes": ["01004"]}]}
    path = tmp_path / "src" / "deux.json"
    path.parent.mkdir()
    path.write_text(json.dumps(doc), encoding="utf-8")
    out = tmp_path / "deux.json"
    out.write_bytes(_copy(path, [Edit("remove", "A", "01053", "Bourg-en-Bresse", (1,), ("01053",))]))
    assert json.loads(out.read_text(encoding="utf-8")) == {"cpts": [{"nom": "B", "communes": ["01004"]}]}


def test_geojson_of_one_feature_per_commune(tmp_path):
    doc = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {"cpts": "CPTS A", "code_insee": c}, "geometry": None}
            for c in ("01053", "01344")
        ],
    }
    path = tmp_path / "src" / "communes.geojson"
    path.parent.mkdir()
    path.write_text(json.dumps(doc), encoding="utf-8")
    edits = [
        Edit("remove", "CPTS A", "01344", "Saint-Denis-lès-Bourg", (2,), ("01344",)),
        Edit("add", "CPTS A", "01451", "Viriat"),
    ]
    out = tmp_path / "communes.geojson"
    out.write_bytes(_copy(path, edits))
    features = json.loads(out.read_text(encoding="utf-8"))["features"]
    assert [f["properties"] for f in features] == [
        {"cpts": "CPTS A", "code_insee": "01053"},
        {"cpts": "CPTS A", "code_insee": "01451"},
    ]
    assert _rows(out) == {("CPTS A", "01053", ""), ("CPTS A", "01451", "")}


@pytest.mark.parametrize("code, expected", [("13201", ["13202", "13201"]), ("13055", None)])
def test_marseille_arrondissement_added_to_a_long_file(tmp_path, code, expected):
    path = tmp_path / "src" / "marseille.csv"
    path.parent.mkdir()
    path.write_text("cpts,code_insee,arrondissement\nCPTS M,13055,13202\n", encoding="utf-8")
    out = tmp_path / "marseille.csv"
    out.write_bytes(_copy(path, [Edit("add", "CPTS M", code, "x")]))
    lines = out.read_text(encoding="utf-8").splitlines()
    if expected:  # the commune in the code column, the arrondissement in its own column
        assert lines[-1] == "CPTS M,13055,13201"
        assert sorted(a for _, _, a in _rows(out)) == sorted(expected)
    else:
        assert lines[-1] == "CPTS M,13055,"
