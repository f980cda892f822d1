"""The one table reader (cpts_diag.io.tables) on tiny hand-written files: exact rows and line numbers."""

from __future__ import annotations

import zipfile

import openpyxl
import pytest

from cpts_diag.errors import InputError
from cpts_diag.io.perimeters import read_perimeters
from cpts_diag.io.tables import (
    PERIMETER_LIMIT,
    USER_TABLE_LIMIT,
    SizeLimit,
    find_column,
    header_key,
    is_alias,
    open_table_file,
)


def has_code(cells):
    return find_column(cells, "code_commune") is not None


def read(path, sheet=None, keep=None):
    with open_table_file(path) as tf:
        return tf.read(has_code, sheet, keep)


def test_utf16_tab_csv(tmp_path):
    f = tmp_path / "t.csv"
    f.write_bytes("Commune\tCode INSEE\r\nÉvian-les-Bains\t74119\r\nSaint-Étienne\t42218\r\n".encode("utf-16"))
    t = read(f)
    assert t.columns == ["Commune", "Code INSEE"]
    assert t.rows == [["Évian-les-Bains", "74119"], ["Saint-Étienne", "42218"]]
    assert (t.lines, t.header_line, t.titles, t.sheet) == ([2, 3], 1, [], None)


def test_cp1252_semicolon_csv(tmp_path):
    f = tmp_path / "t.csv"
    f.write_bytes("Libellé;Code commune;Né\nÈze;06059;oui\n".encode("cp1252"))
    t = read(f)
    assert (t.columns, t.rows, t.lines) == (["Libellé", "Code commune", "Né"], [["Èze", "06059", "oui"]], [2])


def test_utf8_bom_pipe_csv(tmp_path):
    f = tmp_path / "t.txt"
    f.write_bytes(b"\xef\xbb\xbfcodgeo|nom\n04001|Aiglun\n04009| Aubenas-les-Alpes \n")
    t = read(f)
    assert t.columns == ["codgeo", "nom"]
    assert t.rows == [["04001", "Aiglun"], ["04009", "Aubenas-les-Alpes"]]
    assert t.lines == [2, 3]


def test_header_on_line_5_blank_lines_and_multiline_field(tmp_path):
    f = tmp_path / "t.csv"
    f.write_text(
        'Effectifs par commune\nSource : CPAM, 2024\n\n\ncode_insee;remarque\n13001;"deux\nlignes"\n\n13002;fin\n',
        encoding="utf-8",
    )
    t = read(f)
    assert t.header_line == 5
    assert t.titles == ["Effectifs par commune", "Source : CPAM, 2024", "", ""]
    assert t.rows == [["13001", "deux\nlignes"], ["13002", "fin"]]
    assert t.lines == [6, 9]  # the quoted field spans lines 6-7, line 8 is blank
    kept = read(f, keep=lambda name: name == "code_insee")  # pandas fast path falls back: same lines
    assert (kept.columns, kept.dataframe().values.tolist(), kept.lines) == (
        ["code_insee"],
        [["13001"], ["13002"]],
        [6, 9],
    )


def test_selected_columns_of_a_large_file_keep_their_lines(tmp_path):
    f = tmp_path / "t.csv"
    f.write_text("Titre\nDEPCOM;TYPEQU;NB\n04001;D265;2\n\n04009;A101;1\n", encoding="utf-8")
    t = read(f, keep=lambda name: name != "NB")
    assert t.columns == ["DEPCOM", "TYPEQU"]
    assert t.dataframe().values.tolist() == [["04001", "D265"], ["04009", "A101"]]
    assert t.lines == [3, 5]


def test_xlsx_merged_cells_and_sheet_name_case(tmp_path):
    f = tmp_path / "t.xlsx"
    wb = openpyxl.Workbook()
    wb.active.title = "Notes"
    ws = wb.create_sheet("Périmètres")
    for row in [
        ["Liste des CPTS"],
        [],
        ["CPTS", "Code INSEE"],
        ["CPTS A", "04001"],
        [None, 4009],
        [None, "04011"],
        ["CPTS B", "05001"],
    ]:
        ws.append(row)
    ws.merge_cells("A4:A6")
    wb.save(f)
    with open_table_file(f) as tf:
        assert tf.sheets == ["Notes", "Périmètres"]
        t = tf.read(has_code, "PÉRIMÈTRES")
        assert tf.read(has_code) is None  # first sheet: no header
    assert (t.sheet, t.header_line, t.titles) == ("Périmètres", 3, ["Liste des CPTS", ""])
    assert t.rows == [["CPTS A", "04001"], ["CPTS A", 4009], ["CPTS A", "04011"], ["CPTS B", "05001"]]
    assert t.lines == [4, 5, 6, 7]


def test_unknown_sheet_lists_sheets(tmp_path):
    f = tmp_path / "t.xlsx"
    wb = openpyxl.Workbook()
    wb.active.title = "PACA"
    wb.save(f)
    with pytest.raises(InputError) as info, open_table_file(f) as tf:
        tf.read(has_code, "Bretagne")
    assert str(info.value) == (
        f"fichier « {f} » : feuille absente ; feuilles du classeur : « PACA » (valeur « Bretagne »)"
    )


def test_zip_with_one_table_and_metadata(tmp_path):
    f = tmp_path / "base.zip"
    with zipfile.ZipFile(f, "w") as zf:
        zf.writestr("meta_base.csv", "COD_VAR;LIB_VAR\nCODGEO;Code\n")
        zf.writestr("base.csv", "CODGEO;P21_POP\n2A004;73000\n2B033;48000\n".encode("cp1252"))
    t = read(f)
    assert (t.columns, t.rows, t.lines) == (["CODGEO", "P21_POP"], [["2A004", "73000"], ["2B033", "48000"]], [2, 3])


def test_zip_with_a_workbook(tmp_path):
    book = tmp_path / "b.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(["code", "nb"])
    wb.active.append(["06088", 3])
    wb.save(book)
    f = tmp_path / "b.zip"
    with zipfile.ZipFile(f, "w") as zf:
        zf.write(book, "dossier/b.xlsx")
    t = read(f)
    assert (t.rows, t.lines) == ([["06088", 3]], [2])


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("absent.csv", None, "fichier introuvable"),
        ("vide.csv", b"  \n", "fichier vide"),
        ("vieux.xls", b"\xd0\xcf\x11\xe0" + b"\0" * 50, "format Excel 97 (.xls) non pris en charge"),
        ("faux.xlsx", b"a;b\n", "fichier Excel illisible ou corrompu"),
        ("casse.csv", b"PK\x03\x04rest", "fichier illisible : classeur Excel ou archive zip corrompu"),
        ("bin.csv", b"ab\x00\x00cd", "fichier illisible : ce n'est pas un fichier texte CSV"),
    ],
)
def test_file_errors(tmp_path, name, content, message):
    f = tmp_path / name
    if content is not None:
        f.write_bytes(content)
    with pytest.raises(InputError) as info:
        open_table_file(f)
    assert str(info.value).startswith(f"fichier « {f} » : {message}")


def test_zip_with_two_tables_is_refused(tmp_path):
    f = tmp_path / "deux.zip"
    with zipfile.ZipFile(f, "w") as zf:
        zf.writestr("a.csv", "code\n01001\n")
        zf.writestr("b.csv", "code\n01002\n")
    with pytest.raises(InputError, match="plusieurs fichiers de données") as info:
        open_table_file(f)
    assert "a.csv, b.csv" in str(info.value)


def test_no_header_in_60_rows(tmp_path):
    f = tmp_path / "t.csv"
    f.write_text("titre\n" * 60 + "code_insee\n01001\n", encoding="utf-8")
    assert read(f) is None
    g = tmp_path / "u.csv"
    g.write_text("titre\n" * 59 + "code_insee\n01001\n", encoding="utf-8")
    assert read(g).lines == [61]


def test_one_registry_of_header_aliases():
    assert header_key("Nombre de patients en ALD") == header_key("patients_en_ald") == "patientsenald"
    assert [
        find_column(cols, "code_commune")
        for cols in (
            ["CPTS", "code", "Code INSEE 2024"],  # a prefixed column wins over the weak « code »
            ["CPTS", "code"],
            ["INSEE_COM", "NOM"],
            ["nom", "libellé"],
        )
    ] == [2, 1, 0, None]
    assert find_column(["INSEE_COM", "NOM"], "nom_commune") == 1
    assert is_alias("DepCom", "code_commune") and not is_alias("DEP", "code_commune")


def test_perimeters_read_through_the_table_reader(tmp_path):
    f = tmp_path / "p.csv"
    f.write_bytes("Périmètres CPTS\n\n\n\nNom CPTS|Code INSEE\nCPTS Évian|74119\nCPTS Évian|1001\n".encode("utf-16"))
    p = read_perimeters(f)
    assert p.table[["cpts", "code_insee", "line"]].values.tolist() == [
        ["CPTS Évian", "74119", 6],
        ["CPTS Évian", "01001", 7],
    ]
    assert p.warnings == [f"fichier « {f} », ligne 7 : zéro initial restauré (1001 → 01001)"]
    z = tmp_path / "p.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.write(f, "p.csv")
    assert read_perimeters(z).table["line"].tolist() == [6, 7]


def test_sheet_and_layer_names_without_case(tmp_path):
    import geopandas as gpd
    from shapely.geometry import box

    f = tmp_path / "p.gpkg"
    gpd.GeoDataFrame({"cpts": ["A"], "insee": ["04001"]}, geometry=[box(0, 0, 1, 1)], crs=4326).to_file(
        f, layer="Perimetres"
    )
    gpd.GeoDataFrame({"cpts": ["B"], "insee": ["05001"]}, geometry=[box(0, 0, 1, 1)], crs=4326).to_file(
        f, layer="Autres"
    )
    assert read_perimeters(f, sheet=" autres ").table[["cpts", "code_insee", "line"]].values.tolist() == [
        ["B", "05001", 1]
    ]


# --------------------------------------------------------------------------- size limits


def _lying_zip(path, member: str, data: bytes, declared: int):
    """A zip whose directory says ``member`` holds ``declared`` bytes while it decompresses to ``data``."""
    import struct

    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(member, data)
    raw = bytearray(path.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):  # local header, central directory
        at = raw.index(signature)
        assert struct.unpack_from("<I", raw, at + offset)[0] == len(data)
        struct.pack_into("<I", raw, at + offset, declared)
    path.write_bytes(bytes(raw))
    return path


def test_a_zip_that_lies_about_its_size_is_read_with_a_cap(tmp_path):
    import tracemalloc

    data = b"code;nom\n" + b"01053;Bourg-en-Bresse\n" * 200_000  # 4.4 MB once decompressed
    limit = SizeLimit(1_000_000, None, "un essai", "limite : 1 Mo")
    for declared in (1_000, 900_000):  # below the limit, but the member decompresses to far more
        f = _lying_zip(tmp_path / f"menteur{declared}.zip", "t.csv", data, declared)
        tracemalloc.start()
        try:
            with pytest.raises(InputError) as info:
                open_table_file(f, limit=limit)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert str(info.value).startswith(
            f"fichier « {f} » : fichier illisible : classeur Excel ou archive zip corrompu"
        )
        assert peak < 3_000_000  # never more than the declared size is decompressed
    honest = tmp_path / "honnete.zip"
    with zipfile.ZipFile(honest, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("t.csv", data)
    with pytest.raises(InputError) as info:
        open_table_file(honest, limit=limit)
    assert str(info.value) == (
        f"fichier « {honest} » : fichier trop volumineux pour un essai : 4,4 Mo (limite : 1 Mo) ; vérifiez qu'il "
        "s'agit du bon fichier (valeur « t.csv »)"
    )


def test_row_and_workbook_limits(tmp_path):
    limit = SizeLimit(10**9, 5, "un essai", "limite : 5 lignes")
    f = tmp_path / "t.csv"
    f.write_text("code\n" + "01053\n" * 5, encoding="utf-8")  # 6 lines
    with pytest.raises(InputError, match="plus de 5 lignes"):
        open_table_file(f, limit=limit)
    f.write_text("code\n" + "01053\n" * 4, encoding="utf-8")
    assert read(f).lines == [2, 3, 4, 5]
    book = tmp_path / "t.xlsx"
    wb = openpyxl.Workbook()
    for _ in range(6):
        wb.active.append(["01053", "Bourg-en-Bresse"])
    wb.save(book)
    with open_table_file(book, limit=limit) as tf, pytest.raises(InputError, match="plus de 5 lignes"):
        tf.read(has_code)
    with zipfile.ZipFile(book) as zf:
        parts = sum(info.file_size for info in zf.infolist())
    small = SizeLimit(parts - 1, None, "un essai", "limite : moins")
    with pytest.raises(InputError) as info:
        open_table_file(book, limit=small)
    assert f"pour un essai : {str(round(parts / 1e6, 1)).replace('.', ',')} Mo (limite : moins)" in str(info.value)
    with open_table_file(book, limit=SizeLimit(parts, None, "un essai", "")) as tf:
        assert tf.sheets == ["Sheet"]


def test_the_perimeter_limit_is_not_the_limit_of_user_files(tmp_path):
    # a million and one short lines: more than any perimeter listing, a small user table (BPE: 1 GB)
    f = tmp_path / "t.csv"
    f.write_text("code\n" + "01053\n" * 1_000_000, encoding="utf-8")
    assert USER_TABLE_LIMIT.max_rows is None and USER_TABLE_LIMIT.max_bytes >= 2 * 10**9
    with open_table_file(f) as tf:
        assert tf.limit is USER_TABLE_LIMIT
    with pytest.raises(InputError, match="trop volumineux pour une liste de périmètres : plus de 1 000 000 lignes"):
        open_table_file(f, limit=PERIMETER_LIMIT)
