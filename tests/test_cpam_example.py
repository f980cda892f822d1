"""Tests of cpts_diag.build.cpam_example: the FICTITIOUS CPAM table of the demo (deterministic, flagged, masked).

Expected rows come from data/communes_cog2026.csv read with the csv module; the ranges checked are the
orders of magnitude stated in the module (shares of the population), with one unit of rounding.
"""

import csv
import os
import re
from pathlib import Path

import pytest

from cpts_diag.build.cpam_example import FILE_NAME, build_cpam_example

DATA = Path(__file__).resolve().parent.parent / "data"
COLUMNS = [
    "code_commune",
    "nom_commune",
    "patients_17ans_plus",
    "patients_17ans_plus_sans_mt",
    "patients_70ans_plus",
    "patients_70ans_plus_sans_mt",
    "patients_ald",
    "patients_ald_sans_mt",
    "beneficiaires_css",
    "beneficiaires_css_sans_mt",
    "population_consommante",
    "annee",
    "donnees_fictives",
]
COUNTS = COLUMNS[2:11]
COG_HEADER = "code_insee,type,nom,commune_parente,departement,region,zone,epci_siren,population,anciens_codes\n"


def _read(path):
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, delimiter=";"))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("cpam")
    return build_cpam_example(out, data_dir=DATA)


def test_two_builds_are_identical_and_equal_the_embedded_example(built, tmp_path):
    again = build_cpam_example(tmp_path, data_dir=DATA)
    assert built.name == again.name == FILE_NAME == "exemple_cpam_FICTIF_paca.csv"
    assert again.read_bytes() == built.read_bytes()
    assert built.read_bytes() == (DATA / FILE_NAME).read_bytes()  # the demo file is reproducible
    assert os.listdir(tmp_path) == [FILE_NAME]  # written atomically: no temporary file left


def test_one_row_per_paca_commune_marseille_by_arrondissement(built):
    with open(DATA / "communes_cog2026.csv", encoding="utf-8", newline="") as fh:
        raw = [r for r in csv.DictReader(fh) if r["region"] == "93"]
    expected = sorted(
        (r["code_insee"], r["nom"])
        for r in raw
        if (r["type"] == "commune-actuelle" and r["code_insee"] != "13055") or r["type"] == "arrondissement-municipal"
    )
    rows = _read(built)
    assert [(r["code_commune"], r["nom_commune"]) for r in rows] == expected
    codes = [code for code, _ in expected]
    assert "13055" not in codes and {f"132{i:02d}" for i in range(1, 17)} <= set(codes)
    assert codes[0] == "04001"  # leading zero kept


def test_every_row_is_flagged_fictitious(built):
    rows = _read(built)
    assert list(rows[0]) == COLUMNS
    assert {r["donnees_fictives"] for r in rows} == {"1"}
    assert {r["annee"] for r in rows} == {"2025"}


def test_counts_under_10_are_masked_and_the_others_plausible(built):
    with open(DATA / "communes_cog2026.csv", encoding="utf-8", newline="") as fh:
        pop = {r["code_insee"]: float(r["population"]) for r in csv.DictReader(fh) if r["population"]}
    rows = _read(built)
    cells = [r[c] for r in rows for c in COUNTS]
    assert all(v == "<10" or (re.fullmatch(r"[1-9]\d+", v) and int(v) >= 10) for v in cells)
    assert "<10" in cells
    for r in rows:
        p = pop[r["code_commune"]]
        for column, low, high in (("patients_17ans_plus", 0.70, 0.78), ("population_consommante", 0.88, 0.96)):
            if r[column] != "<10":
                assert low * p - 1 <= int(r[column]) <= high * p + 1, (r["code_commune"], column)
        for base in ("patients_17ans_plus", "patients_70ans_plus", "patients_ald", "beneficiaires_css"):
            without = r[f"{base}_sans_mt"]
            if r[base] != "<10" and without != "<10":
                assert int(without) <= int(r[base])
            if r[base] == "<10":  # fewer than 10 patients: fewer than 10 without a médecin traitant
                assert without == "<10"


def test_a_tiny_reference_read_from_the_output_folder(tmp_path):
    (tmp_path / "communes_cog2026.csv").write_text(
        COG_HEADER
        + "04001,commune-actuelle,Petite,,04,93,metro,1,5,\n"  # 5 inhabitants: every count under 10
        + "13055,commune-actuelle,Marseille,,13,93,metro,1,870000,\n"  # by arrondissement only
        + "13201,arrondissement-municipal,Marseille 1er,13055,13,93,metro,1,20000,\n"
        + "13021,commune-deleguee,Ancienne,13020,13,93,metro,1,300,\n"
        + "26001,commune-actuelle,Ailleurs,,26,84,metro,1,900,\n",  # another région
        encoding="utf-8",
    )
    path = build_cpam_example(tmp_path)  # no data_dir: the reference is read from the output folder
    rows = _read(path)
    assert [(r["code_commune"], r["nom_commune"]) for r in rows] == [("04001", "Petite"), ("13201", "Marseille 1er")]
    assert [rows[0][c] for c in COUNTS] == ["<10"] * len(COUNTS)
    assert all(rows[1][c] != "<10" for c in ("patients_17ans_plus", "patients_ald", "population_consommante"))
    assert sorted(os.listdir(tmp_path)) == ["communes_cog2026.csv", FILE_NAME]
