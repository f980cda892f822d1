"""Tests of cpts_diag.io.userfiles on fixtures in the published layouts.

Fixtures: tests/fixtures/userfiles/ (written by make_fixtures.py); expected values are
computed by hand from the numbers written there.
"""

import csv
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from cpts_diag.errors import InputError
from cpts_diag.io.userfiles import (
    AGE_COLUMNS,
    CpamTable,
    read_bpe_gp,
    read_cpam_table,
    read_insee_ages,
)
from cpts_diag.masked import masked_sum, masked_sum_by, share_bounds

FIX = Path(__file__).parent / "fixtures" / "userfiles"
AGES_HEADER = "CODGEO;P21_POP;P21_POP0014;P21_POP1529;P21_POP3044;P21_POP4559;P21_POP6074;P21_POP75P"


# ------------------------------------------------------------------------ INSEE ages
def test_ages_xlsx_com_and_arm_sheets():
    df = read_insee_ages(FIX / "base-cc-evol-struct-pop-2021.xlsx")
    assert list(df.index) == ["01001", "13004", "2A004", "13055", "13201", "13202"]
    assert df.index.name == "code_insee"
    assert df.attrs["millesime"] == "2021"  # P21_ wins over P15_
    assert (df["millesime"] == "2021").all()
    row = df.loc["01001"]
    assert row["pop_total"] == 859
    assert row["pop_0_14"] == pytest.approx(170.2)
    assert row["pop_60_74"] == pytest.approx(150.3)
    assert row["pop_75p"] == pytest.approx(59.2 + 8.3)  # POP7589 + POP90P
    assert row["pop_0_19"] == pytest.approx(105.1 + 98.7)  # H0019 + F0019
    assert row["pop_65p"] == pytest.approx(70.0 + 85.5)  # H65P + F65P
    assert row["nom_commune"] == "L'Abergement-Clémenciat"
    assert df.loc["13055", "pop_75p"] == 73076
    assert df.loc["13201", "pop_total"] == 40000
    assert df.loc["13202", "pop_65p"] == 3500
    assert df.loc["2A004", "pop_45_59"] == 14000
    assert df.attrs["warnings"] == []


def test_ages_csv_decimal_comma_with_arrondissements():
    df = read_insee_ages(FIX / "base-cc-evol-struct-pop-2020.csv")
    assert list(df.index) == ["75056", "75101", "75102"]
    assert df.attrs["millesime"] == "2020"
    assert df.loc["75056", "pop_total"] == 1000.5
    assert df.loc["75056", "pop_0_14"] == 150.25
    assert df.loc["75056", "pop_75p"] == 80.0
    assert df.loc["75102", "pop_0_19"] == 30.75
    assert df.loc["75101", "pop_65p"] == 16.0
    assert df.loc["75101", "pop_60_74"] == 12.5
    assert "nom_commune" not in df.columns
    # ageing index = 100 * 65+ / under 20, Paris: 100 * 190 / 190.5
    ageing = 100 * df.loc["75056", "pop_65p"] / df.loc["75056", "pop_0_19"]
    assert ageing == pytest.approx(99.7375, abs=1e-4)


def test_ages_csv_latin1_restores_leading_zero():
    df = read_insee_ages(FIX / "base-cc-evol-struct-pop-2019_latin1.csv")
    assert list(df.index) == ["01001", "06120"]
    assert df.attrs["millesime"] == "2019"
    assert df.loc["06120", "nom_commune"] == "Saint-Étienne-de-Tinée"
    assert df.loc["01001", "pop_0_14"] == 150.5
    assert df.loc["01001", "pop_75p"] == 80.0  # 70 + 10
    assert df.loc["06120", "pop_75p"] == 220.0  # 190 + 30
    assert "pop_0_19" not in df.columns and "pop_65p" not in df.columns
    assert any("1001 → 01001" in w for w in df.attrs["warnings"])


def test_ages_iris_file_summed_by_commune():
    df = read_insee_ages(FIX / "base-ic-evol-struct-pop-2021.csv")
    assert df.attrs["niveau"] == "iris"
    assert sorted(df.index) == ["04001", "06088"]
    nice = df.loc["06088"]
    assert nice["pop_total"] == 3500.5  # 2000.5 + 1500
    assert nice["pop_0_14"] == 500.5  # 300.5 + 200
    assert nice["pop_75p"] == 450.0  # 250 + 200
    assert nice["pop_0_19"] == 680.5  # 400.5 + 280
    assert nice["pop_65p"] == 900.0  # 500 + 400
    assert nice["nom_commune"] == "Nice"
    assert df.loc["04001", "pop_total"] == 1300.25


def test_ages_zip_as_downloaded(tmp_path):
    archive = tmp_path / "base-cc-evol-struct-pop-2020_csv.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(FIX / "base-cc-evol-struct-pop-2020.csv", "base-cc-evol-struct-pop-2020.CSV")
        zf.writestr("meta_base-cc-evol-struct-pop-2020.CSV", "COD_VAR;LIB_VAR\nP20_POP;Pop\n")
    df = read_insee_ages(archive)
    assert df.loc["75102", "pop_total"] == 200.75


def test_ages_missing_columns_are_all_listed(tmp_path):
    path = tmp_path / "ages.csv"
    path.write_text("CODGEO;P21_POP;P21_POP0014;P21_POP1529;P21_POP3044\n01001;10;1;2;3\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        read_insee_ages(path)
    message = str(info.value)
    for col in ("P21_POP4559", "P21_POP6074", "P21_POP75P", "P21_POP7589+P21_POP90P"):
        assert col in message
    assert "P21_POP0014" not in message.split("manquantes")[1]


def test_ages_bad_code_names_line_and_value(tmp_path):
    path = tmp_path / "ages.csv"
    path.write_text(f"{AGES_HEADER}\n01001;6;1;1;1;1;1;1\nABCDE;6;1;1;1;1;1;1\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        read_insee_ages(path)
    assert info.value.line == 3
    assert info.value.value == "ABCDE"
    assert "ages.csv" in str(info.value) and "ligne 3" in str(info.value)


def test_ages_duplicate_commune(tmp_path):
    path = tmp_path / "ages.csv"
    path.write_text(f"{AGES_HEADER}\n01001;6;1;1;1;1;1;1\n01002;6;1;1;1;1;1;1\n1001;6;1;1;1;1;1;1\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        read_insee_ages(path)
    assert info.value.line == 4
    assert "2, 4" in str(info.value)


def test_ages_unreadable_number(tmp_path):
    path = tmp_path / "ages.csv"
    path.write_text(f"{AGES_HEADER}\n01001;6;1;1;beaucoup;1;1;1\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        read_insee_ages(path)
    assert info.value.line == 2 and info.value.value == "beaucoup"
    assert "P21_POP3044" in str(info.value)


def test_ages_code_column_named_with_a_vintage(tmp_path):
    """A « Code INSEE 2024 » header (accepted as the code column by the header test) is read, not dropped."""
    path = tmp_path / "ages.csv"
    header = AGES_HEADER.replace("CODGEO", "Code INSEE 2024")
    path.write_text(f"{header}\n29019;140;20;30;25;25;25;15\n97411;150;35;30;30;25;20;10\n", encoding="utf-8")
    df = read_insee_ages(path)
    assert list(df.index) == ["29019", "97411"]  # Brest (Bretagne), Saint-Denis (La Réunion)
    assert df.loc["29019", "pop_total"] == 140.0 and df.loc["97411", "pop_0_14"] == 35.0


def test_ages_missing_file_and_wrong_file(tmp_path):
    with pytest.raises(InputError, match="introuvable"):
        read_insee_ages(tmp_path / "absent.csv")
    with pytest.raises(InputError, match="en-tête introuvable"):
        read_insee_ages(FIX / "bpe21_ensemble.csv")


def test_age_columns_are_the_bands_read_from_the_file():
    """AGE_COLUMNS names the first columns read_insee_ages returns, each holding its INSEE band."""
    path = FIX / "base-cc-evol-struct-pop-2020.csv"
    df = read_insee_ages(path)
    assert list(df.columns[: len(AGE_COLUMNS)]) == list(AGE_COLUMNS)
    # the file read with the csv module: P20_POP, then the six bands in AGE_COLUMNS order
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh, delimiter=";"))
    header = rows[0]
    insee = ["P20_POP", "P20_POP0014", "P20_POP1529", "P20_POP3044", "P20_POP4559", "P20_POP6074", "P20_POP75P"]
    for row in rows[1:]:
        expected = [float(row[header.index(c)].replace(",", ".")) for c in insee]
        assert df.loc[row[0], list(AGE_COLUMNS)].tolist() == expected


# ------------------------------------------------------------------------------ BPE
def test_bpe_aggregated_sums_nb_equip():
    df = read_bpe_gp(FIX / "bpe21_ensemble.csv")
    assert df["nb_medecins_generalistes"].to_dict() == {
        "13004": 5.0,  # 3 + 2 (two IRIS), the D307 row is not a GP
        "04001": 1.0,
        "13201": 7.0,
        "2A004": 12.0,
    }
    assert "05061" not in df.index  # only a pharmacy: absent, i.e. 0 GP
    assert df.attrs["millesime"] == "2021"
    assert df.index.name == "code_insee"


def test_bpe_one_row_per_equipment_counts_rows():
    df = read_bpe_gp(FIX / "BPE23.csv")
    assert df["nb_medecins_generalistes"].to_dict() == {"13004": 3.0, "04001": 1.0, "2A004": 2.0}
    assert df.attrs["millesime"] == "2023"


def test_bpe_wide_xlsx():
    df = read_bpe_gp(FIX / "bpe_sante_communes_2022.xlsx")
    assert df["nb_medecins_generalistes"].to_dict() == {"01001": 0.0, "13004": 25.0, "2A004": 80.0, "05061": 40.0}
    assert df.attrs["millesime"] == "2022"  # from the title lines
    assert any("1001 → 01001" in w for w in df.attrs["warnings"])


def test_bpe_bad_code_in_gp_row(tmp_path):
    path = tmp_path / "bpe.csv"
    path.write_text("DEPCOM;TYPEQU;AN\n13004;D265;2023\n20999;D265;2023\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        read_bpe_gp(path)
    assert info.value.line == 3 and info.value.value == "20999"


def test_bpe_code_column_named_with_a_vintage(tmp_path):
    path = tmp_path / "bpe.csv"
    rows = ["35238;D265", "35238;D265", "01053;D265", "01053;D307", "97411;D265"]
    path.write_text("Code commune 2023;TYPEQU\n" + "\n".join(rows) + "\n", encoding="utf-8")
    df = read_bpe_gp(path)
    # rows counted by hand: Rennes 2 GP, Bourg-en-Bresse 1 (the D307 row is a pharmacy), Saint-Denis 1
    assert df["nb_medecins_generalistes"].to_dict() == {"35238": 2.0, "01053": 1.0, "97411": 1.0}


def test_cpam_old_corsican_code_converted_with_its_line(tmp_path):
    path = tmp_path / "cpam.csv"
    path.write_text("code_commune;patients_ald\n2B033;4000\n20004;9000\n", encoding="utf-8")
    cpam = read_cpam_table(path)
    assert cpam.table.index.tolist() == ["2B033", "2A004"]
    assert cpam.table["patients_ald"].tolist() == [4000.0, 9000.0]
    assert cpam.warnings == ["colonne « code_commune », ligne 3 : ancien code de la Corse converti (20004 → 2A004)"]


def test_cpam_line_longer_than_header_is_refused_with_its_line(tmp_path):
    path = tmp_path / "cpam.csv"
    path.write_text("code_commune,patients_ald\n13001,400\n13002,12,5\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        read_cpam_table(path)
    assert str(info.value) == (
        f"fichier « {path} », ligne 3 : fichier illisible : plus de cellules que de colonnes d'en-tête (2)"
    )


def test_bpe_wide_duplicate(tmp_path):
    path = tmp_path / "bpe.csv"
    path.write_text("CODGEO;D265\n13004;2\n13004;3\n", encoding="utf-8")
    with pytest.raises(InputError, match="plusieurs fois"):
        read_bpe_gp(path)


# ----------------------------------------------------------------------------- CPAM
def test_cpam_csv_title_fictif():
    cpam = read_cpam_table(FIX / "cpam_fictif_titre.csv")
    assert isinstance(cpam, CpamTable)
    assert cpam.fictitious is True
    assert cpam.annee == "2024"
    t = cpam.table
    assert t["fictitious"].all()
    assert list(t.index) == ["04001", "04070", "13004"]
    assert t["line"].tolist() == [4, 5, 6]
    assert len(cpam.counts) == 9
    assert t.loc["04001", "patients_17ans_plus"] == 1234.0  # "1 234" with NBSP
    assert t.loc["04070", "patients_17ans_plus"] == 14000.0  # narrow NBSP
    assert t.loc["04001", "patients_17ans_plus_sans_mt_masked"]
    assert pd.isna(t.loc["04001", "patients_17ans_plus_sans_mt"])
    assert t.loc["04001", "patients_17ans_plus_sans_mt_upper"] == 10.0
    assert t.loc["04001", "beneficiaires_css_sans_mt_upper"] == 5.0  # "< 5"
    assert t.loc["13004", "beneficiaires_css_sans_mt_masked"]  # "NS"
    assert t.loc["13004", "population_consommante"] == 50000.0
    assert t.loc["04001", "nom_commune"] == "Aiglun"


def test_cpam_territory_totals_and_share_bounds():
    t = read_cpam_table(FIX / "cpam_fictif_titre.csv").table
    sans_mt = masked_sum(
        t["patients_17ans_plus_sans_mt"],
        t["patients_17ans_plus_sans_mt_masked"],
        t["patients_17ans_plus_sans_mt_upper"],
    )
    base = masked_sum(t["patients_17ans_plus"], t["patients_17ans_plus_masked"], t["patients_17ans_plus_upper"])
    assert (sans_mt.low, sans_mt.high, sans_mt.n_masked) == (5700.0, 5710.0, 1)
    assert base.exact and base.value == 55234.0  # 1234 + 14000 + 40000
    low, high = share_bounds(sans_mt, base)
    assert low == pytest.approx(5700 / 55234)
    assert high == pytest.approx(5710 / 55234)
    by = masked_sum_by(t.assign(cpts="X"), "cpts", "beneficiaires_css_sans_mt")
    assert (by.loc["X", "low"], by.loc["X", "high"]) == (120.0, 135.0)  # 120 + <5 + NS(10)


def test_cpam_csv_cp1252_comma():
    cpam = read_cpam_table(FIX / "cpam_cp1252.csv")
    assert cpam.fictitious is False
    t = cpam.table
    assert list(t.index) == ["06088", "06004", "06120"]
    assert t.loc["06120", "nom_commune"] == "Saint-Étienne-de-Tinée"
    assert t.loc["06004", "patients_17ans_plus"] == 61000.0  # "61 000,0"
    assert t.loc["06004", "patients_17ans_plus_sans_mt_upper"] == 11.0  # "<11"
    assert t.loc["06004", "patients_ald_sans_mt_masked"]  # "secret statistique"
    assert t.loc["06120", "patients_ald_sans_mt_masked"]  # blank
    assert t.loc["06088", "patients_ald_sans_mt"] == 2500.0
    assert cpam.counts == (
        "patients_17ans_plus",
        "patients_17ans_plus_sans_mt",
        "patients_ald",
        "patients_ald_sans_mt",
        "population_consommante",
    )
    assert "patients_70ans_plus" not in t.columns
    assert any("commentaire" in w for w in cpam.warnings)
    assert any("6120 → 06120" in w for w in cpam.warnings)


def test_cpam_xlsx_fictitious_column_and_total_row():
    cpam = read_cpam_table(FIX / "cpam_communes.xlsx")
    assert cpam.fictitious is True
    t = cpam.table
    assert list(t.index) == ["04001", "04070"]  # 4001 restored, TOTAL row skipped
    assert t["line"].tolist() == [5, 6]
    assert t.loc["04001", "patients_70ans_plus"] == 300.0
    assert t.loc["04001", "patients_70ans_plus_sans_mt_masked"]
    assert t.loc["04070", "patients_70ans_plus_sans_mt"] == 200.0
    assert cpam.counts == ("patients_70ans_plus", "patients_70ans_plus_sans_mt")
    assert any("total" in w and "8" in w for w in cpam.warnings)


def test_cpam_not_fictitious_when_flag_says_non(tmp_path):
    path = tmp_path / "cpam.csv"
    path.write_text("code_commune;patients_ald;donnees_fictives\n04001;12;non\n", encoding="utf-8")
    cpam = read_cpam_table(path)
    assert cpam.fictitious is False and not cpam.table["fictitious"].any()


def test_cpam_sheet_argument(tmp_path):
    path = tmp_path / "cpam.xlsx"
    wb = openpyxl.Workbook()
    wb.active.title = "Notes"
    wb.active.append(["Rien ici"])
    ws = wb.create_sheet("Données")
    ws.append(["code_commune", "patients_ald"])
    ws.append(["13004", 9000])
    wb.save(path)
    assert read_cpam_table(path, sheet="Données").table.loc["13004", "patients_ald"] == 9000
    assert read_cpam_table(path).table.loc["13004", "patients_ald"] == 9000
    with pytest.raises(InputError, match="feuille absente"):
        read_cpam_table(path, sheet="Absente")
    with pytest.raises(InputError, match="en-tête introuvable"):
        read_cpam_table(path, sheet="Notes")


@pytest.mark.parametrize(
    "content, line, value, fragment",
    [
        ("code_commune;patients_ald\n04001;12\n04001;13\n", 3, "04001", "plusieurs fois"),
        ("code_commune;patients_ald\n04001;12\n2B00X;13\n", 3, "2B00X", "code commune"),
        ("code_commune;patients_ald\n04001;douze\n", 2, "douze", "patients_ald"),
        ("code_commune;patients_ald\n04001;-4\n", 2, "-4", "négatif"),
        ("code_commune;nom_commune;patients_ald\n;Aiglun;12\n", 2, "", "vide"),
    ],
)
def test_cpam_errors_name_line_and_value(tmp_path, content, line, value, fragment):
    path = tmp_path / "cpam.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError) as info:
        read_cpam_table(path)
    assert info.value.line == line
    assert info.value.value == value
    assert fragment in str(info.value)
    assert "cpam.csv" in str(info.value)


def test_cpam_missing_columns(tmp_path):
    path = tmp_path / "cpam.csv"
    path.write_text("code_commune;nom_commune\n04001;Aiglun\n", encoding="utf-8")
    with pytest.raises(InputError, match="code_commune et au moins une colonne"):
        read_cpam_table(path)


def test_cpam_same_column_twice(tmp_path):
    path = tmp_path / "cpam.csv"
    path.write_text("code_commune;Patients ALD;patients_ald\n04001;1;2\n", encoding="utf-8")
    with pytest.raises(InputError, match="deux colonnes"):
        read_cpam_table(path)


def test_cpam_sans_mt_above_base_is_warned(tmp_path):
    path = tmp_path / "cpam.csv"
    path.write_text("code_commune;patients_ald;patients_ald_sans_mt\n04001;10;12\n", encoding="utf-8")
    cpam = read_cpam_table(path)
    assert any("patients_ald_sans_mt supérieur à patients_ald" in w for w in cpam.warnings)


def test_xls_refused(tmp_path):
    path = tmp_path / "vieux.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0" + b"\x00" * 100)
    with pytest.raises(InputError, match=r"\.xls"):
        read_cpam_table(path)


def test_cpam_fractional_count_is_warned(tmp_path):
    path = tmp_path / "cpam.csv"
    path.write_text("code_commune;patients_ald\n04001;1,234\n", encoding="utf-8")
    cpam = read_cpam_table(path)
    assert cpam.table.loc["04001", "patients_ald"] == pytest.approx(1.234)
    assert any("non entier" in w and "ligne 2" in w for w in cpam.warnings)
