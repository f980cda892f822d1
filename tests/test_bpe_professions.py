"""Every health profession of a user BPE file: loader, territory counts, report table and Excel sheet.

The BPE files are written here in their official layouts (long « ensemble » ``REG;DEP;DEPCOM;DCIRIS;AN;
TYPEQU;NB_EQUIP``, one row per equipment, wide commune table) for real communes of Finistère (29, région
Bretagne) and Mayotte (976); expected counts are the hand sums of the rows written below, populations come
from the raw data/communes_cog2026.csv.
"""

import csv
import math
import re
from pathlib import Path

import openpyxl
import pytest

from cpts_diag.io.userfiles import read_bpe, read_bpe_gp
from cpts_diag.professions import BPE_PROFESSIONS

DATA = Path(__file__).resolve().parent.parent / "data"

ENSEMBLE = (
    "REG;DEP;DEPCOM;DCIRIS;AN;TYPEQU;NB_EQUIP\n"
    "53;29;29019;290190101;2024;D265;40\n"
    "53;29;29019;290190102;2024;D265;25\n"
    "53;29;29019;290190101;2024;D281;90\n"
    "53;29;29019;290190101;2024;D279;35\n"
    "53;29;29039;29039;2024;D277;6\n"
    "53;29;29039;29039;2024;D101;1\n"
    "53;29;29039;29039;2024;D999;2\n"
    "06;976;97611;97611;2024;D265;12\n"
    "06;976;97611;97611;2024;D281;8\n"
    "06;976;97608;97608;2024;D307;3\n"
    "06;976;97608;97608;2024;A101;1\n"
)

ONE_ROW_PER_EQUIPMENT = (
    "AN;DEP;DEPCOM;DOM;SDOM;TYPEQU\n"
    "2024;29;29019;D;D2;D265\n"
    "2024;29;29019;D;D2;D265\n"
    "2024;29;29019;D;D2;D278\n"
    "2024;29;29039;D;D3;D307\n"
    "2024;2A;2A004;D;D2;D281\n"
    "2024;2A;2A004;D;D2;D281\n"
    "2024;2A;2A004;D;D2;D281\n"
    "2024;2A;2A004;D;D2;D201\n"
    "2024;976;97611;D;D2;D265\n"
)


@pytest.fixture(scope="module")
def population():
    with open(DATA / "communes_cog2026.csv", encoding="utf-8", newline="") as fh:
        return {
            r["code_insee"]: float(r["population"])
            for r in csv.DictReader(fh)
            if r["type"] == "commune-actuelle" and r["population"]
        }


# ---------------------------------------------------------------------------- loader
def test_declared_codes_are_health_professions_of_domain_d():
    assert all(re.fullmatch(r"D2\d\d|D307", c) for c in BPE_PROFESSIONS)
    assert BPE_PROFESSIONS["D265"][0] == "Médecins généralistes"
    assert BPE_PROFESSIONS["D281"] == ("Infirmiers", "infirmiers")
    assert BPE_PROFESSIONS["D307"] == ("Pharmacies", None)


def test_read_bpe_ensemble_sums_nb_equip_by_commune_and_profession(tmp_path):
    path = tmp_path / "bpe24_ensemble.csv"
    path.write_text(ENSEMBLE, encoding="utf-8")
    df = read_bpe(path)
    assert df.attrs["layout"] == "long" and df.attrs["millesime"] == "2024"
    # D101 (an establishment) and A101 are not professions; D999 is counted and reported
    assert list(df.columns) == ["D265", "D277", "D281", "D279", "D307", "D999"]
    assert df.loc["29019"].to_dict() == {
        "D265": 65.0,
        "D277": 0.0,
        "D281": 90.0,
        "D279": 35.0,
        "D307": 0.0,
        "D999": 0.0,
    }
    assert df.loc["29039", ["D277", "D999"]].tolist() == [6.0, 2.0]
    assert df.loc["97611", ["D265", "D281"]].tolist() == [12.0, 8.0]
    assert df.loc["97608", "D307"] == 3.0 and df.loc["97608"].sum() == 3.0
    assert df.attrs["unknown"] == ["D999"]
    assert any("D999" in w for w in df.attrs["warnings"])
    assert all(isinstance(c, str) for c in df.index)


def test_read_bpe_one_row_per_equipment_counts_rows(tmp_path):
    path = tmp_path / "BPE24.csv"
    path.write_text(ONE_ROW_PER_EQUIPMENT, encoding="utf-8")
    df = read_bpe(path)
    assert df.loc["29019", ["D265", "D278"]].tolist() == [2.0, 1.0]
    assert df.loc["29039", "D307"] == 1.0
    assert df.loc["2A004", "D281"] == 3.0
    assert df.loc["97611", "D265"] == 1.0
    # an older-nomenclature code (D201 médecin omnipraticien) is kept under its code and reported
    assert df.loc["2A004", "D201"] == 1.0 and df.attrs["unknown"] == ["D201"]
    assert read_bpe_gp(path)["nb_medecins_generalistes"].to_dict() == {"29019": 2.0, "97611": 1.0}


def test_read_bpe_wide_masked_cell_stays_unknown(tmp_path):
    path = tmp_path / "bpe_communes_2024.csv"
    path.write_text(
        "Base permanente des équipements 2024\n"
        "CODGEO;LIBGEO;D265;D281;D307;D101\n"
        "29019;Brest;65;;30;2\n"
        "97611;Mamoudzou;12;8;secret;1\n",
        encoding="utf-8",
    )
    df = read_bpe(path)
    assert df.attrs["layout"] == "wide" and df.attrs["millesime"] == "2024"
    assert list(df.columns) == ["D265", "D281", "D307"]
    assert df.loc["29019", "D265"] == 65 and math.isnan(df.loc["29019", "D281"])
    assert math.isnan(df.loc["97611", "D307"]) and df.loc["97611", "D281"] == 8
    assert any("inconnues" in w for w in df.attrs["warnings"])


# ---------------------------------------------------------------------------- report
def test_report_shows_territory_counts_per_profession(tmp_path, population):
    from cpts_diag.outputs.indicator_outputs import write_indicator_workbook
    from cpts_diag.outputs.open_report import bpe_professions
    from cpts_diag.reports import sections as rs
    from cpts_diag.reports.report_data import load_report_data

    bpe = tmp_path / "bpe24_ensemble.csv"
    bpe.write_text(ENSEMBLE + "53;29;29019;290190101;2024;D278;4\n", encoding="utf-8")  # and 4 midwives
    perimeters = tmp_path / "perimetres.csv"
    perimeters.write_text(
        "cpts;code_insee\nCPTS Test;29019\nCPTS Test;29039\nCPTS Test;97611\nCPTS Test;97608\n", encoding="utf-8"
    )
    data = load_report_data("CPTS Test", perimeters=perimeters, cpam="aucun", bpe=bpe)
    pop = sum(population[c] for c in ("29019", "29039", "97611", "97608"))
    table = bpe_professions(data.diag).set_index("Code BPE")
    hand = {"D265": 40 + 25 + 12, "D277": 6, "D281": 90 + 8, "D279": 35, "D307": 3, "D999": 2, "D278": 4}
    assert table["Équipements (BPE)"].to_dict() == hand
    for code, count in hand.items():
        assert table.at[code, "Pour 10 000 hab. (BPE)"] == pytest.approx(1e4 * count / pop)
    assert table.at["D999", "Profession"] == "Code BPE D999 (non répertorié)"
    # Ameli densities beside: nurses of Finistère as published (per 100,000 -> per 10,000); none for pharmacies
    with open(DATA / "ameli_professionnels_liberaux_2024.csv", encoding="utf-8", newline="") as fh:
        ameli = {(r["profession"], r["niveau"], r["code"]): float(r["densite"]) for r in csv.DictReader(fh)}
    col29 = "Libéraux pour 10 000 hab. (Assurance Maladie 2024) – Finistère (29)"
    assert table.at["D281", col29] == pytest.approx(ameli[("infirmiers", "departement", "29")] / 10)
    assert math.isnan(table.at["D307", col29])
    # midwives: Ameli publishes them per women aged 15 to 49, not per inhabitant: never put beside the BPE density
    assert ameli[("sages_femmes", "departement", "29")] > 0
    assert table.loc["D278", [c for c in table.columns if c.startswith("Libéraux")]].isna().all()
    html = rs.care_supply(data).html
    assert "Infirmiers (D281)" in html and "Pharmacies (D307)" in html and "BPE 2024" in html
    assert "sages-femmes : femmes de 15 à 49 ans" in html
    assert "nombre_mg" not in html
    # the GP count keeps its historical indicator, now beside the other professions
    gp = data.indicators.query("indicator == 'nombre_mg' and level == 'territoire'").iloc[0]
    assert gp["value"] == 77
    out = write_indicator_workbook(data.diag, tmp_path / "indicateurs.xlsx")
    ws = openpyxl.load_workbook(out)["Professions (BPE)"]
    rows = list(ws.iter_rows(values_only=True))
    header = next(i for i, r in enumerate(rows) if r[0] == "Code BPE")
    counts = {r[0]: r[2] for r in rows[header + 1 :] if r[0]}
    assert counts == hand
